"""Models: the Autoencoder contract, likelihoods, and the registered autoencoder variants."""

from .atomic import AtomicAutoencoder, AtomicConfig, AtomicVAE, AtomicVAEConfig
from .base import Autoencoder, AutoencoderConfig, AuxiliaryStep, Output
from .contractive import ContractiveAutoencoder, ContractiveConfig
from .disentangling import DIPVAE, AnnealedVAE, BetaTCVAE, FactorVAE, locatello_spec
from .likelihoods import Bernoulli, FixedGaussian, Likelihood, SquaredError
from .pca_ae import GeneratorPCAAutoencoder, PCAAEConfig, PCAAutoencoder, covariance_loss
from .vae import VAE, BetaVAE, BetaVAEConfig, DiffusionVAE, DiffusionVAEConfig, VAEConfig

__all__ = [
    "DIPVAE",
    "VAE",
    "AnnealedVAE",
    "AtomicAutoencoder",
    "AtomicConfig",
    "AtomicVAE",
    "AtomicVAEConfig",
    "Autoencoder",
    "AutoencoderConfig",
    "AuxiliaryStep",
    "Bernoulli",
    "BetaTCVAE",
    "BetaVAE",
    "BetaVAEConfig",
    "ContractiveAutoencoder",
    "ContractiveConfig",
    "DiffusionVAE",
    "DiffusionVAEConfig",
    "FactorVAE",
    "FixedGaussian",
    "GeneratorPCAAutoencoder",
    "Likelihood",
    "Output",
    "PCAAEConfig",
    "PCAAutoencoder",
    "SquaredError",
    "VAEConfig",
    "covariance_loss",
    "locatello_spec",
]
