"""The toroidal benchmark of the thesis (ch. 11): D×D sine images whose two phases lie on a torus.

An image is the sum of two discrete sines on a D×D grid, one running down the rows with angular
frequency 2π and phase φ1, one running along the columns with angular frequency 4π and phase φ2:

    x[i, j] = sin(2πi/D + φ1) + sin(4πj/D + φ2) + ε[i, j],   i, j = 1..D,

with (φ1, φ2) uniform on Φ×Φ = [−π, π)² (thesis eq. 11.2) and ε ~ N(0, σ²) independent per pixel
(the conditional density below eq. 11.2). The printed eq. 11.1 writes the index i in both sines,
which would make every row of an image equal; the project's errata (and the thesis' own words,
"two discrete sine functions defined over a discrete meshgrid of [0, 1] × [0, 1]") give one phase
per image axis, as here. The grid points are i/D, i = 1..D, as in eq. 5.1 (the grid of the circle
benchmark that ch. 11 extends), so that no point of a period is sampled twice.

X_Vis (eq. 11.4) is the set of noiseless images F(φ1, φ2) of the regular grid (Φ×Φ)_Vis of eq.
11.3. That grid is printed inconsistently (51 values of −π + 2πi/50 on one axis, −π + 2πi/100 on
the other); following the errata it is the 50×50 grid −π + 2πk/50, k = 0..49, on both axes,
2500 points, the size of the training set of §11.3.

Observations are single-channel images ``(n, 1, D, D)`` (the thesis identifies its D×D data
points with images, fig. 11.1; dense networks flatten them to D² = 625 inputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...config import Config, ConfigError, field
from ...registry import DATASETS
from ..base import Batch, InMemoryDataset, add_noise, noise_sigma_field
from ..factors import Factor, FactorSpace


@dataclass(frozen=True)
class TorusSinesConfig(Config):
    n: int = field(2500, ge=1, doc="number of samples N (2500 as in thesis §11.3)")
    size: int = field(25, ge=2, doc="image side D (25 as in thesis fig. 11.1 and §11.3)")
    sigma: float = noise_sigma_field(0.1)
    n_vis: int = field(50, ge=1, doc="phases per axis of the X_Vis grid (50: 2500 points)")
    phases: str = field(
        "uniform",
        choices=("uniform", "grid"),
        doc="'uniform': phases drawn from U[-π, π)²; 'grid': the X_Vis grid (n must be n_vis²)",
    )
    seed: int = field(0, doc="seed of the phases and the noise")

    def validate(self) -> None:
        if self.phases == "grid" and self.n != self.n_vis**2:
            raise ConfigError(
                f"n: phases 'grid' uses the {self.n_vis}×{self.n_vis} X_Vis grid, so n must be "
                f"{self.n_vis**2}, got {self.n}"
            )


def torus_factor_space() -> FactorSpace:
    """Two continuous periodic phases ``phase1`` (rows) and ``phase2`` (columns) on [−π, π)."""
    return FactorSpace(
        [
            Factor("phase1", -math.pi, math.pi, periodic=True),
            Factor("phase2", -math.pi, math.pi, periodic=True),
        ]
    )


@DATASETS.register("torus_sines")
class TorusSines(InMemoryDataset):
    """Thesis ch. 11 benchmark: ``N`` noisy D×D images of two sines, phases on a torus."""

    Config = TorusSinesConfig

    @classmethod
    def estimated_values(cls, c: TorusSinesConfig) -> int:
        """Values it will hold (the N samples and X_Vis): the memory check."""
        return (c.n + c.n_vis**2) * c.size**2

    def __init__(self, config: TorusSinesConfig | None = None):
        self.config = config or TorusSinesConfig()
        space = torus_factor_space()
        self.factor_space = space
        g = torch.Generator().manual_seed(self.config.seed)
        if self.config.phases == "grid":
            phases = self.visualisation_phases()
        else:
            phases = space.sample(self.config.n, generator=g)
        x = add_noise(self.render(phases), self.config.sigma, g)
        super().__init__(x.float(), phases, space)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """F(φ1, φ2) of eq. 11.1 (one phase per axis) for phases ``(n, 2)``: ``(n, 1, D, D)``
        float64; refuses NaN/inf and wrong shapes."""
        d = self.config.size
        phases = self.factor_space.check_values(factors)
        grid = torch.arange(1, d + 1, dtype=torch.float64) / d  # i/D, i = 1..D
        rows = torch.sin(2 * math.pi * grid[None, :] + phases[:, :1])  # (n, D): down the rows
        cols = torch.sin(4 * math.pi * grid[None, :] + phases[:, 1:])  # (n, D): along columns
        return (rows[:, :, None] + cols[:, None, :])[:, None]

    def visualisation_phases(self) -> torch.Tensor:
        """(Φ×Φ)_Vis of eq. 11.3 as corrected: ``n_vis²`` rows (φ1, φ2), φ = −π + 2πk/n_vis,
        ``phase1`` varying slowest."""
        return self.factor_space.grid(self.config.n_vis)

    def evaluation_set(self) -> Batch:
        """X_Vis (eq. 11.4): noiseless images of the visualisation grid."""
        phases = self.visualisation_phases()
        return Batch(self.render(phases).float(), phases)
