"""The condition block: discrete columns a model is given at generation, not learned.

A conditional encoding names one discrete column (``process``, a lepton's flavour,
a count) or several joined by ``+``; each combination of their values seen in training
is a label, and a conditional model generates the events of a chosen label.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from evmult.encoding.columns import Column, is_discrete
from evmult.errors import InputError

__all__ = ["CONDITIONS", "Condition", "alias_of"]

CONDITIONS = {"flavour": "lep1_muon"}
"""Friendly names of condition columns (besides ``process`` and the discrete columns)."""


@dataclasses.dataclass(frozen=True)
class Condition:
    """A fitted condition: its columns, one row of their values per label, the labels.

    Attributes:
        columns: the raw columns conditioned on.
        values: one row of the columns' values per label.
        labels: a name per label (process names; ``e``/``mu`` for flavour; for several
            columns, the columns' names joined by ``,``).
    """

    columns: list[str]
    values: np.ndarray
    labels: list[str]

    @classmethod
    def fit(
        cls, condition: str, raw: dict[str, np.ndarray], channel: str, processes: list[str]
    ) -> Condition:
        """Choose the condition column(s) of ``condition`` and the labels.

        Raises:
            InputError: for a column that is not discrete, missing or not finite.
        """
        columns = []
        for part in condition.split("+"):
            column = CONDITIONS.get(part, part)
            allowed = sorted({*CONDITIONS, *(k for k in raw if is_discrete(k))})
            if column not in raw or not is_discrete(column):
                why = (
                    "the table has fewer than two processes"
                    if column == "process"
                    else f"channel {channel} has no such discrete column"
                )
                msg = f"cannot condition on {part!r}: {why}; choose one of {', '.join(allowed)}"
                raise InputError(msg)
            if not np.all(np.isfinite(raw[column])):
                bad = int(np.argmax(~np.isfinite(raw[column])))
                msg = f"cannot condition on {part!r}: event {bad} has no {column}"
                raise InputError(msg)
            columns.append(column)
        rows = np.unique(np.column_stack([raw[c] for c in columns]), axis=0)
        labels = [
            ",".join(_label_name(c, v, processes) for c, v in zip(columns, row, strict=True))
            for row in rows
        ]
        return cls(columns, rows, labels)

    @classmethod
    def from_state(
        cls, condition: str, values: list[float] | list[list[float]], labels: list[str]
    ) -> Condition:
        """Rebuild from an encoding's ``condition``, ``condition_values`` and ``labels``."""
        table = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        return cls(condition.split("+"), table, list(labels))

    @property
    def name(self) -> str:
        """The condition as an encoding records it (columns joined by ``+``)."""
        return "+".join(self.columns)

    def state_values(self) -> list[float] | list[list[float]]:
        """The values as an encoding records them: a list, or a row per label."""
        if len(self.columns) == 1:
            return [float(v) for v in self.values[:, 0]]
        return self.values.tolist()

    def index(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        """Each event's label (index into :attr:`labels`) from its raw columns.

        Raises:
            InputError: for a combination of values no label has.
        """
        values = np.column_stack([raw[c] for c in self.columns])
        known = {tuple(row): i for i, row in enumerate(self.values.tolist())}
        rows, inverse = np.unique(values, axis=0, return_inverse=True)
        index_of_row = np.array([known.get(tuple(row), -1) for row in rows.tolist()], dtype=int)
        index = index_of_row[inverse.reshape(-1)] if len(values) else np.zeros(0, dtype=int)
        if (index < 0).any():
            bad = int(np.argmax(index < 0))
            shown = ", ".join(f"{c} = {values[bad, j]:g}" for j, c in enumerate(self.columns))
            msg = (
                f"event {bad} has {shown}, a label the model was not trained on (it knows "
                f"{', '.join(self.labels)})"
            )
            raise InputError(msg)
        return index

    def decode(self, v: dict[str, np.ndarray], labels: np.ndarray | None, n: int) -> None:
        """Set the condition columns of ``n`` decoded events from their labels.

        Raises:
            ValueError: without one label per event.
        """
        if labels is None or len(labels) != n:
            msg = f"a model conditioned on {self.name} needs a label per event"
            raise ValueError(msg)
        values = self.values[np.asarray(labels, int)]
        for j, column in enumerate(self.columns):
            v[column] = values[:, j]


def _label_name(column: str, value: float, processes: list[str]) -> str:
    if column == "process":
        return processes[int(value)]
    if column.endswith("_muon"):
        return "mu" if value else "e"
    return f"{column}={value:g}"


def alias_of(
    name: str,
    values: np.ndarray,
    features: dict[str, np.ndarray],
    columns: list[Column],
    condition: Condition | None,
) -> list[Any] | None:
    """``[source, invert]`` if the bit ``name`` repeats (or inverts) a learned bit of
    ``columns`` or a bit of the condition (given at generation)."""
    if not is_discrete(name) or not np.isin(values, (0.0, 1.0)).all():
        return None
    sources = [c.name for c in columns if c.kind == "discrete" and c.low == 0 and c.high == 1]
    if condition is not None:
        sources += [
            c
            for j, c in enumerate(condition.columns)
            if np.isin(condition.values[:, j], (0, 1)).all()
        ]
    for source in sources:
        if np.array_equal(values, features[source]):
            return [source, False]
        if np.array_equal(values, 1.0 - features[source]):
            return [source, True]
    return None
