"""A matte ball lit from a direction on the sphere S²: a factor that lives on S².

The ball (radius 0.9 in an image spanning [−1, 1]) is seen by two orthographic cameras, one
from the front (+z) and one from the back (−z), side by side as the two channels of an image.
A directional light from the unit vector l shades each visible surface point with normal n by
Lambert's law, 0.1 + 0.9·max(0, n·l), on a black background. Every light direction lights half
of the ball, and the two views together see all of it, so the images determine l: the factor
space is the whole sphere (as azimuth, periodic, and elevation), sampled uniformly on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...config import Config, field
from ...registry import DATASETS
from ..base import Batch, InMemoryDataset, add_noise, noise_sigma_field
from ..factors import Factor, FactorSpace

RADIUS = 0.9
AMBIENT, DIFFUSE = 0.1, 0.9

LIGHT_FACTORS = FactorSpace(
    [
        Factor("azimuth", -math.pi, math.pi, periodic=True),
        Factor("elevation", -math.pi / 2, math.pi / 2),
    ]
)
"""l = (cos e sin a, sin e, cos e cos a) in the image's frame (x right, y up, z towards the front
camera): azimuth a about the vertical axis (0: from the front camera), elevation e above the
horizontal."""


def light_directions(factors: torch.Tensor) -> torch.Tensor:
    """Unit vectors ``(n, 3)`` from (azimuth, elevation) rows ``(n, 2)``."""
    a, e = torch.as_tensor(factors, dtype=torch.float64).unbind(-1)
    return torch.stack([torch.cos(e) * torch.sin(a), torch.sin(e), torch.cos(e) * torch.cos(a)], -1)


def factors_of_directions(directions: torch.Tensor) -> torch.Tensor:
    """(azimuth, elevation) rows ``(n, 2)`` of unit vectors ``(n, 3)``."""
    x, y, z = torch.as_tensor(directions, dtype=torch.float64).unbind(-1)
    return torch.stack([torch.atan2(x, z), torch.atan2(y, torch.hypot(x, z))], -1)


def fibonacci_directions(n: int) -> torch.Tensor:
    """``n`` nearly evenly spread unit vectors (the Fibonacci lattice on S²)."""
    k = torch.arange(n, dtype=torch.float64) + 0.5
    z = 1 - 2 * k / n
    azimuth = math.pi * (1 + math.sqrt(5)) * k
    r = torch.sqrt(1 - z * z)
    return torch.stack([r * torch.cos(azimuth), r * torch.sin(azimuth), z], -1)


@dataclass(frozen=True)
class LitSphereConfig(Config):
    n: int = field(2000, ge=1, doc="number of images, each with a uniform random light direction")
    size: int = field(32, ge=4, doc="image side in pixels")
    sigma: float = noise_sigma_field(0.0)
    n_vis: int = field(500, ge=1, doc="noiseless images of the evaluation set (Fibonacci lattice)")
    seed: int = field(0, doc="seed of the directions and the noise")


@DATASETS.register("lit_sphere")
class LitSphere(InMemoryDataset):
    """Two views (front, back) of a matte ball lit from a direction on S² (``(n, 2, D, D)``)."""

    Config = LitSphereConfig

    @classmethod
    def estimated_values(cls, c: LitSphereConfig) -> int:
        return 2 * (c.n + c.n_vis) * c.size**2

    def __init__(self, config: LitSphereConfig | None = None):
        self.config = config or LitSphereConfig()
        self.factor_space = LIGHT_FACTORS
        g = torch.Generator().manual_seed(self.config.seed)
        normals = torch.randn(self.config.n, 3, generator=g, dtype=torch.float64)
        factors = factors_of_directions(normals / normals.norm(dim=-1, keepdim=True))
        x = add_noise(self.render(factors), self.config.sigma, g)
        super().__init__(x.float(), factors, LIGHT_FACTORS)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """Images ``(n, 2, D, D)`` float64 for (azimuth, elevation) rows ``(n, 2)``."""
        light = light_directions(self.factor_space.check_values(factors))
        d = self.config.size
        coords = -1 + (2 * torch.arange(d, dtype=torch.float64) + 1) / d
        x = coords[None, :].expand(d, d) / RADIUS
        y = -coords[:, None].expand(d, d) / RADIUS  # image rows run downwards
        inside = x * x + y * y < 1
        z = torch.sqrt((1 - x * x - y * y).clamp_min(0.0))
        views = []
        for facing in (1.0, -1.0):  # the back camera sees the ball mirrored left to right
            normal = torch.stack([facing * x, y, facing * z], -1)  # (D, D, 3)
            shade = AMBIENT + DIFFUSE * (normal @ light.T).clamp_min(0.0).permute(2, 0, 1)
            views.append(torch.where(inside, shade, torch.zeros_like(shade)))
        return torch.stack(views, 1)

    def evaluation_set(self) -> Batch:
        """Noiseless images of ``n_vis`` directions of the Fibonacci lattice."""
        factors = factors_of_directions(fibonacci_directions(self.config.n_vis))
        return Batch(self.render(factors).float(), factors)
