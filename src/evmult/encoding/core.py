"""The :class:`Encoding`: a channel's fitted, invertible map between event tables and
float32 matrices, composed of the blocks of this package (see :mod:`evmult.encoding`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import awkward as ak
import numpy as np

from evmult.channels import Channel, Resonance, get_channel
from evmult.encoding import leptons, objects, resonance
from evmult.encoding.columns import (
    Column,
    Mirror,
    destandardise,
    presence,
    standardise,
    wrap_phi,
)
from evmult.encoding.conditions import Condition, alias_of
from evmult.encoding.resonance import Target
from evmult.errors import InputError
from evmult.physics import resonance_mass

__all__ = ["Encoding"]

# quantile levels of a calibrated resonance coordinate (Encoding.calibrate)
_KNOT_LEVELS = np.array([0.01, *np.linspace(0.05, 0.95, 19), 0.99])


@dataclasses.dataclass
class Encoding:
    """A fitted encoding of one channel's event table.

    Build it with :meth:`fit`; rebuild a saved one with :meth:`from_state`.

    The blocks' modules say what each learns and why (see :mod:`evmult.encoding`).

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
        lepton_mass: ``abs(pdgId)`` (as a string) -> lepton mass (GeV) from the training sample.
        particle_pdg: particle -> [``abs(pdgId)``, sign of pdgId × charge].
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
        eta_bound: object kind -> a bound on ``|η|`` just above the largest of the training sample
            (the detector acceptance the selection cut at, in effect): η is learned as
            atanh(η / bound), so a generated object never leaves the acceptance and a
            density model has no hard edge to learn. Not for named particles (their
            η is not cut symmetrically).
        eta_slope: a later object of a collection of three slots or more (``jet2``) ->
            the share of the first one's atanh(η / bound) its own is learned relative
            to: 1 (the difference) for slots every training event fills, a fitted
            slope in [0, 1] for the others (:func:`evmult.encoding.objects.fit_eta_slopes`).
            A slot without an entry (model files written before the slopes) uses 1.
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
        lepton_pair: three leptons that hold a same-flavour opposite-charge pair in
            every training event (WZ → 3ℓν) learn their bits around it: the slot of the
            lepton outside the pair nearest the Z mass and its flavour and charge
            relative to the pair's (:func:`evmult.encoding.leptons.z_pair_bits`), so
            every generated event has such a pair. Otherwise, and in model files
            written before, the later leptons' bits are relative to the first one's.
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
    eta_slope: dict[str, float] = dataclasses.field(default_factory=dict)
    decay_frame: bool = False
    lepton_pair: bool = False
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

    @property
    def _target(self) -> Target | None:
        """The learned resonance coordinate and the objects whose pT it gives, if any."""
        return resonance.coordinate_target(self._channel) if self.resonance else None

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

    def _owner(self, name: str) -> str:
        """The column whose object must be present for column ``name`` to be: the
        resonance coordinate belongs to the last object whose pT it replaces."""
        target = self._target
        if target is not None and name in (target[0], f"{target[0]}_root"):
            return f"{target[1][-1]}_pt"
        if name == "MET_dphi":  # measured from the leader, absent where MET is the reference
            return f"{objects.leader(self._channel)}_pt"
        return name

    def _groups(self) -> list[list[str]]:
        """The pT-ordered groups learned as ratios (the leptons unless a mass gives them)."""
        return objects.ordered_groups(self._channel, skip_leptons=self._leptons_from_mass)

    @property
    def condition_columns(self) -> list[str]:
        """The raw columns of the condition (several for a joint one), or none."""
        return self.condition.split("+") if self.condition else []

    @property
    def _condition(self) -> Condition | None:
        if self.condition is None:
            return None
        return Condition.from_state(self.condition, self.condition_values, self.labels)

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
                such as ``nJet`` or any other discrete column (see
                :data:`evmult.encoding.CONDITIONS`); several joined by ``+``
                (``flavour+nJet``) condition on every combination of their values.

        Raises:
            InputError: for an empty table, non-finite values, a lepton count that
                does not match the channel or a column that cannot be a condition.
        """
        ch = get_channel(channel) if isinstance(channel, str) else channel
        if len(table) == 0:
            msg = "cannot fit an encoding to an empty table"
            raise InputError(msg)
        processes = sorted(set(ak.to_list(table.process))) if "process" in ak.fields(table) else []
        raw = objects.raw_columns(table, ch, processes)
        enc = cls(ch.name, [], {}, {}, None, {}, {}, processes)
        if ch.n_leptons:
            enc.lepton_mass = leptons.fit_lepton_masses(table, ch)
        enc.particle_pdg = objects.fit_particle_pdg(table, ch)
        target = resonance.coordinate_target(ch) if resonance_coordinate else None
        if target is not None:
            enc.resonance = target[0]
        # floors: not for named particles, nor for leptons whose pT comes from a mass
        enc.pt_floor = objects.fit_floors(
            raw, {"MET", *ch.particles, *(["lep"] if enc._scale_mode else [])}
        )
        enc.eta_bound = objects.fit_eta_bounds(raw, set(ch.particles))
        enc.eta_slope = objects.fit_eta_slopes(raw, ch, enc.eta_bound)
        enc.decay_frame = resonance.three_body(ch, target)
        enc.pt_sorted = objects.fit_pt_sorted(raw, ch.particles, enc.particle_pdg)
        if enc.decay_frame:
            enc.acceptance = resonance.fit_acceptance(raw, ch.particles)
        cond = None
        if condition is not None:
            cond = Condition.fit(condition, raw, ch.name, processes)
            enc.condition, enc.condition_values, enc.labels = (
                cond.name,
                cond.state_values(),
                cond.labels,
            )
        enc.lepton_pair = leptons.z_pair_fits(raw, ch.n_leptons, enc.condition_columns)
        features = enc._features(raw, table)
        for name, values in features.items():
            if name in enc.condition_columns:
                continue
            expected = presence(enc._owner(name), raw)
            if enc._pair_mode and name in ("lep1_logpt", enc.resonance):
                # the leading pT without a pair (or its mass), the mass with one
                by_mass = resonance.mass_pairs(raw, np.isfinite(raw["lep2_pt"]))
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
            alias = alias_of(name, values, features, enc.columns, cond)
            if alias is not None:
                enc.aliases[name] = alias
                continue
            enc.columns.append(Column.fit(name, present))
        return enc

    def label_index(self, table: ak.Array) -> np.ndarray:
        """Each event's label, as an index into :attr:`labels`.

        Raises:
            InputError: for a model without a condition or a value it has not seen.
        """
        cond = self._condition
        if cond is None:
            msg = "this encoding has no condition"
            raise InputError(msg)
        return cond.index(objects.raw_columns(table, self._channel, self.processes))

    def _features(self, raw: dict[str, np.ndarray], table: ak.Array) -> dict[str, np.ndarray]:
        """Raw columns -> unscaled encoded quantities (log pT, Δφ, integers ...)."""
        ch = self._channel
        target = self._target
        # ordered leptons: every pT comes from the mass, the others from ratios;
        # named particles (and the lepton pair of a variable count): only the last
        # one's pT comes from the mass; a decay's particles: none is learned as such
        replaced = set(target[1] if self._scale_mode else target[1][-1:]) if target else set()
        decay = set(target[1]) if target and self.decay_frame else set()
        out = objects.features(
            raw, ch, self.pt_floor, self.eta_bound, self.eta_slope, replaced, decay
        )
        if target is not None:
            resonance.features(
                out,
                raw,
                resonance_mass(table, self._resonance()),
                target,
                decay=self.decay_frame,
                lepton_mass=self.lepton_mass,
                scale=self._scale_mode,
                pair=self._pair_mode,
            )
        out = objects.ratios(out, raw, self._groups(), self.pt_floor)
        if self.lepton_pair:
            return leptons.z_pair_bits(out, raw)
        return leptons.lepton_bits(out, ch.n_leptons, self.condition_columns)

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
        raw = objects.raw_columns(table, self._channel, self.processes)
        features = self._features(raw, table)
        return standardise(features, self.columns, len(table))

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
        self,
        x: np.ndarray,
        *,
        rng: np.random.Generator,
        labels: np.ndarray | None = None,
        reflect: bool = False,
    ) -> ak.Array:
        """Decode a matrix into an event table of the channel (weights 1).

        Args:
            x: encoded events, shape (n, :attr:`n_features`).
            rng: source of the leading object's azimuth (uniform in (−π, π]) and of
                the reflections.
            labels: for a conditional encoding, each event's label (index into
                :attr:`labels`).
            reflect: reflect each event's η's with probability 1/2 and, independently,
                its azimuth differences, where :meth:`mirror` allows: events of a
                model trained on reflections then have that symmetry exactly,
                whatever asymmetry its network kept.

        Returns:
            An event table with vector behaviours: objects pT-ordered, φ wrapped,
            counts integer, masses from the training sample.
        """
        ch = self._channel
        n = len(x)
        v = destandardise(x, self.columns, self.constants)
        cond = self._condition
        if cond is not None:
            cond.decode(v, labels, n)
        for name, (source, invert) in self.aliases.items():
            v[name] = 1.0 - v[source] if invert else v[source]
        if self.lepton_pair:
            leptons.z_pair_bits_inverse(v)
        else:
            leptons.lepton_bits_inverse(v, ch.n_leptons)
        objects.ratios_inverse(v, self._groups())
        phi0 = wrap_phi(rng.uniform(-np.pi, np.pi, n))
        if reflect and (mirror := self.mirror()) is not None:
            for columns, flip in zip(
                (mirror.eta_columns, mirror.phi_columns), rng.random((2, n)) < 0.5, strict=True
            ):
                for col in columns:  # η as learned and Δφ are odd under their reflection
                    v[col.name] = np.where(flip, -v[col.name], v[col.name])
        slots = objects.Slots(
            v, self.pt_floor, self.eta_bound, objects.leader(ch), phi0, self.eta_slope
        )
        objs = objects.decode_particles(slots, ch, momenta=not self.decay_frame)
        if ch.n_leptons:
            objs |= leptons.decode_leptons(v, ch, self.lepton_mass, slots.kin)
        target = self._target
        if target is not None and self.decay_frame:
            masses = [np.sinh(v[f"{p}_logmass"]) for p in target[1]]
            resonance.decay_inverse(objs, v, slots.phi0, target, masses)
        elif target is not None:
            resonance.solve_last(objs, v, target, scale=self._scale_mode, pair=self._pair_mode)
        for run in self.pt_sorted:
            objects.sort_by_pt([objs[p] for p in run])
        fields: dict[str, Any] = leptons.lepton_collections(objs, ch) if ch.n_leptons else {}
        fields |= objects.particle_records(objs, ch, self.particle_pdg)
        fields |= objects.decode_collections(slots, ch)
        if ch.has_met:
            fields["MET"] = objects.decode_met(slots, ch)
        fields["weight"] = np.ones(n)
        if self.processes:
            fields["process"] = objects.process_column(v, self.processes, n)
        return ak.zip(fields, depth_limit=1)

    def calibrate(
        self,
        generated: np.ndarray,
        table: ak.Array,
        weights: np.ndarray,
        *,
        labels: np.ndarray | None = None,
        minimum: int = 200,
    ) -> dict[str, Any]:
        """Cut every discrete column so that a trained model's events have the training
        sample's shares of its values (:attr:`Column.cuts`), and map the resonance
        coordinate so that they have its quantiles (:attr:`Column.knots`), in place.

        A density model under-fills rare integers (a 6 % b-tag bit, three jets in a
        Z → ℓℓ sample): rounding its values at the midpoints gives them too small a
        share, whatever the model's other features. Cutting at the quantiles of the
        model's own values that the training shares give keeps its order (events it
        made most b-like are the b-tagged ones) and the shares exact. Columns always
        present are cut first; the others among the events where the decoded object
        is present. A column seen in fewer than ``minimum`` generated events keeps its
        rounding.

        A density model also leaves a broad mass slightly off (wz's m3ℓ, its upper half
        2 % low and 10 % narrow at the core): the resonance coordinate, which sets the
        leptons' pT scale, is mapped piecewise linearly from the model's quantiles to
        the training sample's at 1 %, 5 %, 10 % … 95 %, 99 %, a monotone map that keeps
        every event's rank and its consistency. Not for a conditional encoding: mapped
        label by label, zll's ``small`` preset lost worth (docs/amplification.md).

        Args:
            generated: encoded events the trained model made (not rounded).
            table: the training events.
            weights: their weights.
            labels: the generated events' labels, for a conditional encoding.
            minimum: generated events a column needs to be cut.

        Returns:
            The cuts and knots set, by column name.
        """
        ch = self._channel
        train = self._features(objects.raw_columns(table, ch, self.processes), table)
        finite = np.isfinite(generated).all(axis=1)
        generated = generated[finite]
        labels = None if labels is None else labels[finite]
        discrete = [(j, c) for j, c in enumerate(self.columns) if c.kind == "discrete"]
        for col in self.columns:
            col.cuts, col.knots = [], []
        everywhere = {c.name: bool(np.isfinite(train[c.name]).all()) for _, c in discrete}
        always = [(j, c) for j, c in discrete if everywhere[c.name]]
        rest = [(j, c) for j, c in discrete if not everywhere[c.name]]
        out: dict[str, Any] = {}
        for group in (always, rest):
            if not group:
                continue
            decoded = self.inverse(generated, rng=np.random.default_rng(0), labels=labels)
            again = self._features(objects.raw_columns(decoded, ch, self.processes), decoded)
            for j, col in group:
                present = np.isfinite(again[col.name])
                known = np.isfinite(train[col.name])
                if present.sum() < minimum:
                    continue
                values = np.arange(col.low, col.high + 1)
                w = weights[known]
                shares = np.array([w[train[col.name][known] == k].sum() for k in values])
                cdf = np.cumsum(shares / shares.sum())[:-1]
                raw = generated[present, j].astype(np.float64) * col.std + col.mean
                col.cuts = [float(c) for c in np.quantile(raw, np.clip(cdf, 0.0, 1.0))]
                out[col.name] = col.cuts
        name = self.resonance
        if name is not None and name in train and self.condition is None:
            # among the events that have it (with a variable lepton count, a pair
            # that learns its mass)
            decoded = self.inverse(generated, rng=np.random.default_rng(0), labels=labels)
            again = self._features(objects.raw_columns(decoded, ch, self.processes), decoded)
            present = np.isfinite(again[name])
            out |= self._calibrate_coordinate(
                name, generated[present], train[name], weights, minimum
            )
        return out

    def _calibrate_coordinate(
        self,
        name: str,
        generated: np.ndarray,
        train: np.ndarray,
        weights: np.ndarray,
        minimum: int,
    ) -> dict[str, list[list[float]]]:
        """Set the :attr:`Column.knots` of the coordinate ``name`` from the model's
        values in ``generated`` and the training values ``train`` (NaN where absent)."""
        names = [c.name for c in self.columns]
        if name not in names:  # constant in training
            return {}
        j = names.index(name)
        col = self.columns[j]
        mine = generated[:, j].astype(np.float64) * col.std + col.mean
        known = np.isfinite(train)
        if mine.size < minimum or known.sum() < minimum:
            return {}
        values, w = train[known], weights[known]
        order = np.argsort(values, kind="stable")
        cumulative = np.cumsum(w[order])
        levels = (cumulative - 0.5 * w[order]) / cumulative[-1]  # weighted mid-ranks
        target = np.interp(_KNOT_LEVELS, levels, values[order])
        model = np.quantile(mine, _KNOT_LEVELS)
        if not (np.all(np.diff(model) > 0) and np.all(np.diff(target) > 0)):
            return {}
        col.knots = [model.tolist(), target.tolist()]
        return {col.name: col.knots}

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
        asked = np.exp(destandardise(np.asarray(x)[:, j : j + 1], [col], {})[col.name])
        return resonance.accepted(
            table,
            self._channel,
            self.acceptance,
            pair=self._pair_mode,
            asked=asked,
            rebuilt=resonance_mass(table, self._resonance()),
        )

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
        return Mirror.of(self.columns, self.eta_bound)

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
