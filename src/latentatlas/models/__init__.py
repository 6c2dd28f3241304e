"""Models: the Autoencoder contract, likelihoods, and the registered autoencoder variants."""

from .base import Autoencoder, AutoencoderConfig, Output
from .likelihoods import Bernoulli, FixedGaussian, Likelihood
from .vae import VAE, BetaVAE, BetaVAEConfig, DiffusionVAE, DiffusionVAEConfig, VAEConfig

__all__ = [
    "VAE",
    "Autoencoder",
    "AutoencoderConfig",
    "Bernoulli",
    "BetaVAE",
    "BetaVAEConfig",
    "DiffusionVAE",
    "DiffusionVAEConfig",
    "FixedGaussian",
    "Likelihood",
    "Output",
    "VAEConfig",
]
