"""Generation plans: how many events, in which seeded blocks, with which weights, and
the provenance record every output carries.

Generation is split into fixed **blocks** of :data:`BLOCK` events, block ``i`` drawn
with a seed derived from ``(seed, i)``: the same seed gives the same events whatever
the chunk size, the executor or the number of Dask partitions.

Weights (this module is their one owner): the generated events of a sample share the
training sample's yield, each ``yield / n``. With the original events included,
originals keep their weights times ``n_orig / (n_orig + n_gen)`` and generated events
weigh ``yield / (n_orig + n_gen)``: the total is the yield, and every event counts alike
in expectation. A conditional model's labels each keep their own training yield.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult._version import __version__
from evmult.errors import EvmultWarning, InputError
from evmult.io.files import file_sha256
from evmult.io.tables import read_table, table_metadata

__all__ = [
    "BLOCK",
    "FAR_BEYOND",
    "Plan",
    "block_seed",
    "generate",
    "label_originals",
    "load_original",
    "plan",
    "provenance",
    "table_record",
    "worth_warning",
]

BLOCK = 32_768
"""Events per seeded block: the unit of reproducibility (not of writing)."""


def block_seed(seed: int, index: int) -> int:
    """The seed of block ``index`` of a run seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] >> 2)


@dataclass(frozen=True)
class Plan:
    """What one augmented sample holds.

    Args:
        n: generated events.
        seed: the run's seed.
        train_yield: the training sample's sum of weights.
        n_original: original (training) events written beside them.
        block: events per seeded block; the same seed and block give the same events.
        labels: conditional models: ``(label, events, training yield)`` of each label,
            in the order they are written (contiguous ranges); empty otherwise.
    """

    n: int
    seed: int
    train_yield: float
    n_original: int = 0
    block: int = BLOCK
    labels: tuple[tuple[str, int, float], ...] = ()

    @property
    def n_total(self) -> int:
        """Events in the output."""
        return self.n + self.n_original

    @property
    def generated_weight(self) -> float:
        """The weight of every generated event."""
        return self.train_yield / self.n_total

    @property
    def original_scale(self) -> float:
        """The factor the original events' weights are multiplied by."""
        return self.n_original / self.n_total

    @property
    def label_weights(self) -> dict[str, float]:
        """Conditional models: the weight of every generated event of each label (its
        yield, less the originals' share, over its events)."""
        keep = 1.0 - self.original_scale
        return {label: keep * y / k if k else 0.0 for label, k, y in self.labels}

    def block_labels(self, start: int, stop: int) -> dict[str, int]:
        """Conditional models: events of each label among generated events
        ``start:stop`` (labels are written one after the other)."""
        counts, low = {}, 0
        for label, k, _ in self.labels:
            overlap = min(stop, low + k) - max(start, low)
            if overlap > 0:
                counts[label] = overlap
            low += k
        return counts

    def blocks(self) -> list[tuple[int, int]]:
        """``(start, stop)`` of each seeded block of generated events."""
        return [(s, min(s + self.block, self.n)) for s in range(0, self.n, self.block)]


FAR_BEYOND = 2.0
"""``evmult multiply`` warns when the asked factor exceeds this multiple of the
largest useful factor the model file records (``evmult worth --record``)."""


def worth_warning(info: Mapping[str, Any], n: int) -> str | None:
    """One line when ``n`` generated events are far beyond the largest useful factor
    a model's ``info["worth"]`` records (see :data:`FAR_BEYOND`), else ``None``.

    Example:
        >>> info = {"n_train": 2_000, "worth": {"largest_useful_factor": 4.5,
        ...         "lower_bound": False, "asymptotic_amplification": 0.6}}
        >>> print(worth_warning(info, 200_000))
        asked for 100× the training events, but this model's events stop adding worth beyond about 4.5×: all of them together are worth at most about 0.6× the 2,000 training events
    """
    worth = info.get("worth")
    if not worth or worth.get("lower_bound"):
        return None
    useful = float(worth["largest_useful_factor"])
    factor = n / info["n_train"]
    if factor <= FAR_BEYOND * useful:
        return None
    return (
        f"asked for {factor:.3g}× the training events, but this model's events stop adding "
        f"worth beyond about {useful:.2g}×: all of them together are worth at most about "
        f"{worth['asymptotic_amplification']:.2g}× the {info['n_train']:,} training events"
    )


def plan(
    model: Any,
    *,
    factor: float | None = None,
    n: int | None = None,
    seed: int = 0,
    original: ak.Array | None = None,
    block: int = BLOCK,
    label: str | None = None,
) -> Plan:
    """The :class:`Plan` of ``factor`` × the training events (or exactly ``n``).

    For a conditional model the events are shared among its labels as the training
    events are, each label keeping its training yield; with ``label``, only that
    label's events (``factor`` then counts that label's training events), with its
    yield (and only its original events).

    Warns:
        EvmultWarning: when the model file records the largest useful factor of its
            events (``evmult worth --record``) and ``n`` is far beyond it.

    Raises:
        InputError: for no or both of ``factor`` and ``n``, a non-positive count,
            original events of another channel, or a label the model does not have
            (or any label, for an unconditional model).
    """
    if (factor is None) == (n is None):
        msg = "give exactly one of factor and n"
        raise InputError(msg)
    if n is None:
        assert factor is not None
        if factor <= 0:
            msg = f"factor must be positive, got {factor}"
            raise InputError(msg)
        base = model.info["n_train"]
        if label is not None and label in model.info.get("labels", {}):
            base = model.info["labels"][label]["n"]
        n = round(factor * base)
    if n <= 0:
        msg = f"the number of events must be positive, got {n}"
        raise InputError(msg)
    if original is not None:
        channel = table_metadata(original).get("channel")
        if channel != model.info["channel"]:
            msg = f"the original events are of channel {channel!r}, the model of {model.info['channel']!r}"
            raise InputError(msg)
    if block <= 0:
        msg = f"block size must be positive, got {block}"
        raise InputError(msg)
    known = model.info.get("labels", {})
    if label is not None and label not in known:
        msg = (
            f"the model knows the labels {', '.join(known)}; not {label!r}"
            if known
            else f"the model is not conditional; it takes no label (got {label!r})"
        )
        raise InputError(msg)
    if label is None and (line := worth_warning(model.info, n)):
        warnings.warn(line, EvmultWarning, stacklevel=2)
    counts = {} if not known else {label: n} if label is not None else model.label_counts(n)
    labels = tuple((k, c, known[k]["yield"]) for k, c in counts.items())
    train_yield = sum(y for *_, y in labels) if labels else model.info["train_yield"]
    n_original = 0 if original is None else len(original)
    return Plan(n, seed, train_yield, n_original=n_original, block=block, labels=labels)


def label_originals(model: Any, original: ak.Array, label: str) -> ak.Array:
    """The original events of one label of a conditional model."""
    index = model.encoding.label_index(original)
    return original[index == model.labels.index(label)]


def generate(model: Any, p: Plan, blocks: Sequence[int] | None = None) -> Iterator[ak.Array]:
    """The generated events of ``p``, one seeded block at a time.

    Args:
        model: a fitted :class:`~evmult.models.Generator`.
        p: the plan.
        blocks: indices of the blocks to generate (default: all).

    Yields:
        Event tables of at most :data:`BLOCK` events, each weighing
        :attr:`Plan.generated_weight`.
    """
    spans = p.blocks()
    weights = p.label_weights
    for i in range(len(spans)) if blocks is None else blocks:
        start, stop = spans[i]
        if not p.labels:
            part = model.sample(stop - start, seed=block_seed(p.seed, i))
            yield ak.with_field(part, np.full(stop - start, p.generated_weight), "weight")
            continue
        counts = p.block_labels(start, stop)
        part = model.sample(stop - start, seed=block_seed(p.seed, i), label=counts)
        w = np.concatenate([np.full(k, weights[label]) for label, k in counts.items()])
        yield ak.with_field(part, w, "weight")


def provenance(model: Any, p: Plan, *, model_file: str | Path | None = None) -> dict[str, Any]:
    """The generation record stored in every output file."""
    record = {
        "channel": model.info["channel"],
        "generated": {
            "model": model.title,
            "seed": p.seed,
            "n": p.n,
            "factor": p.n / model.info["n_train"],
            "yield": p.train_yield,
            "block": p.block,
            **({"labels": {label: k for label, k, _ in p.labels}} if p.labels else {}),
        },
        "n_original": p.n_original,
        "weights": {
            "generated": p.label_weights if p.labels else p.generated_weight,
            "original_scale": p.original_scale if p.n_original else None,
        },
        "model_info": {k: model.info.get(k) for k in ("n_train", "seed", "versions")},
        "labels": model.labels,
        "sources": model.info.get("sources", []),
        "evmult_version": __version__,
    }
    if model_file is not None:
        path = Path(model_file)
        record["model_file"] = {"path": str(path.resolve()), "sha256": file_sha256(path)}
    return record


def table_record(record: dict[str, Any]) -> dict[str, Any]:
    """The part of a :func:`provenance` record a generated event table carries in
    ``attrs["evmult"]`` (the keys :meth:`Generator.sample` sets)."""
    return {k: record[k] for k in ("channel", "generated", "sources", "evmult_version")}


def load_original(model: Any, path: str | Path | None = None) -> ak.Array:
    """The training events to include in an augmented file.

    Args:
        model: the generator (its ``info["training_table"]`` names the table it was
            trained on, with the table's SHA-256).
        path: the table to include instead of the recorded one.

    Raises:
        InputError: if no table is given or recorded, it is missing, or the recorded
            one changed since training.
    """
    recorded = model.info.get("training_table")
    if path is None:
        if not recorded:
            msg = "the model does not record its training table; give it: --include-original TABLE"
            raise InputError(msg)
        path = Path(recorded["path"])
        if not path.is_file():
            msg = f"{path}: the model's training table is gone; give it: --include-original TABLE"
            raise InputError(msg)
        if file_sha256(path) != recorded["sha256"]:
            msg = f"{path}: changed since the model was trained on it (SHA-256 differs)"
            raise InputError(msg)
    return read_table(path)
