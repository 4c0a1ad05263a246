"""What every evmult generator shares: the interface, weights, seeds and model files.

A generator learns one channel's event table and samples new events of that table's
schema. Subclasses implement :meth:`Generator._fit_matrix` and
:meth:`Generator._sample_matrix` on the encoded matrix (see :mod:`evmult.encoding`);
this base class does the encoding, the yields and the file format.

Model files are safetensors files: tensors plus one JSON header in the safetensors
metadata (model name, configuration, encoding state, channel, provenance). Loading
executes no code from the file (no pickle).
"""

from __future__ import annotations

import dataclasses
import json
import platform
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import awkward as ak
import numpy as np
import torch

from evmult._version import __version__
from evmult.encoding import Encoding
from evmult.errors import EvmultError, InputError, ModelFileError
from evmult.io.files import atomic_path
from evmult.io.tables import event_weights, json_safe, string_column, table_metadata
from evmult.models.nn import split_context
from evmult.models.sampling import Sampling
from evmult.models.scoring import SCORE_BATCH, fit_pca
from evmult.models.training import per_label_weights

if TYPE_CHECKING:
    from evmult.models.refiner import Refiner, RefineSettings

__all__ = [
    "FORMAT_VERSION",
    "READ_FORMATS",
    "Generator",
    "read_model_file",
]

FORMAT_VERSION = 6
"""Version of the model-file layout written; bumped when it changes (a file of a
version not in :data:`READ_FORMATS` is refused with a message to retrain)."""

READ_FORMATS = (4, 5, 6)
"""The model-file versions read: format 4 lacks the encoding's ``eta_slope``, which
then is 1 for every slot, and formats 4 and 5 its ``lepton_pair``, which then is off
(bits relative to the first lepton), as those files were trained."""

_REFINER = "refiner."
"""Prefix of the refiner's tensors in a model file."""

_PCA = "latent_pca."
"""Prefix of the principal axes of the training codes (the ``latent_pca`` score); a
file written before they were stored loads without that score."""


class Generator(Sampling):
    """Base class of evmult's generators: ``fit(table)``, ``sample(n, seed)``,
    ``save(path)``, ``load(path)``.

    With ``calibrate``, the discrete columns (counts, b-tags, charges) are decoded at
    cuts that give the trained model's events the training sample's shares of each
    value (:meth:`Encoding.calibrate <evmult.encoding.Encoding.calibrate>`) instead of
    by rounding, which under-fills rare values, and an unconditional model's resonance
    coordinate is mapped to the training sample's quantiles.

    A **conditional** generator (``condition="process"``, or ``"flavour"``, ``"nJet"``
    ...; see :meth:`Encoding.fit <evmult.encoding.Encoding.fit>`) learns one model for
    every value of that column: the label is given to every network as a one-hot
    context (the last columns of the training matrix) instead of being learned, and
    :meth:`sample` generates each label's share with its own yield.

    After training, a generator is **refined** (:mod:`evmult.models.refiner`): a
    classifier learns to tell its events from the training events, and sampling keeps
    each event with the odds it gives of being a training event. ``refine`` settings
    decide whether (by default, where that classifier tells them apart).

    Models know no channel selection: the check that generated events pass it is a
    function handed to the generator (:attr:`selection`); :func:`evmult.fit` and
    :func:`evmult.load` hand it the channel processor's
    (:func:`evmult.coffea.selection_check`).

    Attributes:
        name: registry name of the model family (e.g. ``"flow-vae"``).
        config: the family's configuration dataclass.
        condition: the column the model is conditioned on, or ``None``.
        refine: the :class:`~evmult.models.refiner.RefineSettings`.
        encoding: the fitted :class:`~evmult.encoding.Encoding` (after :meth:`fit`).
        refiner: the trained :class:`~evmult.models.refiner.Refiner`, or ``None``.
        info: provenance and training record (sources, event counts, seed, versions,
            losses, timings, the refiner's record), saved with the model.
        selection: which events of a generated event table the channel's selection
            keeps as they are (a boolean mask); generated events it rejects are redrawn.
            ``None``: no selection is applied (only the encoding's own consistency).
        calibrate: whether :meth:`fit` calibrates the discrete columns and the
            resonance coordinate (the cuts and knots it fits are part of the encoding,
            saved with it).
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    refinable: ClassVar[bool] = True
    score_names: ClassVar[tuple[str, ...]] = ()
    """The anomaly scores :meth:`score` gives (see :mod:`evmult.models.scoring`);
    empty for a family that gives none."""

    def __init__(
        self,
        config: Any | None = None,
        *,
        condition: str | None = None,
        refine: RefineSettings | None = None,
        selection: Callable[[ak.Array], np.ndarray] | None = None,
        calibrate: bool = False,
        **overrides: Any,
    ) -> None:
        from evmult.models.refiner import RefineSettings

        base = config if config is not None else self.Config()
        self.config = dataclasses.replace(base, **overrides)
        self.condition = condition
        default = RefineSettings() if self.refinable else RefineSettings(mode="off")
        self.refine = refine if refine is not None else default
        self.encoding: Encoding | None = None
        self.refiner: Refiner | None = None
        self.info: dict[str, Any] = {}
        self.selection = selection
        self.calibrate = calibrate
        self.latent_pca: dict[str, torch.Tensor] | None = None

    # ------------------------------------------------------------------ public
    def fit(self, table: ak.Array, *, seed: int = 0, progress: bool = False) -> Generator:
        """Learn the events of ``table`` (an event table of one channel).

        Args:
            table: the training events, with ``attrs["evmult"]`` metadata naming the
                channel (as written by ``evmult extract``).
            seed: seed of every random choice in training.
            progress: show a progress bar with the losses.

        Returns:
            ``self``.
        """
        meta = table_metadata(table)
        channel = meta.get("channel")
        if not channel:
            msg = "the training table names no channel (attrs['evmult']['channel'])"
            raise InputError(msg)
        if len(table) < 2:
            msg = f"cannot train on {len(table)} events"
            raise InputError(msg)
        weights = event_weights(table)
        encoding = Encoding.fit(
            table, channel, condition=self.condition, **self._encoding_options()
        )
        self.encoding = encoding
        x, noise = encoding.encode(table)
        torch.manual_seed(seed)
        self.info = {
            "channel": channel,
            "n_train": len(table),
            "train_yield": float(weights.sum()),
            "seed": seed,
            "sources": meta.get("sources", []),
            "selection_options": meta.get("options", {}),
            "versions": _versions(),
        }
        if encoding.condition is not None:
            index = encoding.label_index(table)
            self.info["condition"] = self.condition
            self.info["labels"] = {
                label: {
                    "n": int((index == i).sum()),
                    "yield": float(weights[index == i].sum()),
                }
                for i, label in enumerate(encoding.labels)
            }
            context = np.eye(len(encoding.labels), dtype=np.float32)[index]
            x = np.hstack([x, context])
            noise = np.hstack([noise, np.zeros_like(context)])
        learned = weights if encoding.condition is None else per_label_weights(weights, index)
        self.info |= self._fit_matrix(x, noise, learned, seed=seed, progress=progress)
        self.latent_pca = self._latent_pca(x, noise, learned, seed=seed)
        if self.calibrate:
            self.info["calibration"] = self._calibrate(table, weights, seed=seed)
        self.refiner = None
        if self.refine.mode != "off":
            self._fit_refiner(table, weights, seed=seed, progress=progress)
        return self

    def _calibrate(self, table: ak.Array, weights: np.ndarray, *, seed: int) -> dict[str, Any]:
        """Cut the encoding's discrete columns at the training shares and map its
        resonance coordinate to the training quantiles (:meth:`Encoding.calibrate`),
        measured on 20 × the training events (50,000 to
        200,000) that the trained model makes, then again on those of them that
        sampling keeps (consistent, passing the :attr:`selection`); returns the cuts."""
        n = min(max(20 * len(table), 50_000), 200_000)
        labels = None
        context = torch.zeros(n, 0)
        if self.n_context:
            counts = self.label_counts(n)
            labels = np.repeat(np.arange(len(counts)), list(counts.values()))
            context = torch.as_tensor(np.eye(self.n_context, dtype=np.float32)[labels])
        generated = self._sample_matrix(n, seed=seed + 104_729, context=context)
        finite = np.isfinite(generated).all(axis=1)
        generated = generated[finite]
        labels = None if labels is None else labels[finite]
        encoding = self._fitted()
        encoding.calibrate(generated, table, weights, labels=labels)
        # again among the events sampling keeps (the selection redraws the others)
        decoded = encoding.inverse(generated, rng=np.random.default_rng(seed), labels=labels)
        keep = encoding.consistent(generated, decoded)
        if self.selection is not None:
            keep &= self.selection(decoded)
        return encoding.calibrate(
            generated[keep], table, weights, labels=None if labels is None else labels[keep]
        )

    def _latent_pca(
        self, x: np.ndarray, noise: np.ndarray, weights: np.ndarray, *, seed: int
    ) -> dict[str, torch.Tensor] | None:
        """The principal axes of the trained model's codes of its training matrix (with
        one draw of the training noise), for the ``latent_pca`` score; ``None`` for a
        family without an encoder."""
        gen = torch.Generator().manual_seed(seed + 3)
        noisy = torch.as_tensor(x) + torch.as_tensor(noise) * torch.randn(x.shape, generator=gen)
        with torch.no_grad():
            parts = [self._codes(noisy[i : i + SCORE_BATCH]) for i in range(0, len(x), SCORE_BATCH)]
        codes = None if parts[0] is None else torch.cat([p for p in parts if p is not None])
        return None if codes is None else fit_pca(codes, weights)

    def _fit_refiner(
        self, table: ak.Array, weights: np.ndarray, *, seed: int, progress: bool
    ) -> None:
        """Train the refiner on the training events and ``multiple`` × as many of this
        generator's own (unrefined) events."""
        from evmult.models.refiner import Refiner, refiner_features

        encoding = self._fitted()
        n = min(self.refine.multiple * len(table), max(self.refine.max_generated, len(table)))
        generated = self.sample(n, seed=seed + 7919)
        labels = (
            (encoding.label_index(table), encoding.label_index(generated))
            if encoding.condition is not None
            else None
        )
        self.refiner = Refiner.fit(
            refiner_features(encoding, table, None if labels is None else labels[0]),
            weights,
            refiner_features(encoding, generated, None if labels is None else labels[1]),
            self.refine,
            seed=seed,
            progress=progress,
            labels=labels,
        )
        self.info["refiner"] = self.refiner.record

    def score(
        self,
        table: ak.Array,
        names: Sequence[str] | None = None,
        *,
        draws: int = 8,
        seed: int = 0,
    ) -> dict[str, np.ndarray]:
        """Anomaly scores of the events of ``table``, higher for events less like the
        training events (:mod:`evmult.models.scoring` says what each one is).

        Args:
            table: events of the model's channel (for a conditional model, with the
                condition's column, of labels the model knows).
            names: the scores to compute (default: every one of :attr:`score_names`).
            draws: noise draws averaged by the scores that average over the training
                noise (discrete columns, absent objects).
            seed: seed of those draws.

        An event's process label is never used: where the model learned the process as
        a column (an unconditional model of several processes), each score is the
        smallest over the processes it knows (the event read as the most typical of
        them), for every event alike. A conditional model scores each event with its
        label, p(x | label).

        Returns:
            ``{name: float64 array of len(table)}``, in the table's event order.

        Raises:
            InputError: for a family without scores, an unknown score name, a table of
                another channel, or an empty table.
        """
        available = self.available_scores()
        if not available:
            msg = f"the {self.name} model gives no anomaly score"
            raise InputError(msg)
        names = list(available if names is None else names)
        unknown = [n for n in names if n not in available]
        if unknown:
            msg = (
                f"this {self.name} model gives no score {', '.join(map(repr, unknown))}; "
                f"it gives {', '.join(available)}"
            )
            raise InputError(msg)
        channel = table_metadata(table).get("channel")
        if channel and channel != self.info.get("channel"):
            msg = f"the table is of channel {channel!r}; the model was trained on {self.info.get('channel')!r}"
            raise InputError(msg)
        if len(table) == 0:
            msg = "the table holds no events to score"
            raise InputError(msg)
        encoding = self._fitted()
        if "process" not in [c.name for c in encoding.columns]:
            return self._scores_of(table, names, draws=draws, seed=seed)
        # the process is a learned column: score as the most typical known process
        best: dict[str, np.ndarray] = {}
        for i in range(len(encoding.processes)):
            relabelled = ak.with_field(
                table, string_column(encoding.processes, np.full(len(table), i)), "process"
            )
            for name, values in self._scores_of(relabelled, names, draws=draws, seed=seed).items():
                best[name] = np.minimum(best[name], values) if name in best else values
        return best

    def _scores_of(
        self, table: ak.Array, names: list[str], *, draws: int, seed: int
    ) -> dict[str, np.ndarray]:
        """The scores ``names`` of a table's events, in that order."""
        encoding = self._fitted()
        x, noise = encoding.encode(table)
        if self.n_context:
            context = np.eye(self.n_context, dtype=np.float32)[encoding.label_index(table)]
            x, noise = np.hstack([x, context]), np.hstack([noise, np.zeros_like(context)])
        scores = self._scores(
            torch.as_tensor(x), torch.as_tensor(noise), set(names), draws=draws, seed=seed
        )
        return {n: scores[n] for n in names}

    def available_scores(self) -> tuple[str, ...]:
        """The scores of :attr:`score_names` this model gives: ``latent_pca`` only
        where its file stores the training codes' principal axes."""
        return tuple(n for n in self.score_names if n != "latent_pca" or self.latent_pca)

    def _scores(
        self, x: torch.Tensor, noise: torch.Tensor, wanted: set[str], *, draws: int, seed: int
    ) -> dict[str, np.ndarray]:
        """The scores ``wanted`` (of :meth:`available_scores`) for the encoded matrix
        ``x`` (with a conditional model's context columns) and its training-noise
        widths; a family may skip the others."""
        raise NotImplementedError

    def _codes(self, x: torch.Tensor) -> torch.Tensor | None:  # noqa: ARG002
        """The posterior means (codes) of the rows of an encoded matrix (with the
        training noise added), for the ``latent_pca`` score; ``None`` for a family
        without an encoder."""
        return None

    @property
    def title(self) -> str:
        """The model as reports and files name it: its family (an ensemble: ``ensemble
        of 5 flow-vae``)."""
        return self.name

    @property
    def n_context(self) -> int:
        """Context columns of a conditional model (its number of labels), else 0."""
        encoding = self._fitted()
        return len(encoding.labels) if encoding.condition is not None else 0

    @property
    def labels(self) -> list[str]:
        """The labels of a conditional model (empty for an unconditional one)."""
        return list(self._fitted().labels) if self.n_context else []

    def _training_labels(self, x: np.ndarray | torch.Tensor) -> torch.Tensor | None:
        """Each row's label index, from the one-hot context columns of a training
        matrix (see :meth:`_fit_matrix`); ``None`` for an unconditional model."""
        if not self.n_context:
            return None
        return split_context(torch.as_tensor(x), self.n_context)[1].argmax(-1)

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the model to one safetensors file (atomically).

        Args:
            path: output file, conventionally ``*.evmult``.
            force: overwrite an existing file.
        """
        from safetensors.torch import save_file

        encoding = self._fitted()
        header = {
            "format_version": FORMAT_VERSION,
            "model": self.name,
            "config": dataclasses.asdict(self.config),
            "encoding": encoding.state(),
            "info": self.info,
            "refine": dataclasses.asdict(self.refine),
        }
        tensors = self._learned_tensors()
        if self.refiner is not None:
            header["refiner"] = {"n_inputs": self.refiner.mean.numel()}
            tensors |= prefixed(_REFINER, self.refiner.state_dict())
        tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        with atomic_path(path, force=force) as tmp:
            save_file(tensors, str(tmp), metadata={"evmult": json.dumps(json_safe(header))})
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Generator:
        """Read a model of this family written by :meth:`save` (for a file of any
        family: :func:`evmult.models.load`).

        Raises:
            ModelFileError: for a missing or corrupt file, or one of another family.
        """
        header, tensors = read_model_file(path)
        if header.get("model") != getattr(cls, "name", None):
            msg = f"{path}: holds a {header.get('model')!r} model, not {getattr(cls, 'name', 'a known one')}"
            raise ModelFileError(msg)
        return cls.restore(header, tensors, path)

    @classmethod
    def restore(
        cls, header: Mapping[str, Any], tensors: Mapping[str, torch.Tensor], path: str | Path
    ) -> Generator:
        """A model of this family from a model file's contents (:func:`read_model_file`);
        ``path`` names the file in errors.

        Raises:
            ModelFileError: if the configuration, encoding or tensors do not fit.
        """
        from evmult.models.refiner import Refiner, RefineSettings

        name = header.get("model")
        try:
            model = cls(
                cls.Config(**header["config"]),
                condition=header["info"].get("condition"),
                refine=RefineSettings(**header["refine"]),
            )
            model.encoding = Encoding.from_state(header["encoding"])
            model.info = header["info"]
            if "refiner" in header:
                model.refiner = Refiner(int(header["refiner"]["n_inputs"]), model.refine.hidden)
                model.refiner.record = model.info.get("refiner", {})
        except (TypeError, KeyError, ValueError, InputError) as err:
            msg = (
                f"{path}: its configuration or encoding does not fit this evmult "
                f"({__version__}; the file says {header.get('info', {}).get('versions')}): {err}"
            )
            raise ModelFileError(msg) from None
        try:
            refiner, learned = split_prefixed(_REFINER, tensors)
            if model.refiner is not None:
                model.refiner.load_state_dict(refiner)
            model._load_learned(learned)
        except (RuntimeError, KeyError) as err:
            msg = f"{path}: its tensors do not fit a {name!r} model: {err}"
            raise ModelFileError(msg) from None
        return model

    def _learned_tensors(self) -> dict[str, torch.Tensor]:
        """Everything the family learned (:meth:`_tensors`) and the principal axes of
        its training codes, as named tensors."""
        tensors = dict(self._tensors())
        if self.latent_pca is not None:
            tensors |= prefixed(_PCA, self.latent_pca)
        return tensors

    def _load_learned(self, tensors: Mapping[str, torch.Tensor]) -> None:
        """Restore what :meth:`_learned_tensors` returned."""
        pca, own = split_prefixed(_PCA, tensors)
        self.latent_pca = pca or None
        self._load_tensors(own)

    # ------------------------------------------------------------------ for subclasses
    def _encoding_options(self) -> dict[str, Any]:
        return {"resonance_coordinate": getattr(self.config, "resonance_coordinate", True)}

    @abstractmethod
    def _fit_matrix(
        self, x: np.ndarray, noise: np.ndarray, weights: np.ndarray, *, seed: int, progress: bool
    ) -> dict[str, Any]:
        """Learn the encoded matrix ``x`` (plus fresh Gaussian noise of per-entry width
        ``noise`` each epoch, see :meth:`Encoding.encode`); return a training record.
        A conditional model's one-hot labels are the last :attr:`n_context` columns of
        ``x`` (without noise): inputs, not something to learn."""

    @abstractmethod
    def _tensors(self) -> dict[str, torch.Tensor]:
        """Everything learned, as named tensors."""

    @abstractmethod
    def _load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`_tensors` returned."""

    def _fitted(self) -> Encoding:
        if self.encoding is None:
            msg = f"this {self.name} model is not fitted yet; call fit(table) first"
            raise EvmultError(msg)
        return self.encoding


def prefixed(prefix: str, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``tensors`` with ``prefix`` before every name (a part of a model file)."""
    return {f"{prefix}{k}": v for k, v in tensors.items()}


def split_prefixed(
    prefix: str, tensors: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The tensors named with ``prefix`` (the prefix removed) and all the others."""
    inside = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
    return inside, {k: v for k, v in tensors.items() if not k.startswith(prefix)}


def read_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The header and the tensors of a model file.

    Raises:
        ModelFileError: for a missing or unreadable file, one without an evmult header
            or of another model-file format.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such model file"
        raise ModelFileError(msg)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        msg = f"{path}: not a readable evmult model file ({err})"
        raise ModelFileError(msg) from None
    if "evmult" not in meta:
        msg = f"{path}: a safetensors file without an evmult header"
        raise ModelFileError(msg)
    header = json.loads(meta["evmult"])
    if header.get("format_version") not in READ_FORMATS:
        msg = (
            f"{path}: model-file format {header.get('format_version')}; this evmult "
            f"({__version__}) reads formats {', '.join(map(str, READ_FORMATS))} only: "
            "retrain the model (evmult train)"
        )
        raise ModelFileError(msg)
    return header, tensors


def _versions() -> dict[str, str]:
    import awkward
    import zuko

    return {
        "evmult": __version__,
        "torch": torch.__version__,
        "zuko": zuko.__version__,
        "awkward": awkward.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
