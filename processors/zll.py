"""Z -> ll: two same-flavour opposite-charge leptons, MET, up to two jets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import awkward as ak
import numpy as np

from evmult.channel_processor import ChannelProcessor
from evmult.processors.common import ObjectOptions, good_jets, good_leptons, table_fields
from evmult.selection import leading_os_pair, merge_leptons

__all__ = ["ZllOptions", "ZllProcessor"]


@dataclass(frozen=True)
class ZllOptions(ObjectOptions):
    """Thresholds of the ``zll`` selection.

    Args:
        lead_pt_min: minimum pT of the pair's leading lepton (the subleading one needs
            ``lepton_pt_min``).
        max_jets: jets kept per event (``nJet`` counts them all).
    """

    lead_pt_min: float = 20.0
    max_jets: int = 2


class ZllProcessor(ChannelProcessor):
    """≥ 2 same-flavour opposite-charge leptons (e or μ); muons win when both qualify.

    The pair is the leading opposite-charge pair of the flavour (no mass window, so the
    mℓℓ spectrum is left as it is). Keeps the two leptons, MET, up to ``max_jets``
    cleaned jets and the jet count ``nJet``.
    """

    channel_name = "zll"
    needs: ClassVar[tuple[str, ...]] = ("Muon", "Electron", "Jet", "MET")
    Options: ClassVar[type[ObjectOptions]] = ZllOptions

    def dilepton(self, objects: ak.Array) -> tuple[ak.Array, ak.Array, np.ndarray]:
        """The chosen pair as (muons, electrons) per event, and which events have one."""
        o = self.options
        mu, el = good_leptons(objects, o)
        mu2 = leading_os_pair(mu, o.lead_pt_min)
        el2 = leading_os_pair(el, o.lead_pt_min)
        is_mu = ak.to_numpy(ak.num(mu2) == 2)
        is_el = ~is_mu & ak.to_numpy(ak.num(el2) == 2)
        el2 = el2[(ak.local_index(el2) >= 0) & ~is_mu]
        return mu2, el2, is_mu | is_el

    def select(self, objects: ak.Array) -> tuple[dict[str, Any], dict[str, int]]:
        muons, electrons, sel = self.dilepton(objects)
        jets = good_jets(objects, merge_leptons(muons, electrons), self.options)
        fields = table_fields(
            objects,
            sel,
            Muon=muons,
            Electron=electrons,
            Jet=jets[:, : self.options.max_jets],
            nJet=ak.num(jets),
        )
        return fields, {"events": len(objects), "sfos_pair": int(sel.sum())}
