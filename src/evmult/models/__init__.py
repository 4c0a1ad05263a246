"""Generators behind one interface: ``fit(table)``, ``sample(n, seed)``, ``save``,
``load``.

Example:
    >>> from evmult.models import MODELS
    >>> sorted(MODELS)
    ['flow-vae', 'smearing', 'vae']
"""

from __future__ import annotations

from evmult.models.base import Generator, ModelFileError, TrainingError, pick_device
from evmult.models.smearing import SmearingMultiplier
from evmult.models.vae import FlowVAE, PlainVAE

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "FlowVAE",
    "Generator",
    "ModelFileError",
    "PlainVAE",
    "SmearingMultiplier",
    "TrainingError",
    "load",
    "pick_device",
]

MODELS: dict[str, type[Generator]] = {
    FlowVAE.name: FlowVAE,
    PlainVAE.name: PlainVAE,
    SmearingMultiplier.name: SmearingMultiplier,
}
"""Model families by name (``evmult train --model NAME``)."""

DEFAULT_MODEL = FlowVAE.name


def load(path: str) -> Generator:
    """Load any evmult model file."""
    return Generator.load(path)
