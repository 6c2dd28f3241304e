"""The sphere Sᵈ ⊂ R^{d+1} as a latent space, with a choice of posterior family.

Latent points are unit vectors z ∈ R^{d+1} (``dim`` = d + 1 coordinates, ``manifold_dim`` = d);
the decoder reads them as they are. The prior is the uniform distribution on Sᵈ. The encoder
outputs d + 2 numbers per sample: a direction a ∈ R^{d+1}, normalised to the location μ = a/|a|,
and one number s that sets the spread. Three posterior families (``posterior``):

* ``heat``: the heat kernel p_t (the diffusion VAE of Pérez Rey et al. 2020 on Sᵈ, d = 2, 3;
  :mod:`.sphere_heat_kernel`), time t from s inside [min_time, max_time];
* ``power_spherical``: the Power Spherical distribution (De Cao and Aziz 2020;
  :mod:`.power_spherical`), concentration κ from s inside [min_concentration, max_concentration];
* ``von_mises_fisher``: the von Mises-Fisher distribution (the hyperspherical VAE of Davidson
  et al. 2018; :mod:`.von_mises_fisher`), κ as for the Power Spherical.

Each has a closed-form (or tabulated, for the heat kernel) KL to the uniform prior and a sampler
driven by standard normal noise that the caller may draw (``noise_size`` numbers per sample), so
ensembles and evaluation draw it from their own generators. The KL does not split over the
coordinates, so ``kl_per_dim`` is not defined (summaries then rank coordinates by variance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import distributions as D
from torch.nn import functional as F

from ..config import Config, ConfigError, field
from ..registry import LATENT_SPACES
from . import power_spherical, sphere_heat_kernel, von_mises_fisher
from .base import LatentSpace
from .heat_kernel_posterior import SphereHeatKernel
from .scales import bounded_log_scale

FAMILIES = ("heat", "power_spherical", "von_mises_fisher")


@dataclass(frozen=True)
class SphereConfig(Config):
    dim: int = field(2, ge=1, doc="sphere dimension d: latent points are unit vectors in R^{d+1}")
    posterior: str = field(
        "heat",
        choices=FAMILIES,
        doc="posterior family: heat (the diffusion VAE's heat kernel, d = 2 or 3), "
        "power_spherical, or von_mises_fisher",
    )
    min_time: float = field(1e-4, gt=0.0, doc="smallest heat-kernel time t (heat)")
    max_time: float = field(10.0, gt=0.0, doc="largest heat-kernel time t (heat)")
    min_concentration: float = field(
        1e-2, gt=0.0, doc="smallest concentration κ (power_spherical, von_mises_fisher)"
    )
    max_concentration: float = field(
        1e5, gt=0.0, doc="largest concentration κ (power_spherical, von_mises_fisher)"
    )

    def validate(self) -> None:
        if self.posterior == "heat":
            if self.dim not in sphere_heat_kernel.SPHERE_DIMS:
                raise ConfigError(
                    f"dim: the heat kernel is implemented on S² and S³ (dim 2 or 3), got "
                    f"{self.dim}; power_spherical and von_mises_fisher work on any sphere"
                )
            if not sphere_heat_kernel.MIN_TIME <= self.min_time < self.max_time:
                raise ConfigError(
                    f"min_time, max_time: expected {sphere_heat_kernel.MIN_TIME:g} ≤ min_time < "
                    f"max_time, got {self.min_time:g} and {self.max_time:g}"
                )
        elif not self.min_concentration < self.max_concentration:
            raise ConfigError(
                "min_concentration, max_concentration: expected min < max, got "
                f"{self.min_concentration:g} and {self.max_concentration:g}"
            )


class SpherePosterior(D.Distribution):
    """A posterior on Sᵈ: one of the families above, with location ``loc`` ``(..., d + 1)``."""

    arg_constraints = {}  # noqa: RUF012
    has_rsample = True

    def __init__(self, family: Any, spread: torch.Tensor):
        self.family, self.loc, self.spread = family, family.loc, spread
        super().__init__(self.loc.shape[:-1], self.loc.shape[-1:], validate_args=False)

    @property
    def mean(self) -> torch.Tensor:
        """The location μ (a point on the sphere; E[z] lies inside the ball)."""
        return self.loc

    def rsample(self, sample_shape: torch.Size | tuple = ()) -> torch.Tensor:
        n = int(torch.Size(sample_shape).numel())
        z = self.family.rsample_from(self.family.noise(n))
        return z.reshape(*sample_shape, *self.loc.shape)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return self.family.log_prob(value)

    def entropy(self) -> torch.Tensor:
        return self.family.entropy()


class SphereUniform(D.Distribution):
    """The uniform distribution on Sᵈ (the prior), over ``dim`` = d + 1 coordinates."""

    arg_constraints = {}  # noqa: RUF012
    has_rsample = False

    def __init__(self, reference: torch.Tensor, log_size: float | None = None):
        self.reference = reference  # (d + 1,): carries dtype and device
        self.d = reference.shape[-1] - 1
        # log of the space's volume: |Sᵈ|, or less where points are identified (RPᵈ, SO(3))
        self.log_size = sphere_heat_kernel.log_volume(self.d) if log_size is None else log_size
        super().__init__(torch.Size(), reference.shape[-1:], validate_args=False)

    def sample_with(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        ref = self.reference
        normals = torch.randn((n, ref.shape[-1]), generator=generator, dtype=ref.dtype)
        return F.normalize(normals, dim=-1).to(ref.device)

    def sample(self, sample_shape: torch.Size | tuple = ()) -> torch.Tensor:
        n = int(torch.Size(sample_shape).numel())
        return self.sample_with(n).reshape(*sample_shape, self.d + 1)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return torch.full(value.shape[:-1], -self.log_size)


@LATENT_SPACES.register("sphere")
class SphereLatent(LatentSpace):
    """Sᵈ ⊂ R^{d+1} with a uniform prior and heat-kernel, Power Spherical or vMF posteriors."""

    Config = SphereConfig

    def __init__(self, config: SphereConfig | None = None):
        super().__init__()
        self.config = config or self.Config()
        d = self.config.dim
        self.dim = self.embed_dim = d + 1
        self.param_size = d + 2
        self.register_buffer("_pole", F.one_hot(torch.tensor(0), d + 1).float(), persistent=False)

    @property
    def manifold_dim(self) -> int:
        return self.config.dim

    @property
    def noise_size(self) -> int:
        m = self.config.dim + 1
        if self.config.posterior == "heat":
            return sphere_heat_kernel.noise_size(m - 1)
        module = power_spherical if self.config.posterior == "power_spherical" else von_mises_fisher
        return module.noise_size(m)

    # -- distributions -------------------------------------------------------------------------
    def prior(self) -> D.Distribution:
        return SphereUniform(self._pole)

    def spread_of(self, s: torch.Tensor) -> torch.Tensor:
        """The time (heat) or concentration (the others) from the encoder's last output."""
        c = self.config
        if c.posterior == "heat":
            return bounded_log_scale(s, c.min_time, c.max_time)
        return bounded_log_scale(s, c.min_concentration, c.max_concentration)

    def posterior(self, params: torch.Tensor) -> D.Distribution:
        direction, s = params[..., : self.dim], params[..., self.dim]
        loc = F.normalize(direction, dim=-1, eps=1e-12)
        spread = self.spread_of(s)
        return SpherePosterior(self.family(loc, spread), spread)

    def family(self, loc: torch.Tensor, spread: torch.Tensor) -> Any:
        """The posterior family's distribution object at ``loc`` with time or concentration
        ``spread`` (a hook: the projective spaces have only the heat kernel)."""
        kind = {
            "heat": SphereHeatKernel,
            "power_spherical": power_spherical.PowerSpherical,
            "von_mises_fisher": von_mises_fisher.VonMisesFisher,
        }[self.config.posterior]
        return kind(loc, spread)

    @classmethod
    def heat_kernel_posterior(cls, spec: dict) -> bool:
        return spec.get("posterior", "heat") == "heat"

    def noise(
        self, posterior: D.Distribution, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return posterior.family.noise(n, generator)

    def reparameterize(self, posterior: D.Distribution, eps: torch.Tensor) -> torch.Tensor:
        return posterior.family.rsample_from(eps)

    def sample(
        self, dist: D.Distribution, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        if isinstance(dist, SphereUniform):
            return dist.sample_with(n, generator)
        return super().sample(dist, n, generator)

    def kl(
        self, posterior: D.Distribution, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """KL(q(z|x) ‖ uniform on Sᵈ) per sample, in closed form (tabulated for the heat
        kernel); no generator is needed."""
        return posterior.family.kl_to_uniform()

    def mean(self, posterior: D.Distribution) -> torch.Tensor:
        return posterior.loc

    # -- geometry ------------------------------------------------------------------------------
    def chart(self, e: torch.Tensor) -> torch.Tensor:
        """Ambient points → the sphere (their direction)."""
        return F.normalize(e, dim=-1, eps=1e-12)

    def geodesic(self, z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
        """The great-circle arc from ``z0`` to ``z1`` (spherical linear interpolation):
        ``(steps, *z0.shape)``. Antipodal ends have no unique arc; one of them is taken."""
        t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
        t = t.reshape(-1, *([1] * z0.ndim))
        angle = sphere_heat_kernel.geodesic_angle(z0, z1)[..., None]
        # the direction from z0 towards z1 in z0's tangent space
        tangent = z1 - (z0 * z1).sum(-1, keepdim=True) * z0
        norm = tangent.norm(dim=-1, keepdim=True)
        fallback = (
            torch.roll(z0, 1, dims=-1)
            - (z0 * torch.roll(z0, 1, dims=-1)).sum(-1, keepdim=True) * z0
        )
        tangent = torch.where(norm > 1e-12, tangent, fallback)
        tangent = F.normalize(tangent, dim=-1, eps=1e-30)
        return torch.cos(t * angle) * z0 + torch.sin(t * angle) * tangent

    def traversal_values(self, steps: int, center: float = 0.0, scale: float = 1.0) -> torch.Tensor:
        """Values of one coordinate, sin φ for φ evenly spaced in [−π/2, π/2]: the half great
        circle from the coordinate's pole −e_j to +e_j in even steps of arc (see
        :meth:`set_coordinate`)."""
        angles = torch.linspace(-torch.pi / 2, torch.pi / 2, steps, dtype=torch.float64)
        return torch.sin(angles)

    def manifold_ranges(self) -> list[tuple[float, float, bool]] | None:
        """Hyperspherical angles: d − 1 polar angles in [0, π] and an azimuth in [−π, π)."""
        d = self.manifold_dim
        return [(0.0, torch.pi, False)] * (d - 1) + [(-torch.pi, torch.pi, True)]

    def to_manifold(self, z: torch.Tensor) -> torch.Tensor:
        """Unit vectors ``(n, d + 1)`` → angles ψ ``(n, d)``: x₁ = cos ψ₁, x₂ = sin ψ₁ cos ψ₂,
        …, x_{d+1} = sin ψ₁ ⋯ sin ψ_{d−1} sin ψ_d (each polar angle as the atan2 of the norm of
        the remaining coordinates and the current one, accurate everywhere)."""
        z = F.normalize(z, dim=-1, eps=1e-12)
        d = z.shape[-1] - 1
        angles = []
        for k in range(d - 1):
            rest = z[..., k + 1 :].norm(dim=-1)
            angles.append(torch.atan2(rest, z[..., k]))
        angles.append(torch.atan2(z[..., d], z[..., d - 1]))
        return torch.stack(angles, -1)

    def from_manifold(self, c: torch.Tensor) -> torch.Tensor:
        """Angles ψ ``(n, d)`` → unit vectors ``(n, d + 1)`` (the inverse of
        :meth:`to_manifold`)."""
        parts, running = [], torch.ones_like(c[..., 0])
        for k in range(c.shape[-1] - 1):
            parts.append(running * torch.cos(c[..., k]))
            running = running * torch.sin(c[..., k])
        parts += [running * torch.cos(c[..., -1]), running * torch.sin(c[..., -1])]
        return torch.stack(parts, -1)

    def set_coordinate(self, z: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
        """Points on the great circle through e_dim and each z: coordinate ``dim`` set to
        ``values`` (clipped to [−1, 1]) and the others rescaled to stay on the sphere. A point
        at a pole ±e_dim has no such circle of its own; the next coordinate's is used."""
        values = values.to(z.dtype).clamp(-1.0, 1.0)
        rest = z.clone()
        rest[:, dim] = 0.0
        norm = rest.norm(dim=-1, keepdim=True)
        fallback = torch.zeros_like(rest)
        fallback[:, (dim + 1) % self.dim] = 1.0
        rest = torch.where(norm > 1e-12, rest / norm.clamp_min(1e-12), fallback)
        out = rest * torch.sqrt(1 - values**2)[:, None]
        out[:, dim] = values
        return out
