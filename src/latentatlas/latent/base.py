"""The LatentSpace contract: prior, posterior family, KL, embed/chart, geodesics, traversals.

A latent space turns the raw output of an encoder into a posterior distribution. Models ask it
how many raw numbers the encoder must produce (:attr:`LatentSpace.param_size`), build the posterior
with :meth:`LatentSpace.posterior`, and regularise with :meth:`LatentSpace.kl`. The decoder reads
:meth:`LatentSpace.embed` of a sample (the identity in R^d; cos/sin on a circle).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import distributions as D

from ..config import Config


class LatentSpace(torch.nn.Module):
    """Base class; subclasses register with ``@LATENT_SPACES.register(name)``."""

    Config: ClassVar[type[Config]]
    registry_name: ClassVar[str] = ""

    #: number of coordinates of a latent point: intrinsic ones (R^d, angles on circles and
    #: tori) or, where no global chart exists, ambient ones (unit vectors on a sphere)
    dim: int
    #: number of ambient coordinates the decoder reads (:meth:`embed` output size)
    embed_dim: int
    #: number of raw encoder outputs per sample needed by :meth:`posterior`
    param_size: int
    #: whether the space has a prior (and so a KL term); plain autoencoders have none
    has_prior: bool = True
    #: whether the intrinsic coordinates are angles in [−π, π) (circles, tori)
    periodic: bool = False

    @classmethod
    def from_config(cls, config: Config) -> LatentSpace:
        return cls(config)

    @classmethod
    def heat_kernel_posterior(cls, spec: dict) -> bool:
        """Whether a space built from ``spec`` has heat-kernel posteriors (what the diffusion
        VAE needs)."""
        return False

    @property
    def manifold_dim(self) -> int:
        """The dimension of the manifold (``dim`` unless the points are ambient coordinates)."""
        return self.dim

    @property
    def noise_size(self) -> int:
        """Standard normal numbers one posterior sample consumes (:meth:`noise`)."""
        return self.dim

    def prior(self) -> D.Distribution:
        raise NotImplementedError

    def posterior(self, params: torch.Tensor) -> D.Distribution:
        """Posterior distribution from raw encoder outputs ``(n, param_size)``."""
        raise NotImplementedError

    def noise(
        self, posterior: D.Distribution, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Standard normal noise ε ``(n, *batch, noise_size)`` for :meth:`reparameterize`, from
        ``generator`` or the global RNG. Drawing it apart from the transform lets callers
        supply it (an ensemble draws each member's noise from that member's own stream)."""
        loc = self.mean(posterior)
        shape = (n, *loc.shape[:-1], self.noise_size)
        eps = torch.randn(shape, generator=generator, dtype=loc.dtype)
        return eps.to(loc.device)

    def reparameterize(self, posterior: D.Distribution, eps: torch.Tensor) -> torch.Tensor:
        """Posterior samples from standard noise (eq. 4.6 in R^d, eq. 7.10 on circles)."""
        raise NotImplementedError

    def sample(
        self, dist: D.Distribution, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n`` reparameterised samples ``(n, *batch, dim)`` of a posterior (or the prior).

        With a ``generator`` the samples are reproducible and the global RNG is untouched
        (evaluation uses this).
        """
        return self.reparameterize(dist, self.noise(dist, n, generator))

    def kl(
        self, posterior: D.Distribution, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """KL(posterior ‖ prior) per sample, shape ``(n,)``; ``generator`` drives a Monte-Carlo
        estimate where the KL has no closed form."""
        return self.kl_per_dim(posterior, generator).sum(-1)

    def kl_per_dim(
        self, posterior: D.Distribution, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """KL split over latent coordinates ``(n, dim)``, where the KL factorises."""
        raise NotImplementedError

    def posterior_std(self, posterior: D.Distribution) -> torch.Tensor | None:
        """The spread of each coordinate's posterior ``(n, dim)`` for plots (σZ(x) of eq. 5.6,
        the arc half-width of eq. 7.11), or None for deterministic codes."""
        return None

    def mean(self, posterior: D.Distribution) -> torch.Tensor:
        """Point representation of a posterior (its location), shape ``(n, dim)``."""
        raise NotImplementedError

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        """Intrinsic coordinates ``(..., dim)`` → ambient coordinates ``(..., embed_dim)``."""
        return z

    def chart(self, e: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`embed` on the image of the embedding."""
        return e

    def geodesic(self, z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
        """``steps`` points on the shortest path from ``z0`` to ``z1`` (ends included)."""
        raise NotImplementedError

    def traversal_values(self, steps: int, center: float = 0.0, scale: float = 1.0) -> torch.Tensor:
        """Values of one coordinate for a traversal plot."""
        raise NotImplementedError

    def manifold_ranges(self) -> list[tuple[float, float, bool]] | None:
        """Ranges ``(low, high, periodic)`` of coordinates of the manifold itself, where a
        point's ``dim`` numbers are not free (a unit vector): what an explorer's sliders move.
        None: the point's own coordinates are free and are moved directly."""
        return None

    def to_manifold(self, z: torch.Tensor) -> torch.Tensor:
        """Points ``(n, dim)`` → their :meth:`manifold_ranges` coordinates ``(n, k)``."""
        return z

    def from_manifold(self, c: torch.Tensor) -> torch.Tensor:
        """:meth:`manifold_ranges` coordinates ``(n, k)`` → points ``(n, dim)``."""
        return c

    def set_coordinate(self, z: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
        """Codes ``z`` ``(m, dim)`` with coordinate ``dim`` set to ``values`` ``(m,)``: one step
        of a traversal. Spaces with a constraint (a sphere) move along themselves instead."""
        out = z.clone()
        out[:, dim] = values.to(z.dtype)
        return out
