"""Physics from event tables with vector: 4-momenta sums, the channels' masses, decay
frames, and the solvers that give objects the pT a mass asks for.

Example:
    >>> import awkward as ak, vector
    >>> from evmult.physics import invariant_mass
    >>> vector.register_awkward()
    >>> mu = ak.Array([[{"pt": 45.0, "eta": 0.0, "phi": 0.0, "mass": 0.1},
    ...                 {"pt": 45.0, "eta": 0.0, "phi": 3.14159, "mass": 0.1}]],
    ...               with_name="Momentum4D")
    >>> round(float(invariant_mass(mu)[0]), 1)
    90.0
"""

from __future__ import annotations

from typing import cast

import awkward as ak
import numpy as np
import vector

from evmult.channels import Channel, Resonance

__all__ = [
    "channel_masses",
    "decay_coordinates",
    "decay_momenta",
    "invariant_mass",
    "mass_scale",
    "objects_of",
    "pt_roots",
    "resonance_mass",
    "system",
    "three_momentum",
]

vector.register_awkward()


def objects_of(table: ak.Array, collections: tuple[str, ...]) -> ak.Array:
    """All objects of the named collections (or single particles) as one list per event."""
    parts = []
    for name in collections:
        if name not in ak.fields(table):
            continue
        obj = table[name]
        if obj.ndim == 1:  # a single particle record per event
            obj = ak.unflatten(obj, np.ones(len(obj), dtype=np.int64))
        parts.append(obj[["pt", "eta", "phi", "mass"]])
    merged = ak.concatenate(parts, axis=1)
    return ak.with_name(merged, "Momentum4D")


def system(objects: ak.Array) -> ak.Array:
    """The summed 4-momentum of each event's objects (zero for an empty list)."""
    return ak.zip(
        {c: ak.sum(getattr(objects, c), axis=1) for c in ("px", "py", "pz", "E")},
        with_name="Momentum4D",
    )


def invariant_mass(objects: ak.Array) -> np.ndarray:
    """Invariant mass of all objects in each event's list (NaN for an empty list)."""
    mass = ak.to_numpy(system(objects).mass).astype(np.float64)
    return np.where(ak.to_numpy(ak.num(objects)) > 0, mass, np.nan)


def resonance_mass(table: ak.Array, resonance: Resonance) -> np.ndarray:
    """One of a channel's masses per event, as defined by ``resonance.method``.

    Returns:
        float64 array; NaN where the event lacks the objects the mass needs.
    """
    objects = objects_of(table, resonance.objects)
    if resonance.method == "sum":  # a mass of two or more objects
        return np.where(ak.to_numpy(ak.num(objects)) >= 2, invariant_mass(objects), np.nan)
    if resonance.method == "max_pt_triplet":
        # in float64: the mass of three collimated float32 jets loses up to 1e-4
        objects = ak.values_astype(objects, np.float64)
        trip = ak.combinations(objects, 3, fields=["a", "b", "c"])
        p4 = trip.a + trip.b + trip.c
        best = ak.argmax(p4.pt, axis=1, keepdims=True)
        return ak.to_numpy(ak.fill_none(ak.firsts(p4[best].mass), np.nan)).astype(np.float64)
    if resonance.method == "mt":
        vis = system(objects)
        met = table.MET
        et_vis = np.sqrt(np.maximum(vis.mass, 0) ** 2 + vis.pt**2)
        px = vis.px + met.pt * np.cos(met.phi)
        py = vis.py + met.pt * np.sin(met.phi)
        mt2 = (et_vis + met.pt) ** 2 - px**2 - py**2
        return np.sqrt(np.maximum(ak.to_numpy(mt2).astype(np.float64), 0.0))
    msg = f"unknown resonance method {resonance.method!r}"
    raise ValueError(msg)


def channel_masses(table: ak.Array, channel: Channel) -> dict[str, np.ndarray]:
    """All of a channel's resonance masses, by name."""
    return {r.name: resonance_mass(table, r) for r in channel.resonances}


# ------------------------------------------------------------------ decays in the rest frame
def _helicity_axes(parent: vector.MomentumNumpy4D) -> np.ndarray:
    """Unit axes of the parent's helicity frame as rows (x', y', z') of an (n, 3, 3)
    array: z' along its flight direction, y' = beam × z' (normal to the plane of beam
    and flight), x' = y' × z'. A rotation about the beam turns them with the event."""
    z = _unit(np.stack([parent.px, parent.py, parent.pz], axis=-1))
    y = _unit(np.stack([-z[:, 1], z[:, 0], np.zeros(len(z))], axis=-1))
    return np.stack([np.cross(y, z), y, z], axis=-2)


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` scaled to unit length (zero rows stay zero)."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def _two_body(m: np.ndarray, m_a: np.ndarray, m_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energy of a and momentum of a and b in the rest frame of a + b (mass m)."""
    energy = (m**2 + m_a**2 - m_b**2) / (2 * m)
    return energy, np.sqrt(np.maximum(energy**2 - m_a**2, 0.0))


def _in_frame_of_12(
    big_m: np.ndarray, m12: np.ndarray, m1: np.ndarray, m2: np.ndarray, m3: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Energy and momentum of daughters 1 and 3 in the rest frame of 1 + 2."""
    e1, p1 = _two_body(m12, m1, m2)
    e3 = (big_m**2 - m12**2 - m3**2) / (2 * m12)
    return e1, p1, e3, np.sqrt(np.maximum(e3**2 - m3**2, 0.0))


def _at_rest(
    parent: vector.MomentumNumpy4D, axes: np.ndarray, daughter: vector.MomentumNumpy4D
) -> np.ndarray:
    """The daughter's 3-momentum in the parent's rest frame, in the components of the
    helicity frame ``axes`` (:func:`_helicity_axes`), (n, 3)."""
    rest = daughter.boostCM_of_p4(parent)
    v = np.stack([rest.px, rest.py, rest.pz], axis=-1)
    return np.einsum("nij,nj->ni", axes, v)


def _to_lab(
    parent: vector.MomentumNumpy4D, axes: np.ndarray, v: np.ndarray, energy: np.ndarray
) -> vector.MomentumNumpy4D:
    """A rest-frame momentum in helicity-frame components (and its energy), in the lab."""
    lab = np.einsum("ni,nij->nj", v, axes)
    rest = vector.array({"px": lab[:, 0], "py": lab[:, 1], "pz": lab[:, 2], "E": energy})
    return cast(vector.MomentumNumpy4D, rest).boost_p4(parent)


def _direction(cos: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, ...]:
    """Unit vectors of polar angle acos(cos) and azimuth alpha: the direction itself
    (e_z) and the two axes that turn with it (x₁, y₁), each (n, 3)."""
    cos = np.clip(cos, -1.0, 1.0)
    sin = np.sqrt(1 - cos**2)
    c, s = np.cos(alpha), np.sin(alpha)
    e_z = np.stack([sin * c, sin * s, cos], axis=-1)
    x1 = np.stack([cos * c, cos * s, -sin], axis=-1)
    y1 = np.stack([-s, c, np.zeros_like(alpha)], axis=-1)
    return e_z, x1, y1


def decay_coordinates(
    daughters: list[vector.MomentumNumpy4D],
) -> tuple[vector.MomentumNumpy4D, dict[str, np.ndarray]]:
    """The parent of a three-body decay and the decay's rest-frame coordinates.

    With daughters 1, 2, 3 of masses m₁, m₂, m₃ and the parent's mass M:

    * ``m12``: (m₁₂ − m₁ − m₂) / (M − m₃ − m₁ − m₂), in [0, 1] (the Dalitz variable,
      scaled to its kinematic range);
    * ``cos13``: cosine of the angle between 1 and 3 in the rest frame of 1 + 2 (with
      ``m12``, the "square Dalitz plot": a rectangle whatever the masses);
    * ``cos``, ``alpha``: polar angle cosine and azimuth of daughter 1 in the parent's
      rest frame, about its flight direction (the helicity frame: z' along the
      flight, y' normal to the plane of beam and flight);
    * ``gamma``: rotation of the decay plane about daughter 1's direction.

    Together with the parent's momentum and mass they determine the three momenta
    (:func:`decay_momenta` inverts this). A spin-0 parent decays isotropically: ``cos``,
    ``alpha`` and ``gamma`` are uniform up to the selection's acceptance.

    Args:
        daughters: three momenta arrays of one length.

    Returns:
        ``(parent, coordinates)``: the summed 4-momentum and the coordinates by name,
        float64.
    """
    d1, d2, d3 = daughters
    parent = cast(vector.MomentumNumpy4D, d1 + d2 + d3)  # vector's sum; numpy's stubs say ndarray
    big_m = np.asarray(parent.mass, dtype=np.float64)
    m1, m2, m3 = (np.asarray(d.mass, dtype=np.float64) for d in daughters)
    m12 = np.asarray(cast(vector.MomentumNumpy4D, d1 + d2).mass, dtype=np.float64)
    e1, p1, e3, p3 = _in_frame_of_12(big_m, m12, m1, m2, m3)
    m13sq = np.asarray(cast(vector.MomentumNumpy4D, d1 + d3).mass2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos13 = (e1 * e3 - (m13sq - m1**2 - m3**2) / 2) / (p1 * p3)
    axes = _helicity_axes(parent)
    k, a = _at_rest(parent, axes, d1), _at_rest(parent, axes, d2)
    k_hat = _unit(k)
    cos, alpha = k_hat[:, 2], np.arctan2(k_hat[:, 1], k_hat[:, 0])
    normal = _unit(np.cross(k, a))  # zero for a collinear decay: any gamma, 0 is taken
    _, x1, y1 = _direction(cos, alpha)
    gamma = np.arctan2(-np.sum(normal * x1, -1), np.sum(normal * y1, -1))
    coords = {
        "m12": (m12 - m1 - m2) / (big_m - m3 - m1 - m2),
        "cos13": np.clip(cos13, -1.0, 1.0),
        "cos": np.clip(cos, -1.0, 1.0),
        "alpha": alpha,
        "gamma": gamma,
    }
    return parent, coords


def decay_momenta(
    parent: vector.MomentumNumpy4D,
    coords: dict[str, np.ndarray],
    masses: tuple[np.ndarray | float, np.ndarray | float, np.ndarray | float],
) -> list[vector.MomentumNumpy4D]:
    """The three daughter momenta of a decay: the inverse of :func:`decay_coordinates`.

    Args:
        parent: the parent's 4-momentum (its mass is M).
        coords: the coordinates by name (those :func:`decay_coordinates` returns).
        masses: the daughters' masses m₁, m₂, m₃.

    Returns:
        The daughters' 4-momenta in the frame of ``parent``.
    """
    big_m = np.asarray(parent.mass, dtype=np.float64)
    m1, m2, m3 = (np.broadcast_to(np.asarray(m, dtype=np.float64), big_m.shape) for m in masses)
    m12 = m1 + m2 + np.clip(coords["m12"], 0.0, 1.0) * np.maximum(big_m - m1 - m2 - m3, 0.0)
    # energies in the rest frame of 1 + 2 give m13, then everything in the parent's frame
    e1s, p1s, e3s, p3s = _in_frame_of_12(big_m, m12, m1, m2, m3)
    m13sq = m1**2 + m3**2 + 2 * (e1s * e3s - p1s * p3s * np.clip(coords["cos13"], -1.0, 1.0))
    m23sq = big_m**2 + m1**2 + m2**2 + m3**2 - m12**2 - m13sq
    e1 = (big_m**2 + m1**2 - m23sq) / (2 * big_m)
    e2 = (big_m**2 + m2**2 - m13sq) / (2 * big_m)
    e3 = big_m - e1 - e2
    p1, p2, p3 = (np.sqrt(np.maximum(e**2 - m**2, 0.0)) for e, m in ((e1, m1), (e2, m2), (e3, m3)))
    with np.errstate(divide="ignore", invalid="ignore"):
        cos12 = np.clip((p3**2 - p1**2 - p2**2) / (2 * p1 * p2), -1.0, 1.0)
    cos12 = np.where(np.isfinite(cos12), cos12, 1.0)
    # canonical frame: 1 along z, 2 in the x-z plane; rotated by the Euler angles
    # (alpha, acos(cos), gamma) into the helicity frame: x -> e_x, z -> e_z
    e_z, x1, y1 = _direction(coords["cos"], coords["alpha"])
    gamma = coords["gamma"]
    e_x = np.cos(gamma)[:, None] * x1 + np.sin(gamma)[:, None] * y1
    v1 = p1[:, None] * e_z
    v2 = (p2 * np.sqrt(1 - cos12**2))[:, None] * e_x + (p2 * cos12)[:, None] * e_z
    axes = _helicity_axes(parent)
    return [_to_lab(parent, axes, v, e) for v, e in ((v1, e1), (v2, e2), (-(v1 + v2), e3))]


def three_momentum(
    objs: list[dict[str, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The summed (px, py, pz) of objects given by pt, eta, phi."""
    px = sum(o["pt"] * np.cos(o["phi"]) for o in objs)
    py = sum(o["pt"] * np.sin(o["phi"]) for o in objs)
    pz = sum(o["pt"] * np.sinh(o["eta"]) for o in objs)
    return px, py, pz


def mass_scale(objs: list[dict[str, np.ndarray]], mass: np.ndarray) -> np.ndarray:
    """The common factor of the objects' pT that gives them the invariant ``mass``.

    At fixed directions, ``m²(s) = (Σᵢ √(s² aᵢ + mᵢ²))² − s² |P|²``, with aᵢ = (pTᵢ cosh ηᵢ)²
    and P the summed unit-scale momentum; it grows monotonically with s. Newton steps
    from the massless solution find it; where they do not converge (near-collinear
    objects), a bisection in log s does.
    """
    px, py, pz = three_momentum(objs)
    p2 = px**2 + py**2 + pz**2
    a = [(o["pt"] * np.cosh(o["eta"])) ** 2 for o in objs]
    m2 = [o["mass"] ** 2 for o in objs]
    target = mass**2

    def excess(scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        roots = [np.sqrt(scale**2 * ai + mi) for ai, mi in zip(a, m2, strict=True)]
        energy = sum(roots)
        value = energy**2 - scale**2 * p2 - target
        slope = 2 * energy * sum(scale * ai / r for ai, r in zip(a, roots, strict=True))
        return value, slope - 2 * scale * p2

    # start from the massless solution (exact for massless objects), refine with
    # Newton steps until every event is converged
    tolerance = 1e-6 * np.maximum(target, 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = mass / np.sqrt(np.maximum(sum(np.sqrt(ai) for ai in a) ** 2 - p2, 1e-300))
        for _ in range(6):
            value, slope = excess(scale)
            if np.all(np.abs(value) <= tolerance):
                break
            scale = np.maximum(scale - value / slope, 0.5 * scale)
        else:
            value, _ = excess(scale)
    bad = ~(np.abs(value) <= tolerance)
    if bad.any():  # collinear or degenerate: bisection in log scale
        scale[bad] = _bisect(p2[bad], [ai[bad] for ai in a], [mi[bad] for mi in m2], target[bad])
    return scale


def _bisect(
    p2: np.ndarray, a: list[np.ndarray], m2: list[np.ndarray], target: np.ndarray
) -> np.ndarray:
    """Solve m²(s) = target (terms as in :func:`mass_scale`) by 60 halvings of
    log s in [log 1e-4, log 1e7]."""
    lo = np.full_like(target, np.log(1e-4))
    hi = np.full_like(target, np.log(1e7))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        s2 = np.exp(2 * mid)
        energy = sum(np.sqrt(s2 * ai + mi) for ai, mi in zip(a, m2, strict=True))
        above = energy**2 - s2 * p2 > target
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return np.exp(0.5 * (lo + hi))


def pt_roots(
    others: list[dict[str, np.ndarray]], obj: dict[str, np.ndarray], mass: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The two pT values of ``obj`` (η, φ and mass fixed) that give the system of
    ``others`` and ``obj`` the invariant mass ``mass``.

    With P the 4-momentum of the others and n = (cos φ, sin φ, sinh η):
    m² = M_P² + m² + 2(E_P E − P⃗·p⃗) squares into a quadratic in pT. Where it has no
    real root, both values are the pT closest to one.
    """
    px, py, pz = three_momentum(others)
    e = sum(np.sqrt((o["pt"] * np.cosh(o["eta"])) ** 2 + o["mass"] ** 2) for o in others)
    m_rest2 = np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0)
    c = np.cosh(obj["eta"])
    m2 = obj["mass"] ** 2
    a = (mass**2 - m_rest2 - m2) / 2
    b = px * np.cos(obj["phi"]) + py * np.sin(obj["phi"]) + pz * np.sinh(obj["eta"])
    qa = e**2 * c**2 - b**2
    qb = -2 * a * b
    qc = e**2 * m2 - a**2
    root = np.sqrt(np.maximum(qb**2 - 4 * qa * qc, 0.0))
    small = (-qb - root) / (2 * qa)
    large = (-qb + root) / (2 * qa)
    return np.maximum(small, 1e-6), np.maximum(large, 1e-6)
