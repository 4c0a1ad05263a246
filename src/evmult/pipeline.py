"""The user-facing pipeline: fit a generator to an event table, load one, multiply it.

A generator fitted or loaded here is handed its channel's selection
(:func:`evmult.coffea.selection_check`), so every event it generates passes the
selection its training events passed.

Example:
    >>> from evmult.pipeline import fit, multiply
    >>> model = fit("zll.parquet", seed=1)  # doctest: +SKIP
    >>> more = multiply(model, factor=10, seed=2)  # 10x the events, same yield  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import awkward as ak

from evmult.channels import CHANNELS, Channel
from evmult.coffea import selection_check
from evmult.errors import InputError
from evmult.generation import BLOCK, generate, plan, provenance, table_record
from evmult.io.files import file_sha256
from evmult.io.tables import as_table, table_metadata
from evmult.models import DEFAULT_MODEL, MODELS, Generator
from evmult.models import load as load_model
from evmult.models.ensemble import ensemble_of

__all__ = [
    "PRESETS",
    "SMALL_DEEPER_FROM",
    "apply_overrides",
    "fit",
    "load",
    "multiply",
    "preset_settings",
]

PRESETS: dict[str, dict[str, Any]] = {
    "fast": {
        "flow_type": "affine",
        "flow_transforms": 4,
        "flow_hidden": (64, 64),
        "prior": "aggregate",
        "refine.mode": "off",
    },
    "mixture": {"mirror": True, "train.epochs": 400, "train.patience": 40},
    "small": {"mirror": True, "condition": "flavour", "members": 5, "calibrate": True},
}
"""Named settings of the default model: ``fast`` trades fidelity for generation speed
(affine coupling instead of splines; latent points drawn around the encoded training
events instead of from a second flow, which no longer needs training; no refinement,
which would keep a third of the events on tt̄); the benchmark reports both.
``mixture`` is for a conditional model of a few thousand events per label (a
DarkMachines file): training on random reflections of the events (``mirror``), which
keep it from overfitting, for up to four times the epochs, stopping after 40 without
a better validation loss. ``small`` is for a few thousand training events, where what
the generated events are worth matters most (:mod:`evmult.amplify`): reflections, and,
where no other condition is asked for and every event has a lepton, the leading
lepton's flavour as a condition (so the e/μ shares are the training sample's exactly,
where a learned flavour bit misses them by a few per cent), an ensemble of five
members (:mod:`evmult.models.ensemble`), whose pooled events average out the errors
each training's seed imprints (five times the training time), and integers decoded at
the training shares (``calibrate``), which the members would all under-fill alike;
from :data:`SMALL_DEEPER_FROM` training events on, its decoder flow has six coupling
transforms instead of four (:func:`preset_settings`)."""

SMALL_DEEPER_FROM = 3_500
"""Training events from which the ``small`` preset's decoder flow has six coupling
transforms instead of four. Measured on zll (``docs/amplification.md``): at 2,000
events four transforms are worth more real events than six (1.83 against 1.61 times
the training sample, five draws), at 5,000 six are (1.36 against 1.07, three draws);
at 3,500 neither is beyond the spread (1.31 with six, 1.48 with four, three draws)."""


def apply_overrides(config: Any, overrides: dict[str, Any]) -> Any:
    """A copy of a (frozen, nested) config dataclass with ``key`` or ``outer.inner``
    fields replaced; string values are parsed as JSON where they can be.

    Raises:
        InputError: for a field the configuration does not have.
    """
    updates: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    names = {f.name for f in dataclasses.fields(config)}
    for key, value in overrides.items():
        outer, _, inner = key.partition(".")
        if outer not in names:
            msg = f"unknown setting {key!r}; known: {', '.join(sorted(names))}"
            raise InputError(msg)
        parsed = _parse(value)
        if inner:
            nested.setdefault(outer, {})[inner] = parsed
        else:
            updates[outer] = tuple(parsed) if isinstance(parsed, list) else parsed
    for outer, values in nested.items():
        updates[outer] = apply_overrides(getattr(config, outer), values)
    try:
        return dataclasses.replace(config, **updates)
    except (TypeError, ValueError) as err:
        msg = f"invalid settings {overrides}: {err}"
        raise InputError(msg) from None


def _parse(value: Any) -> Any:
    """JSON where a string is valid JSON (``8``, ``[64, 64]``, ``true``), else as is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def fit(
    table: ak.Array | str | Path,
    *,
    model: str = DEFAULT_MODEL,
    preset: str | None = None,
    condition: str | None = None,
    refine: str | None = None,
    seed: int = 0,
    progress: bool = False,
    **settings: Any,
) -> Generator:
    """Fit a generator to an event table.

    Args:
        table: an event table (``evmult extract`` output) or its path.
        model: model family (see :data:`evmult.models.MODELS`).
        preset: a named group of settings of the default model
            (:func:`preset_settings`: :data:`PRESETS`, for ``small`` depending on the
            table's size); ``settings`` and ``condition`` override it. It overrides in turn the
            settings the table's channel gives the default model
            (:attr:`evmult.channels.Channel.generator`).
        condition: learn one model for every value of this column, given as a label
            at generation (``process``, ``flavour``, ``nJet`` ...; see
            :meth:`evmult.encoding.Encoding.fit`).
        refine: ``auto``, ``on`` or ``off`` (see :mod:`evmult.models.refiner`); by
            default ``auto``, or the channel's ``refine.mode`` (``ttbar_semilep``:
            ``off``; the smearing baseline: ``off``).
        seed: training seed.
        progress: show progress bars.
        **settings: configuration fields of the family, ``train.epochs`` style keys
            given as ``{"train.epochs": 50}``; ``refine.*`` keys set the refiner's
            (:class:`~evmult.models.refiner.RefineSettings`, e.g. ``refine.quantile``);
            ``members=K`` trains an ensemble of K models of the family with different
            seeds (:class:`~evmult.models.ensemble.Ensemble`); ``calibrate=True`` decodes
            the discrete columns at the training shares and maps the resonance
            coordinate to the training quantiles
            (:meth:`~evmult.encoding.Encoding.calibrate`).

    Returns:
        The fitted generator.
    """
    if model not in MODELS:
        msg = f"unknown model {model!r}; known: {', '.join(MODELS)}"
        raise InputError(msg)
    if preset is not None and (preset not in PRESETS or model != DEFAULT_MODEL):
        msg = f"unknown preset {preset!r} for model {model!r}; presets: {', '.join(PRESETS)}"
        raise InputError(msg)
    data = as_table(table)
    if preset is not None:
        settings = preset_settings(preset, len(data)) | settings
    meta = table_metadata(data)
    preset_condition = settings.pop("condition", None)
    channel = CHANNELS.get(meta.get("channel", ""))
    if channel is not None and model == DEFAULT_MODEL:
        settings = dict(channel.generator) | settings
    if condition is None and preset_condition is not None and channel is not None:
        condition = _conditions_of(preset_condition, channel)
    members, calibrate = (
        _parse(settings.pop("members", 1)),
        _parse(settings.pop("calibrate", False)),
    )
    if not isinstance(members, int) or isinstance(members, bool):
        msg = f"members must be a whole number of models, got {members!r}"
        raise InputError(msg)
    if not isinstance(calibrate, bool):
        msg = f"calibrate must be true or false, got {calibrate!r}"
        raise InputError(msg)
    family = MODELS[model]
    refining = {
        k.removeprefix("refine."): v for k, v in settings.items() if k.startswith("refine.")
    }
    if refine is not None:
        refining["mode"] = refine
    config = apply_overrides(
        family.Config(), {k: v for k, v in settings.items() if not k.startswith("refine.")}
    )
    selection = selection_check(channel.name, meta.get("options")) if channel is not None else None
    options: dict[str, Any] = {
        "condition": condition,
        "selection": selection,
        "calibrate": calibrate,
    }
    if members == 1:
        gen: Generator = family(config, **options)
    else:
        gen = ensemble_of(model, config, members, **options)
    gen.refine = apply_overrides(gen.refine, refining)
    gen.fit(data, seed=seed, progress=progress)
    if not isinstance(table, ak.Array):  # for --include-original
        path = Path(table).resolve()
        gen.info["training_table"] = {"path": str(path), "sha256": file_sha256(path)}
    return gen


def preset_settings(preset: str, n_events: int) -> dict[str, Any]:
    """A preset's settings for a training table of ``n_events``: :data:`PRESETS`, and for
    ``small`` a decoder flow of four coupling transforms, six from
    :data:`SMALL_DEEPER_FROM` events on (a deeper flow imprints the noise of fewer
    events; more events pay for it), whatever the channel's own setting.

    Example:
        >>> preset_settings("small", 2_000)["flow_transforms"], preset_settings("small", 5_000)["flow_transforms"]
        (4, 6)
    """
    settings = dict(PRESETS[preset])
    if preset == "small":
        settings["flow_transforms"] = 6 if n_events >= SMALL_DEEPER_FROM else 4
    return settings


def _conditions_of(spec: str, channel: Channel) -> str | None:
    """The parts of a preset's ``a+b`` condition that every event of ``channel`` has:
    ``flavour`` where each event has a leading lepton, an event field such as ``nJet``."""
    every_event_has_a_lepton = channel.n_leptons > 0 and not channel.variable_leptons
    parts = [
        part
        for part in spec.split("+")
        if (part == "flavour" and every_event_has_a_lepton) or part in channel.event_fields
    ]
    return "+".join(parts) or None


def load(path: str | Path) -> Generator:
    """Load a model file of any family, handed its channel's selection with the options
    of the table it was trained on; ``evmult.load`` is this function.

    Raises:
        ModelFileError: for a missing or corrupt file, a file of another model-file
            format, or one of a family this evmult does not know.
    """
    gen = load_model(path)
    gen.selection = selection_check(gen.info["channel"], gen.info.get("selection_options"))
    return gen


def multiply(
    model: Generator | str | Path,
    *,
    factor: float | None = None,
    n: int | None = None,
    seed: int = 0,
    block: int | None = None,
) -> ak.Array:
    """Generate ``factor`` × the training events (or exactly ``n``), keeping the yield.

    The events are those :func:`evmult.output.write_generated` writes to a file with
    the same arguments (the same seeded blocks).

    Args:
        model: a fitted generator or a model file.
        factor: how many times the training sample's event count to generate.
        n: the number of events (instead of ``factor``).
        seed: the same seed gives the same events.
        block: events per seeded block (default :data:`evmult.generation.BLOCK`).

    Returns:
        An event table whose weights sum to the training sample's sum of weights.
    """

    gen = model if isinstance(model, Generator) else load(model)
    p = plan(gen, factor=factor, n=n, seed=seed, block=block or BLOCK)
    parts = list(generate(gen, p))
    table = parts[0] if len(parts) == 1 else ak.concatenate(parts)
    return ak.Array(table, attrs={"evmult": table_record(provenance(gen, p))})
