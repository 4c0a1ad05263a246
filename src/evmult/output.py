"""Augmented files: generated events streamed into ROOT (or parquet) files.

Generation is split into fixed **blocks** of :data:`BLOCK` events, block ``i`` drawn
with a seed derived from ``(seed, i)``. Blocks are generated one after the other and
written in chunks (uproot ``mktree`` / ``extend``), so memory stays flat whatever the
number of events, and the same seed gives the same events whatever the chunk size,
the executor or the number of Dask partitions.

ROOT layouts:

* **NanoAOD-style** (channels with object collections: ``zll``, ``zgamma``, ``wz``,
  ``ttbar_semilep``): tree ``Events`` with counters ``nMuon`` ..., jagged
  ``Muon_pt, Muon_eta, Muon_phi, Muon_mass, Muon_charge, Muon_pdgId``, ``MET_pt``,
  ``MET_phi``, ``genWeight`` and the event ids ``run``, ``luminosityBlock``, ``event``
  that coffea's ``NanoAODSchema`` requires. The identification branches the channel
  selection reads carry the loosest value it accepts (``Muon_looseId`` true,
  ``Electron_cutBased`` 2, ``Photon_cutBased`` 1) and the jet b-tag discriminant
  (``Jet_btagDeepFlavB``, or the training's ``btag_branch``) is 1 for tagged jets and
  0 otherwise. A collection holds the objects the channel keeps (e.g. two jets for
  ``zll``; none for ``wz``, which counts jets but keeps none); the full jet count is
  ``evmult_nJet``.
* **flat** (particle channels, e.g. ``dplus``): the ntuple's own branches
  ``K_PX, K_PY, K_PZ, K_PE, K_ID`` ... (float64) and ``weight``, in the training
  ntuple's tree (``DecayTree``).

Both add ``evmult_isGenerated`` (bool) and ``evmult_sourceIndex`` (the event's index in
the training table for original events, -1 for generated ones) and a ``TObjString``
``evmult_provenance`` (JSON: model, seed, numbers, versions, sources).

Weights: the generated events of a file share the training sample's yield, each
``yield / n``. With the original events included, originals keep their weights times
``n_orig / (n_orig + n_gen)`` and generated events weigh ``yield / (n_orig + n_gen)``:
the total is the yield, and every event counts alike in expectation.

Conditional models (``evmult train --condition process``): the events of each label
(its share of the training events, or only the label asked for) follow each other,
label after label, and share that label's training yield; ROOT files add an
``evmult_label`` branch (the index into the provenance's ``labels``).

Example:
    >>> from evmult.output import write_generated
    >>> write_generated("zll.evmult", "more.root", n=1_000_000, seed=2)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult._version import __version__
from evmult.channels import Channel, get_channel
from evmult.errors import EvmultWarning, InputError
from evmult.readers import NANOAOD_LOOSE_ID, empty_collection
from evmult.table import atomic_path, file_sha256, json_safe, read_table, table_metadata

__all__ = [
    "BLOCK",
    "COMPRESSION",
    "FAR_BEYOND",
    "Plan",
    "generate",
    "label_originals",
    "plan",
    "table_record",
    "to_branches",
    "worth_warning",
    "write_generated",
]

BLOCK = 32_768
"""Events per seeded block: the unit of reproducibility (not of writing)."""

COMPRESSION = ("zlib", "lzma", "lz4", "zstd")
"""ROOT compression algorithms (level 1); zlib needs no extra package to read back."""

_FLAT_COMPONENTS = (("PX", "px"), ("PY", "py"), ("PZ", "pz"), ("PE", "E"))


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


def _layout(channel: Channel) -> str:
    return "flat" if channel.particles else "nanoaod"


def default_tree(model: Any) -> str:
    """``Events`` for NanoAOD-style output, else the training ntuple's tree name."""
    channel = get_channel(model.info["channel"])
    if _layout(channel) == "nanoaod":
        return "Events"
    trees = [s.get("tree") for s in model.info.get("sources", []) if s.get("tree")]
    return trees[0] if trees else "Events"


def to_branches(
    table: ak.Array,
    channel: Channel,
    *,
    first_event: int,
    source_index: np.ndarray | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One chunk of events as the ROOT branches of the channel's layout.

    Args:
        table: events (generated, or original when ``source_index`` is given).
        channel: their channel.
        first_event: 0-based number of the chunk's first event in the file set.
        source_index: the events' indices in the training table (original events).
        options: the training table's selection options (b-tag branch name).

    Returns:
        Branch name (or collection name, for uproot's counters) -> array.
    """
    n = len(table)
    out: dict[str, Any] = {}
    if _layout(channel) == "flat":
        for name in channel.particles:
            p = table[name]
            for branch, component in _FLAT_COMPONENTS:
                out[f"{name}_{branch}"] = ak.to_numpy(getattr(p, component)).astype(np.float64)
            out[f"{name}_ID"] = ak.to_numpy(p.pdgId).astype(np.int32)
        out["weight"] = ak.to_numpy(table.weight).astype(np.float64)
    else:
        from evmult.coffea import processor_for

        btag = (options or {}).get("btag_branch", "btagDeepFlavB")
        # collections the selection reads but the table does not keep (wz's jets) are
        # written empty, so the channel's processor finds every branch it reads
        needs = [c for c in processor_for(channel.name).needs if c != "MET"]
        for coll in dict.fromkeys([*channel.collections, *needs]):
            obj = table[coll] if coll in ak.fields(table) else empty_collection(n, coll)
            fields = {f: ak.values_astype(obj[f], np.float32) for f in ("pt", "eta", "phi", "mass")}
            if coll in ("Muon", "Electron"):
                fields |= {f: ak.values_astype(obj[f], np.int32) for f in ("charge", "pdgId")}
            if coll in NANOAOD_LOOSE_ID:
                field, minimum = NANOAOD_LOOSE_ID[coll]
                dtype = np.bool_ if field.endswith("Id") else np.int32
                fields[field] = ak.values_astype(ak.ones_like(obj.pt) * minimum, dtype)
            if coll == "Jet":
                fields[btag] = ak.values_astype(obj.btag, np.float32)
            out[coll] = ak.zip(fields)
        if channel.has_met:
            out["MET_pt"] = ak.to_numpy(table.MET.pt).astype(np.float32)
            out["MET_phi"] = ak.to_numpy(table.MET.phi).astype(np.float32)
        out["genWeight"] = ak.to_numpy(table.weight).astype(np.float32)
        event = np.arange(first_event, first_event + n, dtype=np.uint64)
        out["run"] = np.ones(n, dtype=np.uint32)
        out["luminosityBlock"] = (1 + event // BLOCK).astype(np.uint32)  # 1 per 32,768
        out["event"] = event + np.uint64(1)
        if "nJet" in ak.fields(table):
            out["evmult_nJet"] = ak.to_numpy(table.nJet).astype(np.int32)
    out["evmult_isGenerated"] = np.full(n, source_index is None)
    index = np.full(n, -1, np.int64) if source_index is None else source_index
    out["evmult_sourceIndex"] = index.astype(np.int64)
    return out


def _original_chunks(
    original: ak.Array | None, p: Plan, chunk_size: int
) -> Iterator[tuple[ak.Array, np.ndarray]]:
    if original is None:
        return
    w = ak.to_numpy(original.weight).astype(np.float64) * p.original_scale
    original = ak.with_field(original, w, "weight")
    for start in range(0, len(original), chunk_size):
        stop = min(start + chunk_size, len(original))
        yield original[start:stop], np.arange(start, stop)


def _rechunk(parts: Iterator[ak.Array], size: int) -> Iterator[ak.Array]:
    """Regroup a stream of tables into tables of ``size`` events (the last shorter)."""
    buffer: list[ak.Array] = []
    have = 0
    for part in parts:
        buffer.append(part)
        have += len(part)
        while have >= size:
            joined = ak.concatenate(buffer) if len(buffer) > 1 else buffer[0]
            yield joined[:size]
            rest = joined[size:]
            buffer, have = ([rest], len(rest)) if len(rest) else ([], 0)
    if have:
        yield ak.concatenate(buffer) if len(buffer) > 1 else buffer[0]


class _RootSink:
    """A TTree in the channel's layout, written chunk by chunk with uproot."""

    def __init__(
        self, path: Path, model: Any, record: dict[str, Any], tree: str | None, compression: str
    ) -> None:
        import uproot

        if compression not in COMPRESSION:
            msg = f"unknown compression {compression!r}; choose one of {', '.join(COMPRESSION)}"
            raise InputError(msg)
        algorithm = {"zlib": uproot.ZLIB, "lzma": uproot.LZMA, "lz4": uproot.LZ4}.get(
            compression, uproot.ZSTD
        )
        self.channel = get_channel(model.info["channel"])
        self.options = model.info.get("selection_options", {})
        self.model = model
        self.record = record
        self.name = tree or default_tree(model)
        self.file = uproot.recreate(path, compression=algorithm(1))
        self.tree: Any = None

    def write(self, chunk: ak.Array, index: np.ndarray | None, first: int) -> None:
        branches = to_branches(
            chunk, self.channel, first_event=first, source_index=index, options=self.options
        )
        if self.model.n_context:  # ROOT has no string branches for a process label
            branches["evmult_label"] = self.model.encoding.label_index(chunk).astype(np.int32)
        if self.tree is None:
            types = {
                k: v.type.content if isinstance(v, ak.Array) else v.dtype
                for k, v in branches.items()
            }
            self.tree = self.file.mktree(self.name, types)
        self.tree.extend(branches)

    def close(self) -> None:
        self.file["evmult_provenance"] = json.dumps(json_safe(self.record))
        self.file.close()


class _ParquetSink:
    """An event table written row group by row group (pyarrow)."""

    def __init__(self, path: Path, record: dict[str, Any]) -> None:
        self.path = path
        self.meta = table_record(record) | {"provenance": record}
        self.writer: Any = None
        self.schema: Any = None

    def write(self, chunk: ak.Array, index: np.ndarray | None, first: int) -> None:  # noqa: ARG002
        import pyarrow.parquet as pq

        arrow = ak.to_arrow_table(ak.Array(chunk, attrs=None), extensionarray=True)
        if self.writer is None:
            schema_meta = dict(arrow.schema.metadata or {})
            schema_meta[b"evmult"] = json.dumps(json_safe(self.meta)).encode()
            self.schema = arrow.schema.with_metadata(schema_meta)
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.writer.write_table(arrow.cast(self.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def provenance(model: Any, p: Plan, *, model_file: str | Path | None = None) -> dict[str, Any]:
    """The generation record stored in every output file."""
    record = {
        "channel": model.info["channel"],
        "generated": {
            "model": model.name,
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


def _events(
    model: Any,
    p: Plan,
    chunk_size: int,
    blocks: Sequence[int] | None,
    original: ak.Array | None,
) -> Iterator[tuple[ak.Array, np.ndarray | None, int]]:
    """(chunk, source indices or None, number of its first event) in file order; the
    originals come first, in the file that holds block 0."""
    blocks = list(range(len(p.blocks()))) if blocks is None else list(blocks)
    if not blocks:
        return
    if blocks[0] == 0:
        for chunk, index in _original_chunks(original, p, chunk_size):
            yield chunk, index, int(index[0])
    first = p.n_original + p.blocks()[blocks[0]][0]
    for chunk in _rechunk(generate(model, p, blocks), chunk_size):
        yield chunk, None, first
        first += len(chunk)


def write_events(
    model: Any,
    p: Plan,
    path: str | Path,
    *,
    fmt: str = "root",
    original: ak.Array | None = None,
    chunk_size: int = 100_000,
    tree: str | None = None,
    compression: str = "zlib",
    blocks: Sequence[int] | None = None,
    model_file: str | Path | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write (part of) a plan's events to ``path``, not atomically (see
    :func:`write_generated`).

    Args:
        model: the fitted generator.
        p: the plan.
        path: output file.
        fmt: ``"root"`` or ``"parquet"``.
        original: the original events (``p.n_original`` of them), written first in
            the file that holds block 0.
        chunk_size: events per ``extend`` (row group for parquet).
        tree: ROOT tree name (default :func:`default_tree`).
        compression: ROOT compression algorithm (see :data:`COMPRESSION`).
        blocks: the generated blocks this file holds (default all); the file holding
            block 0 also holds the originals.
        model_file: the model's file, recorded with its SHA-256.
        on_chunk: called with the number of events after each chunk (progress).

    Returns:
        ``{"events": n, "sum_weights": s}`` of what was written.
    """
    record = provenance(model, p, model_file=model_file)
    sink: _RootSink | _ParquetSink
    if fmt == "parquet":
        sink = _ParquetSink(Path(path), record)
    else:
        sink = _RootSink(Path(path), model, record, tree, compression)
    count, total = 0, 0.0
    for chunk, index, first in _events(model, p, chunk_size, blocks, original):
        sink.write(chunk, index, first)
        count += len(chunk)
        total += float(np.sum(ak.to_numpy(chunk.weight)))
        if on_chunk is not None:
            on_chunk(len(chunk))
    sink.close()
    return {"events": count, "sum_weights": total}


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


@contextlib.contextmanager
def _progress(total: int, enabled: bool, label: str) -> Iterator[Callable[[int], None]]:
    from tqdm.auto import tqdm

    with tqdm(total=total, disable=not enabled, unit="ev", unit_scale=True, desc=label) as bar:
        yield bar.update


def write_generated(
    model: Any,
    path: str | Path,
    *,
    factor: float | None = None,
    n: int | None = None,
    seed: int = 0,
    include_original: bool | str | Path = False,
    chunk_size: int = 100_000,
    tree: str | None = None,
    compression: str = "zlib",
    block: int = BLOCK,
    label: str | None = None,
    force: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Generate ``factor`` × the training events (or ``n``) straight into a file.

    The file (``.root`` or ``.parquet``) is written to a temporary name beside ``path``
    and renamed when complete: an error or an interrupt leaves no partial output.

    Args:
        model: a fitted generator or a model file.
        path: ``OUT.root`` or ``OUT.parquet``.
        factor: how many times the training sample's event count to generate.
        n: the number of generated events (instead of ``factor``).
        seed: the same seed gives the same events, whatever ``chunk_size``.
        include_original: also write the training events (``True``: the table the
            model records; or a table's path); see the module docstring for weights.
        chunk_size: events per write.
        tree: ROOT tree name (default ``Events``, or the training ntuple's tree).
        compression: ROOT compression (level 1).
        block: events per seeded block (part of what a seed means; keep the default).
        label: conditional models: generate only this label's events (see :func:`plan`).
        force: overwrite an existing file.
        progress: show a progress bar.

    Returns:
        ``{"events", "sum_weights", "generated", "original", "path"}``.
    """
    from evmult.models import load

    model_file = None if hasattr(model, "sample") else model
    gen = load(model) if model_file is not None else model
    path = Path(path)
    original, p = _prepare(
        gen,
        path,
        factor,
        n,
        seed,
        include_original=include_original,
        block=block,
        chunk_size=chunk_size,
        label=label,
    )
    with atomic_path(path, force=force) as tmp, _progress(p.n_total, progress, path.name) as tick:
        out = write_events(
            gen,
            p,
            tmp,
            fmt=path.suffix[1:],
            original=original,
            chunk_size=chunk_size,
            tree=tree,
            compression=compression,
            model_file=model_file,
            on_chunk=tick,
        )
    return out | {"generated": p.n, "original": p.n_original, "path": str(path)}


def _prepare(
    model: Any,
    path: Path,
    factor: float | None,
    n: int | None,
    seed: int,
    *,
    include_original: bool | str | Path,
    block: int,
    chunk_size: int,
    label: str | None,
) -> tuple[ak.Array | None, Plan]:
    """Check the output name and chunk size; load the originals; make the plan."""
    if path.suffix not in (".root", ".parquet"):
        msg = f"{path}: the output must end in .root or .parquet"
        raise InputError(msg)
    if chunk_size <= 0:
        msg = f"chunk size must be positive, got {chunk_size}"
        raise InputError(msg)
    p = plan(model, factor=factor, n=n, seed=seed, block=block, label=label)
    if not include_original:
        return None, p
    original = load_original(model, None if include_original is True else include_original)
    if label is not None:
        original = label_originals(model, original, label)
    return original, plan(model, n=p.n, seed=seed, original=original, block=block, label=label)


def partition_paths(path: str | Path, partitions: int) -> list[Path]:
    """``OUT_0000.root``, ``OUT_0001.root`` ... for ``OUT.root``."""
    path = Path(path)
    return [path.with_name(f"{path.stem}_{i:04d}{path.suffix}") for i in range(partitions)]


def _partition_task(
    model_file: str,
    p: Plan,
    blocks: list[int],
    path: str,
    original: ak.Array | None,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """One Dask task: load the model, write the blocks' events to ``path``."""
    from evmult.models import load

    model = load(model_file)
    fmt = Path(path).suffix[1:]
    return write_events(
        model, p, path, fmt=fmt, original=original, blocks=blocks, model_file=model_file, **settings
    )


def write_generated_dask(
    model_file: str | Path,
    path: str | Path,
    *,
    client: Any,
    factor: float | None = None,
    n: int | None = None,
    seed: int = 0,
    partitions: int | None = None,
    include_original: bool | str | Path = False,
    chunk_size: int = 100_000,
    tree: str | None = None,
    compression: str = "zlib",
    block: int = BLOCK,
    label: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """:func:`write_generated` as Dask tasks: one file per partition, together holding
    exactly the events of a local run with the same seed.

    Each partition is a contiguous range of seeded blocks; a task loads the model file
    and writes ``OUT_0000.root`` ... into a temporary directory beside ``path``, so
    the model file and the output directory must be reachable from the workers (as
    for any NanoAOD dataset). The files are renamed into place when every task has
    succeeded; a failure or an interrupt leaves none.

    Args:
        model_file: the model file.
        path: ``OUT.root`` or ``OUT.parquet``; files are ``OUT_0000.root`` ...
        client: a ``dask.distributed.Client``.
        factor: how many times the training events to generate.
        n: the number of generated events (instead of ``factor``).
        seed: the run's seed.
        partitions: output files (default: the cluster's threads, at most one per
            block).
        include_original: as in :func:`write_generated` (written to the first file).
        chunk_size: events per write.
        tree: ROOT tree name.
        compression: ROOT compression.
        block: events per seeded block, as in :func:`write_generated`.
        label: conditional models: only this label's events.
        force: overwrite existing partition files.

    Returns:
        ``{"events", "sum_weights", "generated", "original", "paths"}``.
    """
    import shutil
    import tempfile

    from evmult.models import load

    path = Path(path)
    model = load(model_file)
    original, p = _prepare(
        model,
        path,
        factor,
        n,
        seed,
        include_original=include_original,
        block=block,
        chunk_size=chunk_size,
        label=label,
    )
    n_blocks = len(p.blocks())
    k = partitions or max(1, sum(client.nthreads().values()))
    k = max(1, min(k, n_blocks))
    groups = [list(g) for g in np.array_split(np.arange(n_blocks), k)]
    finals = partition_paths(path, k)
    if not path.parent.is_dir():
        msg = f"{path}: directory {path.parent} does not exist"
        raise InputError(msg)
    existing = list(path.parent.glob(f"{path.stem}_[0-9][0-9][0-9][0-9]{path.suffix}"))
    if existing and not force:
        msg = f"{existing[0]}: exists; pass --force (force=True) to overwrite"
        raise InputError(msg)
    settings = {"chunk_size": chunk_size, "tree": tree, "compression": compression}
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent))
    try:
        futures = [
            client.submit(
                _partition_task,
                str(Path(model_file).resolve()),
                p,
                [int(b) for b in group],
                str(tmp / final.name),
                original if i == 0 else None,
                settings,
                pure=False,
            )
            for i, (group, final) in enumerate(zip(groups, finals, strict=True))
        ]
        results = client.gather(futures)
        for f in existing:
            f.unlink()
        for final in finals:
            (tmp / final.name).replace(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "events": sum(r["events"] for r in results),
        "sum_weights": sum(r["sum_weights"] for r in results),
        "generated": p.n,
        "original": p.n_original,
        "paths": [str(f) for f in finals],
    }
