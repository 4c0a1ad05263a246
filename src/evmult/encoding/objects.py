"""The object blocks of the encoding: the raw slots, pT floors and η bounds by kind of
object, azimuths measured from a reference, the pT order of leptons and collections,
and the named particles, collections and MET rebuilt from decoded slots.

Masses are learned as asinh(m), which keeps the slightly negative masses of rounded
inputs instead of piling them up at 0. The azimuth of every jet (photon ...) after the
first of its collection is measured from that first one's, and in collections of
three slots or more its η too (atanh(η / bound), so that it stays in the acceptance,
less a fitted share of the first one's: :func:`fit_eta_slopes`), so that the opening
angles within a collection (the jets of a top decay) are coordinates, not differences
of two learned angles.

Every function works on per-event columns by name (``jet2_pt``, ``lep1_muon``), the
raw ones of :func:`evmult.features.slot_columns` or the decoded ones of
:meth:`evmult.encoding.Encoding.inverse`.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import awkward as ak
import numpy as np

from evmult.channels import Channel
from evmult.encoding.columns import (
    ETA_MARGIN,
    FLOOR_MARGIN,
    by_kind,
    kind,
    logit_ratio,
    wrap_phi,
)
from evmult.errors import InputError
from evmult.features import slot_columns
from evmult.io.tables import string_column

__all__ = [
    "Slots",
    "collection",
    "decode_collections",
    "decode_met",
    "decode_particles",
    "eta_anchor",
    "features",
    "fit_eta_bounds",
    "fit_eta_slopes",
    "fit_floors",
    "fit_particle_pdg",
    "fit_pt_sorted",
    "leader",
    "ordered_groups",
    "particle_records",
    "phi_anchor",
    "process_column",
    "ratios",
    "ratios_inverse",
    "raw_columns",
    "reference_phi",
    "sort_by_pt",
]

# identical named particles count as pT-ordered when they are in this share of training
# events (an ntuple ordered before smearing keeps a few near-ties out of order)
_ORDERED_SHARE = 0.99
# fewer training events than this with both objects: no slope is fitted (0, absolute η)
_SLOPE_EVENTS = 20


def raw_columns(table: ak.Array, channel: Channel, processes: list[str]) -> dict[str, np.ndarray]:
    """The table as raw per-event columns (before log, wrapping and scaling): the slots
    of :func:`evmult.features.slot_columns`, flavour and charge as bits, the process as
    an index into ``processes`` (where there are several).

    Raises:
        InputError: for a lepton count the channel does not allow, or more objects of
            a collection than its slots.
    """
    slots = slot_columns(table, channel)
    if channel.n_leptons:
        counts = slots["nLepton"]
        wrong = counts > channel.n_leptons
        if not channel.variable_leptons:
            wrong |= counts < channel.n_leptons
        if np.any(wrong):
            bad = int(np.argmax(wrong))
            need = "at most" if channel.variable_leptons else "exactly"
            msg = (
                f"channel {channel.name} needs {need} {channel.n_leptons} leptons per "
                f"event; event {bad} has {int(counts[bad])}"
            )
            raise InputError(msg)
    for coll, cap in channel.collections.items():
        if coll in channel.leptons or coll not in ak.fields(table):
            continue
        stored = ak.to_numpy(ak.num(table[coll]))
        if (stored > cap).any():
            bad = int(np.argmax(stored > cap))
            hint = f" (extract it with the option max_jets={cap})" if coll == "Jet" else ""
            msg = (
                f"channel {channel.name} keeps at most {cap} {coll} objects; event {bad} "
                f"has {stored[bad]}{hint}"
            )
            raise InputError(msg)
    raw: dict[str, np.ndarray] = {}
    for name, values in slots.items():
        prefix, _, field = name.rpartition("_")
        if name == "nLepton":
            if channel.variable_leptons:
                raw[name] = values
        elif prefix.startswith("lep") and field in ("pdgId", "charge"):
            bit = np.abs(values) == 13 if field == "pdgId" else values > 0
            raw[f"{prefix}_{'muon' if field == 'pdgId' else 'charge'}"] = np.where(
                np.isnan(values), np.nan, bit * 1.0
            )
        elif prefix in channel.particles and field in ("pdgId", "charge"):
            if field == "charge":
                raw[name] = (values > 0) * 1.0
        else:
            raw[name] = values
    if len(processes) > 1:
        index = {p: i for i, p in enumerate(processes)}
        values = ak.to_list(table.process)
        unknown = sorted(set(values) - set(index))
        if unknown:
            msg = (
                f"the events are of process {', '.join(map(repr, unknown))}; the encoding "
                f"knows {', '.join(processes)}"
            )
            raise InputError(msg)
        raw["process"] = np.array([index[p] for p in values], float)
    return raw


def features(
    raw: dict[str, np.ndarray],
    channel: Channel,
    floors: dict[str, float],
    eta_bound: dict[str, float],
    eta_slope: dict[str, float],
    replaced: set[str],
    decay: set[str],
) -> dict[str, np.ndarray]:
    """Raw columns -> unscaled encoded quantities: log(pT − floor) (MET: log(1 + pT)),
    atanh(η / bound), Δφ from the leader (or the first of the collection), asinh(m),
    the rest as they are. Objects in ``replaced`` learn no pT (a mass gives it), those
    in ``decay`` no momentum (a decay's coordinates give it). In a collection of three
    slots or more, the objects after the first learn atanh(η / bound) less
    ``eta_slope`` (default 1) times the first's (``jet2_deta``; :func:`eta_anchor`,
    :func:`fit_eta_slopes`)."""
    lead = leader(channel)
    phi0 = reference_phi(raw, lead)
    out: dict[str, np.ndarray] = {}
    for name, values in raw.items():
        prefix, _, field = name.rpartition("_")
        if prefix in decay and field in ("pt", "eta", "phi"):
            continue  # learned through the decay's coordinates
        if field == "pt":
            if prefix == "MET":
                out["MET_logpt"] = np.log1p(values)
            elif prefix not in replaced:
                above = np.maximum(values - floors.get(kind(prefix), 0.0), 1e-12)
                out[f"{prefix}_logpt"] = np.log(above)
        elif field == "phi":
            if prefix != lead:
                anchor = phi_anchor(prefix, channel)
                dphi = wrap_phi(values - (raw[f"{anchor}_phi"] if anchor else phi0))
                if prefix == "MET":  # absent where MET is the reference itself
                    dphi = np.where(np.isfinite(raw[f"{lead}_phi"]), dphi, np.nan)
                out[f"{prefix}_dphi"] = dphi
        elif field == "eta" and (bound := eta_bound.get(kind(prefix))):
            if anchor := eta_anchor(prefix, channel):
                out[f"{prefix}_deta"] = _atanh_eta(values, bound) - eta_slope.get(
                    prefix, 1.0
                ) * _atanh_eta(raw[f"{anchor}_eta"], bound)
            else:
                out[name] = _atanh_eta(values, bound)
        elif field == "mass":
            out[f"{prefix}_logmass"] = np.arcsinh(values)
        else:
            out[name] = values
    return out


def _atanh_eta(eta: np.ndarray, bound: float) -> np.ndarray:
    """atanh(η / bound); events beyond the training acceptance (other samples) sit at
    its edge."""
    edge = 1 / (1 + ETA_MARGIN)
    return np.arctanh(np.clip(eta / bound, -edge, edge))


def leader(channel: Channel) -> str:
    """The object every azimuth is measured from: the leading lepton (with a variable
    lepton count, MET in events without one), else the first particle."""
    if channel.n_leptons:
        return "lep1"
    return channel.particles[0] if channel.particles else "MET"


def eta_anchor(prefix: str, channel: Channel) -> str | None:
    """The object whose atanh(η / bound) that of ``prefix`` is learned relative to: the
    first of its collection where that has three slots or more (by the slope of
    :func:`fit_eta_slopes`).

    As the azimuths are measured from the first's, the openings within the collection,
    which set the masses of jet pairs and trijets, are then coordinates in η as in φ,
    not differences of two learned values: with absolute η's, generated tt̄ jets opened
    too wide in η and their trijet mass came out too broad. With two slots (zll's jets)
    the second object is absent from most events, and its η learned from the first's
    lost its own distribution (docs/benchmarks.md, jets' η measured from the leading
    jet's)."""
    anchor = phi_anchor(prefix, channel)
    if anchor is None:
        return None
    slots = {c.lower(): cap for c, cap in channel.collections.items()}
    return anchor if slots.get(kind(prefix), 0) >= 3 else None


def phi_anchor(prefix: str, channel: Channel) -> str | None:
    """The object whose azimuth that of ``prefix`` is measured from, where it is not the
    leader's: the first of its collection."""
    k = kind(prefix)
    if k in ("lep", "MET") or prefix in channel.particles:
        return None
    return f"{k}1" if prefix != f"{k}1" else None


def reference_phi(raw: dict[str, np.ndarray], lead: str) -> np.ndarray:
    """Each event's reference azimuth: the leader's, or MET's where it is absent."""
    phi = raw[f"{lead}_phi"]
    return np.where(np.isfinite(phi), phi, raw["MET_phi"]) if "MET_phi" in raw else phi


def fit_particle_pdg(table: ak.Array, channel: Channel) -> dict[str, list[int]]:
    """Named particle -> [``abs(pdgId)``, sign of pdgId × charge] (medians over ``table``)."""
    out = {}
    for name in channel.particles:
        pdg = ak.to_numpy(table[name].pdgId)
        charge = ak.to_numpy(table[name].charge)
        sign = int(np.sign(np.median(np.sign(pdg) * charge)) or 1)
        out[name] = [int(np.median(np.abs(pdg))), sign]
    return out


def fit_floors(raw: dict[str, np.ndarray], skip: set[str]) -> dict[str, float]:
    """A pT just below the lowest of each kind of object (kinds in ``skip`` left out)."""
    lowest = {k: float(v.min()) for k, v in by_kind(raw, "pt", skip).items()}
    return {k: (1 - FLOOR_MARGIN) * v for k, v in lowest.items() if v > 0}


def fit_eta_bounds(raw: dict[str, np.ndarray], skip: set[str]) -> dict[str, float]:
    """A bound on ``|η|`` just above the largest of each kind of object (``skip`` left out)."""
    largest = {k: float(np.abs(v).max()) for k, v in by_kind(raw, "eta", skip).items()}
    return {k: (1 + ETA_MARGIN) * v for k, v in largest.items() if v > 0}


def fit_eta_slopes(
    raw: dict[str, np.ndarray], channel: Channel, eta_bound: dict[str, float]
) -> dict[str, float]:
    """How much of the first object's atanh(η / bound) each later one of its collection
    learns its own relative to (:func:`eta_anchor`): 1 (the difference) for a slot
    filled in every training event, else the least-squares slope of its atanh(η / bound)
    on the first's over the events that have both, clipped to [0, 1] (0 where fewer
    than 20 events have both).

    A slot every event fills belongs to the final state the selection asks for (tt̄'s
    four jets): its opening to the first object, which sets the masses of jet pairs
    and trijets, is then a coordinate. A slot only some events fill (radiation jets)
    learns a coordinate uncorrelated with the first object's η instead: as a
    difference, the sum of two learned values, its own η distribution came out too
    wide (docs/benchmarks.md, jets' η from the leading jet's)."""
    slopes: dict[str, float] = {}
    for name, values in raw.items():
        prefix, _, field = name.rpartition("_")
        if field != "eta" or not (anchor := eta_anchor(prefix, channel)):
            continue
        bound = eta_bound.get(kind(prefix))
        if bound is None:
            continue
        both = np.isfinite(values) & np.isfinite(raw[f"{anchor}_eta"])
        if both.all():
            slopes[prefix] = 1.0
            continue
        if both.sum() < _SLOPE_EVENTS:
            slopes[prefix] = 0.0
            continue
        a = _atanh_eta(values[both], bound)
        a1 = _atanh_eta(raw[f"{anchor}_eta"][both], bound)
        spread = float(np.var(a1))
        slope = float(np.mean((a - a.mean()) * (a1 - a1.mean())) / spread) if spread else 0.0
        slopes[prefix] = float(np.clip(slope, 0.0, 1.0))
    return slopes


def fit_pt_sorted(
    raw: dict[str, np.ndarray], particles: tuple[str, ...], pdg: dict[str, list[int]]
) -> list[list[str]]:
    """Runs of identical named particles listed in decreasing pT in the training sample
    (in at least 99 % of its events)."""
    runs: list[list[str]] = []
    for a, b in itertools.pairwise(particles):
        same = pdg[a] == pdg[b]
        if same and np.mean(raw[f"{a}_pt"] >= raw[f"{b}_pt"]) >= _ORDERED_SHARE:
            if runs and runs[-1][-1] == a:
                runs[-1].append(b)
            else:
                runs.append([a, b])
    return runs


def ordered_groups(channel: Channel, *, skip_leptons: bool) -> list[list[str]]:
    """Slot prefixes of each pT-ordered group: the leptons and every collection."""
    groups = []
    if channel.n_leptons > 1 and not skip_leptons:
        groups.append([f"lep{i + 1}" for i in range(channel.n_leptons)])
    for coll, cap in channel.collections.items():
        if coll not in channel.leptons and cap > 1:
            groups.append([f"{coll.lower()}{i + 1}" for i in range(cap)])
    return groups


def ratios(
    out: dict[str, np.ndarray],
    raw: dict[str, np.ndarray],
    groups: list[list[str]],
    floors: dict[str, float],
) -> dict[str, np.ndarray]:
    """Replace the log pT of every object after the first of an ordered group by the
    logit of its ratio (above the floor) to the previous one: the pT order then holds by
    construction (learned independently, it breaks and re-sorting distorts the spectra)."""
    for group in groups:
        for a, b in itertools.pairwise(group):
            out.pop(f"{b}_logpt", None)
            floor = floors.get(kind(b), 0.0)
            out[f"{b}_logitratio"] = logit_ratio(raw[f"{b}_pt"] - floor, raw[f"{a}_pt"] - floor)
    return out


def ratios_inverse(v: dict[str, np.ndarray], groups: list[list[str]]) -> None:
    """Set the log pT of every ratio-coded object from its predecessor's (in place)."""
    for group in groups:
        for a, b in itertools.pairwise(group):
            if f"{b}_logitratio" in v:  # log pT_b = log pT_a + log sigmoid(logit)
                with np.errstate(invalid="ignore"):  # NaN: a slot no training event filled
                    logit = v[f"{b}_logitratio"]
                    v[f"{b}_logpt"] = v[f"{a}_logpt"] - np.logaddexp(0.0, -logit)


def sort_by_pt(objs: list[dict[str, np.ndarray]]) -> None:
    """Reorder the fields of interchangeable objects in place, by decreasing pT."""
    order = np.argsort(-np.stack([o["pt"] for o in objs], axis=1), axis=1, kind="stable")
    for key in objs[0]:
        stacked = np.stack([np.broadcast_to(o[key], order.shape[:1]) for o in objs], axis=1)
        for o, column in zip(objs, np.take_along_axis(stacked, order, axis=1).T, strict=True):
            o[key] = column


def collection(slots: list[dict[str, Any]], count: np.ndarray, *, with_btag: bool) -> ak.Array:
    """A jagged collection from fixed slots, keeping the first ``count`` per event,
    pT-ordered."""
    keys = ["pt", "eta", "phi", "mass"] + (["btag"] if with_btag else [])
    cap = len(slots)
    stacked = {k: np.stack([s[k] for s in slots], axis=1) for k in keys}
    present = np.arange(cap)[None, :] < count[:, None]
    sort_pt = np.where(present, stacked["pt"], -np.inf)
    if not np.all(sort_pt[:, :-1] >= sort_pt[:, 1:]):  # pT ratios give the order as a rule
        order = np.argsort(-sort_pt, axis=1, kind="stable")
        stacked = {k: np.take_along_axis(a, order, axis=1) for k, a in stacked.items()}
    flat = {k: a[present] for k, a in stacked.items()}
    record = {k: flat[k].astype(np.float32) for k in ("pt", "eta", "phi", "mass")}
    if with_btag:
        record["btag"] = flat["btag"].astype(bool)
    return ak.unflatten(ak.zip(record, with_name="Momentum4D"), count)


@dataclasses.dataclass(frozen=True)
class Slots:
    """Decoded columns of ``n`` events and the rules that turn a slot's into a momentum.

    Attributes:
        v: decoded column name -> values (log pT, η as learned, Δφ, log mass ...).
        floors: the encoding's pT floor by kind of object.
        eta_bound: its ``|η|`` bound by kind of object.
        lead: the object azimuths are measured from.
        phi0: each event's drawn azimuth of that object.
        eta_slope: the share of the first object's atanh(η / bound) a later one's is
            learned relative to (:func:`fit_eta_slopes`; 1 where absent).
    """

    v: dict[str, np.ndarray]
    floors: dict[str, float]
    eta_bound: dict[str, float]
    lead: str
    phi0: np.ndarray
    eta_slope: dict[str, float] = dataclasses.field(default_factory=dict)

    def kin(
        self, prefix: str, default_mass: np.ndarray | float = 0.0, ref: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """pt, eta, phi and mass of slot ``prefix`` (azimuth from ``ref``, default the
        leader's)."""
        v, n = self.v, len(self.phi0)
        pt_key = f"{prefix}_logpt"
        bound = self.eta_bound.get(kind(prefix))
        ref = self.phi0 if ref is None else ref
        if f"{prefix}_deta" in v:  # from the first of the collection's
            first = v[f"{kind(prefix)}1_eta"]
            eta = bound * np.tanh(v[f"{prefix}_deta"] + self.eta_slope.get(prefix, 1.0) * first)
        else:
            eta = bound * np.tanh(v[f"{prefix}_eta"]) if bound else v[f"{prefix}_eta"]
        return {
            "pt": np.exp(v[pt_key]) + self.floors.get(kind(prefix), 0.0)
            if pt_key in v
            else np.full(n, np.nan),
            "eta": eta,
            "phi": self.phi0 if prefix == self.lead else wrap_phi(v[f"{prefix}_dphi"] + ref),
            "mass": (
                np.sinh(v[f"{prefix}_logmass"])
                if f"{prefix}_logmass" in v
                else np.broadcast_to(default_mass, (n,)).astype(np.float64)
            ),
        }


def decode_particles(
    slots: Slots, channel: Channel, *, momenta: bool
) -> dict[str, dict[str, np.ndarray]]:
    """The named particles' charges (and momenta, unless a decay gives them)."""
    objs = {}
    for name in channel.particles:
        objs[name] = {"charge": np.where(slots.v[f"{name}_charge"] > 0.5, 1, -1)}
        if momenta:
            objs[name] |= slots.kin(name)
    return objs


def particle_records(
    objs: dict[str, dict[str, np.ndarray]], channel: Channel, pdg: dict[str, list[int]]
) -> dict[str, ak.Array]:
    """One Momentum4D record per event for each named particle, with charge and pdgId."""
    out = {}
    for name in channel.particles:
        o = objs[name]
        code, sign = pdg[name]
        out[name] = ak.zip(
            {
                **{k: o[k] for k in ("pt", "eta", "phi", "mass")},
                "charge": o["charge"].astype(np.int32),
                "pdgId": (sign * code * o["charge"]).astype(np.int32),
            },
            with_name="Momentum4D",
        )
    return out


def decode_collections(slots: Slots, channel: Channel) -> dict[str, ak.Array]:
    """Every non-lepton collection (jets with b-tags) and ``nJet`` of decoded events."""
    v = slots.v
    out: dict[str, Any] = {}
    for coll, cap in channel.collections.items():
        if coll in channel.leptons:
            continue
        key = coll.lower()
        count_key = "nJet" if coll == "Jet" and "nJet" in v else f"n{coll}"
        count = np.minimum(v[count_key], cap).astype(np.int64)
        objs: list[dict[str, Any]] = []
        for i in range(cap):
            anchored = phi_anchor(f"{key}{i + 1}", channel) is not None
            objs.append(slots.kin(f"{key}{i + 1}", ref=objs[0]["phi"] if anchored else None))
        if coll == "Jet":
            for i, o in enumerate(objs):
                o["btag"] = v[f"jet{i + 1}_btag"] > 0.5
        out[coll] = collection(objs, count, with_btag=coll == "Jet")
    if "nJet" in channel.event_fields:
        out["nJet"] = v["nJet"].astype(np.int32)
    return out


def decode_met(slots: Slots, channel: Channel) -> ak.Array:
    """The MET record of decoded events (its azimuth the drawn one where MET leads)."""
    v, phi0 = slots.v, slots.phi0
    met_phi = phi0 if slots.lead == "MET" else wrap_phi(v["MET_dphi"] + phi0)
    if channel.variable_leptons:  # MET is the reference in events without a lepton
        met_phi = np.where(v["nLepton"] >= 1, met_phi, phi0)
    return ak.zip({"pt": np.expm1(v["MET_logpt"]), "phi": met_phi}, with_name="Momentum2D")


def process_column(v: dict[str, np.ndarray], processes: list[str], n: int) -> ak.Array:
    """The decoded events' process names."""
    index = v["process"].astype(int) if "process" in v else np.zeros(n, int)
    return string_column(processes, index)
