"""A deterministic latent space: the posterior is a point mass at the encoder output.

Used by plain autoencoders, which have no prior and no KL term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import distributions as D

from ..config import Config, field
from ..registry import LATENT_SPACES
from .base import LatentSpace
from .euclidean import EuclideanLatent


class PointMass(D.Distribution):
    """δ at ``loc`` over the last axis; ``rsample`` returns ``loc`` (gradients flow through)."""

    arg_constraints = {}  # noqa: RUF012
    has_rsample = True

    def __init__(self, loc: torch.Tensor):
        self.loc = loc
        super().__init__(loc.shape[:-1], loc.shape[-1:], validate_args=False)

    @property
    def mean(self) -> torch.Tensor:
        return self.loc

    def rsample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:  # noqa: B008
        return self.loc.expand(*sample_shape, *self.loc.shape)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return torch.where((value == self.loc).all(-1), 0.0, -torch.inf)


@dataclass(frozen=True)
class PointConfig(Config):
    dim: int = field(2, ge=1, doc="latent dimension d")


@LATENT_SPACES.register("point")
class PointLatent(EuclideanLatent):
    """R^d with deterministic codes (no prior, no KL): for plain autoencoders.

    Geodesics and traversal values are those of :class:`EuclideanLatent`.
    """

    Config = PointConfig
    has_prior = False

    def __init__(self, config: PointConfig | None = None):
        LatentSpace.__init__(self)
        self.config = config or PointConfig()
        self.dim = self.embed_dim = self.param_size = self.config.dim

    def prior(self) -> D.Distribution:
        raise TypeError("a point latent space has no prior")

    def posterior(self, params: torch.Tensor) -> D.Distribution:
        return PointMass(params)

    def noise(
        self, posterior: D.Distribution, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """No randomness: zeros (the global RNG is not touched)."""
        loc = posterior.loc
        return torch.zeros((n, *loc.shape), dtype=loc.dtype, device=loc.device)

    def reparameterize(self, posterior: D.Distribution, eps: torch.Tensor) -> torch.Tensor:
        return posterior.loc.expand(eps.shape)

    def kl_per_dim(
        self, posterior: D.Distribution, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        raise TypeError("a point latent space has no prior, hence no KL")

    def posterior_std(self, posterior: D.Distribution) -> torch.Tensor | None:
        return None  # deterministic codes

    def mean(self, posterior: D.Distribution) -> torch.Tensor:
        return posterior.loc
