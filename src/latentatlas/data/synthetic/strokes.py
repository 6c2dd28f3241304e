"""Pen strokes: images made of a few cubic Bézier curves drawn with a round pen (atomic paper
sec. III-A).

The paper models handwritten digits as x = Σ_i S(θ_i), sums of parametric curves (Bézier strokes)
convolved with the shape of the pen tip, and trains on high-resolution MNIST downscaled to 128×128.
This generator makes such images with every stroke known. A stroke is a cubic Bézier curve
B(s) = (1−s)³P0 + 3(1−s)²s P1 + 3(1−s)s² P2 + s³P3, s ∈ [0, 1], drawn as

    S(θ)[r, c] = exp(−max(d − ρ, 0)² / (2β²)),

with d the distance from pixel (r, c) to the curve (a polyline of ``segments`` pieces), ρ the pen
radius and β the blur of its edge: 1 on the pen's core, a Gaussian fall-off outside. Images are the
plain sum of their strokes (values may exceed 1 where strokes cross), so they lie exactly in the
atomic model Σ_{A,k} of eq. 2.

Drawing (our choices; the paper has no generator for this): 1 to 4 strokes per image; P0 uniform
on the square kept ``margin`` pixels from the border; P3 = P0 + a step of length
U(0.2, 0.45)·size in a uniform direction; P1 and P2 at 1/3 and 2/3 of the chord plus a normal
offset of N(0, (0.25·chord)²) — gently bent, hand-like strokes; every control point clipped to
the margin square. Atom parameters are the eight control-point coordinates
``(x0, y0, x1, y1, x2, y2, x3, y3)`` in pixels (x the column, y the row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...config import Config, ConfigError, field
from ...registry import DATASETS
from .atoms import AtomDataset, check_count_range


@dataclass(frozen=True)
class StrokesConfig(Config):
    n: int = field(10_000, ge=1, doc="number of images")
    size: int = field(128, ge=8, doc="image side in pixels (128 as the paper)")
    max_strokes: int = field(4, ge=1, doc="largest number of strokes in an image")
    min_strokes: int = field(1, ge=1, doc="smallest number of strokes in an image")
    pen: float | None = field(
        None, ge=0.0, doc="pen radius ρ in pixels; None: size/25 (5.1 px at 128, MNIST-like)"
    )
    blur: float | None = field(
        None, gt=0.0, doc="edge blur β in pixels; None: size/64 (2 px at 128)"
    )
    margin: float | None = field(
        None, ge=0.0, doc="control points stay this far from the border; None: size/10"
    )
    segments: int = field(16, ge=1, doc="straight pieces that approximate each curve")
    seed: int = field(0, doc="seed of counts and control points")

    def validate(self) -> None:
        check_count_range(self.min_strokes, self.max_strokes, "strokes")
        if 2 * self.border >= self.size - 1:
            raise ConfigError(
                f"margin: {self.border} px on each side leaves no room in a {self.size}-pixel image"
            )

    @property
    def radius(self) -> float:
        return self.pen if self.pen is not None else self.size / 25

    @property
    def edge(self) -> float:
        return self.blur if self.blur is not None else self.size / 64

    @property
    def border(self) -> float:
        return self.margin if self.margin is not None else self.size / 10


@DATASETS.register("strokes")
class Strokes(AtomDataset):
    """Sums of 1..4 blurred round-pen Bézier strokes; atoms are 4 control points (8 numbers)."""

    Config = StrokesConfig

    @classmethod
    def estimated_values(cls, c: StrokesConfig) -> int:
        """Values it will hold (n images), for the memory check before building."""
        return c.n * c.size**2

    parameters = ("x0", "y0", "x1", "y1", "x2", "y2", "x3", "y3")

    def __init__(self, config: StrokesConfig | None = None):
        self.config = config or StrokesConfig()
        c = self.config
        super().__init__(c.n, c.size, c.min_strokes, c.max_strokes, c.seed)

    def draw(self, rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
        c = self.config
        n, k = len(counts), c.max_strokes
        low, high = c.border, c.size - 1 - c.border
        p0 = rng.uniform(low, high, size=(n, k, 2))
        angle = rng.uniform(-np.pi, np.pi, size=(n, k))
        length = rng.uniform(0.2, 0.45, size=(n, k)) * c.size
        chord = length[..., None] * np.stack([np.cos(angle), np.sin(angle)], -1)
        normal = np.stack([-np.sin(angle), np.cos(angle)], -1)
        bend = rng.normal(0.0, 0.25, size=(n, k, 2)) * length[..., None]
        p1 = p0 + chord / 3 + bend[..., :1] * normal
        p2 = p0 + 2 * chord / 3 + bend[..., 1:] * normal
        points = np.stack([p0, p1, p2, p0 + chord], axis=2).clip(low, high)  # (n, k, 4, 2)
        return points.reshape(n, k, 8)

    def curve(self, params: torch.Tensor) -> torch.Tensor:
        """Points ``(m, segments + 1, 2)`` (x, y) along the Bézier curves of ``(m, 8)`` params."""
        p = params.reshape(-1, 4, 2)
        s = torch.linspace(0, 1, self.config.segments + 1, dtype=params.dtype)[None, :, None]
        return (
            (1 - s) ** 3 * p[:, None, 0]
            + 3 * (1 - s) ** 2 * s * p[:, None, 1]
            + 3 * (1 - s) * s**2 * p[:, None, 2]
            + s**3 * p[:, None, 3]
        )

    def render_atoms(self, params: torch.Tensor) -> torch.Tensor:
        """One image per stroke: the pen profile of the distance to its polyline (computed in
        float32, segment by segment, on flat pixel coordinates)."""
        c = self.config
        pts = self.curve(params).float()
        grid = torch.arange(self.size, dtype=torch.float32)
        px = grid.repeat(self.size)[None]  # column of each flat pixel, (1, H·W)
        py = grid.repeat_interleave(self.size)[None]  # row
        dist2 = torch.full((params.shape[0], px.shape[1]), torch.inf)
        for a, b in zip(pts[:, :-1].unbind(1), pts[:, 1:].unbind(1)):  # (m, 2) each
            abx, aby = (b - a)[:, :1], (b - a)[:, 1:]
            dx, dy = px - a[:, :1], py - a[:, 1:]
            inv = 1.0 / (abx.square() + aby.square()).clamp_min(1e-12)
            t = ((dx * abx + dy * aby) * inv).clamp_(0, 1)
            dist2 = torch.minimum(dist2, (dx - t * abx).square_() + (dy - t * aby).square_())
        over = (dist2.sqrt_() - c.radius).clamp_min_(0)
        img = torch.exp(-over.square_() / (2 * c.edge**2))
        return img.reshape(-1, self.size, self.size).double()
