"""Multi-scale colour scenes: coarse layout and fine texture that vary independently.

The intrinsic paper studies which layer of a generator draws which spatial scale (faces: the
overall layout at the coarse levels, eyes and mouth in between, fine detail at the image level).
CelebA cannot be downloaded here, so the demo data are procedural scenes with structure at three
scales, each set by its own factors:

* coarse — a background whose colour (``background_hue``) fades along a direction
  (``light_angle``) across the whole image;
* intermediate — a disk with its position (``object_x``, ``object_y``, fractions of the side),
  radius (``object_size``, fraction of the side) and colour (``object_hue``);
* fine — stripes of a fixed short period (``texture_period`` pixels, 4 by default) over the disk,
  with their orientation (``texture_angle``) and phase (``texture_phase``).

Hues are on the colour circle (periodic, [0, 1)); angles are periodic. Images are float32
``(n, 3, size, size)`` in [0, 1], the disk's edge anti-aliased over about one pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...config import Config, field
from ...registry import DATASETS
from ..base import InMemoryDataset
from ..factors import Factor, FactorSpace


def scenes_factor_space() -> FactorSpace:
    """The eight factors, in the order of the factor columns."""
    return FactorSpace(
        [
            Factor("background_hue", 0.0, 1.0, periodic=True),
            Factor("light_angle", 0.0, 2 * math.pi, periodic=True),
            Factor("object_x", 0.3, 0.7),
            Factor("object_y", 0.3, 0.7),
            Factor("object_size", 0.12, 0.25),
            Factor("object_hue", 0.0, 1.0, periodic=True),
            Factor("texture_angle", 0.0, math.pi, periodic=True),
            Factor("texture_phase", 0.0, 2 * math.pi, periodic=True),
        ]
    )


def hue_to_rgb(hue: torch.Tensor, saturation: float = 0.8) -> torch.Tensor:
    """A smooth colour circle: RGB ``(n, 3)`` in [0, 1] for hues in [0, 1) (periodic)."""
    shifts = torch.tensor([0.0, 1.0 / 3.0, 2.0 / 3.0], dtype=hue.dtype)
    return 0.5 + 0.5 * saturation * torch.cos(2 * math.pi * (hue[:, None] - shifts))


def render_scenes(
    factors: torch.Tensor, size: int = 64, texture_period: float = 4.0
) -> torch.Tensor:
    """Images ``(n, 3, size, size)`` for factor rows in the order of :func:`scenes_factor_space`."""
    f = torch.as_tensor(factors, dtype=torch.float64).reshape(-1, 8)
    bg_hue, light, ox, oy, radius, obj_hue, tex_angle, tex_phase = f.unbind(1)
    coords = (torch.arange(size, dtype=torch.float64) + 0.5) / size  # pixel centres in (0, 1)
    y, x = coords[None, :, None], coords[None, None, :]
    # coarse: the background colour, brighter towards the light (a ramp across the image)
    ramp = (x - 0.5) * torch.cos(light)[:, None, None] + (y - 0.5) * torch.sin(light)[:, None, None]
    shade = (0.55 + 0.6 * ramp).clamp(0.0, 1.0)
    image = hue_to_rgb(bg_hue)[:, :, None, None] * shade[:, None]
    # intermediate: the disk, anti-aliased over one pixel
    dist = torch.sqrt((x - ox[:, None, None]) ** 2 + (y - oy[:, None, None]) ** 2)
    inside = torch.sigmoid((radius[:, None, None] - dist) * size * 4.0)
    # fine: stripes of a short period across the disk
    along = x * torch.cos(tex_angle)[:, None, None] + y * torch.sin(tex_angle)[:, None, None]
    stripes = 0.5 + 0.5 * torch.cos(
        2 * math.pi * along * size / texture_period + tex_phase[:, None, None]
    )
    disk = hue_to_rgb(obj_hue)[:, :, None, None] * (0.45 + 0.55 * stripes[:, None])
    image = image * (1 - inside[:, None]) + disk * inside[:, None]
    return image.clamp(0.0, 1.0).float()


@dataclass(frozen=True)
class ScenesConfig(Config):
    n: int = field(5000, ge=1, doc="number of images")
    size: int = field(64, ge=8, doc="image side in pixels")
    texture_period: float = field(4.0, ge=2.0, doc="period of the fine stripes in pixels")
    seed: int = field(0, doc="seed of the factors")


@DATASETS.register("scenes")
class Scenes(InMemoryDataset):
    """Multi-scale colour scenes (see the module docstring); factors uniform over their ranges."""

    Config = ScenesConfig

    @classmethod
    def estimated_values(cls, c: ScenesConfig) -> int:
        """Values it will hold (n colour images), for the memory check before building."""
        return 3 * c.n * c.size**2

    def __init__(self, config: ScenesConfig | None = None):
        self.config = config or ScenesConfig()
        space = scenes_factor_space()
        factors = space.sample(self.config.n, torch.Generator().manual_seed(self.config.seed))
        super().__init__(self.render(factors), factors, space)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        return render_scenes(factors, self.config.size, self.config.texture_period)
