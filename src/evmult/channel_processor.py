"""The channel processor base class: normalise a chunk of any input format, apply the
channel's selection, return a table chunk.

A channel processor is an ordinary :class:`coffea.processor.ProcessorABC`; it runs in
your own ``processor.Runner`` next to your analysis, or through
:func:`evmult.coffea.extract`. The processors of ``processors/`` subclass it.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import awkward as ak
import numpy as np
from coffea import processor

from evmult.channels import Channel, get_channel
from evmult.errors import InputError, SelectionError
from evmult.io.layout import empty_collection
from evmult.io.readers import FORMATS, ReaderOptions, normalise, required_branches
from evmult.io.tables import string_column

__all__ = ["ChannelProcessor", "make_options"]


def _convert(key: str, value: str, default: Any) -> Any:
    """Convert a command-line string to the type of an option's default."""
    try:
        if isinstance(default, bool):
            if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(value)
            return value.lower() in {"true", "1", "yes"}
        if default is None:
            return None if value.lower() == "none" else float(value)
        return type(default)(value)
    except ValueError:
        msg = f"option {key}={value!r}: expected {type(default).__name__}"
        raise SelectionError(msg) from None


def make_options(cls: type, values: Mapping[str, Any]) -> Any:
    """Build an options dataclass, converting strings (from the CLI) to the field types.

    Raises:
        SelectionError: for an unknown option or a value of the wrong type.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            msg = f"unknown option {key!r}; options: {', '.join(sorted(fields))}"
            raise SelectionError(msg)
        default = fields[key].default
        convert = isinstance(value, str) and not isinstance(default, str)
        kwargs[key] = _convert(key, value, default) if convert else value
    return cls(**kwargs)


class ChannelProcessor(processor.ProcessorABC):
    """Base class of channel processors: normalise, select, return a table chunk.

    Subclasses set :attr:`channel_name`, :attr:`needs` (the collections the selection
    reads), an :attr:`Options` dataclass (thresholds, deriving from
    :class:`~evmult.io.readers.ReaderOptions`) and implement :meth:`select`, which keeps
    each selected event's ``weight`` as it is (:meth:`accepts` relies on it).

    The accumulator is ``{"tables": {(dataset, file, entrystart): table}, "cutflow":
    {dataset: {step: count}}}``; keeping chunks apart by key lets any executor return
    them in any order and still give the same merged table.

    Args:
        fmt: input format, one of ``nanoaod``, ``delphes``, ``flat``, ``csv``.
        **options: fields of :attr:`Options`.
    """

    channel_name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type] = ReaderOptions

    def __init__(self, fmt: str = "nanoaod", **options: Any) -> None:
        if fmt not in FORMATS:
            msg = f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}"
            raise InputError(msg)
        self.fmt = fmt
        self.options = make_options(self.Options, options)

    @property
    def channel(self) -> Channel:
        """The channel definition this processor fills."""
        return get_channel(self.channel_name)

    def required_branches(self, branches: set[str]) -> list[str]:
        """Branches of the input tree this processor reads (for pre-flight checks)."""
        return required_branches(self.fmt, self.needs, branches, self.options)

    @abstractmethod
    def select(self, objects: ak.Array) -> tuple[dict[str, Any], dict[str, int]]:
        """Apply the selection to one chunk in the common layout.

        Args:
            objects: output of :func:`evmult.io.readers.normalise`.

        Returns:
            The table fields of the selected events (name -> array) and a cutflow
            (step -> events passing).
        """

    def accepts(self, table: ak.Array) -> np.ndarray:
        """Which events of an event table this selection keeps unchanged.

        Generated events are held to the selection their training events passed: an
        event is accepted when :meth:`select` keeps it with every object it has (a
        generated lepton below threshold or a jet too close to a lepton fails). The
        events are told apart by passing their index as ``weight``, which selections
        carry through unchanged.

        Args:
            table: an event table of this processor's channel.

        Returns:
            A boolean mask, one entry per event.
        """
        n = len(table)
        ch = self.channel
        fields = {f: table[f] for f in ak.fields(table) if f in (*self.needs, *ch.particles)}
        # collections read but not kept (wz counts jets it does not keep) come empty
        fields |= {c: empty_collection(n, c) for c in self.needs if c not in fields}
        fields["weight"] = np.arange(n, dtype=np.float64)
        objects = ak.zip(fields, depth_limit=1)
        fields, _ = self.select(objects)
        kept = ak.to_numpy(fields["weight"]).astype(np.int64)
        same = np.ones(len(kept), dtype=np.bool_)
        for name in ch.collections:
            same &= ak.to_numpy(ak.num(fields[name]) == ak.num(table[name][kept]))
        ok = np.zeros(n, dtype=np.bool_)
        ok[kept[same]] = True
        return ok

    def process(self, events: Any) -> dict[str, Any]:
        """coffea entry point: one chunk of NanoEvents in, an accumulator out."""
        objects = normalise(events, self.fmt, self.needs, self.options)
        return self.process_objects(objects, dict(events.metadata))

    def process_objects(self, objects: ak.Array, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """Select a chunk already in the common layout (the CSV path enters here)."""
        fields, cutflow = self.select(objects)
        n = len(fields["weight"])
        if "process" not in fields:
            fields["process"] = string_column([metadata["dataset"]], np.zeros(n, dtype=np.int64))
        # Drop the behaviours inherited from NanoEvents: they hold lambdas that cannot be
        # pickled back from futures/dask workers; vector's global ones apply on arrival.
        table = ak.Array(ak.zip(fields, depth_limit=1).layout)
        _check_finite(table, metadata)
        key = (metadata["dataset"], metadata["filename"], int(metadata.get("entrystart", 0)))
        return {"tables": {key: table}, "cutflow": {metadata["dataset"]: cutflow}}

    def postprocess(self, accumulator: Any) -> Any:
        """Nothing to do: :func:`extract` merges the chunks."""
        return accumulator


def _leaves(array: ak.Array, prefix: str = "") -> list[tuple[str, ak.Array]]:
    out = []
    for name in ak.fields(array):
        sub = array[name]
        path = f"{prefix}{name}"
        if ak.fields(sub):
            out += _leaves(sub, path + ".")
        else:
            out.append((path, sub))
    return out


def _check_finite(table: ak.Array, metadata: Mapping[str, Any]) -> None:
    for path, leaf in _leaves(table):
        flat = ak.flatten(leaf, axis=None)
        if not np.issubdtype(ak.to_numpy(flat).dtype, np.floating):
            continue
        values = ak.to_numpy(flat)
        if not np.all(np.isfinite(values)):
            bad = values[~np.isfinite(values)][0]
            where = f"entries {metadata.get('entrystart', '?')}-{metadata.get('entrystop', '?')}"
            msg = f"{metadata['filename']}: non-finite value {bad} in {path} ({where})"
            raise InputError(msg)
