"""Event tables on disk: parquet with the extraction metadata, written atomically.

An event table is an awkward array with one record per event (see
:mod:`evmult.io.layout` for the object layout). Its metadata (channel, format, sources
with their SHA-256, selection options, cutflow) travels in ``array.attrs["evmult"]`` in
memory and in the parquet key-value metadata on disk. Loading attaches vector's
behaviours, so ``(table.Muon[:, 0] + table.Muon[:, 1]).mass`` works at once.

Example:
    >>> from evmult.io.tables import read_table
    >>> table = read_table("zll.parquet")  # doctest: +SKIP
    >>> table.attrs["evmult"]["channel"]  # doctest: +SKIP
    'zll'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import vector

from evmult.errors import InputError
from evmult.io.files import atomic_path

__all__ = [
    "as_table",
    "event_weights",
    "json_safe",
    "read_table",
    "split_table",
    "string_column",
    "table_metadata",
    "write_table",
]

vector.register_awkward()

_KEY = b"evmult"


def table_metadata(table: ak.Array) -> dict[str, Any]:
    """The evmult metadata of a table (empty if it has none)."""
    return dict((table.attrs or {}).get("evmult", {}))


def write_table(
    table: ak.Array,
    path: str | Path,
    *,
    metadata: Mapping[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Write an event table to parquet, atomically.

    Args:
        table: the event table.
        path: output ``.parquet`` path.
        metadata: JSON-serialisable metadata; ``table.attrs["evmult"]`` when ``None``.
        force: overwrite an existing file.

    Returns:
        The path written.
    """
    meta = table_metadata(table) if metadata is None else dict(metadata)
    arrow = ak.to_arrow_table(ak.Array(table, attrs=None), extensionarray=True)
    schema_meta = dict(arrow.schema.metadata or {})
    schema_meta[_KEY] = json.dumps(meta).encode()
    arrow = arrow.replace_schema_metadata(schema_meta)
    with atomic_path(path, force=force) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")
    return Path(path)


def read_table(path: str | Path) -> ak.Array:
    """Read an event table written by :func:`write_table` (or ``evmult extract``).

    Returns:
        The table with vector behaviours and ``attrs["evmult"]`` metadata.

    Raises:
        InputError: if the file is missing, not parquet, or not an evmult table.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise InputError(msg)
    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError) as err:  # pyarrow.ArrowInvalid is a ValueError
        msg = f"{path}: not a parquet file ({err})"
        raise InputError(msg) from None
    raw = (schema.metadata or {}).get(_KEY)
    if raw is None:
        msg = f"{path}: not an evmult event table (no 'evmult' metadata; make one with evmult extract)"
        raise InputError(msg)
    table = ak.from_parquet(path)
    return ak.Array(table, attrs={"evmult": json.loads(raw)})


def json_safe(value: Any) -> Any:
    """Nested data as JSON allows it: NaN and infinities become ``None``, numpy
    scalars Python ones (metadata, metrics, model-file headers)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def as_table(table: ak.Array | str | Path, what: str = "event table") -> ak.Array:
    """The table itself, or the one read from its path; a missing file is named as
    ``what`` (e.g. ``"generated event table"``)."""
    if isinstance(table, ak.Array):
        return table
    path = Path(table)
    if not path.is_file():
        msg = f"{path}: no such {what}"
        raise InputError(msg)
    return read_table(path)


def event_weights(table: ak.Array) -> np.ndarray:
    """The events' weights as float64 (ones for a table without weights).

    Raises:
        InputError: if a weight is NaN or infinite.
    """
    if "weight" not in ak.fields(table):
        return np.ones(len(table))
    w = ak.to_numpy(table.weight).astype(np.float64)
    bad = ~np.isfinite(w)
    if bad.any():
        msg = (
            f"{int(bad.sum())} event weights are NaN or infinite "
            f"(the first in event {int(np.argmax(bad))})"
        )
        raise InputError(msg)
    return w


def split_table(
    table: ak.Array, *, fraction: float | None = None, n: int | None = None, seed: int = 0
) -> tuple[ak.Array, ak.Array]:
    """Split events at random into two tables (e.g. training and held-out events).

    Args:
        table: an event table.
        fraction: the first part's share of the events (0 < fraction < 1), or
        n: the first part's number of events.
        seed: seed of the random split.

    Returns:
        The two parts; each keeps the metadata and records the split in
        ``attrs["evmult"]["split"]``.

    Raises:
        InputError: unless exactly one of ``fraction`` and ``n`` is given and both
            parts have events.
    """
    if (fraction is None) == (n is None):
        msg = "give exactly one of fraction and n"
        raise InputError(msg)
    total = len(table)
    k = round(fraction * total) if fraction is not None else int(n or 0)
    if not 0 < k < total:
        msg = f"cannot split {total} events into {k} and {total - k}"
        raise InputError(msg)
    perm = np.random.default_rng(seed).permutation(total)
    meta = table_metadata(table)
    parts = []
    for name, idx in (("first", np.sort(perm[:k])), ("rest", np.sort(perm[k:]))):
        info = {"part": name, "seed": seed, "n": len(idx), "of": total}
        parts.append(ak.Array(table[idx], attrs={"evmult": meta | {"split": info}}))
    return parts[0], parts[1]


def string_column(values: Sequence[str], index: np.ndarray) -> ak.Array:
    """The strings ``values[index]`` as an awkward string array, built from bytes (a
    Python list of 10⁵ strings takes a second).

    Example:
        >>> string_column(["wz", "ttbar"], np.array([1, 0, 1])).tolist()
        ['ttbar', 'wz', 'ttbar']
    """
    raw = [v.encode() for v in values]
    lengths = np.array([len(r) for r in raw], dtype=np.int64)
    width = max(int(lengths.max(initial=0)), 1)
    padded = np.zeros((len(raw), width), dtype=np.uint8)
    for i, r in enumerate(raw):
        padded[i, : len(r)] = np.frombuffer(r, dtype=np.uint8)
    chars = padded[index][np.arange(width) < lengths[index][:, None]]
    offsets = np.zeros(len(index) + 1, dtype=np.int64)
    np.cumsum(lengths[index], out=offsets[1:])
    layout = ak.contents.ListOffsetArray(
        ak.index.Index64(offsets),
        ak.contents.NumpyArray(chars, parameters={"__array__": "char"}),
        parameters={"__array__": "string"},
    )
    return ak.Array(layout)
