"""The masses of a collection's resonance candidates, decoded differentiably from the
encoded matrix: what the ``candidate_mmd`` term of :class:`evmult.models.FlowVAE`
compares between events decoded from a batch's latent points and the batch's own.

A tt̄ → ℓ+jets event's W and top candidates are the pair and the triplet of its leading
jets with the highest pT (the trijet of the IRIS-HEP Analysis Grand Challenge); learned
through the jets' pT ratios and openings alone, boosted pairs came out too wide open and
the trijet mass too broad (docs/benchmarks.md, where the m_bjj width comes from). The
momenta here follow the encoding's own inverse (:meth:`evmult.encoding.Encoding.inverse`)
for the slots involved, in torch, so that a loss on the candidates' masses reaches the
decoder.
"""

from __future__ import annotations

import functools
import itertools
import operator

import numpy as np
import torch

from evmult.channels import get_channel
from evmult.encoding import Encoding, objects
from evmult.encoding.columns import kind
from evmult.errors import InputError
from evmult.models.nn import mmd2

__all__ = ["CandidateMasses", "mmd2_columns"]

# candidates among at most this many leading objects (four jets: 6 pairs, 4 triplets)
_MAX_OBJECTS = 4


class CandidateMasses:
    """log m of the highest-pT pair and of the highest-pT triplet among a collection's
    leading slots that every training event fills (at most four; the triplet where
    there are three), standardised by the training events' values.

    Args:
        encoding: the fitted encoding.
        x: the standardised training matrix (feature columns only).
        noise: its training noise (1 in the columns of absent objects).

    Raises:
        InputError: where no collection has two leading slots every event fills.
    """

    def __init__(self, encoding: Encoding, x: np.ndarray, noise: np.ndarray) -> None:
        self.slots = _filled_slots(encoding, noise)
        if len(self.slots) < 2:
            msg = (
                f"candidate_mmd needs a collection whose two leading slots every training "
                f"event fills; channel {encoding.channel!r} has none"
            )
            raise InputError(msg)
        self.floor = encoding.pt_floor.get(kind(self.slots[0]), 0.0)
        self.bound = encoding.eta_bound.get(kind(self.slots[0]))
        self.slope = {p: encoding.eta_slope.get(p, 1.0) for p in self.slots}
        self._index = {c.name: j for j, c in enumerate(encoding.columns)}
        self._columns = encoding.columns
        self._constants = encoding.constants
        self.groups = [
            list(itertools.combinations(range(len(self.slots)), r))
            for r in (2, 3)
            if r <= len(self.slots)
        ]
        with torch.no_grad():
            log_m = self.log_masses(torch.as_tensor(x, dtype=torch.float32))
        self.mean = log_m.mean(0)
        self.std = log_m.std(0).clamp_min(1e-6)

    def _value(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """A decoded (unstandardised) column, or its constant (0 where neither)."""
        j = self._index.get(name)
        if j is None:
            return x.new_full((len(x),), float(self._constants.get(name, 0.0)))
        col = self._columns[j]
        value = x[:, j] * col.std + col.mean
        return value + col.centre if name.endswith("_dphi") else value

    def momenta(self, x: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
        """(E, px, py, pz) of each slot of :attr:`slots`, the azimuths measured from
        the first's."""
        out: list[tuple[torch.Tensor, ...]] = []
        above = eta1 = x.new_zeros(len(x))
        for i, prefix in enumerate(self.slots):
            if i == 0:  # log(pT − floor), atanh(η / bound)
                above = self._value(x, f"{prefix}_logpt").exp()
                eta1 = atanh_eta = self._value(x, f"{prefix}_eta")
                phi = x.new_zeros(len(x))
            else:  # pT − floor = (previous pT − floor) · sigmoid(logit of the ratio)
                above = above * torch.sigmoid(self._value(x, f"{prefix}_logitratio"))
                if f"{prefix}_deta" in self._index:
                    atanh_eta = self._value(x, f"{prefix}_deta") + self.slope[prefix] * eta1
                else:
                    atanh_eta = self._value(x, f"{prefix}_eta")
                phi = self._value(x, f"{prefix}_dphi")
            eta = self.bound * torch.tanh(atanh_eta) if self.bound else atanh_eta
            pt = above + self.floor
            pz = pt * torch.sinh(eta)
            mass = torch.sinh(self._value(x, f"{prefix}_logmass"))
            energy = torch.sqrt(pt**2 + pz**2 + mass**2)
            out.append((energy, pt * torch.cos(phi), pt * torch.sin(phi), pz))
        return out

    def log_masses(self, x: torch.Tensor) -> torch.Tensor:
        """Unstandardised log m of each candidate (one column per group: the pair,
        then the triplet)."""
        p = self.momenta(x)
        columns = []
        for group in self.groups:
            masses, pts = [], []
            for combo in group:
                e, px, py, pz = (
                    functools.reduce(operator.add, [p[i][k] for i in combo]) for k in range(4)
                )
                masses.append(0.5 * torch.log((e**2 - px**2 - py**2 - pz**2).clamp_min(1e-2)))
                pts.append(px**2 + py**2)
            best = torch.stack(pts, 1).argmax(1, keepdim=True)
            columns.append(torch.stack(masses, 1).gather(1, best)[:, 0])
        return torch.stack(columns, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The standardised log masses of the candidates of the events of ``x``."""
        return (self.log_masses(x) - self.mean.to(x.device)) / self.std.to(x.device)


def _filled_slots(encoding: Encoding, noise: np.ndarray) -> list[str]:
    """The leading slots (at most four) of the first collection whose first two or more
    slots every training event fills (absent objects have noise 1), in order."""
    index = {c.name: j for j, c in enumerate(encoding.columns)}
    absent = np.asarray(noise) >= 1.0
    for group in objects.ordered_groups(get_channel(encoding.channel), skip_leptons=True):
        filled = []
        for i, prefix in enumerate(group[:_MAX_OBJECTS]):
            column = f"{prefix}_logpt" if i == 0 else f"{prefix}_logitratio"
            if column not in index or absent[:, index[column]].any():
                break
            filled.append(prefix)
        if len(filled) >= 2:
            return filled
    return []


def mmd2_columns(a: torch.Tensor, b: torch.Tensor, widths: tuple[float, ...]) -> torch.Tensor:
    """The squared MMD of two samples summed over their columns, each column compared
    on its own (:func:`evmult.models.nn.mmd2`)."""
    return sum(
        (mmd2(a[:, k], b[:, k], widths) for k in range(a.shape[1])),
        torch.zeros((), device=a.device),
    )
