"""coffea integration: the channel processor base class and the extraction runner.

A channel processor is an ordinary :class:`coffea.processor.ProcessorABC`: it can run in
your own ``processor.Runner`` next to your analysis, or through :func:`extract`, which
adds the pre-flight checks, the CSV path and the merge into one event table.

Example:
    >>> from evmult.coffea import extract
    >>> table = extract(["delphes_zll.root"], "zll", executor="futures")  # doctest: +SKIP
    >>> table.Muon.pt  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from coffea import processor
from coffea.nanoevents import BaseSchema, DelphesSchema, NanoAODSchema
from coffea.util import coffea_console

from evmult._version import __version__
from evmult.channel_processor import ChannelProcessor, make_options
from evmult.channels import get_channel
from evmult.errors import EvmultError, InputError, SelectionError
from evmult.io.csv import CsvChunk, csv_chunks, read_csv_chunk
from evmult.io.files import file_sha256
from evmult.io.readers import absent_collections, default_treename, detect_format, tree_branches

__all__ = [
    "EXECUTORS",
    "ChannelProcessor",
    "collect",
    "dask_client",
    "extract",
    "make_options",
    "processor_for",
    "selection_check",
]

EXECUTORS = ("iterative", "futures", "dask")
#: Typical length of a DarkMachines CSV line, used to turn events per chunk into bytes.
CSV_BYTES_PER_EVENT = 128
_SCHEMAS = {"nanoaod": NanoAODSchema, "delphes": DelphesSchema, "flat": BaseSchema}


def processor_for(channel: str, options: Mapping[str, Any] | None = None) -> ChannelProcessor:
    """The channel's processor with the selection options a table records.

    Args:
        channel: channel name.
        options: selection options, as in ``table.attrs["evmult"]["options"]``.
    """
    return _processor_class(channel)(**dict(options or {}))


def selection_check(
    channel: str, options: Mapping[str, Any] | None = None
) -> Callable[[ak.Array], np.ndarray]:
    """The function a generator is handed to keep only events the channel's selection
    (with a table's options) keeps as they are: :meth:`ChannelProcessor.accepts`.

    Example:
        >>> accepts = selection_check("zll")
        >>> accepts(table).all()  # doctest: +SKIP
        True
    """
    return processor_for(channel, options).accepts


def _processor_class(channel: str) -> type[ChannelProcessor]:
    from evmult.processors import PROCESSORS

    get_channel(channel)  # a clear error for an unknown name
    return PROCESSORS[channel]


def _csv_task(proc: ChannelProcessor, chunk: CsvChunk) -> dict[str, Any]:
    meta = {"dataset": chunk.dataset, "filename": chunk.path, "entrystart": chunk.start}
    return proc.process_objects(read_csv_chunk(chunk), meta)


def dask_client(workers: int, scheduler: str | None = None) -> Any:
    """A ``dask.distributed.Client``: of the scheduler at ``scheduler``, or of a local
    cluster of ``workers`` single-threaded processes.

    Raises:
        EvmultError: where dask is not installed (the ``dask`` extra).
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        msg = "the dask executor needs dask.distributed: pip install 'evmult[dask]'"
        raise EvmultError(msg) from None
    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return Client(cluster)


def _executor(name: str, workers: int, client: Any, progress: bool) -> tuple[Any, Any]:
    """An executor instance and, for a cluster evmult started, the thing to close."""
    if name == "iterative":
        return processor.IterativeExecutor(status=progress, retries=0), None
    if name == "futures":
        return processor.FuturesExecutor(workers=workers, status=progress, retries=0), None
    if name == "dask":
        owned = None
        if client is None:
            client = owned = dask_client(workers)
        return processor.DaskExecutor(client=client, status=progress, retries=0), owned
    msg = f"unknown executor {name!r}; known executors: {', '.join(EXECUTORS)}"
    raise SelectionError(msg)


def _root_cause(err: BaseException) -> BaseException:
    """The EvmultError behind an exception that coffea or dask wrapped, if any."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, EvmultError):
            return e
        todo += [e.__cause__, e.__context__, *(a for a in e.args if isinstance(a, BaseException))]
    return err


def extract(
    inputs: Sequence[str | Path] | Mapping[str, Sequence[str | Path]],
    channel: str,
    *,
    fmt: str | None = None,
    treename: str | None = None,
    executor: str = "iterative",
    workers: int = 2,
    chunksize: int = 100_000,
    client: Any = None,
    options: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> ak.Array:
    """Run a channel's processor over input files and return its event table.

    Args:
        inputs: file paths (each its own dataset, named after the file), or a coffea-style
            fileset ``{dataset: [paths]}``. The dataset name becomes the ``process`` label
            of ROOT inputs; CSV inputs carry their own.
        channel: channel name (see :data:`evmult.channels.CHANNELS`).
        fmt: ``nanoaod``, ``delphes``, ``flat`` or ``csv``; detected when ``None``.
        treename: tree to read; the format's default when ``None``.
        executor: ``iterative``, ``futures`` or ``dask``.
        workers: processes for ``futures`` and for the local Dask cluster.
        chunksize: entries per chunk (for CSV, byte ranges of ``chunksize`` times
            :data:`CSV_BYTES_PER_EVENT`).
        client: a ``dask.distributed.Client`` to use instead of a local cluster.
        options: selection and reader options of the channel's processor.
        progress: show coffea's progress bar.

    Returns:
        The event table, one record per selected event, with the extraction metadata
        (channel, format, sources with SHA-256, options, cutflow) in ``attrs["evmult"]``.

    Raises:
        InputError: missing file, wrong tree, missing branch or non-finite value.
        SelectionError: unknown channel or option, or no event passes the selection.
    """
    fileset = _fileset(inputs)
    paths = [p for files in fileset.values() for p in files]
    formats = {p: fmt or detect_format(p) for p in paths}
    if len(set(formats.values())) != 1:
        msg = f"inputs mix formats ({', '.join(f'{p}: {f}' for p, f in formats.items())})"
        raise InputError(msg)
    fmt = formats[paths[0]]
    proc = _processor_class(channel)(fmt, **(options or {}))

    trees: dict[str, str] = {}
    absent: set[str] = set()
    for path in paths:
        if not Path(path).is_file():
            msg = f"{path}: no such file"
            raise InputError(msg)
        if fmt == "csv":
            continue
        trees[path] = treename or default_treename(path, fmt)
        branches = tree_branches(path, trees[path])
        missing = [b for b in proc.required_branches(branches) if b not in branches]
        if missing:
            msg = (
                f"{path}: tree {trees[path]!r} lacks branch {missing[0]!r}"
                f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}"
                f", needed by channel {channel!r} on {fmt} input"
            )
            raise InputError(msg)
        for coll in absent_collections(fmt, proc.needs, branches):
            if coll not in absent:
                what = "zero" if coll == "MET" else "empty"
                warnings.warn(f"{path}: no {coll} branches; {coll} is {what}", stacklevel=2)
            absent.add(coll)

    exe, owned = _executor(executor, workers, client, progress)
    console_was_quiet = coffea_console.quiet
    coffea_console.quiet = not progress
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Mm]issing cross-reference.*")
            warnings.filterwarnings("ignore", message=".*values will be replaced with 0.0")
            if fmt == "csv":
                items = [
                    c
                    for ds, files in fileset.items()
                    for p in files
                    for c in csv_chunks(p, dataset=ds)
                ]
                out = exe(items, functools.partial(_csv_task, proc), {})
                acc = out[0] if isinstance(out, tuple) else out
            else:
                runner = processor.Runner(
                    executor=exe, schema=_SCHEMAS[fmt], chunksize=chunksize, skipbadfiles=False
                )
                files = {ds: {"files": {p: trees[p] for p in fs}} for ds, fs in fileset.items()}
                acc = runner(files, processor_instance=proc, treename=None)
    except Exception as err:
        cause = _root_cause(err)
        if cause is err:
            raise
        raise cause from None
    finally:
        coffea_console.quiet = console_was_quiet
        if owned is not None:
            cluster = owned.cluster
            owned.close()
            cluster.close()

    table = collect(acc, paths)
    cutflow = acc.get("cutflow", {})
    total = len(table)
    if total == 0:
        flow = "; ".join(f"{ds}: {dict(c)}" for ds, c in cutflow.items()) or "no chunks read"
        msg = f"no event of {', '.join(map(str, paths))} passes the {channel!r} selection ({flow})"
        raise SelectionError(msg)
    sources = [
        {"path": str(Path(p).resolve()), "sha256": file_sha256(p), "tree": trees.get(p)}
        for p in paths
    ]
    metadata = {
        "channel": channel,
        "format": fmt,
        "sources": sources,
        "options": dataclasses.asdict(proc.options),
        "absent_collections": sorted(absent),
        "cutflow": {ds: dict(c) for ds, c in cutflow.items()},
        "n_events": int(total),
        "evmult_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    return ak.Array(table, attrs={"evmult": metadata})


def collect(accumulator: Mapping[str, Any], paths: Sequence[str] | None = None) -> ak.Array:
    """Merge the table chunks of a channel processor's output into one table.

    Use it on what your own ``processor.Runner`` returned. Chunks are ordered by input
    file (in ``paths`` order, else by name) and entry, so every executor gives the same
    table.

    Args:
        accumulator: the processor output, ``{"tables": {...}, "cutflow": {...}}``.
        paths: input files in the order their events should come.

    Returns:
        The merged event table (possibly empty).
    """
    tables = accumulator.get("tables", {})
    order = {str(p): i for i, p in enumerate(paths or sorted({k[1] for k in tables}))}
    keys = sorted(tables, key=lambda k: (order.get(k[1], len(order)), k[1], k[2]))
    if not keys:
        return ak.Array([])
    return ak.concatenate([tables[k] for k in keys])


def _fileset(
    inputs: Sequence[str | Path] | Mapping[str, Sequence[str | Path]],
) -> dict[str, list[str]]:
    if isinstance(inputs, Mapping):
        fileset = {str(ds): [str(p) for p in files] for ds, files in inputs.items()}
    else:
        fileset = {}
        for p in inputs:
            fileset.setdefault(Path(p).stem, []).append(str(p))
    if not any(fileset.values()):
        msg = "no input files given"
        raise InputError(msg)
    return fileset
