"""Writers of event streams: a ROOT TTree in a channel's layout, or a parquet event
table, filled chunk by chunk so memory stays flat; they take events and a provenance
record and know nothing of the model that made them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from evmult.channels import Channel
from evmult.errors import InputError
from evmult.io.layout import to_branches
from evmult.io.tables import json_safe

__all__ = ["COMPRESSION", "ParquetWriter", "RootWriter", "rechunk"]

COMPRESSION = ("zlib", "lzma", "lz4", "zstd")
"""ROOT compression algorithms (level 1); zlib needs no extra package to read back."""


def rechunk(parts: Iterator[ak.Array], size: int) -> Iterator[ak.Array]:
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


class RootWriter:
    """A TTree in the channel's layout (:func:`evmult.io.layout.to_branches`), written
    chunk by chunk with uproot; the provenance record becomes the ``TObjString``
    ``evmult_provenance``.

    Args:
        path: the file to create.
        channel: the events' channel.
        record: the provenance record (JSON-serialisable).
        tree: the tree's name.
        compression: one of :data:`COMPRESSION` (level 1).
        collections: collections to write besides the channel's (see
            :func:`~evmult.io.layout.to_branches`).
        btag_branch: the jet b-tag branch.

    Raises:
        InputError: for an unknown compression.
    """

    def __init__(
        self,
        path: Path,
        channel: Channel,
        record: dict[str, Any],
        *,
        tree: str,
        compression: str = "zlib",
        collections: Sequence[str] = (),
        btag_branch: str = "btagDeepFlavB",
    ) -> None:
        import uproot

        if compression not in COMPRESSION:
            msg = f"unknown compression {compression!r}; choose one of {', '.join(COMPRESSION)}"
            raise InputError(msg)
        algorithm = {"zlib": uproot.ZLIB, "lzma": uproot.LZMA, "lz4": uproot.LZ4}.get(
            compression, uproot.ZSTD
        )
        self.channel = channel
        self.record = record
        self.name = tree
        self.collections = tuple(collections)
        self.btag_branch = btag_branch
        self.file = uproot.recreate(path, compression=algorithm(1))
        self.tree: Any = None

    def write(
        self,
        chunk: ak.Array,
        index: np.ndarray | None,
        first: int,
        labels: np.ndarray | None = None,
        extra: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Append events: ``index`` their indices in the training table (original
        events; ``None`` for generated ones), ``first`` the number of the first,
        ``labels`` a conditional model's label indices (branch ``evmult_label``),
        ``extra`` more per-event branches (name -> array of the chunk's length)."""
        branches = to_branches(
            chunk,
            self.channel,
            first_event=first,
            source_index=index,
            collections=self.collections,
            btag_branch=self.btag_branch,
        )
        if labels is not None:  # ROOT has no string branches for a process label
            branches["evmult_label"] = labels.astype(np.int32)
        branches |= dict(extra or {})
        if self.tree is None:
            types = {
                k: v.type.content if isinstance(v, ak.Array) else v.dtype
                for k, v in branches.items()
            }
            self.tree = self.file.mktree(self.name, types)
        self.tree.extend(branches)

    def close(self) -> None:
        """Store the provenance record and close the file."""
        self.file["evmult_provenance"] = json.dumps(json_safe(self.record))
        self.file.close()


class ParquetWriter:
    """An event table written row group by row group (pyarrow); ``meta`` becomes the
    table's evmult metadata (what :func:`evmult.io.tables.read_table` attaches)."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = path
        self.meta = meta
        self.writer: Any = None
        self.schema: Any = None

    def write(
        self,
        chunk: ak.Array,
        index: np.ndarray | None,  # noqa: ARG002
        first: int,  # noqa: ARG002
        labels: np.ndarray | None = None,  # noqa: ARG002
    ) -> None:
        """Append events (the table keeps its own ``process`` and ``weight``)."""
        import pyarrow.parquet as pq

        arrow = ak.to_arrow_table(ak.Array(chunk, attrs=None), extensionarray=True)
        if self.writer is None:
            schema_meta = dict(arrow.schema.metadata or {})
            schema_meta[b"evmult"] = json.dumps(json_safe(self.meta)).encode()
            self.schema = arrow.schema.with_metadata(schema_meta)
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.writer.write_table(arrow.cast(self.schema))

    def close(self) -> None:
        """Close the file."""
        if self.writer is not None:
            self.writer.close()
