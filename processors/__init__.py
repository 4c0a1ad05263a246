"""Channel processors: one coffea processor per analysis channel.

Each module holds one short processor: its selection, the objects it keeps and a pointer
to its channel definition in :mod:`evmult.channels`. Thresholds are fields of the
processor's ``Options`` dataclass and can be changed per run
(``evmult extract --option lead_pt_min=25``).

In the repository this directory is the top-level ``processors/``; it installs as
``evmult.processors``.

Example:
    >>> from evmult.processors import PROCESSORS
    >>> sorted(PROCESSORS)
    ['dplus', 'inclusive', 'ttbar_semilep', 'wz', 'zgamma', 'zll']
"""

from __future__ import annotations

from evmult.processors.dplus import DplusProcessor
from evmult.processors.inclusive import InclusiveProcessor
from evmult.processors.ttbar_semilep import TtbarSemilepProcessor
from evmult.processors.wz import WZProcessor
from evmult.processors.zgamma import ZgammaProcessor
from evmult.processors.zll import ZllProcessor

__all__ = [
    "PROCESSORS",
    "DplusProcessor",
    "InclusiveProcessor",
    "TtbarSemilepProcessor",
    "WZProcessor",
    "ZgammaProcessor",
    "ZllProcessor",
]

PROCESSORS = {
    p.channel_name: p
    for p in (
        ZllProcessor,
        ZgammaProcessor,
        WZProcessor,
        TtbarSemilepProcessor,
        DplusProcessor,
        InclusiveProcessor,
    )
}
