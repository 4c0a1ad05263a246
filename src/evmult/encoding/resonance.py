"""The resonance block: a channel's first resonance mass learned as a coordinate.

Three ways, chosen by what the resonance is made of (:func:`coordinate_target`):

* pT-ordered leptons (``zll``, ``wz``): their pT ratios are learned and the common pT
  scale is solved from the mass (:func:`evmult.physics.mass_scale`); with a variable
  lepton count (``inclusive``), only a same-flavour opposite-charge leading pair (what
  a neutral resonance decays to) learns its mass and the second lepton's pT ratio; any
  other pair (eμ, same charge) and a lone lepton learn the leading lepton's log pT, the
  mass following from the pTs and angles (the mass of a pair no resonance made is a
  continuum tied to its opening angle, a relation a model blurs);
* two named particles: the last one's pT is one of the two roots of the mass equation
  (:func:`evmult.physics.pt_roots`), the choice learned as a bit;
* three named particles (a decay, D⁺ → K⁻π⁺π⁺): the parent's pT and η, the mass and the
  decay's rest-frame coordinates (:func:`evmult.physics.decay_coordinates`).
"""

from __future__ import annotations

import itertools
from typing import cast

import awkward as ak
import numpy as np
import vector

from evmult.channels import Channel
from evmult.encoding.columns import ETA_MARGIN, FLOOR_MARGIN, logit_ratio
from evmult.physics import decay_coordinates, decay_momenta, mass_scale, pt_roots
from evmult.selection import has_sfos_pair, merge_leptons

__all__ = [
    "Target",
    "accepted",
    "coordinate_target",
    "decay_inverse",
    "features",
    "fit_acceptance",
    "mass_pairs",
    "solve_last",
    "three_body",
]

Target = tuple[str, list[str]]
"""(resonance name, the object prefixes whose last object's pT the mass replaces)."""


def coordinate_target(channel: Channel) -> Target | None:
    """The channel's resonance that can be a coordinate and its objects, if any."""
    for res in channel.resonances[:1]:
        if res.method != "sum":
            return None
        if set(res.objects) <= set(channel.leptons) and channel.n_leptons >= 2:
            if channel.variable_leptons:  # the mass of the leading pair, if any
                return res.name, ["lep1", "lep2"]
            return res.name, [f"lep{i + 1}" for i in range(channel.n_leptons)]
        if set(res.objects) <= set(channel.particles) and len(res.objects) >= 2:
            return res.name, list(res.objects)
    return None


def three_body(channel: Channel, target: Target | None) -> bool:
    """Whether the coordinate is the mass of three named particles (a decay learned in
    its rest frame)."""
    return target is not None and len(target[1]) == 3 and target[1][0] in channel.particles


def mass_pairs(v: dict[str, np.ndarray], pair: np.ndarray) -> np.ndarray:
    """Which events' lepton pair (``pair``: events that have one) learns its mass, from
    raw or decoded bits of ``v``: a same-flavour opposite-charge one."""
    with np.errstate(invalid="ignore"):  # absent second leptons are NaN
        same = v["lep1_muon"] == v["lep2_muon"]
        opposite = v["lep1_charge"] != v["lep2_charge"]
    return pair & same & opposite


def fit_acceptance(
    raw: dict[str, np.ndarray], particles: tuple[str, ...]
) -> dict[str, list[float]]:
    """Each decay particle's [lowest pT, lowest η, highest η], widened by 0.1 %."""
    out = {}
    for name in particles:
        pt, eta = raw[f"{name}_pt"], raw[f"{name}_eta"]
        margin = ETA_MARGIN * float(eta.max() - eta.min())
        low = (1 - FLOOR_MARGIN) * float(pt.min())
        out[name] = [low, float(eta.min()) - margin, float(eta.max()) + margin]
    return out


def _momenta(raw: dict[str, np.ndarray], prefix: str) -> vector.MomentumNumpy4D:
    """The 4-momenta of one named particle from its raw columns."""
    fields = {f: raw[f"{prefix}_{f}"] for f in ("pt", "eta", "phi", "mass")}
    return cast(vector.MomentumNumpy4D, vector.array(fields))


def _decay_columns(daughters: list[vector.MomentumNumpy4D]) -> dict[str, np.ndarray]:
    """The learned columns of a three-body decay."""
    parent, c = decay_coordinates(daughters)
    edge = 1 - 1e-7  # keeps atanh and logit finite for points on the boundary
    m12 = np.clip(c["m12"], 1 - edge, edge)
    return {
        "parent_logpt": np.log(np.asarray(parent.pt, dtype=np.float64)),
        "parent_eta": np.asarray(parent.eta, dtype=np.float64),
        "decay_m12": np.log(m12) - np.log1p(-m12),
        "decay_cos13": np.arctanh(np.clip(c["cos13"], -edge, edge)),
        "decay_cos": np.arctanh(np.clip(c["cos"], -edge, edge)),
        "decay_alpha_dphi": c["alpha"],
        "decay_gamma_dphi": c["gamma"],
    }


def features(
    out: dict[str, np.ndarray],
    raw: dict[str, np.ndarray],
    mass: np.ndarray,
    target: Target,
    *,
    decay: bool,
    lepton_mass: dict[str, float],
    scale: bool,
    pair: bool,
) -> None:
    """Add the resonance's learned columns to ``out`` (in place).

    Args:
        out: the encoded quantities so far (the replaced pTs already left out).
        raw: the raw columns.
        mass: each event's resonance mass.
        target: the resonance and its objects.
        decay: learn a three-body decay in its rest frame.
        lepton_mass: ``abs(pdgId)`` (as a string) -> lepton mass.
        scale: the leptons' common pT scale comes from the mass (their ratios learned).
        pair: the leading pair of a variable lepton count learns its mass where it is
            a same-flavour opposite-charge pair, the leading lepton's pT elsewhere.
    """
    name, prefixes = target
    out[name] = np.log(mass)
    if decay:
        out |= _decay_columns([_momenta(raw, p) for p in prefixes])
        return
    if scale or pair:
        for a, b in itertools.pairwise(prefixes):
            out[f"{b}_logitratio"] = logit_ratio(raw[f"{b}_pt"], raw[f"{a}_pt"])
        if pair:
            by_mass = mass_pairs(raw, np.isfinite(raw["lep2_pt"]))
            out["lep1_logpt"] = np.where(by_mass, np.nan, out["lep1_logpt"])
            out[name] = np.where(by_mass, out[name], np.nan)
        return
    objs = {}
    for p in prefixes:
        if p.startswith("lep"):
            muon = raw[f"{p}_muon"] > 0.5
            m = np.where(muon, lepton_mass["13"], lepton_mass["11"])
        else:
            m = raw[f"{p}_mass"]
        objs[p] = {"pt": raw[f"{p}_pt"], "eta": raw[f"{p}_eta"], "phi": raw[f"{p}_phi"], "mass": m}
    *others, last = prefixes
    small, large = pt_roots([objs[p] for p in others], objs[last], mass)
    true = objs[last]["pt"]
    root = (np.abs(large - true) < np.abs(small - true)) * 1.0
    out[f"{name}_root"] = np.where(np.isfinite(mass), root, np.nan)


def decay_inverse(
    objs: dict[str, dict[str, np.ndarray]],
    v: dict[str, np.ndarray],
    phi: np.ndarray,
    target: Target,
    masses: list[np.ndarray],
) -> None:
    """Set the momenta of the decay's particles from the parent's learned pT and η, its
    azimuth ``phi``, the learned mass, the decay's coordinates and the particles'
    ``masses`` (in place)."""
    parent = vector.array(
        {
            "pt": np.exp(v["parent_logpt"]),
            "eta": v["parent_eta"],
            "phi": phi,
            "mass": np.exp(v[target[0]]),
        }
    )
    coords = {
        "m12": 1 / (1 + np.exp(-v["decay_m12"])),
        "cos13": np.tanh(v["decay_cos13"]),
        "cos": np.tanh(v["decay_cos"]),
        "alpha": v["decay_alpha_dphi"],
        "gamma": v["decay_gamma_dphi"],
    }
    daughters = decay_momenta(
        cast(vector.MomentumNumpy4D, parent), coords, (masses[0], masses[1], masses[2])
    )
    for p, d, m in zip(target[1], daughters, masses, strict=True):
        objs[p] |= {"pt": d.pt, "eta": d.eta, "phi": d.phi, "mass": np.broadcast_to(m, d.pt.shape)}


def solve_last(
    objs: dict[str, dict[str, np.ndarray]],
    v: dict[str, np.ndarray],
    target: Target,
    *,
    scale: bool,
    pair: bool,
) -> None:
    """Set the pT the resonance's objects get from the learned mass (in place): the
    leptons' common scale (``scale``, ``pair``: see :func:`features`) or the last
    object's root."""
    name, prefixes = target
    mass = np.exp(v[name])
    if scale or pair:
        ratio = np.ones_like(mass)
        unit = [objs["lep1"] | {"pt": ratio}]
        for p in prefixes[1:]:
            ratio = ratio / (1.0 + np.exp(-v[f"{p}_logitratio"]))
            unit.append(objs[p] | {"pt": ratio})
        if pair:
            # with a variable count, only pairs that learn their mass; the others
            # (and lone leptons) keep the leading pT they learned
            has_pair = v["nLepton"] >= 2
            by_mass = mass_pairs(v, has_pair)
            objs["lep1"]["pt"] = np.where(by_mass, mass_scale(unit, mass), objs["lep1"]["pt"])
            objs["lep2"]["pt"] = np.where(has_pair, unit[1]["pt"] * objs["lep1"]["pt"], np.nan)
            return
        common = mass_scale(unit, mass)
        for p, o in zip(prefixes, unit, strict=True):
            objs[p]["pt"] = o["pt"] * common
        return
    *others, last = prefixes
    small, large = pt_roots([objs[p] for p in others], objs[last], mass)
    objs[last]["pt"] = np.where(v[f"{name}_root"] > 0.5, large, small)


def accepted(
    table: ak.Array,
    channel: Channel,
    acceptance: dict[str, list[float]],
    *,
    pair: bool,
    asked: np.ndarray,
    rebuilt: np.ndarray,
) -> np.ndarray:
    """Which decoded events carry the mass they were asked (``asked`` against the
    ``rebuilt`` one; NaN: too few objects for a mass) with every decay particle inside
    the ``acceptance``; pairs that learn no mass (``pair``) always pass."""
    ok = np.isclose(rebuilt, asked, rtol=1e-4, atol=0.0) | np.isnan(rebuilt)
    if pair:
        leptons = merge_leptons(*(table[c] for c in channel.leptons))
        ok |= ~has_sfos_pair(leptons[:, :2])
    for name, (pt_min, eta_min, eta_max) in acceptance.items():
        pt = ak.to_numpy(table[name].pt).astype(np.float64)
        eta = ak.to_numpy(table[name].eta).astype(np.float64)
        ok &= (pt >= pt_min) & (eta >= eta_min) & (eta <= eta_max)
    return ok
