"""How a generator samples: labels shared out, seeded rounds of drawing, and every
generated point that cannot be an event of the training sample's kind redrawn.

:class:`Sampling` is the part of :class:`evmult.models.Generator` that turns its
family's encoded matrices (:meth:`Sampling._sample_matrix`) into accepted events.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import awkward as ak
import numpy as np
import torch

from evmult._version import __version__
from evmult.encoding import Encoding
from evmult.errors import EvmultError

if TYPE_CHECKING:
    from evmult.models.refiner import Refiner

__all__ = ["Sampling"]

_MAX_ROUNDS = 20
# Sampling seeds torch's global generator (zuko draws from it): threads of one process
# (e.g. Dask threads) take turns, so a seed gives the same events in any of them.
_TORCH_RNG = threading.Lock()


def _round_seed(seed: int, attempt: int) -> int:
    """The seed of a redraw: distinct from every user seed's first round."""
    return int(np.random.default_rng([seed, attempt, 7]).integers(2**62))


def _label_seed(seed: int, label: int) -> int:
    """The seed of one label's events in a conditional sample."""
    return int(np.random.SeedSequence([seed, label, 11]).generate_state(1, np.uint64)[0] >> 2)


class Sampling(ABC):
    """Sampling of a fitted generator (see :meth:`sample`)."""

    name: ClassVar[str]
    config: Any
    info: dict[str, Any]
    refiner: Refiner | None
    selection: Callable[[ak.Array], np.ndarray] | None

    @property
    @abstractmethod
    def n_context(self) -> int:
        """Context columns of a conditional model (its number of labels), else 0."""

    @property
    @abstractmethod
    def labels(self) -> list[str]:
        """The labels of a conditional model (empty for an unconditional one)."""

    @property
    def mirrored(self) -> bool:
        """Whether the model was trained on reflected events (``mirror``): its generated
        events are then reflected at random too (:meth:`Encoding.inverse`)."""
        return bool(getattr(self.config, "mirror", False))

    @abstractmethod
    def _fitted(self) -> Encoding:
        """The fitted encoding (an error before :meth:`fit`)."""

    @abstractmethod
    def _sample_matrix(self, n: int, *, seed: int, context: torch.Tensor) -> np.ndarray:
        """``n`` encoded events (float32, n × features) given their context (n ×
        :attr:`n_context` one-hot labels; no columns for an unconditional model)."""

    def label_counts(self, n: int) -> dict[str, int]:
        """``n`` events shared among a conditional model's labels in proportion to the
        training events (largest remainders; exact when the proportions allow)."""
        labels = self.info["labels"]
        total = sum(v["n"] for v in labels.values())
        quota = np.array([v["n"] * n / total for v in labels.values()])
        counts = np.floor(quota).astype(int)
        order = np.argsort(-(quota - counts), kind="stable")
        counts[order[: n - counts.sum()]] += 1
        return dict(zip(labels, counts.tolist(), strict=True))

    def sample(
        self,
        n: int,
        *,
        seed: int = 0,
        yield_: float | None = None,
        label: str | Mapping[str, int] | None = None,
    ) -> ak.Array:
        """Generate ``n`` events as an event table of the training schema.

        Args:
            n: number of events.
            seed: the same seed gives the same events.
            yield_: total weight of the ``n`` events; by default the training
                sample's sum of weights (so a ×k sample keeps the yield) or, for the
                labels asked for, the sum of their training yields.
            label: conditional models only: a label whose events to generate, or a
                mapping label -> number of events (summing to ``n``). By default every
                label gets its share of the training events (:meth:`label_counts`).

        Returns:
            The events, label after label for a conditional model; every event of a
            label weighs its share of the yield (the training yields' proportions) over
            its number of events; ``attrs["evmult"]`` holds the channel and the
            generation record. Generated points whose momenta cannot carry their
            learned resonance mass (no solution for the solved pT), points with a
            non-finite coordinate, decays with a
            product outside the training sample's pT and η range, or that the
            :attr:`selection` would not keep as they are, are rejected and redrawn,
            and so are those a refined generator's refiner does not keep
            (:mod:`evmult.models.refiner`); their share is ``rejected_fraction``.
            With the channel's selection handed to it, every generated event passes
            the selection its training events passed, and re-selecting a written
            file keeps them all.

        Raises:
            ValueError: for a negative ``n``, a label on an unconditional model, an
                unknown label or counts that do not sum to ``n``.
        """
        encoding = self._fitted()
        if n < 0:
            msg = f"cannot sample {n} events"
            raise ValueError(msg)
        groups = self._groups(n, label)
        parts, drawn, weights = [], 0, []
        for index, count in groups:
            part, tries = self._draw(
                count, seed if index is None else _label_seed(seed, index), index
            )
            parts.append(part)
            drawn += tries
        if self.n_context:
            yields = [
                self.info["labels"][encoding.labels[i]]["yield"] for i, _ in groups if i is not None
            ]
            total = sum(yields) if yield_ is None else yield_
            share = total / sum(yields) if sum(yields) else 0.0
            weights = [
                np.full(c, y * share / c if c else 0.0)
                for (_, c), y in zip(groups, yields, strict=True)
            ]
        else:
            total = self.info["train_yield"] if yield_ is None else yield_
            weights = [np.full(n, total / n if n else 0.0)]
        table = parts[0] if len(parts) == 1 else ak.concatenate(parts)
        table = ak.with_field(table, np.concatenate(weights), "weight")
        meta = {
            "channel": encoding.channel,
            "generated": {
                "model": self.name,
                "seed": seed,
                "n": n,
                "yield": total,
                "rejected_fraction": 1 - n / drawn if drawn else 0.0,
            },
            "sources": self.info.get("sources", []),
            "evmult_version": __version__,
        }
        if self.n_context:
            meta["generated"]["labels"] = {
                encoding.labels[i]: c for i, c in groups if i is not None
            }
        return ak.Array(table, attrs={"evmult": meta})

    def _groups(
        self, n: int, label: str | Mapping[str, int] | None
    ) -> list[tuple[int | None, int]]:
        """``(label index, events)`` to generate, in order (``None``: unconditional)."""
        if not self.n_context:
            if label is not None:
                msg = f"this {self.name} model is not conditional; it takes no label"
                raise ValueError(msg)
            return [(None, n)]
        labels = self.labels
        counts = (
            self.label_counts(n)
            if label is None
            else {label: n}
            if isinstance(label, str)
            else dict(label)
        )
        unknown = [k for k in counts if k not in labels]
        if unknown:
            msg = f"unknown label {unknown[0]!r}; the model knows {', '.join(labels)}"
            raise ValueError(msg)
        if sum(counts.values()) != n or min(counts.values(), default=0) < 0:
            msg = f"label counts {counts} do not add up to {n}"
            raise ValueError(msg)
        return [(labels.index(k), c) for k, c in counts.items()]

    def _draw(self, n: int, seed: int, label: int | None) -> tuple[ak.Array, int]:
        """``n`` accepted events of one label (see :meth:`sample`) and how many were drawn."""
        encoding = self._fitted()
        parts, have, drawn = [], 0, 0
        for attempt in range(_MAX_ROUNDS):
            need = n - have
            size = need if attempt == 0 else int(1.2 * need / max(have / drawn, 0.05)) + 16
            context = torch.zeros(size, self.n_context)
            if label is not None:
                context[:, label] = 1.0
            with _TORCH_RNG, torch.inference_mode():
                x = self._sample_matrix(
                    size, seed=seed if attempt == 0 else _round_seed(seed, attempt), context=context
                )
            labels = None if label is None else np.full(size, label)
            finite = np.isfinite(x).all(axis=1)  # a diverged network's points are redrawn
            if not finite.all():
                x = np.where(finite[:, None], x, 0.0)
            part = encoding.inverse(
                x,
                rng=np.random.default_rng([seed, 1, attempt]),
                labels=labels,
                reflect=self.mirrored,
            )
            keep = finite & encoding.consistent(x, part)
            if self.selection is not None:
                keep &= self.selection(part)
            if self.refiner is not None and self.refiner.applied:
                rng = np.random.default_rng([seed, 2, attempt])
                keep &= self._refined(self.refiner, part, labels, keep, rng)
            part = part[np.flatnonzero(keep)[:need]]
            parts.append(part)
            drawn += size
            have += len(part)
            if have == n:
                return (parts[0] if len(parts) == 1 else ak.concatenate(parts)), drawn
        what = "" if label is None else f" of label {encoding.labels[label]!r}"
        msg = (
            f"only {have} of {drawn} generated events{what} were consistent (resonance mass "
            "and momenta fit together, decay products inside the training acceptance), "
            f"passed the {encoding.channel} selection and the refiner; "
            "retrain the model"
        )
        raise EvmultError(msg)

    def _refined(
        self,
        refiner: Refiner,
        part: ak.Array,
        labels: np.ndarray | None,
        keep: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Which events the refiner keeps (of those ``keep`` marks; see :meth:`fit`)."""
        from evmult.models.refiner import refiner_features

        idx = np.flatnonzero(keep)
        chosen = np.zeros(len(keep), dtype=bool)
        if len(idx):
            features = refiner_features(
                self._fitted(), part[idx], None if labels is None else labels[idx]
            )
            chosen[idx] = rng.random(len(idx)) < refiner.acceptance(features)
        return chosen
