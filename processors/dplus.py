"""D⁺ -> K⁻π⁺π⁺ (+c.c.) from a flat ntuple (LHCb-style ``DecayTree``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from evmult.channel_processor import ChannelProcessor
from evmult.errors import InputError
from evmult.io.layout import vector_record
from evmult.io.readers import ReaderOptions, flat_weight

__all__ = ["DplusOptions", "DplusProcessor"]

_COMPONENTS = ("PX", "PY", "PZ", "PE", "ID")


@dataclass(frozen=True)
class DplusOptions(ReaderOptions):
    """Options of the ``dplus`` channel.

    Args:
        mass_min: lower edge of an optional m(Kππ) window in GeV (``None``: no cut).
        mass_max: upper edge of that window.
    """

    mass_min: float | None = None
    mass_max: float | None = None


class DplusProcessor(ChannelProcessor):
    """Reads ``{K,Pi1,Pi2}_{PX,PY,PZ,PE,ID}`` (GeV) into particles ``K``, ``Pi1``, ``Pi2``,
    and the event weight where the ntuple has one (``EventWeight``, ``weight``).

    Each particle is one ``{pt, eta, phi, mass, charge, pdgId}`` record per event, in
    float64: in float32, m(Kππ) rebuilt from forward D mesons (p of hundreds of GeV)
    scatters by tens of MeV around a 4 MeV wide peak. The mass is vector's signed mass,
    so (pt, eta, phi, mass) gives back E even where resolution smearing makes E < |p|.
    """

    channel_name = "dplus"
    Options = DplusOptions

    def required_branches(self, branches: set[str]) -> list[str]:  # noqa: ARG002
        return [f"{p}_{c}" for p in self.channel.particles for c in _COMPONENTS]

    def process(self, events: Any) -> dict[str, Any]:
        if self.fmt != "flat":
            msg = f"channel 'dplus' reads flat ntuples, not {self.fmt} input"
            raise InputError(msg)
        fields: dict[str, Any] = {}
        for name in self.channel.particles:
            p4 = ak.zip(
                {c.lower(): events[f"{name}_{c}"] for c in ("PX", "PY", "PZ")}
                | {"E": events[f"{name}_PE"]},
                with_name="Momentum4D",
            )
            pdg = ak.values_astype(events[f"{name}_ID"], np.int32)
            fields[name] = vector_record(
                {k: getattr(p4, k) for k in ("pt", "eta", "phi", "mass")}
                | {"charge": np.sign(pdg), "pdgId": pdg},
                float_type=np.float64,
            )
        fields["weight"] = ak.values_astype(flat_weight(events), np.float64)
        objects = ak.zip(fields, depth_limit=1)
        return self.process_objects(objects, dict(events.metadata))

    def select(self, objects: ak.Array) -> tuple[dict[str, Any], dict[str, int]]:
        o = self.options
        mass = (objects.K + objects.Pi1 + objects.Pi2).mass
        sel = np.ones(len(objects), dtype=np.bool_)
        if o.mass_min is not None:
            sel &= ak.to_numpy(mass > o.mass_min)
        if o.mass_max is not None:
            sel &= ak.to_numpy(mass < o.mass_max)
        fields = {name: objects[name][sel] for name in (*self.channel.particles, "weight")}
        return fields, {"events": len(objects), "mass_window": int(sel.sum())}
