"""Generators behind one interface: ``fit(table)``, ``sample(n, seed)``, ``save``,
``load``.

Example:
    >>> from evmult.models import MODELS
    >>> sorted(MODELS)
    ['ae-latent', 'alpha-vae', 'copula-vae', 'copula-vae-d', 'flow-vae', 'smearing', 'vae', 'vae-d', 'vae-nf', 'vae-nf-d']
"""

from __future__ import annotations

from pathlib import Path

from evmult.errors import ModelFileError
from evmult.models.ae_latent import AELatent
from evmult.models.alpha_vae import AlphaVAE
from evmult.models.base import Generator, read_model_file
from evmult.models.copula_vae import CopulaVAE, CopulaVAED
from evmult.models.ensemble import Ensemble
from evmult.models.flow_vae import FlowVAE
from evmult.models.registry import MODELS
from evmult.models.smearing import SmearingMultiplier
from evmult.models.training import pick_device
from evmult.models.vae import PlainVAE
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
    "CopulaVAE",
    "CopulaVAED",
    "Ensemble",
    "FlowVAE",
    "Generator",
    "PlainVAE",
    "SmearingMultiplier",
    "load",
    "pick_device",
]

DEFAULT_MODEL = FlowVAE.name


def load(path: str | Path) -> Generator:
    """Load a model file of any family (written by ``Generator.save`` or ``evmult
    train``), handed no channel selection: :func:`evmult.load`
    (:func:`evmult.pipeline.load`) hands it the channel's.

    Raises:
        ModelFileError: for a missing or corrupt file, a file of another model-file
            format, or one of a family this evmult does not know.
    """
    header, tensors = read_model_file(path)
    name = str(header.get("model"))
    family = Ensemble if name == Ensemble.name else MODELS.get(name)
    if family is None:
        msg = f"{path}: holds a {header.get('model')!r} model; known: {', '.join(MODELS)}"
        raise ModelFileError(msg)
    return family.restore(header, tensors, path)
