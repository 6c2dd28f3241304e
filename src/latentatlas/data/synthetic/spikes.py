"""Off-the-grid spikes convolved with a Gaussian (atomic paper sec. III-B, fig. 3-4).

An image holds c spikes, 1 ≤ c ≤ K (K = 10 in the paper), each an amplitude a_i at a continuous
position t_i = (x_i, y_i) — off the pixel grid — convolved with a Gaussian of standard deviation
σ pixels (ψ(a, t) = a·G(· − t), sec. II-A):

    x[r, c] = Σ_i a_i · exp(−((c − x_i)² + (r − y_i)²) / (2σ²)),

with pixel (r, c) centred at integer coordinates (row r, column c, from 0) and a_i the peak value.
Positions are uniform on the square kept ``margin`` pixels from the border, and any two spikes of
an image are at least ``min_separation`` apart (the paper: "minimum separation larger than the
standard deviation of the Gaussian filter"), drawn by rejection, slot after slot, vectorised over
images. The paper's generator is not public; the defaults are our choices: 128×128 images as the
paper's, K = 10, σ = 3 px, separation 2σ, margin 2σ, amplitudes uniform on [0.5, 1]. Atom
parameters are ``(amplitude, x, y)`` (d0 = 3, the paper's block size for spikes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...config import Config, ConfigError, field
from ...errors import DataError
from ...registry import DATASETS
from .atoms import AtomDataset, check_count_range

MAX_ROUNDS = 1000
"""Rejection rounds per spike slot before the generator gives up (the layout is too crowded)."""


@dataclass(frozen=True)
class SpikesConfig(Config):
    n: int = field(10_000, ge=1, doc="number of images")
    size: int = field(128, ge=4, doc="image side in pixels (128 as the paper)")
    max_spikes: int = field(10, ge=1, doc="largest number of spikes K in an image (paper: 10)")
    min_spikes: int = field(1, ge=1, doc="smallest number of spikes in an image")
    sigma: float = field(3.0, gt=0.0, doc="standard deviation of the Gaussian filter (pixels)")
    amplitude: tuple[float, float] = field((0.5, 1.0), gt=0.0, doc="range of the peak values")
    min_separation: float | None = field(
        None, gt=0.0, doc="least distance between two spikes (pixels; > sigma); None: 2·sigma"
    )
    margin: float | None = field(
        None, ge=0.0, doc="distance of spike centres from the border (pixels); None: 2·sigma"
    )
    seed: int = field(0, doc="seed of counts, amplitudes and positions")

    def validate(self) -> None:
        check_count_range(self.min_spikes, self.max_spikes, "spikes")
        if self.amplitude[0] > self.amplitude[1]:
            raise ConfigError(
                f"amplitude: expected (low, high) with low ≤ high, got {self.amplitude}"
            )
        if self.separation <= self.sigma:
            raise ConfigError(
                f"min_separation: {self.separation} must be larger than sigma = {self.sigma} "
                "(the paper's condition for separable spikes)"
            )
        if self.size - 1 - 2 * self.border <= 0:
            raise ConfigError(
                f"margin: {self.border} px on each side leaves no room in a {self.size}-pixel image"
            )

    @property
    def separation(self) -> float:
        return self.min_separation if self.min_separation is not None else 2 * self.sigma

    @property
    def border(self) -> float:
        return self.margin if self.margin is not None else 2 * self.sigma


@DATASETS.register("spikes")
class Spikes(AtomDataset):
    """Sums of 1..K Gaussian spikes at off-the-grid positions; atoms ``(amplitude, x, y)``."""

    Config = SpikesConfig

    @classmethod
    def estimated_values(cls, c: SpikesConfig) -> int:
        """Values it will hold (n images), for the memory check before building."""
        return c.n * c.size**2

    parameters = ("amplitude", "x", "y")

    def __init__(self, config: SpikesConfig | None = None):
        self.config = config or SpikesConfig()
        c = self.config
        super().__init__(c.n, c.size, c.min_spikes, c.max_spikes, c.seed)

    def draw(self, rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
        c = self.config
        n, k = len(counts), c.max_spikes
        low, high = c.border, c.size - 1 - c.border
        pos = np.full((n, k, 2), np.nan)
        for slot in range(k):
            todo = np.flatnonzero(counts > slot)
            for _ in range(MAX_ROUNDS):
                if not todo.size:
                    break
                pos[todo, slot] = rng.uniform(low, high, size=(todo.size, 2))
                if slot:
                    gap = np.linalg.norm(pos[todo, :slot] - pos[todo, slot, None], axis=-1)
                    todo = todo[(gap < c.separation).any(1)]  # NaN gaps (absent) never clash
                else:
                    todo = todo[:0]
            if todo.size:
                raise DataError(
                    f"spikes: could not place {slot + 1} spikes {c.separation:g} px apart in a "
                    f"{c.size}-pixel image with a {c.border:g}-pixel margin; lower max_spikes "
                    "or min_separation, or enlarge the image"
                )
        amp = rng.uniform(c.amplitude[0], c.amplitude[1], size=(n, k, 1))
        return np.concatenate([amp, pos], axis=-1)

    def render_atoms(self, params: torch.Tensor) -> torch.Tensor:
        """a·exp(−((c − x)² + (r − y)²)/(2σ²)) per spike, separable in rows and columns."""
        grid = torch.arange(self.size, dtype=torch.float64)
        inv = 1.0 / (2 * self.config.sigma**2)
        gx = torch.exp(-((grid[None, :] - params[:, 1, None]) ** 2) * inv)  # (m, W)
        gy = torch.exp(-((grid[None, :] - params[:, 2, None]) ** 2) * inv)  # (m, H)
        return params[:, 0, None, None] * gy[:, :, None] * gx[:, None, :]
