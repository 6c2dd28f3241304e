"""Models: the Autoencoder contract, likelihoods, and the registered autoencoder variants."""

from .atomic import AtomicAutoencoder, AtomicConfig, AtomicVAE, AtomicVAEConfig
from .base import Autoencoder, AutoencoderConfig, Output
from .likelihoods import Bernoulli, FixedGaussian, Likelihood, SquaredError
from .pca_ae import GeneratorPCAAutoencoder, PCAAEConfig, PCAAutoencoder, covariance_loss
from .vae import VAE, BetaVAE, BetaVAEConfig, DiffusionVAE, DiffusionVAEConfig, VAEConfig

__all__ = [
    "VAE",
    "AtomicAutoencoder",
    "AtomicConfig",
    "AtomicVAE",
    "AtomicVAEConfig",
    "Autoencoder",
    "AutoencoderConfig",
    "Bernoulli",
    "BetaVAE",
    "BetaVAEConfig",
    "DiffusionVAE",
    "DiffusionVAEConfig",
    "FixedGaussian",
    "GeneratorPCAAutoencoder",
    "Likelihood",
    "Output",
    "PCAAEConfig",
    "PCAAutoencoder",
    "SquaredError",
    "VAEConfig",
    "covariance_loss",
]
