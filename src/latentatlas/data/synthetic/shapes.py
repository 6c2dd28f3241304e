"""Filled conic shapes of the slides: disks (size study, slides 8-20) and ellipses (PCA-like
autoencoder, slides 38-39), grey images ``(1, size, size)`` in [0, 1].

A shape is the set {p : ‖R(−θ)(p − c)‖_(a, b) ≤ 1} (an ellipse of semi-axes a, b turned by θ
around its centre c; a disk is a = b = r). Pixel (i, j) has its centre at (x, y) = (j, i), so the
image centre is ((size − 1)/2, (size − 1)/2). Images are rendered by averaging ``supersample²``
sub-pixel samples per pixel (the anti-aliased inside fraction) and then blurred with a Gaussian of
``blur`` pixels, the "slightly blurred to avoid discrete parameterisation" of slide 8.

Defaults follow the implementation facts of the papers README: disks on 64×64 (or 63×63) images,
radius uniform on [0, 31.5]; ellipses with integer semi-axes 2-31 and an angle in [0°, 90°],
blur σ = 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from ...config import Config, field
from ...errors import ConfigError, DataError
from ...registry import DATASETS
from ..base import InMemoryDataset
from ..factors import Factor, FactorSpace

_CHUNK = 64
"""Images rendered at once (bounds the supersampled grid's memory)."""


def render_ellipses(
    centres: torch.Tensor,
    axes: torch.Tensor,
    angles: torch.Tensor,
    size: int,
    supersample: int = 4,
    blur: float = 0.0,
) -> torch.Tensor:
    """Grey images ``(n, 1, size, size)`` float32 of filled ellipses.

    Args:
        centres: ``(n, 2)`` centre (x, y) in pixel coordinates (pixel (i, j) is at x = j, y = i).
        axes: ``(n, 2)`` semi-axes (a along the turned x axis, b along the turned y axis) ≥ 0;
            a zero axis draws nothing.
        angles: ``(n,)`` rotation θ in radians (counter-clockwise in (x, y)).
        size: image side.
        supersample: sub-pixel samples per pixel side (the inside fraction is their mean).
        blur: standard deviation in pixels of the Gaussian applied afterwards (0: none).
    """
    centres = torch.as_tensor(centres, dtype=torch.float64).reshape(-1, 2)
    axes = torch.as_tensor(axes, dtype=torch.float64).reshape(-1, 2)
    angles = torch.as_tensor(angles, dtype=torch.float64).reshape(-1)
    n = centres.shape[0]
    if axes.shape[0] != n or angles.shape[0] != n:
        raise DataError(
            f"render_ellipses: {n} centres, {axes.shape[0]} axes and {angles.shape[0]} angles; "
            "expected one of each per image"
        )
    if size < 1 or supersample < 1 or blur < 0:
        raise DataError(
            f"render_ellipses: expected size ≥ 1, supersample ≥ 1, blur ≥ 0; got {size}, "
            f"{supersample}, {blur}"
        )
    if (axes < 0).any() or not torch.isfinite(axes).all():
        raise DataError("render_ellipses: semi-axes must be finite and ≥ 0")
    offsets = (torch.arange(supersample, dtype=torch.float64) + 0.5) / supersample - 0.5
    coords = (torch.arange(size, dtype=torch.float64)[:, None] + offsets).reshape(-1)
    out = torch.empty(n, 1, size, size, dtype=torch.float32)
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        dx = coords[None, None, :] - centres[sl, 0, None, None]  # (m, 1, S·s)
        dy = coords[None, :, None] - centres[sl, 1, None, None]  # (m, S·s, 1)
        cos, sin = torch.cos(angles[sl])[:, None, None], torch.sin(angles[sl])[:, None, None]
        u = cos * dx + sin * dy
        v = -sin * dx + cos * dy
        a, b = axes[sl, 0, None, None], axes[sl, 1, None, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = (u / a) ** 2 + (v / b) ** 2 <= 1.0
        inside &= (a > 0) & (b > 0)
        m = inside.shape[0]
        frac = inside.double().reshape(m, size, supersample, size, supersample).mean((2, 4))
        out[sl, 0] = frac.float()
    if blur > 0:
        blurred = ndimage.gaussian_filter(out.numpy(), sigma=(0, 0, blur, blur), mode="constant")
        out = torch.from_numpy(blurred)
    return out


@dataclass(frozen=True)
class DisksConfig(Config):
    n: int = field(1000, ge=1, doc="number of images (the slides train on 1000)")
    size: int = field(64, ge=4, doc="image side: 64 (slide 8) or 63 (the authors' code)")
    radius_min: float = field(0.0, ge=0.0, doc="smallest radius in pixels")
    radius_max: float | None = field(
        None, gt=0.0, doc="largest radius in pixels (None: size/2 − 0.5, 31.5 at 64×64)"
    )
    position_range: float = field(
        0.0, ge=0.0, doc="off-centre disks: centre uniform within ± this many pixels (0: centred)"
    )
    blur: float = field(0.5, ge=0.0, doc="Gaussian blur σ in pixels after anti-aliasing")
    supersample: int = field(4, ge=1, doc="sub-pixel samples per pixel side")
    seed: int = field(0, doc="seed of the radii and positions")

    def validate(self) -> None:
        r_max = self.size / 2 - 0.5 if self.radius_max is None else self.radius_max
        if r_max < self.radius_min:
            raise ConfigError(f"radius_max: expected ≥ radius_min = {self.radius_min}, got {r_max}")
        object.__setattr__(self, "radius_max", float(r_max))
        if self.position_range >= self.size / 2:
            raise ConfigError(
                f"position_range: expected < size/2 = {self.size / 2} so centres stay in the "
                f"image, got {self.position_range}"
            )


@DATASETS.register("disks")
class Disks(InMemoryDataset):
    """Disks of random radius (slide 8); factors ``radius`` (+ ``x``, ``y`` when off-centre).

    The radius is uniform on [radius_min, radius_max]; with ``position_range`` > 0 the centre
    is uniform in a square of half-side ``position_range`` around the image centre.
    """

    Config = DisksConfig

    @classmethod
    def estimated_values(cls, c: DisksConfig) -> int:
        """Values it will hold (n images), for the memory check before building."""
        return c.n * c.size**2

    def __init__(self, config: DisksConfig | None = None):
        self.config = config or DisksConfig()
        c = self.config
        g = torch.Generator().manual_seed(c.seed)
        radius = c.radius_min + (c.radius_max - c.radius_min) * torch.rand(
            c.n, generator=g, dtype=torch.float64
        )
        factors = [Factor("radius", c.radius_min, c.radius_max)]
        values = [radius]
        if c.position_range > 0:
            mid = (c.size - 1) / 2
            lo, hi = mid - c.position_range, mid + c.position_range
            for name in ("x", "y"):
                factors.append(Factor(name, lo, hi))
                values.append(lo + (hi - lo) * torch.rand(c.n, generator=g, dtype=torch.float64))
        factor_values = torch.stack(values, 1)
        super().__init__(self.render(factor_values), factor_values, FactorSpace(factors))

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """Images ``(n, 1, size, size)`` for factor rows (radius[, x, y])."""
        c = self.config
        f = torch.as_tensor(factors, dtype=torch.float64).reshape(-1, len(self._names()))
        mid = (c.size - 1) / 2
        centres = f[:, 1:3] if f.shape[1] == 3 else torch.full((f.shape[0], 2), mid)
        radius = f[:, 0].clamp(min=0)
        return render_ellipses(
            centres,
            torch.stack([radius, radius], 1),
            torch.zeros(f.shape[0]),
            c.size,
            c.supersample,
            c.blur,
        )

    def _names(self) -> list[str]:
        return ["radius", "x", "y"] if self.config.position_range > 0 else ["radius"]


@dataclass(frozen=True)
class EllipsesConfig(Config):
    n: int = field(2000, ge=1, doc="number of images")
    size: int = field(64, ge=4, doc="image side")
    axis_min: float = field(2.0, gt=0.0, doc="smallest semi-axis in pixels")
    axis_max: float = field(31.0, gt=0.0, doc="largest semi-axis in pixels")
    integer_axes: bool = field(True, doc="draw integer semi-axes (the authors' data)")
    angle_max: float = field(90.0, gt=0.0, le=180.0, doc="angles uniform on [0, angle_max] degrees")
    blur: float = field(0.5, ge=0.0, doc="Gaussian blur σ in pixels after anti-aliasing")
    supersample: int = field(4, ge=1, doc="sub-pixel samples per pixel side")
    seed: int = field(0, doc="seed of the factors")

    def validate(self) -> None:
        if self.axis_max < self.axis_min:
            raise ConfigError(
                f"axis_max: expected ≥ axis_min = {self.axis_min}, got {self.axis_max}"
            )
        if self.axis_max > self.size / 2:
            raise ConfigError(
                f"axis_max: expected ≤ size/2 = {self.size / 2} so ellipses fit, "
                f"got {self.axis_max}"
            )
        if self.integer_axes and math.floor(self.axis_max) < math.ceil(self.axis_min):
            raise ConfigError(
                f"integer_axes: no integer between axis_min {self.axis_min} and axis_max "
                f"{self.axis_max}"
            )


@DATASETS.register("ellipses")
class Ellipses(InMemoryDataset):
    """Centred ellipses (slides 38-39); factors ``axis_a``, ``axis_b`` (semi-axes, pixels) and
    ``angle`` (degrees)."""

    Config = EllipsesConfig

    @classmethod
    def estimated_values(cls, c: EllipsesConfig) -> int:
        """Values it will hold (n images), for the memory check before building."""
        return c.n * c.size**2

    def __init__(self, config: EllipsesConfig | None = None):
        self.config = config or EllipsesConfig()
        c = self.config
        g = torch.Generator().manual_seed(c.seed)
        if c.integer_axes:
            lo, hi = math.ceil(c.axis_min), math.floor(c.axis_max)
            axes = torch.randint(lo, hi + 1, (c.n, 2), generator=g).double()
        else:
            axes = c.axis_min + (c.axis_max - c.axis_min) * torch.rand(
                c.n, 2, generator=g, dtype=torch.float64
            )
        angle = c.angle_max * torch.rand(c.n, 1, generator=g, dtype=torch.float64)
        factors = torch.cat([axes, angle], 1)
        space = FactorSpace(
            [
                Factor("axis_a", c.axis_min, c.axis_max),
                Factor("axis_b", c.axis_min, c.axis_max),
                Factor("angle", 0.0, c.angle_max),
            ]
        )
        super().__init__(self.render(factors), factors, space)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """Images ``(n, 1, size, size)`` for factor rows (axis_a, axis_b, angle in degrees)."""
        c = self.config
        f = torch.as_tensor(factors, dtype=torch.float64).reshape(-1, 3)
        mid = (c.size - 1) / 2
        return render_ellipses(
            torch.full((f.shape[0], 2), mid),
            f[:, :2].clamp(min=0),
            torch.deg2rad(f[:, 2]),
            c.size,
            c.supersample,
            c.blur,
        )


def ellipse_descriptors(factors: torch.Tensor) -> dict[str, torch.Tensor]:
    """Derived factors of ellipse rows (axis_a, axis_b, angle°) that a PCA-like autoencoder may
    find (the slides report correlations with "area, axis ratio and orientation-like factors"):

    * ``area`` = π a b; ``axis_ratio`` = log(a / b) (signed: which axis is along θ);
      ``elongation`` = |log(a / b)|; the raw ``axis_a``, ``axis_b`` and ``angle``;
    * ``orientation_cos`` = (a² − b²)/(a² + b²)·cos 2θ and ``orientation_sin`` = the same with
      sin 2θ: the anisotropy of the second-moment matrix R diag(a², b²) Rᵀ along the image axes
      and the diagonals, the orientation as the image shows it ((a, b, θ) and (b, a, θ + 90°)
      draw the same ellipse and get the same values).
    """
    f = torch.as_tensor(factors, dtype=torch.float64)
    a, b, angle = f[:, 0], f[:, 1], f[:, 2]
    ratio = torch.log(a / b)
    anisotropy = (a**2 - b**2) / (a**2 + b**2)
    theta = torch.deg2rad(angle)
    return {
        "area": math.pi * a * b,
        "axis_ratio": ratio,
        "elongation": ratio.abs(),
        "orientation_cos": anisotropy * torch.cos(2 * theta),
        "orientation_sin": anisotropy * torch.sin(2 * theta),
        "angle": angle,
        "axis_a": a,
        "axis_b": b,
    }
