"""Euclidean latent space R^d with a standard normal prior and diagonal Gaussian posteriors.

The prior is N(0, I) (thesis eq. 4.1); the posterior N(μ, diag σ²) (eq. 4.2 with diagonal Σ) is
reparameterised as μ + ε ⊙ σ (eq. 4.6); the KL to the prior is the closed form of eq. 4.5,
½(‖σ²‖₁ + ‖μ‖² − ‖log σ²‖₁ − d).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import distributions as D
from torch.nn import functional as F

from ..config import Config, field
from ..registry import LATENT_SPACES
from .base import LatentSpace


@dataclass(frozen=True)
class EuclideanConfig(Config):
    dim: int = field(2, ge=1, doc="latent dimension d")
    scale_param: str = field(
        "log_var",
        choices=("log_var", "exp", "softplus"),
        doc="how the encoder's second output becomes σ: log σ² (σ = exp(o/2)), σ = exp(o), "
        "or σ = softplus(o) + 1e-6",
    )


@LATENT_SPACES.register("euclidean")
class EuclideanLatent(LatentSpace):
    """R^d with prior N(0, I); the encoder outputs (μ, s) and σ is derived from s."""

    Config = EuclideanConfig

    def __init__(self, config: EuclideanConfig | None = None):
        super().__init__()
        self.config = config or EuclideanConfig()
        self.dim = self.embed_dim = self.config.dim
        self.param_size = 2 * self.config.dim
        # follows the module's device (model.to(device)); not saved with the weights
        self.register_buffer("_origin", torch.zeros(self.dim), persistent=False)

    def prior(self) -> D.Distribution:
        return D.Independent(D.Normal(self._origin, torch.ones_like(self._origin)), 1)

    def posterior(self, params: torch.Tensor) -> D.Distribution:
        mu, s = params.split(self.dim, dim=-1)
        mode = self.config.scale_param
        if mode == "log_var":
            sigma = torch.exp(0.5 * s)
        elif mode == "exp":
            sigma = torch.exp(s)
        else:
            sigma = F.softplus(s) + 1e-6
        # no argument validation: a NaN must reach the loss, where the trainer reports it clearly
        return D.Independent(D.Normal(mu, sigma, validate_args=False), 1, validate_args=False)

    def reparameterize(self, posterior: D.Distribution, eps: torch.Tensor) -> torch.Tensor:
        """μ + σ ⊙ ε (eq. 4.6), for a posterior or the N(0, I) prior."""
        base = posterior.base_dist
        return base.loc + base.scale * eps

    def kl_per_dim(
        self, posterior: D.Distribution, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Eq. 4.5 term by term: ½(σ² + μ² − log σ² − 1) (closed form: no generator needed)."""
        base = posterior.base_dist
        var = base.scale.pow(2)
        return 0.5 * (var + base.loc.pow(2) - torch.log(var) - 1.0)

    def posterior_std(self, posterior: D.Distribution) -> torch.Tensor | None:
        return posterior.base_dist.scale

    def mean(self, posterior: D.Distribution) -> torch.Tensor:
        return posterior.base_dist.loc

    def geodesic(self, z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
        t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
        return z0[None] + t.reshape(-1, *([1] * z0.ndim)) * (z1 - z0)[None]

    def traversal_values(self, steps: int, center: float = 0.0, scale: float = 1.0) -> torch.Tensor:
        """``steps`` values from center − 2·scale to center + 2·scale (±2σ by default)."""
        return center + scale * torch.linspace(-2.0, 2.0, steps)
