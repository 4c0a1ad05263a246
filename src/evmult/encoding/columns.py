"""The encoded columns and the naming rules every block of the encoding shares.

An encoded column is named ``<object>_<quantity>`` (``jet2_logitratio``,
``lep1_eta``, ``MET_dphi``) or after an event quantity (``nJet``, ``mll``,
``process``); its kind follows from the name (:func:`is_discrete`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "DEQUANTISATION_WIDTH",
    "Column",
    "Mirror",
    "by_kind",
    "destandardise",
    "is_discrete",
    "kind",
    "logit_ratio",
    "presence",
    "quantile_map",
    "standardise",
    "wrap_phi",
]

FLOOR_MARGIN = 1e-3  # pT floors sit this fraction below the lowest training pT
ETA_MARGIN = 1e-3  # |η| bounds sit this fraction above the largest training |η|

DEQUANTISATION_WIDTH = 0.1
"""σ of the Gaussian noise on integers in training (``P(|noise| > 0.5) = 6e-7``)."""


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Wrap angles into (−π, π].

    Example:
        >>> float(wrap_phi(np.array([3 * np.pi / 2]))[0]) == -np.pi / 2
        True
    """
    # floor, not np.mod: 3× faster on decoded azimuths; the bounds keep rounding inside
    # (ufuncs only, so that awkward arrays work too)
    out = np.maximum(phi - 2 * np.pi * np.floor((phi + np.pi) / (2 * np.pi)), -np.pi)
    out = np.minimum(out, np.pi)
    return np.where(out == -np.pi, np.pi, out)


@dataclasses.dataclass
class Column:
    """One encoded column.

    Attributes:
        name: e.g. ``"lep2_dphi"``, ``"nJet"``, ``"mll"``.
        kind: ``"continuous"`` or ``"discrete"`` (dequantised integers).
        mean: standardisation offset.
        std: standardisation scale.
        low: smallest integer seen (discrete columns).
        high: largest integer seen (discrete columns).
        centre: circular mean subtracted from a relative φ before wrapping.
        cuts: for a discrete column calibrated to the training sample's shares
            (:meth:`evmult.encoding.Encoding.calibrate`), the decoded values at which
            each integer after ``low`` begins; empty: values are rounded.
        knots: for a continuous column calibrated to the training sample's quantiles
            (the resonance coordinate), the trained model's values and the training
            sample's at the same quantile levels: decoded values are mapped piecewise
            linearly from the first to the second, shifted by the end knots' offset
            beyond them; empty: values are kept.
    """

    name: str
    kind: str = "continuous"
    mean: float = 0.0
    std: float = 1.0
    low: float = 0.0
    high: float = 0.0
    centre: float = 0.0
    cuts: list[float] = dataclasses.field(default_factory=list)
    knots: list[list[float]] = dataclasses.field(default_factory=list)

    @classmethod
    def fit(cls, name: str, present: np.ndarray) -> Column:
        """A learned column's standardisation (its integer range where discrete, its
        centre where an azimuth difference) from its finite training values."""
        col = cls(name)
        if is_discrete(name):
            col.kind = "discrete"
            col.low, col.high = float(present.min()), float(present.max())
        if name.endswith("_dphi"):
            centre = math.atan2(np.mean(np.sin(present)), np.mean(np.cos(present)))
            col.centre = centre
            present = wrap_phi(present - centre)
        col.mean = float(present.mean())
        # the spread of the dequantised values: the integers' plus the noise's
        noise = DEQUANTISATION_WIDTH**2 if col.kind == "discrete" else 0.0
        variance = float(present.var()) + noise
        col.std = math.sqrt(variance) if variance > 0 else 1.0
        return col


def quantile_map(value: np.ndarray, knots: list[list[float]]) -> np.ndarray:
    """``value`` mapped piecewise linearly from ``knots[0]`` to ``knots[1]`` (both
    increasing), shifted by the first or last knot's offset beyond them.

    Example:
        >>> quantile_map(np.array([-1.0, 0.5, 3.0]), [[0.0, 1.0], [0.0, 2.0]]).tolist()
        [-1.0, 1.0, 4.0]
    """
    a, b = np.asarray(knots[0]), np.asarray(knots[1])
    inside = np.interp(value, a, b)
    below = np.where(value < a[0], value + (b[0] - a[0]), inside)
    return np.where(value > a[-1], value + (b[-1] - a[-1]), below)


def standardise(
    features: dict[str, np.ndarray], columns: list[Column], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The standardised float32 matrix of ``n`` events' encoded quantities and its
    training noise (see :meth:`evmult.encoding.Encoding.encode`)."""
    x = np.empty((n, len(columns)), dtype=np.float64)
    scale = np.zeros((n, len(columns)), dtype=np.float32)
    for j, col in enumerate(columns):
        v = features[col.name]
        if col.name.endswith("_dphi"):
            v = wrap_phi(v - col.centre)
        z = (v - col.mean) / col.std
        if col.kind == "discrete":
            scale[:, j] = DEQUANTISATION_WIDTH / col.std
        absent = ~np.isfinite(z)
        z[absent] = 0.0
        scale[absent, j] = 1.0
        x[:, j] = z
    return x.astype(np.float32), scale


def destandardise(
    x: np.ndarray, columns: list[Column], constants: dict[str, float]
) -> dict[str, np.ndarray]:
    """Column name -> decoded quantity of a matrix (integers rounded into their range,
    or cut at a calibrated column's :attr:`Column.cuts`; azimuths wrapped), with the
    ``constants`` broadcast."""
    by_column = np.ascontiguousarray(np.asarray(x).T, dtype=np.float64)  # contiguous columns
    n = len(x)
    v: dict[str, np.ndarray] = {k: np.full(n, c) for k, c in constants.items()}
    for col, values in zip(columns, by_column, strict=True):
        value = values * col.std + col.mean
        if col.name.endswith("_dphi"):
            value = wrap_phi(value + col.centre)
        if col.knots:
            value = quantile_map(value, col.knots)
        if col.kind == "discrete" and col.cuts:
            value = col.low + np.searchsorted(col.cuts, value, side="right").astype(np.float64)
        elif col.kind == "discrete":
            value = np.clip(np.rint(value), col.low, col.high)
        v[col.name] = value
    return v


@dataclasses.dataclass(frozen=True)
class Mirror:
    """Which encoded columns a reflection of the event changes (see
    :meth:`evmult.encoding.Encoding.mirror`); :func:`evmult.models.training.reflections`
    applies it.

    Attributes:
        eta: indices of the η columns and of the η differences (η → −η: a
            standardised value z becomes −z − 2 mean / std).
        phi: indices of the azimuth differences (Δφ → −Δφ: the wrapped value
            v = wrap(Δφ − centre) becomes wrap(−v − 2 centre)).
        eta_columns: the η columns' records (mean and spread).
        phi_columns: the azimuth columns' (mean, spread and centre).
    """

    eta: list[int]
    phi: list[int]
    eta_columns: list[Column]
    phi_columns: list[Column]

    @classmethod
    def of(cls, columns: list[Column], eta_bound: dict[str, float]) -> Mirror | None:
        """The reflection of ``columns``, or ``None`` where an η column is not bounded
        symmetrically (a kind without an entry in ``eta_bound``) or none would change."""
        eta: list[int] = []
        phi: list[int] = []
        for j, col in enumerate(columns):
            prefix, _, field = col.name.rpartition("_")
            if field in ("eta", "deta"):
                if kind(prefix) not in eta_bound:
                    return None
                eta.append(j)
            elif field == "dphi":
                phi.append(j)
        if not eta and not phi:
            return None
        return cls(eta, phi, [columns[j] for j in eta], [columns[j] for j in phi])


def kind(prefix: str) -> str:
    """The kind of object of a slot prefix: ``jet3`` -> ``jet``, ``lep1`` -> ``lep``."""
    return prefix.rstrip("0123456789")


def by_kind(raw: dict[str, np.ndarray], field: str, skip: set[str]) -> dict[str, np.ndarray]:
    """The finite values of ``field`` over all slots of each kind of object (kinds and
    prefixes in ``skip`` left out; kinds without a finite value too)."""
    found: dict[str, list[np.ndarray]] = {}
    for name, values in raw.items():
        prefix, _, f = name.rpartition("_")
        if f != field or prefix in skip or kind(prefix) in skip:
            continue
        finite = values[np.isfinite(values)]
        if finite.size:
            found.setdefault(kind(prefix), []).append(finite)
    return {k: np.concatenate(v) for k, v in found.items()}


def presence(name: str, raw: dict[str, np.ndarray]) -> np.ndarray:
    """NaN where the object behind an encoded column is absent (else 0)."""
    prefix = name.rpartition("_")[0]
    for key in (f"{prefix}_pt", f"{prefix}_eta"):
        if key in raw:
            return np.where(np.isfinite(raw[key]), 0.0, np.nan)
    return np.zeros(len(next(iter(raw.values()))))


def logit_ratio(pt: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """logit(pT / previous pT), the ratio clipped into (0, 1); NaN where absent."""
    with np.errstate(invalid="ignore"):
        ratio = np.clip(pt / previous, 1e-6, 1 - 1e-6)
    return np.log(ratio) - np.log1p(-ratio)


def is_discrete(name: str) -> bool:
    """Counts (``nJet``), flavour/charge/b-tag bits, root choices, slot indices and
    process labels.

    Example:
        >>> is_discrete("nJet"), is_discrete("jet1_btag"), is_discrete("jet1_eta")
        (True, True, False)
    """
    counts = name.startswith("n") and name[1:2].isupper()
    bits = name.rpartition("_")[2] in {
        "muon",
        "charge",
        "btag",
        "root",
        "same",
        "opposite",
        "slot",
    }
    return counts or bits or name == "process"
