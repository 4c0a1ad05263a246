"""Augmented files: generated events streamed into ROOT (or parquet) files.

The seeded blocks of a :class:`evmult.generation.Plan` are generated one after the
other and written in chunks (uproot ``mktree`` / ``extend``, :mod:`evmult.io.writers`),
so memory stays flat whatever the number of events, and the same seed gives the same
events whatever the chunk size, the executor or the number of Dask partitions.

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

Weights (:mod:`evmult.generation`): the generated events of a file share the training
sample's yield, each ``yield / n``. With the original events included, originals keep
their weights times ``n_orig / (n_orig + n_gen)`` and generated events weigh
``yield / (n_orig + n_gen)``: the total is the yield, and every event counts alike in
expectation.

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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult.channels import get_channel
from evmult.errors import InputError
from evmult.generation import (
    BLOCK,
    Plan,
    generate,
    label_originals,
    load_original,
    plan,
    provenance,
    table_record,
)
from evmult.io.files import atomic_path
from evmult.io.layout import layout
from evmult.io.writers import ParquetWriter, RootWriter, rechunk
from evmult.pipeline import load

__all__ = [
    "default_tree",
    "partition_paths",
    "root_writer",
    "write_events",
    "write_generated",
    "write_generated_dask",
]


def default_tree(model: Any) -> str:
    """``Events`` for NanoAOD-style output, else the training ntuple's tree name."""
    channel = get_channel(model.info["channel"])
    if layout(channel) == "nanoaod":
        return "Events"
    trees = [s.get("tree") for s in model.info.get("sources", []) if s.get("tree")]
    return trees[0] if trees else "Events"


def root_writer(
    model: Any,
    path: Path,
    record: dict[str, Any],
    *,
    tree: str | None = None,
    compression: str = "zlib",
) -> RootWriter:
    """A :class:`~evmult.io.writers.RootWriter` for events of ``model``'s channel, in the
    layout its training files had (tree :func:`default_tree` unless named, the b-tag
    branch its selection read, and the collections the selection reads but the table
    does not keep, such as wz's jets)."""
    from evmult.coffea import processor_for

    channel = get_channel(model.info["channel"])
    return RootWriter(
        path,
        channel,
        record,
        tree=tree or default_tree(model),
        compression=compression,
        collections=[c for c in processor_for(channel.name).needs if c != "MET"],
        btag_branch=model.info.get("selection_options", {}).get("btag_branch", "btagDeepFlavB"),
    )


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
    for chunk in rechunk(generate(model, p, blocks), chunk_size):
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
    writer: RootWriter | ParquetWriter
    labels_of = None
    if fmt == "parquet":
        writer = ParquetWriter(Path(path), table_record(record) | {"provenance": record})
    else:
        writer = root_writer(model, Path(path), record, tree=tree, compression=compression)
        if model.n_context:
            labels_of = model.encoding.label_index
    count, total = 0, 0.0
    for chunk, index, first in _events(model, p, chunk_size, blocks, original):
        writer.write(chunk, index, first, None if labels_of is None else labels_of(chunk))
        count += len(chunk)
        total += float(np.sum(ak.to_numpy(chunk.weight)))
        if on_chunk is not None:
            on_chunk(len(chunk))
    writer.close()
    return {"events": count, "sum_weights": total}


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
