"""What an analysis channel is: its objects, multiplicities and resonances.

A :class:`Channel` describes the *event table* a channel processor produces: which
object collections it keeps (and at most how many of each), which event-level fields it
carries, and which invariant masses characterise it. The generative models and the
validation layer read this description; they never look at the selection itself.

Example:
    >>> from evmult.channels import get_channel
    >>> ch = get_channel("zll")
    >>> ch.collections["Jet"]
    2
    >>> [r.name for r in ch.resonances]
    ['mll']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evmult.errors import SelectionError

__all__ = ["CHANNELS", "Z_MASS", "Channel", "Resonance", "get_channel"]


@dataclass(frozen=True)
class Resonance:
    """An invariant mass built from some of a channel's objects.

    Args:
        name: short name, e.g. ``"mll"``.
        label: axis label (LaTeX allowed), e.g. ``r"$m_{\\ell\\ell}$ [GeV]"``.
        objects: collections whose objects are summed (all kept objects of each).
        expected: nominal peak position in GeV (``None`` for a continuum).
        method: how the mass is built: ``"sum"`` (invariant mass of all the objects,
            NaN for fewer than two),
            ``"max_pt_triplet"`` (the three objects whose sum has the largest pT, the
            usual hadronic-top candidate) or ``"mt"`` (transverse mass of the objects
            with the missing transverse momentum).
    """

    name: str
    label: str
    objects: tuple[str, ...]
    expected: float | None = None
    method: str = "sum"


@dataclass(frozen=True)
class Channel:
    """Definition of an analysis channel's event table.

    Args:
        name: channel name as used on the command line.
        description: one line for ``--help`` and reports.
        collections: object collection name -> maximum number of objects kept; each is
            a variable-length list per event, as in NanoAOD.
        particles: single-object records per event, named after the particle (flat
            ntuples, e.g. ``K``, ``Pi1``, ``Pi2``).
        event_fields: event-level fields besides ``weight`` (e.g. ``"nJet"``).
        resonances: invariant masses that characterise the channel.
        leptons: collections that hold the channel's leptons (muons and electrons),
            which share one lepton budget (``collections`` gives the per-flavour maximum).
        n_leptons: total number of leptons kept per event (0 for no leptons); with
            ``variable_leptons``, the most kept.
        variable_leptons: events may have 0 to ``n_leptons`` leptons (``inclusive``).
        has_met: the table has a ``MET`` record.
        generator: settings of the default generator that suit the channel's events,
            under any preset and the user's own settings (e.g. a wider latent space
            and reflections for the many jets of tt̄); ``refine.*`` keys set the
            refiner's settings (``ttbar_semilep``: ``refine.mode`` off), which
            ``--refine`` overrides.
    """

    name: str
    description: str
    collections: dict[str, int]
    particles: tuple[str, ...] = ()
    event_fields: tuple[str, ...] = ()
    resonances: tuple[Resonance, ...] = ()
    leptons: tuple[str, ...] = ()
    n_leptons: int = 0
    variable_leptons: bool = False
    has_met: bool = True
    generator: Mapping[str, Any] = field(default_factory=dict)


Z_MASS = 91.1876
"""The Z boson's mass (GeV, PDG)."""

_MLL = Resonance("mll", r"$m_{\ell\ell}$ [GeV]", ("Muon", "Electron"), Z_MASS)

CHANNELS: dict[str, Channel] = {
    "zll": Channel(
        name="zll",
        description="Z -> ll: two same-flavour opposite-charge leptons, jets, MET",
        collections={"Muon": 2, "Electron": 2, "Jet": 2},
        event_fields=("nJet",),
        resonances=(_MLL,),
        leptons=("Muon", "Electron"),
        n_leptons=2,
    ),
    "zgamma": Channel(
        name="zgamma",
        description="Z gamma -> ll gamma: the zll pair plus the leading photon, MET",
        collections={"Muon": 2, "Electron": 2, "Photon": 1},
        event_fields=("nJet",),
        resonances=(
            _MLL,
            Resonance("mllg", r"$m_{\ell\ell\gamma}$ [GeV]", ("Muon", "Electron", "Photon")),
        ),
        leptons=("Muon", "Electron"),
        n_leptons=2,
    ),
    "wz": Channel(
        name="wz",
        description="WZ -> 3l nu: three leptons with a same-flavour opposite-charge pair, MET",
        collections={"Muon": 3, "Electron": 3},
        event_fields=("nJet",),
        resonances=(
            Resonance("m3l", r"$m_{3\ell}$ [GeV]", ("Muon", "Electron")),
            Resonance(
                "mt3l", r"$m_{T}(3\ell, p_{T}^{miss})$ [GeV]", ("Muon", "Electron"), method="mt"
            ),
        ),
        leptons=("Muon", "Electron"),
        n_leptons=3,
        # docs/benchmarks.md: wz on reflections; its m3ℓ calibrated; six transforms
        generator={"mirror": True, "calibrate": True, "flow_transforms": 6},
    ),
    "ttbar_semilep": Channel(
        name="ttbar_semilep",
        description="ttbar -> l + jets: one lepton, every jet (up to 10) with b-tag, MET",
        collections={"Muon": 1, "Electron": 1, "Jet": 10},
        resonances=(
            Resonance("mjjj", r"$m_{jjj}$ [GeV]", ("Jet",), 172.5, method="max_pt_triplet"),
            Resonance("mtw", r"$m_{T}^{W}$ [GeV]", ("Muon", "Electron"), method="mt"),
        ),
        leptons=("Muon", "Electron"),
        n_leptons=1,
        # docs/benchmarks.md, tt̄ with every jet; no refinement: it rejected 70 % of the
        # events and softened the jets' pT, with every training event of both samples
        generator={"mirror": True, "latent": 8, "refine.mode": "off"},
    ),
    "inclusive": Channel(
        name="inclusive",
        description=(
            "every event: up to 2 leptons, 4 jets with b-tag, 1 photon, MET, nJet and the "
            "process label (for mixtures, e.g. DarkMachines files)"
        ),
        collections={"Muon": 2, "Electron": 2, "Photon": 1, "Jet": 4},
        event_fields=("nJet",),
        resonances=(Resonance("mll", r"$m_{\ell\ell}$ [GeV]", ("Muon", "Electron")),),
        leptons=("Muon", "Electron"),
        n_leptons=2,
        variable_leptons=True,
    ),
    "dplus": Channel(
        name="dplus",
        description="D+ -> K- pi+ pi+ (+c.c.) from a flat ntuple: K, pi, pi 4-momenta",
        collections={},
        particles=("K", "Pi1", "Pi2"),
        resonances=(Resonance("mkpipi", r"$m_{K\pi\pi}$ [GeV]", ("K", "Pi1", "Pi2"), 1.86966),),
        has_met=False,
    ),
}


def get_channel(name: str) -> Channel:
    """Return the channel definition called ``name``.

    Args:
        name: a key of :data:`CHANNELS`.

    Returns:
        The :class:`Channel`.

    Raises:
        SelectionError: if no channel has that name.
    """
    try:
        return CHANNELS[name]
    except KeyError:
        msg = f"unknown channel {name!r}; known channels: {', '.join(sorted(CHANNELS))}"
        raise SelectionError(msg) from None
