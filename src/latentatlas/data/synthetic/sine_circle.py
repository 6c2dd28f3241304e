"""The sine benchmark of the thesis (ch. 5): noisy sine vectors whose phase lies on a circle.

x_j = sin(2πj/D + φ) + ε_j for j = 1..D (thesis eq. 5.1), φ ~ U[−π, π), ε ~ N(0, σ²). The
evaluation set X_Vis is the noiseless images of the 100 phases φ_i = −π + 2πi/100 (eq. 5.4-5.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...config import Config, field
from ...registry import DATASETS
from ..base import Batch, InMemoryDataset, add_noise, noise_sigma_field
from ..factors import Factor, FactorSpace


@dataclass(frozen=True)
class SineCircleConfig(Config):
    n: int = field(10_000, ge=1, doc="number of samples N")
    dim: int = field(25, ge=2, doc="vector length D")
    sigma: float = noise_sigma_field(0.1)
    n_vis: int = field(100, ge=1, doc="number of evenly spaced noiseless phases in X_Vis")
    seed: int = field(0, doc="seed of the phases and the noise")


@DATASETS.register("sine_circle")
class SineCircle(InMemoryDataset):
    """Thesis ch. 5 benchmark: ``N`` noisy D-vectors sin(2πj/D + φ), φ periodic on [−π, π)."""

    Config = SineCircleConfig

    @classmethod
    def estimated_values(cls, c: SineCircleConfig) -> int:
        """Values it will hold (the N samples and X_Vis), for the memory check before building."""
        return (c.n + c.n_vis) * c.dim

    def __init__(self, config: SineCircleConfig | None = None):
        self.config = config or SineCircleConfig()
        space = FactorSpace([Factor("phase", -math.pi, math.pi, periodic=True)])
        self.factor_space = space
        g = torch.Generator().manual_seed(self.config.seed)
        phases = space.sample(self.config.n, generator=g)
        x = add_noise(self.render(phases), self.config.sigma, g)
        super().__init__(x.float(), phases, space)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """F(φ) of eq. 5.1 for phases ``(n, 1)`` or ``(n,)`` (float64); refuses NaN/inf."""
        dim = self.config.dim
        phases = self.factor_space.check_values(factors)
        j = torch.arange(1, dim + 1, dtype=torch.float64)
        return torch.sin(2 * math.pi * j / dim + phases)

    def visualisation_phases(self) -> torch.Tensor:
        """Φ_Vis of eq. 5.4: ``n_vis`` phases −π + 2πi/n_vis, shape ``(n_vis, 1)``."""
        return self.factor_space.factors[0].linspace(self.config.n_vis)[:, None]

    def evaluation_set(self) -> Batch:
        """X_Vis (eq. 5.5): noiseless observations of the visualisation phases."""
        phases = self.visualisation_phases()
        return Batch(self.render(phases).float(), phases)
