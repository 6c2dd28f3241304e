"""The heat kernel on a sphere or projective space of radius r as a posterior family.

On the sphere of radius r, distances are r·θ and the Laplacian's eigenvalues are divided by r²,
so the kernel at time t is the unit sphere's at time t/r², with densities divided by r^d (the
volume grows by r^d). Radius 2 on RP³ is the rotation group SO(3) with the rotation angle ω as
its distance (unit quaternions q and −q are one rotation, of angle ω = 2θ), where the kernel is
the character series Σ (2l + 1) e^{−l(l+1)t} χ_l(ω) (:mod:`.rotation`).
"""

from __future__ import annotations

import math

import torch

from .heat_kernel_kl import kl_to_uniform
from .sphere_heat_kernel import (
    SPHERE_DIMS,
    _orthogonal_direction,
    geodesic_angle,
    log_density_slope,
    log_heat_kernel,
    log_volume,
    noise_size,
    sample_angles,
)


class SphereHeatKernel:
    """Heat kernels with unit locations ``loc`` ``(..., d + 1)`` and times ``time`` ``(...)``
    (t/r² ≥ MIN_TIME) on Sᵈ, or on RPᵈ (``projective``: z and −z one point), of radius
    ``radius``; d = loc's last size − 1, one of SPHERE_DIMS. Points are unit vectors (a
    representative ±z on RPᵈ); densities are with respect to the space's volume."""

    def __init__(
        self,
        loc: torch.Tensor,
        time: torch.Tensor,
        projective: bool = False,
        radius: float = 1.0,
    ):
        self.d = loc.shape[-1] - 1
        if self.d not in SPHERE_DIMS:
            raise ValueError(
                f"the heat kernel on S^d is implemented for d in {SPHERE_DIMS}: locations of "
                f"size 3 or 4, got size {loc.shape[-1]}"
            )
        self.loc, self.time, self.projective, self.radius = loc, time, projective, radius
        self.unit_time = time / radius**2  # the time on the unit sphere

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p_t(z) for unit vectors ``z`` ``(..., d + 1)`` (broadcast against the batch)."""
        theta = geodesic_angle(self.loc, z)
        log_p = log_heat_kernel(theta, self.unit_time, self.d, self.projective)
        return log_p - self.d * math.log(self.radius)

    def kl_to_uniform(self) -> torch.Tensor:
        return kl_to_uniform(self.unit_time, self.d, self.projective)

    def entropy(self) -> torch.Tensor:
        log_size = log_volume(self.d, self.projective) + self.d * math.log(self.radius)
        return log_size - self.kl_to_uniform()

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The standard normals of ``n`` samples: ``(n, *batch, noise_size(d))``."""
        shape = (n, *self.time.shape, noise_size(self.d))
        return torch.randn(shape, generator=generator, dtype=self.loc.dtype).to(self.loc.device)

    def rsample_from(self, normals: torch.Tensor) -> torch.Tensor:
        """Samples ``(n, ..., d + 1)`` from standard normals ``(n, ..., noise_size(d))``,
        differentiable in ``loc`` and (implicitly) in ``time``. On RPᵈ a sample of the
        sphere's kernel is one of the projective kernel (Brownian motion projects to Brownian
        motion)."""
        d = self.d
        time = self.unit_time.expand(normals.shape[:-1])
        theta = sample_angles(time, normals[..., d + 1 :], d)
        slope = log_density_slope(theta, time.detach(), d)
        # implicit reparameterisation: the value is θ, the derivative in t is −∂θ log p_t(θ)
        theta = (theta - (time - time.detach()) * slope).to(self.loc.dtype)
        loc = self.loc.expand((*normals.shape[:-1], d + 1))
        v = _orthogonal_direction(loc, normals[..., : d + 1])
        return torch.cos(theta)[..., None] * loc + torch.sin(theta)[..., None] * v

    @property
    def mean(self) -> torch.Tensor:
        """The location μ (the point the kernel spreads from)."""
        return self.loc
