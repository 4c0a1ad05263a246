"""The registry of model families by name (``evmult train --model NAME``)."""

from __future__ import annotations

from evmult.models.ae_latent import AELatent
from evmult.models.alpha_vae import AlphaVAE
from evmult.models.base import Generator
from evmult.models.copula_vae import CopulaVAE, CopulaVAED
from evmult.models.flow_vae import FlowVAE
from evmult.models.smearing import SmearingMultiplier
from evmult.models.vae import PlainVAE
from evmult.models.vae_d import VAED, VAENFD
from evmult.models.vae_nf import VAENF

__all__ = ["MODELS"]

MODELS: dict[str, type[Generator]] = {
    FlowVAE.name: FlowVAE,
    PlainVAE.name: PlainVAE,
    AlphaVAE.name: AlphaVAE,
    VAENF.name: VAENF,
    VAED.name: VAED,
    VAENFD.name: VAENFD,
    CopulaVAE.name: CopulaVAE,
    CopulaVAED.name: CopulaVAED,
    AELatent.name: AELatent,
    SmearingMultiplier.name: SmearingMultiplier,
}
"""Model families by name (``evmult train --model NAME``); an :class:`~evmult.models.ensemble.Ensemble` of any
but ``smearing`` is ``members=K`` (:func:`evmult.fit`)."""
