"""Physics-aware, invertible encoding of event tables as float32 matrices.

:class:`Encoding` maps a channel's event table to one row of numbers per event and back:

* object pT as log(pT − floor), the floor just below the training sample's lowest pT
  of that kind of object (its selection threshold), so that no generated object falls
  below it (MET as log(1 + pT), which may be 0); η as is; masses as asinh(m), which
  keeps slightly negative masses of rounded inputs (constant masses, e.g. a kaon's,
  are stored once and not learned);
* φ measured relative to the leading object and wrapped around the training sample's
  circular mean of that difference, so a back-to-back peak sits mid-range instead of
  being cut at ±π; the leading object's own φ is not learned: the detector is
  φ-symmetric, and a uniform azimuth is drawn at generation;
* discrete quantities (flavour, charge, b-tag, jet count, process label) as integers,
  dequantised with narrow Gaussian noise (σ = 0.1, :data:`DEQUANTISATION_WIDTH`) for
  training and rounded back: smooth bumps a flow learns more easily than the boxes of
  uniform dequantisation, whose sharp edges shifted flavour fractions by 4 %;
* absent objects (a second jet in a one-jet event) as standard-normal noise that the
  decoder ignores, so the matrix has no spikes a density model would chase;
* optionally the channel's first resonance mass (mℓℓ, m3ℓ, m_Kππ) as a coordinate, so
  that a narrow peak is learned directly instead of through correlations. For the
  pT-ordered leptons, the pT ratios of neighbours (as logits, so the order holds by
  construction) are learned and the common pT scale is solved from the mass; the three
  particles of a decay (K, π, π) are learned as their parent's pT and η, the mass and
  the decay's rest-frame coordinates (square Dalitz plot and orientation), so that
  momenta that make the mass are made by construction;
* every column standardised with the training mean and spread.

The fitted state is plain JSON (:meth:`Encoding.state`), saved with a model.

Example:
    >>> from evmult.encoding import Encoding
    >>> enc = Encoding.fit(table, get_channel("zll"))  # doctest: +SKIP
    >>> x = enc.transform(table, rng=np.random.default_rng(0))  # doctest: +SKIP
    >>> back = enc.inverse(x, rng=np.random.default_rng(1))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, cast

import awkward as ak
import numpy as np
import vector

from evmult.channels import Channel, Resonance, get_channel
from evmult.errors import InputError
from evmult.physics import decay_coordinates, decay_momenta, resonance_mass
from evmult.selection import has_sfos_pair, merge_leptons
from evmult.table import string_column

__all__ = ["CONDITIONS", "DEQUANTISATION_WIDTH", "Column", "Encoding", "Mirror", "wrap_phi"]

_MASS_OFFSET = 1.0  # MET is learned as log(1 + MET)
_FLOOR_MARGIN = 1e-3  # pT floors sit this fraction below the lowest training pT
_ETA_MARGIN = 1e-3  # |η| bounds sit this fraction above the largest training |η|
# later leptons' bits relative to the leading one's: (bit, relative name, same or not)
_RELATIVE_BITS = (("muon", "same", True), ("charge", "opposite", False))
# identical named particles count as pT-ordered when they are in this share of training
# events (an ntuple ordered before smearing keeps a few near-ties out of order)
_ORDERED_SHARE = 0.99

CONDITIONS = {"flavour": "lep1_muon"}
"""Friendly names of condition columns (besides ``process`` and the discrete columns)."""

DEQUANTISATION_WIDTH = 0.1
"""σ of the Gaussian noise on integers in training (P(|noise| > 0.5) = 6e-7)."""


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Wrap angles into (−π, π].

    Example:
        >>> float(wrap_phi(np.array([3 * np.pi / 2]))[0]) == -np.pi / 2
        True
    """
    out = np.mod(phi + np.pi, 2 * np.pi) - np.pi
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
    """

    name: str
    kind: str = "continuous"
    mean: float = 0.0
    std: float = 1.0
    low: float = 0.0
    high: float = 0.0
    centre: float = 0.0


def _numpy(values: ak.Array) -> np.ndarray:
    return ak.to_numpy(values).astype(np.float64)


def _slots(objects: ak.Array, n: int, field: str) -> np.ndarray:
    padded = ak.pad_none(ak.values_astype(objects[field], np.float64), n, axis=1, clip=True)
    return ak.to_numpy(ak.fill_none(padded, np.nan)).astype(np.float64)


@dataclasses.dataclass
class Encoding:
    """A fitted encoding of one channel's event table.

    Build it with :meth:`fit`; rebuild a saved one with :meth:`from_state`.

    Besides what the module docstring lists, the encoding learns:

    * masses as asinh(m), which keeps the slightly negative masses of rounded inputs
      instead of piling them up at 0;
    * the flavour and charge of every lepton after the first relative to the first
      one's, as ``lep2_same`` (same flavour) and ``lep2_opposite`` (opposite charge): a
      same-flavour opposite-charge pair is then two constant bits, not a correlation
      between four;
    * the azimuth of every jet (photon ...) after the first of its collection from that
      first one's, so that the opening angles within a collection (the jets of a top
      decay) are coordinates, not differences of two learned angles;
    * with a variable lepton count (``inclusive``), for events with a same-flavour
      opposite-charge pair (what a neutral resonance decays to), the pair's mass and the
      pT ratio of its second lepton to the first, the pair's pT scale solved from the
      mass so the pT order holds by construction; any other pair (eμ, same charge) and
      a lone lepton learn the leading lepton's log pT, the mass following from the pT's
      and angles (the mass of a pair no resonance made is a continuum tied to its
      opening angle, a relation a model blurs).

    Attributes:
        channel: the channel name.
        columns: the encoded (learned) columns, in matrix order.
        constants: columns that were constant (up to float rounding, relative spread
            below 1e-6) in the training sample, by name: their median.
        aliases: bits that equal an earlier learned bit (``[source, False]``) or its
            complement (``[source, True]``) in every training event, e.g. the second
            lepton's flavour and charge in an SFOS pair: stored as that rule, not
            learned, so generated pairs keep it exactly.
        resonance: name of the resonance used as a coordinate, or ``None``.
        lepton_mass: |pdgId| (as a string) -> lepton mass (GeV) from the training sample.
        particle_pdg: particle -> [|pdgId|, sign of pdgId × charge].
        processes: process labels, indexed by the ``process`` column.
        condition: the discrete column the model is conditioned on (not learned: its
            value is given at generation), several joined by ``+`` (one label per
            combination of their values), or ``None``.
        condition_values: the values of the condition column, one per label (for
            several columns, a list of their values per label).
        labels: a name per condition value (process names; ``e``/``mu`` for flavour;
            for several columns, the columns' names joined by ``,``).
        pt_floor: object kind (``jet``, ``photon``, ``lep`` ...) -> a pT just below the
            lowest of the training sample (the selection's threshold, in effect):
            pT is learned as log(pT − floor) and pT ratios as ratios above it, so a
            generated object never falls below the threshold and a density model
            has no hard edge to learn.
        eta_bound: object kind -> a |η| just above the largest of the training sample
            (the detector acceptance the selection cut at, in effect): η is learned as
            atanh(η / bound), so a generated object never leaves the acceptance and a
            density model has no hard edge to learn. Not for named particles (their
            η is not cut symmetrically).
        decay_frame: the three particles of a decay (D⁺ → K⁻π⁺π⁺) are learned as the
            parent's log pT and η (its azimuth is drawn), the resonance mass and the
            decay's coordinates in the parent's rest frame
            (:func:`evmult.physics.decay_coordinates`: the scaled Dalitz variable m₁₂
            and helicity angle, as logit and atanh, and the orientation: atanh of the
            polar angle's cosine and two azimuths). Without a resonance coordinate,
            every particle's pT, η and φ are learned.
        acceptance: for a decay learned in its rest frame (:attr:`decay_frame`), each
            particle's [lowest pT, lowest η, highest η] in the training sample, widened
            by 0.1 % of the range: the pT and η of the daughters are not coordinates,
            so a generated decay may put one outside a detector acceptance the
            sample was cut to (a fifth of them, for D⁺ decays in 2 < η < 5); such
            events are redrawn (:meth:`consistent`).
        pt_sorted: runs of identical named particles (same species and charge, e.g. the
            two π⁺ of a D⁺ decay) that the training sample lists in decreasing pT
            (in at least 99 % of its events): generated ones are sorted the same way.
            Identical particles may swap labels, so this loses nothing; learned
            unsorted, a tenth of generated D⁺ decays listed the softer pion first.
    """

    channel: str
    columns: list[Column]
    constants: dict[str, float]
    aliases: dict[str, list[Any]]
    resonance: str | None
    lepton_mass: dict[str, float]
    particle_pdg: dict[str, list[int]]
    processes: list[str]
    condition: str | None = None
    condition_values: list[float] | list[list[float]] = dataclasses.field(default_factory=list)
    labels: list[str] = dataclasses.field(default_factory=list)
    pt_floor: dict[str, float] = dataclasses.field(default_factory=dict)
    eta_bound: dict[str, float] = dataclasses.field(default_factory=dict)
    decay_frame: bool = False
    pt_sorted: list[list[str]] = dataclasses.field(default_factory=list)
    acceptance: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    # ------------------------------------------------------------------ layout
    @property
    def n_features(self) -> int:
        """Width of the encoded matrix."""
        return len(self.columns)

    @property
    def _channel(self) -> Channel:
        return get_channel(self.channel)

    @staticmethod
    def _raw(table: ak.Array, channel: Channel, processes: list[str]) -> dict[str, np.ndarray]:
        """The table as raw per-event columns (before log, wrapping and scaling)."""
        raw: dict[str, np.ndarray] = {}
        n = len(table)
        if channel.n_leptons:
            leptons = ak.concatenate([table[c] for c in channel.leptons], axis=1)
            counts = ak.to_numpy(ak.num(leptons))
            wrong = counts > channel.n_leptons
            if not channel.variable_leptons:
                wrong |= counts < channel.n_leptons
            if np.any(wrong):
                bad = int(np.argmax(wrong))
                msg = (
                    f"channel {channel.name} needs {'at most' if channel.variable_leptons else 'exactly'} "
                    f"{channel.n_leptons} leptons per event; event {bad} has {counts[bad]}"
                )
                raise InputError(msg)
            if channel.variable_leptons:
                raw["nLepton"] = counts.astype(np.float64)
            leptons = leptons[ak.argsort(leptons.pt, axis=1, ascending=False)]
            for i in range(channel.n_leptons):
                p = f"lep{i + 1}"
                for f in ("pt", "eta", "phi"):
                    raw[f"{p}_{f}"] = _slots(leptons, channel.n_leptons, f)[:, i]
                pdg = np.abs(_slots(leptons, channel.n_leptons, "pdgId")[:, i])
                charge = _slots(leptons, channel.n_leptons, "charge")[:, i]
                absent = np.isnan(pdg)
                raw[f"{p}_muon"] = np.where(absent, np.nan, (pdg == 13) * 1.0)
                raw[f"{p}_charge"] = np.where(absent, np.nan, (charge > 0) * 1.0)
        for name in channel.particles:
            obj = table[name]
            for f in ("pt", "eta", "phi", "mass"):
                raw[f"{name}_{f}"] = _numpy(obj[f])
            raw[f"{name}_charge"] = (_numpy(obj.charge) > 0) * 1.0
        for coll, cap in channel.collections.items():
            if coll in channel.leptons:
                continue
            objs = table[coll]
            key = coll.lower()
            if coll == "Jet" and "nJet" in channel.event_fields:
                raw["nJet"] = _numpy(table.nJet)
            else:
                raw[f"n{coll}"] = ak.to_numpy(ak.num(objs)).astype(np.float64)
            fields = ["pt", "eta", "phi"] + (["mass", "btag"] if coll == "Jet" else [])
            for f in fields:
                values = _slots(objs, cap, f)
                for i in range(cap):
                    raw[f"{key}{i + 1}_{f}"] = values[:, i]
        if "nJet" in channel.event_fields and "nJet" not in raw:
            raw["nJet"] = _numpy(table.nJet)
        if channel.has_met:
            raw["MET_pt"] = _numpy(table.MET.pt)
            raw["MET_phi"] = _numpy(table.MET.phi)
        if len(processes) > 1:
            index = {p: i for i, p in enumerate(processes)}
            raw["process"] = np.array([index[p] for p in ak.to_list(table.process)], float)
        return {k: v[:n] for k, v in raw.items()}

    @property
    def _target(self) -> tuple[str, list[str]] | None:
        """The learned resonance coordinate and the objects whose pT it gives, if any."""
        return self._coordinate_target(self._channel) if self.resonance else None

    def _resonance(self) -> Resonance:
        """The channel's resonance learned as a coordinate."""
        return next(r for r in self._channel.resonances if r.name == self.resonance)

    @property
    def _leptons_from_mass(self) -> bool:
        """Whether a lepton pT is solved from the resonance mass (not learned)."""
        target = self._target
        return target is not None and target[1][0] == "lep1"

    @property
    def _scale_mode(self) -> bool:
        """Whether the common pT scale of all leptons is solved from the resonance
        mass (a fixed number of leptons; with a variable count, only the second
        lepton's pT is, as for named particles)."""
        return self._leptons_from_mass and not self._channel.variable_leptons

    @property
    def _pair_mode(self) -> bool:
        """Whether the leading pair of a variable lepton count is learned as its mass
        and pT ratio (a same-flavour opposite-charge pair; see the class docstring)."""
        return self._leptons_from_mass and self._channel.variable_leptons

    def _mass_pairs(self, v: dict[str, np.ndarray], pair: np.ndarray) -> np.ndarray:
        """Which events' lepton pair (``pair``: events that have one) learns its mass,
        from raw or decoded bits of ``v``: a same-flavour opposite-charge one."""
        with np.errstate(invalid="ignore"):  # absent second leptons are NaN
            same = v["lep1_muon"] == v["lep2_muon"]
            opposite = v["lep1_charge"] != v["lep2_charge"]
        return pair & same & opposite

    def _owner(self, name: str) -> str:
        """The column whose object must be present for column ``name`` to be: the
        resonance coordinate belongs to the last object whose pT it replaces."""
        target = self._target
        if target is not None and name in (target[0], f"{target[0]}_root"):
            return f"{target[1][-1]}_pt"
        if name == "MET_dphi":  # measured from the leader, absent where MET is the reference
            return f"{self._leader(self._channel)}_pt"
        return name

    @staticmethod
    def _leader(channel: Channel) -> str:
        """The object every azimuth is measured from: the leading lepton (with a
        variable lepton count, MET in events without one), else the first particle."""
        if channel.n_leptons:
            return "lep1"
        return channel.particles[0] if channel.particles else "MET"

    def _phi_anchor(self, prefix: str) -> str | None:
        """The object whose azimuth that of ``prefix`` is measured from, where it is not
        the leader's: the first of its collection."""
        kind = _kind(prefix)
        if kind in ("lep", "MET") or prefix in self._channel.particles:
            return None
        return f"{kind}1" if prefix != f"{kind}1" else None

    @staticmethod
    def _reference_phi(raw: dict[str, np.ndarray], leader: str) -> np.ndarray:
        """Each event's reference azimuth: the leader's, or MET's where it is absent."""
        phi = raw[f"{leader}_phi"]
        return np.where(np.isfinite(phi), phi, raw["MET_phi"]) if "MET_phi" in raw else phi

    @staticmethod
    def _coordinate_target(channel: Channel) -> tuple[str, list[str]] | None:
        """(resonance name, object prefixes) whose last object's pT the mass replaces."""
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

    @staticmethod
    def _three_body(channel: Channel, target: tuple[str, list[str]] | None) -> bool:
        """Whether the resonance coordinate is the mass of three named particles (a
        decay learned in its rest frame, see :attr:`decay_frame`)."""
        return target is not None and len(target[1]) == 3 and target[1][0] in channel.particles

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls,
        table: ak.Array,
        channel: Channel | str,
        *,
        resonance_coordinate: bool = True,
        condition: str | None = None,
    ) -> Encoding:
        """Fit the encoding to a training table.

        Args:
            table: the training events.
            channel: their channel (or its name).
            resonance_coordinate: learn the channel's first resonance mass in place of
                the pT of its last object, where the channel has a summed resonance.
            condition: a discrete column to condition on instead of learning it:
                ``process``, ``flavour`` (the leading lepton's, hence a pair's), a count
                such as ``nJet`` or any other discrete column (see :data:`CONDITIONS`);
                several joined by ``+`` (``flavour+nJet``) condition on every
                combination of their values.

        Raises:
            InputError: for an empty table, non-finite values, a lepton count that
                does not match the channel or a column that cannot be a condition.
        """
        ch = get_channel(channel) if isinstance(channel, str) else channel
        if len(table) == 0:
            msg = "cannot fit an encoding to an empty table"
            raise InputError(msg)
        processes = sorted(set(ak.to_list(table.process))) if "process" in ak.fields(table) else []
        raw = cls._raw(table, ch, processes)
        enc = cls(ch.name, [], {}, {}, None, {}, {}, processes)
        if ch.n_leptons:
            leptons = ak.concatenate([table[c] for c in ch.leptons], axis=1)
            pdg = np.abs(ak.to_numpy(ak.flatten(leptons.pdgId)))
            mass = ak.to_numpy(ak.flatten(leptons.mass)).astype(np.float64)
            for flavour in (11, 13):
                sel = pdg == flavour
                default = 0.105658 if flavour == 13 else 0.000511
                enc.lepton_mass[str(flavour)] = (
                    float(np.median(mass[sel])) if sel.any() else default
                )
        for name in ch.particles:
            pdg = ak.to_numpy(table[name].pdgId)
            charge = ak.to_numpy(table[name].charge)
            sign = int(np.sign(np.median(np.sign(pdg) * charge)) or 1)
            enc.particle_pdg[name] = [int(np.median(np.abs(pdg))), sign]
        target = cls._coordinate_target(ch) if resonance_coordinate else None
        if target is not None:
            enc.resonance = target[0]
        enc.pt_floor = enc._fit_floors(raw)
        enc.eta_bound = enc._fit_eta_bounds(raw)
        enc.decay_frame = cls._three_body(ch, target)
        enc.pt_sorted = enc._fit_pt_sorted(raw)
        if enc.decay_frame:
            enc.acceptance = enc._fit_acceptance(raw)
        if condition is not None:
            enc._fit_condition(condition, raw)
        features = enc._features(raw, table)
        for name, values in features.items():
            if name in enc.condition_columns:
                continue
            expected = _presence(enc._owner(name), raw)
            if enc._pair_mode and name in ("lep1_logpt", enc.resonance):
                # the leading pT without a pair (or its mass), the mass with one
                by_mass = enc._mass_pairs(raw, np.isfinite(raw["lep2_pt"]))
                expected = np.where(by_mass == (name == "lep1_logpt"), np.nan, expected)
            if not np.all(np.isfinite(values) | np.isnan(expected)):
                bad = int(np.argmax(~np.isfinite(values)))
                msg = f"column {name} is not finite in training event {bad}: {values[bad]}"
                raise InputError(msg)
            present = values[np.isfinite(values)]
            # constant up to float rounding (e.g. a kaon mass computed from E and p)
            if present.size == 0 or np.std(present) <= 1e-6 * max(abs(np.median(present)), 1.0):
                enc.constants[name] = float(np.median(present)) if present.size else math.nan
                continue
            alias = _alias(name, values, features, enc)
            if alias is not None:
                enc.aliases[name] = alias
                continue
            col = Column(name)
            if _is_discrete(name):
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
            enc.columns.append(col)
        return enc

    def _fit_floors(self, raw: dict[str, np.ndarray]) -> dict[str, float]:
        """The pT floor of every kind of collection object (see :attr:`pt_floor`);
        not for named particles, nor for leptons whose pT comes from a mass."""
        skip = {"MET", *self._channel.particles, *(["lep"] if self._scale_mode else [])}
        lowest = {k: float(v.min()) for k, v in _by_kind(raw, "pt", skip).items()}
        return {k: (1 - _FLOOR_MARGIN) * v for k, v in lowest.items() if v > 0}

    def _fit_pt_sorted(self, raw: dict[str, np.ndarray]) -> list[list[str]]:
        """Runs of identical particles listed in decreasing pT (see :attr:`pt_sorted`)."""
        runs: list[list[str]] = []
        for a, b in itertools.pairwise(self._channel.particles):
            same = self.particle_pdg[a] == self.particle_pdg[b]
            if same and np.mean(raw[f"{a}_pt"] >= raw[f"{b}_pt"]) >= _ORDERED_SHARE:
                if runs and runs[-1][-1] == a:
                    runs[-1].append(b)
                else:
                    runs.append([a, b])
        return runs

    def _fit_acceptance(self, raw: dict[str, np.ndarray]) -> dict[str, list[float]]:
        """Each decay particle's pT and η range (see :attr:`acceptance`)."""
        out = {}
        for name in self._channel.particles:
            pt, eta = raw[f"{name}_pt"], raw[f"{name}_eta"]
            margin = _ETA_MARGIN * float(eta.max() - eta.min())
            low = (1 - _FLOOR_MARGIN) * float(pt.min())
            out[name] = [low, float(eta.min()) - margin, float(eta.max()) + margin]
        return out

    def _floor(self, prefix: str) -> float:
        return self.pt_floor.get(_kind(prefix), 0.0)

    def _fit_eta_bounds(self, raw: dict[str, np.ndarray]) -> dict[str, float]:
        """The |η| bound of every kind of collection object and lepton (see
        :attr:`eta_bound`)."""
        by_kind = _by_kind(raw, "eta", set(self._channel.particles))
        largest = {k: float(np.abs(v).max()) for k, v in by_kind.items()}
        return {k: (1 + _ETA_MARGIN) * v for k, v in largest.items() if v > 0}

    def _eta_scale(self, prefix: str) -> float | None:
        return self.eta_bound.get(_kind(prefix))

    @property
    def condition_columns(self) -> list[str]:
        """The raw columns of the condition (several for a joint one), or none."""
        return self.condition.split("+") if self.condition else []

    def _condition_table(self) -> np.ndarray:
        """The condition's values: one row per label, one column per condition column."""
        return np.asarray(self.condition_values, dtype=np.float64).reshape(
            len(self.condition_values), -1
        )

    def _label_name(self, column: str, value: float) -> str:
        if column == "process":
            return self.processes[int(value)]
        if column.endswith("_muon"):
            return "mu" if value else "e"
        return f"{column}={value:g}"

    def _fit_condition(self, condition: str, raw: dict[str, np.ndarray]) -> None:
        """Choose the condition column(s) and the labels (see :meth:`fit`)."""
        columns = []
        for part in condition.split("+"):
            column = CONDITIONS.get(part, part)
            allowed = sorted({*CONDITIONS, *(k for k in raw if _is_discrete(k))})
            if column not in raw or not _is_discrete(column):
                why = (
                    "the table has fewer than two processes"
                    if column == "process"
                    else f"channel {self.channel} has no such discrete column"
                )
                msg = f"cannot condition on {part!r}: {why}; choose one of {', '.join(allowed)}"
                raise InputError(msg)
            if not np.all(np.isfinite(raw[column])):
                bad = int(np.argmax(~np.isfinite(raw[column])))
                msg = f"cannot condition on {part!r}: event {bad} has no {column}"
                raise InputError(msg)
            columns.append(column)
        rows = np.unique(np.column_stack([raw[c] for c in columns]), axis=0)
        self.condition = "+".join(columns)
        self.condition_values = (
            [float(v) for v in rows[:, 0]] if len(columns) == 1 else rows.tolist()
        )
        self.labels = [
            ",".join(self._label_name(c, v) for c, v in zip(columns, row, strict=True))
            for row in rows
        ]

    def label_index(self, table: ak.Array) -> np.ndarray:
        """Each event's label, as an index into :attr:`labels`.

        Raises:
            InputError: for a model without a condition or a value it has not seen.
        """
        if self.condition is None:
            msg = "this encoding has no condition"
            raise InputError(msg)
        raw = self._raw(table, self._channel, self.processes)
        values = np.column_stack([raw[c] for c in self.condition_columns])
        known = {tuple(row): i for i, row in enumerate(self._condition_table().tolist())}
        rows, inverse = np.unique(values, axis=0, return_inverse=True)
        index_of_row = np.array([known.get(tuple(row), -1) for row in rows.tolist()], dtype=int)
        index = index_of_row[inverse.reshape(-1)] if len(values) else np.zeros(0, dtype=int)
        if (index < 0).any():
            bad = int(np.argmax(index < 0))
            shown = ", ".join(
                f"{c} = {values[bad, j]:g}" for j, c in enumerate(self.condition_columns)
            )
            msg = (
                f"event {bad} has {shown}, a label the model was not trained on (it knows "
                f"{', '.join(self.labels)})"
            )
            raise InputError(msg)
        return index

    def _features(self, raw: dict[str, np.ndarray], table: ak.Array) -> dict[str, np.ndarray]:
        """Raw columns -> unscaled encoded quantities (log pT, Δφ, integers ...)."""
        ch = self._channel
        leader = self._leader(ch)
        phi0 = self._reference_phi(raw, leader)
        out: dict[str, np.ndarray] = {}
        target = self._target
        scale = self._scale_mode
        # ordered leptons: every pT comes from the mass, the others from ratios;
        # named particles (and the lepton pair of a variable count): only the last
        # one's pT comes from the mass; a decay's particles: none is learned as such
        replaced = set(target[1] if scale else target[1][-1:]) if target else set()
        decay = set(target[1]) if target and self.decay_frame else set()
        for name, values in raw.items():
            prefix, _, field = name.rpartition("_")
            if prefix in decay and field in ("pt", "eta", "phi"):
                continue  # learned through the decay's coordinates
            if field == "pt":
                if prefix == "MET":
                    out["MET_logpt"] = np.log1p(values)
                elif prefix in replaced:
                    continue
                else:
                    above = np.maximum(values - self._floor(prefix), 1e-12)
                    out[f"{prefix}_logpt"] = np.log(above)
            elif field == "phi":
                if prefix != leader:
                    anchor = self._phi_anchor(prefix)
                    dphi = wrap_phi(values - (raw[f"{anchor}_phi"] if anchor else phi0))
                    if prefix == "MET":  # absent where MET is the reference itself
                        dphi = np.where(np.isfinite(raw[f"{leader}_phi"]), dphi, np.nan)
                    out[f"{prefix}_dphi"] = dphi
            elif field == "eta" and (bound := self._eta_scale(prefix)):
                # events beyond the training acceptance (other samples) sit at its edge
                edge = 1 / (1 + _ETA_MARGIN)
                out[name] = np.arctanh(np.clip(values / bound, -edge, edge))
            elif field == "mass":
                out[f"{prefix}_logmass"] = np.arcsinh(values)
            else:
                out[name] = values
        if target is not None:
            mass = resonance_mass(table, self._resonance())
            out[target[0]] = np.log(mass)
            if self.decay_frame:
                out |= _decay_columns([_momenta(raw, p) for p in target[1]])
                return self._lepton_bits(self._ratios(out, raw, skip_leptons=False))
            objs = {}
            for p in target[1]:
                if p.startswith("lep"):
                    muon = raw[f"{p}_muon"] > 0.5
                    m = np.where(muon, self.lepton_mass["13"], self.lepton_mass["11"])
                else:
                    m = raw[f"{p}_mass"]
                objs[p] = {
                    "pt": raw[f"{p}_pt"],
                    "eta": raw[f"{p}_eta"],
                    "phi": raw[f"{p}_phi"],
                    "mass": m,
                }
            if scale or self._pair_mode:
                for a, b in itertools.pairwise(target[1]):
                    out[f"{b}_logitratio"] = _logit_ratio(raw[f"{b}_pt"], raw[f"{a}_pt"])
                if self._pair_mode:
                    by_mass = self._mass_pairs(raw, np.isfinite(raw["lep2_pt"]))
                    out["lep1_logpt"] = np.where(by_mass, np.nan, out["lep1_logpt"])
                    out[target[0]] = np.where(by_mass, out[target[0]], np.nan)
                return self._lepton_bits(self._ratios(out, raw, skip_leptons=True))
            *others, last = target[1]
            small, large = _pt_roots([objs[p] for p in others], objs[last], mass)
            true = objs[last]["pt"]
            root = (np.abs(large - true) < np.abs(small - true)) * 1.0
            out[f"{target[0]}_root"] = np.where(np.isfinite(mass), root, np.nan)
        return self._lepton_bits(self._ratios(out, raw, skip_leptons=self._leptons_from_mass))

    def _ordered_groups(self, *, skip_leptons: bool) -> list[list[str]]:
        """Slot prefixes of each pT-ordered group: the leptons and every collection."""
        ch = self._channel
        groups = []
        if ch.n_leptons > 1 and not skip_leptons:
            groups.append([f"lep{i + 1}" for i in range(ch.n_leptons)])
        for coll, cap in ch.collections.items():
            if coll not in ch.leptons and cap > 1:
                groups.append([f"{coll.lower()}{i + 1}" for i in range(cap)])
        return groups

    def _ratios(
        self, out: dict[str, np.ndarray], raw: dict[str, np.ndarray], *, skip_leptons: bool
    ) -> dict[str, np.ndarray]:
        """Replace the log pT of every object after the first of an ordered group by the
        logit of its ratio to the previous one: the pT order then holds by construction
        (learned independently, it breaks and re-sorting distorts the spectra)."""
        for group in self._ordered_groups(skip_leptons=skip_leptons):
            for a, b in itertools.pairwise(group):
                out.pop(f"{b}_logpt", None)
                floor = self._floor(b)
                out[f"{b}_logitratio"] = _logit_ratio(
                    raw[f"{b}_pt"] - floor, raw[f"{a}_pt"] - floor
                )
        return out

    def _lepton_bits(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Flavour and charge bits of the leptons after the first relative to its; the
        condition column stays as it is."""
        for i in range(2, self._channel.n_leptons + 1):
            for bit, relative, same in _RELATIVE_BITS:
                name = f"lep{i}_{bit}"
                if name not in out or name in self.condition_columns:
                    continue
                mine, first = out.pop(name), out[f"lep1_{bit}"]
                with np.errstate(invalid="ignore"):
                    equal = (mine == first) * 1.0
                out[f"lep{i}_{relative}"] = np.where(
                    np.isnan(mine), np.nan, equal if same else 1.0 - equal
                )
        return out

    # ------------------------------------------------------------------ transform
    def encode(self, table: ak.Array) -> tuple[np.ndarray, np.ndarray]:
        """The noiseless matrix of a table and the noise training adds to it.

        Returns:
            ``(x, scale)``, both float32 (``len(table)`` × :attr:`n_features`): ``x`` has
            exact integers for discrete columns and 0 for absent objects; ``scale`` is
            the standard deviation of the Gaussian noise to add to each entry: the
            dequantisation width (in standardised units) for discrete columns, 1 for
            absent objects, 0 elsewhere. Training draws fresh noise every epoch.
        """
        ch = self._channel
        raw = self._raw(table, ch, self.processes)
        features = self._features(raw, table)
        n = len(table)
        x = np.empty((n, self.n_features), dtype=np.float64)
        scale = np.zeros((n, self.n_features), dtype=np.float32)
        for j, col in enumerate(self.columns):
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

    def transform(self, table: ak.Array, *, rng: np.random.Generator | None = None) -> np.ndarray:
        """Encode a table as a float32 matrix (``len(table)`` × :attr:`n_features`).

        Args:
            table: events of the encoding's channel.
            rng: source of one draw of the dequantisation and absent-object noise
                (see :meth:`encode`); without it, the noiseless matrix.
        """
        x, scale = self.encode(table)
        if rng is None:
            return x
        return (x + scale * rng.standard_normal(x.shape)).astype(np.float32)

    # ------------------------------------------------------------------ inverse
    def inverse(
        self, x: np.ndarray, *, rng: np.random.Generator, labels: np.ndarray | None = None
    ) -> ak.Array:
        """Decode a matrix into an event table of the channel (weights 1).

        Args:
            x: encoded events, shape (n, :attr:`n_features`).
            rng: source of the leading object's azimuth (uniform in (−π, π]).
            labels: for a conditional encoding, each event's label (index into
                :attr:`labels`).

        Returns:
            An event table with vector behaviours: objects pT-ordered, φ wrapped,
            counts integer, masses from the training sample.
        """
        ch = self._channel
        x = np.asarray(x, dtype=np.float64)
        n = len(x)
        v: dict[str, np.ndarray] = {k: np.full(n, c) for k, c in self.constants.items()}
        for j, col in enumerate(self.columns):
            value = x[:, j] * col.std + col.mean
            if col.name.endswith("_dphi"):
                value = wrap_phi(value + col.centre)
            if col.kind == "discrete":
                value = np.clip(np.rint(value), col.low, col.high)
            v[col.name] = value
        if self.condition is not None:
            if labels is None or len(labels) != n:
                msg = f"a model conditioned on {self.condition} needs a label per event"
                raise ValueError(msg)
            values = self._condition_table()[np.asarray(labels, int)]
            for j, column in enumerate(self.condition_columns):
                v[column] = values[:, j]
        for name, (source, invert) in self.aliases.items():
            v[name] = 1.0 - v[source] if invert else v[source]
        for i in range(2, ch.n_leptons + 1):
            for bit, relative, same in _RELATIVE_BITS:
                if f"lep{i}_{relative}" in v:
                    agree = (v[f"lep{i}_{relative}"] > 0.5) == same
                    v[f"lep{i}_{bit}"] = np.where(agree, v[f"lep1_{bit}"], 1.0 - v[f"lep1_{bit}"])
        for group in self._ordered_groups(skip_leptons=self._leptons_from_mass):
            for a, b in itertools.pairwise(group):
                if f"{b}_logitratio" in v:  # log pT_b = log pT_a + log sigmoid(logit)
                    with np.errstate(invalid="ignore"):  # NaN: a slot no training event filled
                        logit = v[f"{b}_logitratio"]
                        v[f"{b}_logpt"] = v[f"{a}_logpt"] - np.logaddexp(0.0, -logit)
        leader = self._leader(ch)
        phi0 = wrap_phi(rng.uniform(-np.pi, np.pi, n))

        def kin(
            prefix: str, default_mass: np.ndarray | float = 0.0, ref: np.ndarray = phi0
        ) -> dict[str, np.ndarray]:
            pt_key = f"{prefix}_logpt"
            bound = self._eta_scale(prefix)
            return {
                "pt": np.exp(v[pt_key]) + self._floor(prefix)
                if pt_key in v
                else np.full(n, np.nan),
                "eta": bound * np.tanh(v[f"{prefix}_eta"]) if bound else v[f"{prefix}_eta"],
                "phi": phi0 if prefix == leader else wrap_phi(v[f"{prefix}_dphi"] + ref),
                "mass": (
                    self._mass(v[f"{prefix}_logmass"])
                    if f"{prefix}_logmass" in v
                    else np.broadcast_to(default_mass, (n,)).astype(np.float64)
                ),
            }

        fields: dict[str, Any] = {}
        objs: dict[str, dict[str, np.ndarray]] = {}
        if ch.n_leptons:
            present = np.minimum(v["nLepton"], ch.n_leptons) if "nLepton" in v else None
            for i in range(ch.n_leptons):
                p = f"lep{i + 1}"
                muon = v[f"{p}_muon"] > 0.5
                mass = np.where(muon, self.lepton_mass["13"], self.lepton_mass["11"])
                objs[p] = kin(p, mass) | {
                    "muon": muon,
                    "charge": np.where(v[f"{p}_charge"] > 0.5, 1, -1),
                    "present": np.ones(n, bool) if present is None else i < present,
                }
        for name in ch.particles:
            objs[name] = {"charge": np.where(v[f"{name}_charge"] > 0.5, 1, -1)}
            if not self.decay_frame:
                objs[name] |= kin(name)
        if self.decay_frame:
            self._decay(objs, v, phi0)
        elif self.resonance:
            self._solve_last(objs, v)
        for run in self.pt_sorted:
            _sort_by_pt([objs[p] for p in run])
        if ch.n_leptons:
            fields |= self._leptons(objs, ch)
        for name in ch.particles:
            o = objs[name]
            pdg, sign = self.particle_pdg[name]
            fields[name] = ak.zip(
                {
                    **{k: o[k] for k in ("pt", "eta", "phi", "mass")},
                    "charge": o["charge"].astype(np.int32),
                    "pdgId": (sign * pdg * o["charge"]).astype(np.int32),
                },
                with_name="Momentum4D",
            )
        for coll, cap in ch.collections.items():
            if coll in ch.leptons:
                continue
            key = coll.lower()
            count_key = "nJet" if coll == "Jet" and "nJet" in v else f"n{coll}"
            count = np.minimum(v[count_key], cap).astype(np.int64)
            slots: list[dict[str, Any]] = []
            for i in range(cap):
                anchor = self._phi_anchor(f"{key}{i + 1}")
                slots.append(kin(f"{key}{i + 1}", ref=slots[0]["phi"] if anchor else phi0))
            if coll == "Jet":
                for i, s in enumerate(slots):
                    s["btag"] = v[f"jet{i + 1}_btag"] > 0.5
            fields[coll] = _collection(slots, count, with_btag=coll == "Jet")
        if "nJet" in ch.event_fields:
            fields["nJet"] = v["nJet"].astype(np.int32)
        if ch.has_met:
            met_phi = phi0 if leader == "MET" else wrap_phi(v["MET_dphi"] + phi0)
            if ch.variable_leptons:  # MET is the reference in events without a lepton
                met_phi = np.where(v["nLepton"] >= 1, met_phi, phi0)
            fields["MET"] = ak.zip(
                {"pt": np.expm1(v["MET_logpt"]), "phi": met_phi},
                with_name="Momentum2D",
            )
        fields["weight"] = np.ones(n)
        if self.processes:
            index = v["process"].astype(int) if "process" in v else np.zeros(n, int)
            fields["process"] = string_column(self.processes, index)
        return ak.zip(fields, depth_limit=1)

    def _mass(self, encoded: np.ndarray) -> np.ndarray:
        """Masses from their learned column (asinh(m))."""
        return np.sinh(encoded)

    def consistent(self, x: np.ndarray, table: ak.Array) -> np.ndarray:
        """Which decoded events carry the resonance mass their row of ``x`` asked for,
        with every particle of a decay inside the training sample's acceptance.

        Where the solved pT has no real solution (the other momenta cannot make that
        mass), the closest pT was taken and the mass is wrong; a decay learned in its
        rest frame may put a daughter outside the pT and η range of the training
        sample (see :attr:`acceptance`): such events are to be redrawn, not kept. All
        true without a resonance coordinate, and for lepton pairs that learn no mass
        (not same-flavour opposite-charge).
        """
        if not self.resonance:
            return np.ones(len(table), dtype=bool)
        j = [c.name for c in self.columns].index(self.resonance)
        col = self.columns[j]
        asked = np.exp(np.asarray(x[:, j], np.float64) * col.std + col.mean)
        rebuilt = resonance_mass(table, self._resonance())
        # NaN: the event has too few objects for the mass (e.g. one lepton)
        ok = np.isclose(rebuilt, asked, rtol=1e-4, atol=0.0) | np.isnan(rebuilt)
        if self._pair_mode:
            leptons = merge_leptons(*(table[c] for c in self._channel.leptons))
            ok |= ~has_sfos_pair(leptons[:, :2])
        for name, (pt_min, eta_min, eta_max) in self.acceptance.items():
            pt, eta = _numpy(table[name].pt), _numpy(table[name].eta)
            ok &= (pt >= pt_min) & (eta >= eta_min) & (eta <= eta_max)
        return ok

    def _decay(
        self, objs: dict[str, dict[str, np.ndarray]], v: dict[str, np.ndarray], phi: np.ndarray
    ) -> None:
        """Set the momenta of the decay's particles from the parent's learned pT and η,
        its azimuth ``phi``, the learned mass and the decay's coordinates."""
        target = self._target
        assert target is not None
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
        masses = [self._mass(v[f"{p}_logmass"]) for p in target[1]]
        daughters = decay_momenta(
            cast(vector.MomentumNumpy4D, parent), coords, (masses[0], masses[1], masses[2])
        )
        for p, d, m in zip(target[1], daughters, masses, strict=True):
            objs[p] |= {
                "pt": d.pt,
                "eta": d.eta,
                "phi": d.phi,
                "mass": np.broadcast_to(m, d.pt.shape),
            }

    def _solve_last(self, objs: dict[str, dict[str, np.ndarray]], v: dict[str, np.ndarray]) -> None:
        """Set the pT of the resonance's last object from the learned mass and root bit."""
        target = self._target
        assert target is not None
        mass = np.exp(v[target[0]])
        if self._scale_mode or self._pair_mode:
            ratio = np.ones_like(mass)
            unit = [objs["lep1"] | {"pt": ratio}]
            for p in target[1][1:]:
                ratio = ratio / (1.0 + np.exp(-v[f"{p}_logitratio"]))
                unit.append(objs[p] | {"pt": ratio})
            if self._pair_mode:
                # with a variable count, only pairs that learn their mass; the others
                # (and lone leptons) keep the leading pT they learned
                pair = v["nLepton"] >= 2
                by_mass = self._mass_pairs(v, pair)
                objs["lep1"]["pt"] = np.where(by_mass, _mass_scale(unit, mass), objs["lep1"]["pt"])
                objs["lep2"]["pt"] = np.where(pair, unit[1]["pt"] * objs["lep1"]["pt"], np.nan)
                return
            scale = _mass_scale(unit, mass)
            for p, o in zip(target[1], unit, strict=True):
                objs[p]["pt"] = o["pt"] * scale
            return
        *others, last = target[1]
        small, large = _pt_roots([objs[p] for p in others], objs[last], mass)
        objs[last]["pt"] = np.where(v[f"{self.resonance}_root"] > 0.5, large, small)

    def _leptons(self, objs: dict[str, dict[str, np.ndarray]], ch: Channel) -> dict[str, ak.Array]:
        """Muon and Electron collections from the lepton slots, each pT-ordered."""
        prefixes = [f"lep{i + 1}" for i in range(ch.n_leptons)]
        stacked = {
            k: np.stack([objs[p][k] for p in prefixes], axis=1)
            for k in ("pt", "eta", "phi", "mass", "muon", "charge", "present")
        }
        order = np.argsort(
            -np.where(stacked["present"], stacked["pt"], -np.inf), axis=1, kind="stable"
        )
        stacked = {k: np.take_along_axis(a, order, axis=1) for k, a in stacked.items()}
        out = {}
        for coll, is_muon, pdg in (("Muon", True, 13), ("Electron", False, 11)):
            if coll not in ch.leptons:
                continue
            keep = (stacked["muon"] == is_muon) & stacked["present"]
            counts = keep.sum(axis=1)
            flat = {k: a[keep] for k, a in stacked.items()}
            record = {
                "pt": flat["pt"].astype(np.float32),
                "eta": flat["eta"].astype(np.float32),
                "phi": flat["phi"].astype(np.float32),
                "mass": flat["mass"].astype(np.float32),
                "charge": flat["charge"].astype(np.int32),
                "pdgId": (-pdg * flat["charge"]).astype(np.int32),
            }
            out[coll] = ak.unflatten(ak.zip(record, with_name="Momentum4D"), counts)
        return out

    def mirror(self) -> Mirror | None:
        """The reflections of encoded events that leave their distribution unchanged
        (for data augmentation), or ``None`` where the acceptance is not symmetric.

        A rotation by π about an axis across the beams takes every η to −η and every
        azimuth difference to its negative: collisions of two identical beams in a
        symmetric detector do not change under it. Reversing the azimuths alone (a
        mirror through a plane of the beam) is a parity transformation, which the weak
        interaction breaks only through naively T-odd correlations (triple products of
        momenta), far below what a training sample resolves. Both apply where every
        η column is bounded symmetrically (:attr:`eta_bound`) and nothing is learned in a
        decay's frame: not to an LHCb-style sample, whose acceptance (2 < η < 5) is
        one-sided.
        """
        if self.decay_frame or self._channel.particles:
            return None
        eta: list[int] = []
        phi: list[int] = []
        for j, col in enumerate(self.columns):
            prefix, _, field = col.name.rpartition("_")
            if field == "eta":
                if _kind(prefix) not in self.eta_bound:
                    return None
                eta.append(j)
            elif field == "dphi":
                phi.append(j)
        if not eta and not phi:
            return None
        return Mirror(eta, phi, [self.columns[j] for j in eta], [self.columns[j] for j in phi])

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """The fitted state as JSON-serialisable data."""
        return dataclasses.asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Encoding:
        """Rebuild an encoding from :meth:`state`."""
        data = dict(state)
        data["columns"] = [Column(**c) for c in data["columns"]]
        # JSON has no NaN: columns of objects absent from every event come back as null
        data["constants"] = {
            k: math.nan if v is None else float(v) for k, v in data["constants"].items()
        }
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class Mirror:
    """Which encoded columns a reflection of the event changes (see
    :meth:`Encoding.mirror`); :func:`evmult.models.training.reflections` applies it.

    Attributes:
        eta: indices of the η columns (η → −η: a standardised value z becomes
            −z − 2 mean / std).
        phi: indices of the azimuth differences (Δφ → −Δφ: the wrapped value
            v = wrap(Δφ − centre) becomes wrap(−v − 2 centre)).
        eta_columns: the η columns' records (mean and spread).
        phi_columns: the azimuth columns' (mean, spread and centre).
    """

    eta: list[int]
    phi: list[int]
    eta_columns: list[Column]
    phi_columns: list[Column]


def _kind(prefix: str) -> str:
    """The kind of object of a slot prefix: ``jet3`` -> ``jet``, ``lep1`` -> ``lep``."""
    return prefix.rstrip("0123456789")


def _by_kind(raw: dict[str, np.ndarray], field: str, skip: set[str]) -> dict[str, np.ndarray]:
    """The finite values of ``field`` over all slots of each kind of object (kinds and
    prefixes in ``skip`` left out; kinds without a finite value too)."""
    found: dict[str, list[np.ndarray]] = {}
    for name, values in raw.items():
        prefix, _, f = name.rpartition("_")
        if f != field or prefix in skip or _kind(prefix) in skip:
            continue
        finite = values[np.isfinite(values)]
        if finite.size:
            found.setdefault(_kind(prefix), []).append(finite)
    return {k: np.concatenate(v) for k, v in found.items()}


def _presence(name: str, raw: dict[str, np.ndarray]) -> np.ndarray:
    """NaN where the object behind an encoded column is absent (else 0)."""
    prefix = name.rpartition("_")[0]
    for key in (f"{prefix}_pt", f"{prefix}_eta"):
        if key in raw:
            return np.where(np.isfinite(raw[key]), 0.0, np.nan)
    return np.zeros(len(next(iter(raw.values()))))


def _sort_by_pt(objs: list[dict[str, np.ndarray]]) -> None:
    """Reorder the fields of interchangeable objects in place, by decreasing pT."""
    order = np.argsort(-np.stack([o["pt"] for o in objs], axis=1), axis=1, kind="stable")
    for key in objs[0]:
        stacked = np.stack([np.broadcast_to(o[key], order.shape[:1]) for o in objs], axis=1)
        for o, column in zip(objs, np.take_along_axis(stacked, order, axis=1).T, strict=True):
            o[key] = column


def _momenta(raw: dict[str, np.ndarray], prefix: str) -> vector.MomentumNumpy4D:
    """The 4-momenta of one named particle from its raw columns."""
    fields = {f: raw[f"{prefix}_{f}"] for f in ("pt", "eta", "phi", "mass")}
    return cast(vector.MomentumNumpy4D, vector.array(fields))


def _decay_columns(daughters: list[vector.MomentumNumpy4D]) -> dict[str, np.ndarray]:
    """The learned columns of a three-body decay (see :attr:`Encoding.decay_frame`)."""
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


def _three_momentum(
    objs: list[dict[str, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The summed (px, py, pz) of objects given by pt, eta, phi."""
    px = sum(o["pt"] * np.cos(o["phi"]) for o in objs)
    py = sum(o["pt"] * np.sin(o["phi"]) for o in objs)
    pz = sum(o["pt"] * np.sinh(o["eta"]) for o in objs)
    return px, py, pz


def _mass_scale(objs: list[dict[str, np.ndarray]], mass: np.ndarray) -> np.ndarray:
    """The common factor of the objects' pT that gives them the invariant ``mass``.

    At fixed directions, m²(s) = (Σᵢ √(s² aᵢ + mᵢ²))² − s² |P|², with aᵢ = (pTᵢ cosh ηᵢ)²
    and P the summed unit-scale momentum; it grows monotonically with s. Newton steps
    from the massless solution find it; where they do not converge (near-collinear
    objects), a bisection in log s does.
    """
    px, py, pz = _three_momentum(objs)
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
    """Solve m²(s) = target (terms as in :func:`_mass_scale`) by 60 halvings of
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


def _pt_roots(
    others: list[dict[str, np.ndarray]], obj: dict[str, np.ndarray], mass: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The two pT values of ``obj`` (η, φ and mass fixed) that give the system of
    ``others`` and ``obj`` the invariant mass ``mass``.

    With P the 4-momentum of the others and n = (cos φ, sin φ, sinh η):
    m² = M_P² + m² + 2(E_P E − P⃗·p⃗) squares into a quadratic in pT. Where it has no
    real root, both values are the pT closest to one.
    """
    px, py, pz = _three_momentum(others)
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


def _alias(
    name: str, values: np.ndarray, features: dict[str, np.ndarray], enc: Encoding
) -> list[Any] | None:
    """``[source, invert]`` if the bit ``name`` repeats (or inverts) a learned bit or
    the condition (given at generation)."""
    if not _is_discrete(name) or not np.isin(values, (0.0, 1.0)).all():
        return None
    sources = [c.name for c in enc.columns if c.kind == "discrete" and c.low == 0 and c.high == 1]
    if enc.condition is not None:
        table = enc._condition_table()
        sources += [
            c for j, c in enumerate(enc.condition_columns) if np.isin(table[:, j], (0, 1)).all()
        ]
    for source in sources:
        if np.array_equal(values, features[source]):
            return [source, False]
        if np.array_equal(values, 1.0 - features[source]):
            return [source, True]
    return None


def _logit_ratio(pt: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """logit(pT / previous pT), the ratio clipped into (0, 1); NaN where absent."""
    with np.errstate(invalid="ignore"):
        ratio = np.clip(pt / previous, 1e-6, 1 - 1e-6)
    return np.log(ratio) - np.log1p(-ratio)


def _is_discrete(name: str) -> bool:
    """Counts (``nJet``), flavour/charge/b-tag bits, root choices and process labels."""
    counts = name.startswith("n") and name[1:2].isupper()
    bits = name.rpartition("_")[2] in {"muon", "charge", "btag", "root", "same", "opposite"}
    return counts or bits or name == "process"


def _collection(
    slots: list[dict[str, np.ndarray]], count: np.ndarray, *, with_btag: bool
) -> ak.Array:
    """A jagged collection from fixed slots, keeping the first ``count`` per event,
    pT-ordered."""
    keys = ["pt", "eta", "phi", "mass"] + (["btag"] if with_btag else [])
    cap = len(slots)
    stacked = {k: np.stack([s[k] for s in slots], axis=1) for k in keys}
    present = np.arange(cap)[None, :] < count[:, None]
    sort_pt = np.where(present, stacked["pt"], -np.inf)
    order = np.argsort(-sort_pt, axis=1, kind="stable")
    stacked = {k: np.take_along_axis(a, order, axis=1) for k, a in stacked.items()}
    flat = {k: a[present] for k, a in stacked.items()}
    record = {k: flat[k].astype(np.float32) for k in ("pt", "eta", "phi", "mass")}
    if with_btag:
        record["btag"] = flat["btag"].astype(bool)
    return ak.unflatten(ak.zip(record, with_name="Momentum4D"), count)
