"""Projective spaces RPᵈ and the rotation group SO(3) as latent spaces with heat-kernel
posteriors (the diffusion VAE of Pérez Rey et al. 2020 on these manifolds).

RPᵈ is Sᵈ with antipodal points identified: a point is a unit vector z ∈ R^{d+1} standing for
the pair ±z. The decoder reads the Veronese embedding, the upper triangle of z zᵀ, which is the
same for z and −z. The posterior is the heat kernel of RPᵈ, the sphere's summed over the two
lifts (:mod:`.sphere_heat_kernel`), with the sphere's sampler (Brownian motion on Sᵈ projects to
Brownian motion on RPᵈ).

SO(3) is RP³ of radius 2: a rotation is a unit quaternion q = (cos(ω/2), sin(ω/2)·axis) up to
sign, and with radius 2 the geodesic distance between rotations is the angle ω of R₁ᵀR₂. Its heat
kernel is then Σ_l (2l + 1) e^{−l(l+1)t} χ_l(ω)/(8π²), χ_l(ω) = sin((2l + 1)ω/2)/sin(ω/2) (the
character series; density with respect to the volume 8π²), which the tests check against ours.
The decoder reads the rotation matrix R(q) (9 numbers; quadratic in q, so the same for ±q).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import distributions as D

from ..config import Config, ConfigError, field
from ..registry import LATENT_SPACES
from ..rotations import quaternion_of, rotation_matrix
from . import sphere_heat_kernel
from .heat_kernel_posterior import SphereHeatKernel
from .scales import bounded_log_scale
from .sphere import SphereLatent, SphereUniform


@dataclass(frozen=True)
class ProjectiveConfig(Config):
    dim: int = field(2, ge=2, le=3, doc="dimension d of RPᵈ (points: ±unit vectors in R^{d+1})")
    min_time: float = field(1e-4, gt=0.0, doc="smallest heat-kernel time t")
    max_time: float = field(10.0, gt=0.0, doc="largest heat-kernel time t")

    def validate(self) -> None:
        smallest = sphere_heat_kernel.MIN_TIME * self._radius() ** 2
        if not smallest <= self.min_time < self.max_time:
            raise ConfigError(
                f"min_time, max_time: expected {smallest:g} ≤ min_time < max_time, got "
                f"{self.min_time:g} and {self.max_time:g}"
            )

    @staticmethod
    def _radius() -> float:
        return 1.0


@LATENT_SPACES.register("projective")
class ProjectiveLatent(SphereLatent):
    """RPᵈ (d = 2, 3) with a uniform prior and heat-kernel posteriors."""

    Config = ProjectiveConfig
    radius = 1.0

    def __init__(self, config: ProjectiveConfig | None = None):
        super().__init__(config or self.Config())
        d = self.config.dim
        self.embed_dim = (d + 1) * (d + 2) // 2
        self.register_buffer("_upper", torch.triu_indices(d + 1, d + 1), persistent=False)

    @classmethod
    def heat_kernel_posterior(cls, spec: dict) -> bool:
        return True

    @property
    def noise_size(self) -> int:
        return sphere_heat_kernel.noise_size(self.config.dim)

    def prior(self) -> D.Distribution:
        log_size = sphere_heat_kernel.log_volume(self.config.dim, projective=True)
        return SphereUniform(self._pole, log_size + self.config.dim * math.log(self.radius))

    def spread_of(self, s: torch.Tensor) -> torch.Tensor:
        return bounded_log_scale(s, self.config.min_time, self.config.max_time)

    def family(self, loc: torch.Tensor, spread: torch.Tensor) -> Any:
        return SphereHeatKernel(loc, spread, projective=True, radius=self.radius)

    # -- geometry ------------------------------------------------------------------------------
    def embed(self, z: torch.Tensor) -> torch.Tensor:
        """±z ``(..., d + 1)`` → the upper triangle of z zᵀ ``(..., (d + 1)(d + 2)/2)``."""
        outer = z[..., :, None] * z[..., None, :]
        return outer[..., self._upper[0], self._upper[1]]

    def chart(self, e: torch.Tensor) -> torch.Tensor:
        """Embedded points → a unit representative z (the top eigenvector of the symmetric
        matrix whose upper triangle is ``e``), its sign chosen with a non-negative largest
        entry."""
        m = self.dim
        matrix = torch.zeros((*e.shape[:-1], m, m), dtype=e.dtype, device=e.device)
        matrix[..., self._upper[0], self._upper[1]] = e
        matrix = matrix + matrix.transpose(-1, -2) - torch.diag_embed(matrix.diagonal(0, -2, -1))
        z = torch.linalg.eigh(matrix).eigenvectors[..., -1]
        return self._canonical(z)

    @staticmethod
    def _canonical(z: torch.Tensor) -> torch.Tensor:
        """The representative of ±z whose entry of largest magnitude is positive."""
        pick = z.abs().argmax(-1, keepdim=True)
        return z * torch.where(z.gather(-1, pick) < 0, -1.0, 1.0).to(z.dtype)

    def geodesic(self, z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
        """The shortest path from ±z0 to ±z1: the great-circle arc to the nearer lift of z1."""
        sign = torch.where((z0 * z1).sum(-1, keepdim=True) < 0, -1.0, 1.0).to(z1.dtype)
        return super().geodesic(z0, sign * z1, steps)


@dataclass(frozen=True)
class RotationConfig(ProjectiveConfig):
    dim: int = field(3, ge=3, le=3, doc="SO(3) has dimension 3 (points: unit quaternions ±q)")
    min_time: float = field(4e-4, gt=0.0, doc="smallest heat-kernel time t (character series)")
    max_time: float = field(40.0, gt=0.0, doc="largest heat-kernel time t (character series)")

    @staticmethod
    def _radius() -> float:
        return 2.0


@LATENT_SPACES.register("rotation")
class RotationLatent(ProjectiveLatent):
    """SO(3) as unit quaternions ±q, a Haar prior and heat-kernel posteriors; decoder reads R(q).

    The posterior's time t is that of the character series Σ (2l+1) e^{−l(l+1)t} χ_l(ω)."""

    Config = RotationConfig
    radius = 2.0

    def __init__(self, config: RotationConfig | None = None):
        super().__init__(config or self.Config())
        self.embed_dim = 9

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        return rotation_matrix(z).flatten(-2)

    def chart(self, e: torch.Tensor) -> torch.Tensor:
        return quaternion_of(e.unflatten(-1, (3, 3)))

    def manifold_ranges(self) -> list[tuple[float, float, bool]] | None:
        """The rotation vector v = ω·axis, each component in [−π, π] (beyond |v| = π the same
        rotations come round again)."""
        return [(-torch.pi, torch.pi, False)] * 3

    def to_manifold(self, z: torch.Tensor) -> torch.Tensor:
        """Quaternions ±q ``(n, 4)`` → rotation vectors ``(n, 3)`` (|v| = ω ≤ π, w ≥ 0)."""
        q = torch.nn.functional.normalize(z, dim=-1, eps=1e-12)
        q = torch.where(q[..., :1] < 0, -q, q)
        vector = q[..., 1:]
        norm = vector.norm(dim=-1, keepdim=True)
        angle = 2 * torch.atan2(norm, q[..., :1])
        return torch.where(norm > 1e-12, angle * vector / norm.clamp_min(1e-12), 2 * vector)

    def from_manifold(self, c: torch.Tensor) -> torch.Tensor:
        """Rotation vectors ``(n, 3)`` → unit quaternions ``(n, 4)``."""
        angle = c.norm(dim=-1, keepdim=True)
        # sin(ω/2)/ω → 1/2 as ω → 0
        scale = torch.where(
            angle > 1e-8, torch.sin(angle / 2) / angle.clamp_min(1e-8), 0.5 - angle**2 / 48
        )
        return torch.cat([torch.cos(angle / 2), scale * c], -1)

    def rotation_angle(self, q0: torch.Tensor, q1: torch.Tensor) -> torch.Tensor:
        """The angle ω ∈ [0, π] of the rotation between ±q0 and ±q1 (the geodesic distance)."""
        theta = sphere_heat_kernel.geodesic_angle(q0, q1)
        return 2 * torch.minimum(theta, math.pi - theta)
