"""Plain autoencoder, VAE and β-VAE: one step, different regularisers.

VAE loss per sample (thesis eq. 4.14 with the constant of eq. 4.10 kept):
E_q[−log p(x|z)] + β·KL(q(z|x) ‖ p(z)), β = 1 for the VAE (the negative ELBO). Reported terms:
``reconstruction``, ``kl`` (unweighted) and ``neg_elbo`` = reconstruction + KL.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import distributions as D

from ..config import field
from ..errors import ConfigError
from ..registry import LATENT_SPACES, MODELS
from .base import Autoencoder, AutoencoderConfig

MODELS.register("ae")(Autoencoder)


@dataclass(frozen=True)
class VAEConfig(AutoencoderConfig):
    latent: dict = field(
        default_factory=lambda: {"name": "euclidean", "dim": 2},
        spec=LATENT_SPACES,
        doc="latent space {name, ...}",
    )
    beta: float = field(1.0, ge=0.0, doc="weight β of the KL term")

    def validate(self) -> None:
        super().validate()
        if not getattr(LATENT_SPACES.get(self.latent["name"]), "has_prior", True):
            raise ConfigError(
                f"latent: {self.latent['name']!r} has no prior; a VAE needs one (e.g. euclidean)"
            )


@MODELS.register("vae")
class VAE(Autoencoder):
    """Variational autoencoder; the regulariser is β·KL(q ‖ prior)."""

    Config = VAEConfig

    def regularizer(self, posterior: D.Distribution, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"kl": self.latent.kl(posterior)}

    def term_weights(self) -> dict[str, float]:
        return {"kl": self.config.beta}


@dataclass(frozen=True)
class BetaVAEConfig(VAEConfig):
    beta: float = field(4.0, ge=0.0, doc="weight β of the KL term (Higgins et al.)")


@MODELS.register("beta_vae")
class BetaVAE(VAE):
    """β-VAE (Higgins et al. 2017): the VAE with β = 4 by default."""

    Config = BetaVAEConfig


@dataclass(frozen=True)
class DiffusionVAEConfig(VAEConfig):
    latent: dict = field(
        default_factory=lambda: {"name": "circle"},
        spec=LATENT_SPACES,
        doc="latent space {name, ...}: circle (S¹), torus (Tⁿ), sphere (Sᵈ, posterior heat), "
        "projective (RPᵈ) or rotation (SO(3))",
    )

    def validate(self) -> None:
        super().validate()
        if not LATENT_SPACES.get(self.latent["name"]).heat_kernel_posterior(self.latent):
            raise ConfigError(
                "latent: a diffusion VAE needs a heat-kernel latent space (circle, torus, "
                "projective, rotation, or sphere with posterior heat), got "
                f"{self.latent['name']!r} {self.latent.get('posterior', '')}".rstrip()
                + " (use vae for other latents)"
            )


@MODELS.register("diffusion_vae")
class DiffusionVAE(VAE):
    """Diffusion VAE (thesis ch. 7): the VAE with a heat-kernel latent space (circle, torus, or
    sphere with posterior heat).

    The posterior is the heat kernel on each circle, the prior uniform, the decoder reads the
    embedding in R^{2n}; the loss and its terms are those of the VAE, so the evaluation of
    eq. 5.7-5.10 and tables 5.1 / 7.1 compare directly.
    """

    Config = DiffusionVAEConfig
