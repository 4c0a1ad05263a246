"""Generators behind one interface: ``fit(table)``, ``sample(n, seed)``, ``save``,
``load``.

Example:
    >>> from evmult.models import MODELS
    >>> sorted(MODELS)
    ['ae-latent', 'alpha-vae', 'flow-vae', 'smearing', 'vae', 'vae-d', 'vae-nf', 'vae-nf-d']
"""

from __future__ import annotations

from evmult.models.ae_latent import AELatent
from evmult.models.alpha_vae import AlphaVAE
from evmult.models.base import Generator, ModelFileError, TrainingError, pick_device
from evmult.models.smearing import SmearingMultiplier
from evmult.models.vae import FlowVAE, PlainVAE
from evmult.models.vae_d import VAED, VAENFD
from evmult.models.vae_nf import VAENF

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "VAED",
    "VAENF",
    "VAENFD",
    "AELatent",
    "AlphaVAE",
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
    AlphaVAE.name: AlphaVAE,
    VAENF.name: VAENF,
    VAED.name: VAED,
    VAENFD.name: VAENFD,
    AELatent.name: AELatent,
    SmearingMultiplier.name: SmearingMultiplier,
}
"""Model families by name (``evmult train --model NAME``)."""

DEFAULT_MODEL = FlowVAE.name


def load(path: str) -> Generator:
    """Load any evmult model file."""
    return Generator.load(path)
