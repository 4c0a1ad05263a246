"""Physics from event tables with vector: 4-momenta sums and the channels' masses.

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

import awkward as ak
import numpy as np
import vector

from evmult.channels import Channel, Resonance

__all__ = ["channel_masses", "invariant_mass", "objects_of", "resonance_mass", "system"]

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
