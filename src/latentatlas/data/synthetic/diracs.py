"""Continuous-position Diracs (slides, eq. 11): a one-hot vector whose 1 is split linearly
between the two samples around a real position a.

    δ_a(t) = 1 − (a − ⌊a⌋) at t = ⌊a⌋,   1 − (⌈a⌉ − a) at t = ⌈a⌉,   0 elsewhere,

so δ_a is the integer Dirac of eq. 9 when a is an integer and the linear interpolation of the two
neighbouring Diracs otherwise. Because the position network E_L is linear, E_L(δ_a) = 2^L − a
holds for every real a in [0, 2^L − 1] (tested). The factor is the position a, uniform on
[0, size − 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...config import Config, field
from ...registry import DATASETS
from ..base import InMemoryDataset
from ..factors import Factor, FactorSpace


def continuous_diracs(positions: torch.Tensor, size: int) -> torch.Tensor:
    """δ_a of eq. 11 for positions ``(n,)`` in [0, size − 1]: ``(n, size)`` float64."""
    a = positions.reshape(-1).to(torch.float64)
    low = torch.floor(a)
    frac = a - low
    out = torch.zeros(a.shape[0], size, dtype=torch.float64)
    rows = torch.arange(a.shape[0])
    out[rows, low.long()] += 1 - frac
    high = torch.clamp(low.long() + 1, max=size - 1)
    out[rows, high] += torch.where(frac > 0, frac, 0.0)  # an integer a puts all its mass at a
    return out


@dataclass(frozen=True)
class DiracsConfig(Config):
    n: int = field(1000, ge=1, doc="number of signals")
    size: int = field(64, ge=2, doc="signal length")
    seed: int = field(0, doc="seed of the positions")


@DATASETS.register("diracs")
class Diracs(InMemoryDataset):
    """1-D continuous Diracs of eq. 11, vectors ``(size,)``; factor ``position``."""

    Config = DiracsConfig

    @classmethod
    def estimated_values(cls, c: DiracsConfig) -> int:
        """Values it will hold (n signals of `size` values): the memory check."""
        return c.n * c.size

    def __init__(self, config: DiracsConfig | None = None):
        self.config = config or DiracsConfig()
        c = self.config
        g = torch.Generator().manual_seed(c.seed)
        positions = torch.rand(c.n, generator=g, dtype=torch.float64) * (c.size - 1)
        space = FactorSpace([Factor("position", 0.0, float(c.size - 1))])
        super().__init__(self.render(positions[:, None]).float(), positions[:, None], space)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """δ_a for positions ``(n, 1)``, clamped to [0, size − 1]: ``(n, size)``."""
        a = torch.as_tensor(factors, dtype=torch.float64).reshape(-1)
        return continuous_diracs(a.clamp(0, self.config.size - 1), self.config.size)
