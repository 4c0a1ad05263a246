"""Hyper-parameter optimisation of a model family on an event table, with optuna.

:func:`tune` runs an optuna study (TPE sampler, median pruner) whose trials each train
the family with settings drawn from a search space and score the trained model:

``loss``
    the best validation loss the training records (on the validation share training
    holds out for early stopping; trials whose loss curve falls behind the median of
    the earlier trials' are pruned). The loss weights (β; α and γ of a discriminator)
    change what the loss measures, so the default space leaves them out here.
``c2st``
    the classifier two-sample AUC of as many generated events as a validation split
    of the table holds (``validation``, seeded, the same for every trial) against
    those events; every trial trains on the rest. For the families trained
    adversarially (``vae-d``, ``vae-nf-d``, ``copula-vae-d``), which record no
    validation loss, it is the only objective.

The default search spaces (:data:`SPACES`) are those of the Zγ study evmult builds on:
for a VAE the batch size, learning rate, activation, latent dimension, number of
hidden layers, nodes per layer and β; with a discriminator (+D) α and γ; with a latent
flow (+NF) the flow algorithm and its length; for ``flow-vae`` the decoder flow's
transforms, bins and widths. A space is narrowed or widened per parameter (a file of
``{"name": spec}``, a ``null`` spec removes one); ``layers`` and ``nodes`` (and
``flow_layers``, ``flow_nodes``) set the ``hidden`` (``flow_hidden``) widths.

The study lives in an SQLite file (optuna's RDB storage): run the same call again and
it continues where it stopped. ``trials`` counts the study's finished trials
(completed, pruned, or failed with an error): a trial interrupted by Ctrl-C or SIGTERM,
or left running by a killed process, is recorded as failed but not counted, so the
study still reaches ``trials``. Trials train without the refiner (not a setting of the
family; ``evmult train`` applies it to the best settings as to any).

Usage::

    from evmult.tune import tune

    result = tune("zll_train.parquet", model="vae-nf-d", trials=20, storage="zll.db")
    result.write("tune-zll")   # best.json for `evmult train --config`, trials, figures
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import awkward as ak

from evmult.errors import EvmultError, InputError
from evmult.io.files import atomic_directory
from evmult.io.tables import as_table, json_safe, split_table
from evmult.models import MODELS

__all__ = [
    "ADVERSARIAL",
    "OBJECTIVES",
    "SPACES",
    "TuneResult",
    "search_space",
    "settings_of",
    "tune",
]

OBJECTIVES = ("loss", "c2st")
"""What a trial minimises (see the module docstring)."""

ADVERSARIAL = frozenset({"vae-d", "vae-nf-d", "copula-vae-d"})
"""Families trained adversarially: no validation loss, so ``c2st`` only."""

_VAE: dict[str, dict[str, Any]] = {
    "train.batch_size": {"type": "categorical", "choices": [256, 512, 1024, 2048]},
    "train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "activation": {"type": "categorical", "choices": ["silu", "relu", "elu", "tanh"]},
    "latent": {"type": "int", "low": 2, "high": 16},
    "layers": {"type": "int", "low": 1, "high": 4},
    "nodes": {"type": "categorical", "choices": [32, 64, 128, 256]},
    "beta": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
}
_DISCRIMINATOR: dict[str, dict[str, Any]] = {
    "alpha": {"type": "float", "low": 0.01, "high": 1.0, "log": True},
    "gamma": {"type": "float", "low": 0.1, "high": 10.0, "log": True},
}
_LATENT_FLOW: dict[str, dict[str, Any]] = {
    "flow_type": {"type": "categorical", "choices": ["maf", "spline", "affine"]},
    "flow_transforms": {"type": "int", "low": 1, "high": 8},
}
_DECODER_FLOW: dict[str, dict[str, Any]] = {
    "flow_transforms": {"type": "int", "low": 2, "high": 8},
    "flow_bins": {"type": "categorical", "choices": [4, 8, 12, 16]},
    "flow_layers": {"type": "int", "low": 1, "high": 3},
    "flow_nodes": {"type": "categorical", "choices": [64, 128, 256]},
}
SPACES: dict[str, dict[str, dict[str, Any]]] = {
    "vae": _VAE,
    "alpha-vae": _VAE,
    "copula-vae": _VAE,
    "ae-latent": {k: v for k, v in _VAE.items() if k != "beta"},
    "vae-d": _VAE | _DISCRIMINATOR,
    "copula-vae-d": _VAE | _DISCRIMINATOR,
    "vae-nf": _VAE | _LATENT_FLOW,
    "vae-nf-d": _VAE | _LATENT_FLOW | _DISCRIMINATOR,
    "flow-vae": _VAE | _DECODER_FLOW,
}
"""The default search space of each family: parameter -> optuna distribution
(``{"type": "int" | "float" | "categorical", "low", "high", "log", "choices"}``)."""

_LOSS_WEIGHTS = {"beta": set(MODELS) - {"ae-latent"}, "alpha": ADVERSARIAL, "gamma": ADVERSARIAL}
"""Default parameters that weigh terms of the family's loss (left out of ``loss``)."""

_WIDTHS = {"layers": ("nodes", "hidden"), "flow_layers": ("flow_nodes", "flow_hidden")}


def search_space(
    model: str, objective: str, overrides: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The search space of a family for an objective, with ``overrides`` applied.

    Args:
        model: the model family.
        objective: one of :data:`OBJECTIVES`.
        overrides: parameter -> distribution (replacing or adding) or ``None``
            (removing it).

    Raises:
        InputError: for a family without a space, a setting the family does not
            have, or a malformed distribution.
    """
    if model not in SPACES:
        msg = f"no search space for model {model!r}; tunable: {', '.join(SPACES)}"
        raise InputError(msg)
    space = {
        k: v
        for k, v in SPACES[model].items()
        if not (objective == "loss" and model in _LOSS_WEIGHTS.get(k, ()))
    }
    fields = {f.name for f in dataclasses.fields(MODELS[model].Config)}
    for name, spec in (overrides or {}).items():
        if spec is None:
            space.pop(name, None)
            continue
        base = name.split(".")[0]
        if base not in fields and name not in {*_WIDTHS, *(n for n, _ in _WIDTHS.values())}:
            msg = f"{name!r} is not a setting of {model}"
            raise InputError(msg)
        space[name] = _checked(name, spec)
    return space


def _checked(name: str, spec: Any) -> dict[str, Any]:
    kind = spec.get("type") if isinstance(spec, Mapping) else None
    if kind == "categorical" and isinstance(spec.get("choices"), list) and spec["choices"]:
        return dict(spec)
    if kind in {"int", "float"} and {"low", "high"} <= set(spec) and spec["low"] <= spec["high"]:
        return dict(spec)
    msg = (
        f"search space of {name!r}: {spec!r} is no distribution; give "
        '{"type": "int"|"float", "low": a, "high": b[, "log": true]} or '
        '{"type": "categorical", "choices": [...]}'
    )
    raise InputError(msg)


def settings_of(params: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`evmult.fit` settings of a trial's parameters (``layers`` × ``nodes``
    become ``hidden``, ``flow_layers`` × ``flow_nodes`` ``flow_hidden``)."""
    settings = dict(params)
    for layers, (nodes, widths) in _WIDTHS.items():
        if layers in settings or nodes in settings:
            n = settings.pop(layers, None)
            width = settings.pop(nodes, None)
            if n is None or width is None:
                msg = f"{layers!r} and {nodes!r} are searched together"
                raise InputError(msg)
            settings[widths] = [int(width)] * int(n)
    return settings


def _suggest(trial: Any, name: str, spec: Mapping[str, Any]) -> Any:
    if spec["type"] == "categorical":
        return trial.suggest_categorical(name, spec["choices"])
    if spec["type"] == "int":
        return trial.suggest_int(name, spec["low"], spec["high"], log=spec.get("log", False))
    return trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        msg = "tuning needs optuna: pip install 'evmult[hpo]'"
        raise EvmultError(msg) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _counted(trial: Any, optuna: Any) -> bool:
    """Whether a trial counts towards the study's size: finished, or failed with an
    error of its own (not interrupted, not left running)."""
    state = optuna.trial.TrialState
    if trial.state in (state.COMPLETE, state.PRUNED):
        return True
    return trial.state == state.FAIL and "error" in trial.user_attrs


@dataclasses.dataclass
class TuneResult:
    """A study's outcome.

    Attributes:
        model: the family.
        objective: what the trials minimised.
        study: the study's name; ``storage``: its SQLite file.
        best: ``number``, ``value``, ``params`` and ``settings`` of the best trial, or
            ``None`` when no trial completed.
        trials: one dict per trial: ``number``, ``state``, ``value``, ``params``,
            ``seconds``, ``error``.
        space: the search space.
    """

    model: str
    objective: str
    study: str
    storage: str
    best: dict[str, Any] | None
    trials: list[dict[str, Any]]
    space: dict[str, dict[str, Any]]

    @property
    def text(self) -> str:
        """The summary: trials by state and the best trial."""
        states: dict[str, int] = {}
        for t in self.trials:
            states[t["state"]] = states.get(t["state"], 0) + 1
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))
        head = f"{self.model}, objective {self.objective}: {len(self.trials)} trials ({counts})"
        if self.best is None:
            return head + "; none completed"
        settings = ", ".join(f"{k}={v}" for k, v in self.best["settings"].items())
        return f"{head}\nbest: trial {self.best['number']}, {self.best['value']:.5g}: {settings}"

    def write(self, outdir: str | Path, *, force: bool = False) -> Path:
        """Write ``best.json`` (what ``evmult train --config`` reads), ``trials.csv``,
        ``summary.txt`` and the figures (optimisation history; parameter importances
        where two trials completed), atomically.

        Raises:
            InputError: when no trial completed (there is no best configuration).
        """
        if self.best is None:
            msg = f"study {self.study!r} in {self.storage} has no completed trial yet"
            raise InputError(msg)
        with atomic_directory(outdir, force=force) as tmp:
            best = {
                "model": self.model,
                "settings": self.best["settings"],
                "objective": self.objective,
                "value": self.best["value"],
                "trial": self.best["number"],
                "study": self.study,
                "storage": self.storage,
            }
            (tmp / "best.json").write_text(json.dumps(json_safe(best), indent=1) + "\n")
            with (tmp / "trials.csv").open("w", newline="") as f:
                names = sorted({k for t in self.trials for k in t["params"]})
                writer = csv.writer(f)
                writer.writerow(["number", "state", "value", "seconds", *names, "error"])
                for t in self.trials:
                    params = [t["params"].get(n, "") for n in names]
                    value = "" if t["value"] is None else t["value"]
                    writer.writerow(
                        [t["number"], t["state"], value, t["seconds"], *params, t["error"]]
                    )
            (tmp / "summary.txt").write_text(self.text + "\n")
            self._plot_history(tmp / "history.png")
            importances = _importances(self.storage, self.study)
            if importances:
                self._plot_importances(importances, tmp / "importances.png")
        return Path(outdir)

    def _plot_history(self, path: Path) -> None:
        import numpy as np

        from evmult.classify_report import figure_axes, save_figure

        done = [t for t in self.trials if t["state"] == "COMPLETE"]
        fig, ax = figure_axes((9, 6))
        x = np.array([t["number"] for t in done])
        y = np.array([t["value"] for t in done])
        ax.plot(x, y, "o", label="trial")
        if len(y):
            ax.step(x, np.minimum.accumulate(y), where="post", color="tab:red", label="best")
        ax.set_xlabel("trial")
        ax.set_ylabel(f"objective ({self.objective})")
        ax.legend(fontsize="small")
        ax.set_title(f"{self.model}: optimisation history", loc="right", fontsize="small")
        fig.tight_layout()
        save_figure(fig, path)

    def _plot_importances(self, importances: dict[str, float], path: Path) -> None:
        from evmult.classify_report import figure_axes, save_figure

        names = list(importances)[::-1]
        fig, ax = figure_axes((9, 1.5 + 0.5 * len(names)))
        ax.barh(names, [importances[n] for n in names], color="tab:blue")
        ax.set_xlabel("importance (fANOVA)")
        ax.set_title(f"{self.model}: parameter importances", loc="right", fontsize="small")
        fig.tight_layout()
        save_figure(fig, path)


def _importances(storage: str, name: str) -> dict[str, float]:
    """optuna's parameter importances (fANOVA, seeded) of a study; empty where fewer
    than two trials completed or no parameter varied."""
    optuna = _optuna()
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{storage}")
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
    except (ValueError, RuntimeError):
        return {}


def _result(
    study: Any, model: str, objective: str, storage: Path, space: dict[str, dict[str, Any]]
) -> TuneResult:
    optuna = _optuna()
    complete = optuna.trial.TrialState.COMPLETE
    trials = [
        {
            "number": t.number,
            "state": t.state.name,
            "value": t.value if t.state == complete else None,
            "params": dict(t.params),
            "seconds": None if t.duration is None else t.duration.total_seconds(),
            "error": t.user_attrs.get(
                "error", "interrupted" if t.user_attrs.get("interrupted") else ""
            ),
        }
        for t in study.trials
    ]
    done = [t for t in study.trials if t.state == complete]
    best = None
    if done:
        b = min(done, key=lambda t: t.value)
        best = {
            "number": b.number,
            "value": b.value,
            "params": dict(b.params),
            "settings": settings_of(b.params),
        }
    return TuneResult(model, objective, study.study_name, str(storage), best, trials, space)


def tune(
    table: ak.Array | str | Path,
    model: str = "flow-vae",
    *,
    trials: int = 20,
    storage: str | Path,
    study_name: str | None = None,
    objective: str | None = None,
    space: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    validation: float = 0.2,
    seed: int = 0,
) -> TuneResult:
    """Run (or continue) an optuna study of ``model``'s settings on ``table``.

    Args:
        table: the training events (never the events a final test is made on).
        model: the family.
        trials: finished trials the study is to hold (see the module docstring).
        storage: the SQLite file of the study (created if missing).
        study_name: the study's name in that file (default ``evmult-MODEL-OBJECTIVE``).
        objective: ``loss`` or ``c2st`` (default ``loss``; ``c2st`` for the adversarial
            families).
        space: overrides of the family's default space (see :func:`search_space`).
        settings: fixed settings of every trial (``evmult.fit`` keys).
        timeout: stop starting trials after this many seconds.
        validation: the share of the table the ``c2st`` objective holds out.
        seed: seed of the sampler, the split and every trial's training.

    Raises:
        InputError: for an unknown objective or family, a ``loss`` objective of an
            adversarial family, or a study file holding a study of another family or
            objective under the same name.
    """
    optuna = _optuna()
    objective = objective or ("c2st" if model in ADVERSARIAL else "loss")
    if objective not in OBJECTIVES:
        msg = f"unknown objective {objective!r}; choose {' or '.join(OBJECTIVES)}"
        raise InputError(msg)
    if objective == "loss" and model in ADVERSARIAL:
        msg = f"{model} trains adversarially and records no validation loss; use objective c2st"
        raise InputError(msg)
    params = search_space(model, objective, space)
    events = as_table(table)
    name = study_name or f"evmult-{model}-{objective}"
    path = Path(storage).resolve()
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            rdb = optuna.storages.RDBStorage(
                f"sqlite:///{path}", heartbeat_interval=30, grace_period=90
            )
    except SQLAlchemyError as err:
        msg = f"{path}: not a study file optuna can open: {type(err).__name__}"
        raise InputError(msg) from None
    study = optuna.create_study(
        study_name=name,
        storage=rdb,
        load_if_exists=True,
        direction="minimize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=5),
    )
    recorded = study.user_attrs.get("evmult")
    mine = {"model": model, "objective": objective}
    if recorded is None:
        study.set_user_attr("evmult", mine)
    elif recorded != mine:
        msg = (
            f"{path}: study {name!r} tunes {recorded.get('model')} on "
            f"{recorded.get('objective')}, not {model} on {objective}; name another study"
        )
        raise InputError(msg)
    # a sampler seeded anew on every resumption, so it does not propose the same
    # start-up points again
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    remaining = trials - sum(_counted(t, optuna) for t in study.trials)
    if remaining > 0:
        run = _objective(events, model, objective, params, dict(settings or {}), validation, seed)
        study.optimize(
            run,
            n_trials=remaining,
            timeout=timeout,
            catch=(Exception,),
            callbacks=[_stop_at(trials, optuna)],
        )
    return _result(study, model, objective, path, params)


def _stop_at(trials: int, optuna: Any) -> Any:
    def stop(study: Any, _trial: Any) -> None:
        if sum(_counted(t, optuna) for t in study.trials) >= trials:
            study.stop()

    return stop


def _objective(
    events: ak.Array,
    model: str,
    objective: str,
    space: dict[str, dict[str, Any]],
    fixed: dict[str, Any],
    validation: float,
    seed: int,
) -> Any:
    from evmult.models.training import epoch_hook
    from evmult.pipeline import fit

    optuna = _optuna()
    if objective == "c2st":
        train, held = split_table(events, n=round((1 - validation) * len(events)), seed=seed)

    def run(trial: Any) -> float:
        config = fixed | settings_of({k: _suggest(trial, k, v) for k, v in space.items()})
        try:
            with warnings.catch_warnings():
                # a bad trial's overflowing decoding is its score's business, not noise
                warnings.simplefilter("ignore", RuntimeWarning)
                return _trained_value(trial, config)
        except optuna.TrialPruned:
            raise
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        except Exception as err:
            trial.set_user_attr("error", f"{type(err).__name__}: {err}")
            raise

    def _trained_value(trial: Any, config: dict[str, Any]) -> float:
        if objective == "loss":
            with epoch_hook(_pruning(trial, optuna)):
                m = fit(events, model=model, refine="off", seed=seed, **config)
            return _validation_loss(m.info)
        from evmult.validation import validate

        m = fit(train, model=model, refine="off", seed=seed, **config)
        generated = m.sample(len(held), seed=seed + 1)
        return float(validate(held, generated, seed=seed).c2st["auc"])

    return run


def _pruning(trial: Any, optuna: Any) -> Any:
    """An epoch hook that reports the first training's losses to the trial and prunes
    it where the pruner says (a family's later trainings, e.g. a latent flow, are not
    reported)."""
    first: list[str] = []

    def hook(label: str, epoch: int, loss: float) -> None:
        if not first:
            first.append(label)
        if label != first[0] or not math.isfinite(loss):
            return
        trial.report(loss, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned

    return hook


def _validation_loss(info: Mapping[str, Any]) -> float:
    """The best validation loss of a model's first training record."""
    for record in info.values():
        if isinstance(record, Mapping) and "best_val_loss" in record:
            return float(record["best_val_loss"])
    msg = "the model's training recorded no validation loss; use objective c2st"
    raise InputError(msg)
