"""Circular pixel shift (thesis §10.1): every horizontal circular shift of one grey image.

For an H×W grey image I with values in [0, 1], the thesis defines the shift of s pixels by
f_ij(s) = I_{i, [(j+s) mod W]+1} and the dataset X = {F(s) : s ∈ [W]} of all W shifts
(eq. 10.1); its experiments use 64 shifts of a 64×64 image (§10.1.1). The single factor is the
shift, which is periodic: a shift by W is no shift.

Choices where the thesis is silent:

* **Factor values are pixel shifts** ``s = 0, 1, …, W−1`` (a discrete factor of W values,
  periodic on [0, W)), not angles: the shift is what the data are made of, and an angle is
  2πs/W. Pixel column ``j`` (0-based) of F(s) is column ``(j + s) mod W`` of I, so the content
  moves ``s`` pixels to the left and F(0) = I. This is the thesis' map with 0-based indices: the
  printed 1-based formula maps s to our F(s + 1), the same set of W images.
* **Non-integer shifts** (used by traversals with many steps) interpolate linearly between the
  two neighbouring integer shifts, so ``render`` is continuous and still periodic with period W.
* **The image.** The thesis does not publish its image. The built-in one
  (:func:`builtin_image`) is drawn procedurally: a left-to-right brightness ramp (so every
  column has a different mean and no nontrivial shift equals the original, which is what makes
  the shift identifiable), a bright disk, a right triangle and a dark square, with anti-aliased
  edges. ``image_path`` reads a user's image instead (converted to grey in [0, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...config import Config, field
from ...errors import DataError
from ...registry import DATASETS
from ..base import Batch, InMemoryDataset
from ..factors import Factor, FactorSpace

BUILTIN_SIZE = (64, 64)
"""(height, width) of the built-in image when ``size`` is not set (thesis §10.1.1: 64×64)."""


def _coverage(signed_distance: np.ndarray, pixel: float) -> np.ndarray:
    """Anti-aliased inside fraction from a signed distance (negative inside), in pixel units."""
    return np.clip(0.5 - signed_distance / pixel, 0.0, 1.0)


def builtin_image(height: int = 64, width: int = 64) -> np.ndarray:
    """The built-in asymmetric grey image, float64 ``(height, width)`` in [0, 1].

    Drawn in normalised coordinates (u to the right, v down, both in [0, 1]), so every size shows
    the same picture: a background ramp 0.10 + 0.25·u + 0.10·v, a bright disk (0.95) upper left,
    a right triangle (0.60) lower right and a dark square (0.02) upper right.
    """
    if height < 1 or width < 1:
        raise DataError(f"image size must be at least 1×1, got {height}×{width}")
    u = ((np.arange(width) + 0.5) / width)[None, :]
    v = ((np.arange(height) + 0.5) / height)[:, None]
    pixel = 1.0 / min(height, width)
    img = 0.10 + 0.25 * u + 0.10 * v + np.zeros((height, width))

    def paint(distance: np.ndarray, value: float) -> None:
        nonlocal img
        a = _coverage(distance, pixel)
        img = (1 - a) * img + a * value

    paint(np.hypot(u - 0.27, v - 0.32) - 0.17, 0.95)  # disk
    # right triangle with the right angle at the lower right: u <= 0.9, v <= 0.9, above the
    # hypotenuse from (0.5, 0.9) to (0.9, 0.45)
    n = np.array([0.45, 0.40]) / math.hypot(0.45, 0.40)  # outward normal of the hypotenuse
    hyp = -(n[0] * (u - 0.5) + n[1] * (v - 0.9))
    paint(np.maximum(np.maximum(u - 0.9, v - 0.9), hyp), 0.60)
    paint(np.maximum(np.abs(u - 0.72), np.abs(v - 0.22)) - 0.08, 0.02)  # square
    return np.clip(img, 0.0, 1.0)


def _read_grey(path: Path) -> torch.Tensor:
    from ..files import _read_image

    if not path.exists():
        raise DataError(f"image file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataError(f"image file {str(path)!r} is not a file")
    return torch.from_numpy(_read_image(path, grayscale=True)[0].astype(np.float64))


def shift_images(image: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Circular horizontal shifts of ``image`` ``(H, W)``: ``(n, 1, H, W)``, same dtype.

    Column ``j`` of the result is column ``(j + s) mod W`` of ``image``; a non-integer ``s``
    mixes the shifts ⌊s⌋ and ⌊s⌋ + 1 linearly.
    """
    width = image.shape[-1]
    s = shifts.reshape(-1).to(torch.float64)
    base = torch.floor(s)
    frac = (s - base).to(image.dtype)[:, None, None]
    k = torch.remainder(base.long(), width)
    cols = torch.arange(width)
    idx0 = (cols[None, :] + k[:, None]) % width  # (n, W)
    idx1 = (idx0 + 1) % width
    a = image[:, idx0].permute(1, 0, 2)  # (n, H, W)
    b = image[:, idx1].permute(1, 0, 2)
    out = torch.where(frac == 0, a, (1 - frac) * a + frac * b)
    return out[:, None]


@dataclass(frozen=True)
class PixelShiftConfig(Config):
    image_path: str | None = field(
        None, doc="a grey (or colour, converted) image file; None: the built-in image"
    )
    size: tuple[int, int] | None = field(
        None,
        ge=1,
        doc="(height, width); None: 64×64 for the built-in image, the file's own size otherwise",
    )


@DATASETS.register("pixel_shift")
class PixelShift(InMemoryDataset):
    """Thesis §10.1: the W circular horizontal shifts of a grey image, factor ``shift`` 0..W−1."""

    Config = PixelShiftConfig

    def __init__(self, config: PixelShiftConfig | None = None):
        self.config = config or PixelShiftConfig()
        if self.config.image_path is None:
            height, width = self.config.size or BUILTIN_SIZE
            image = torch.from_numpy(builtin_image(height, width))
        else:
            image = _read_grey(Path(self.config.image_path).expanduser())
            if self.config.size is not None and tuple(image.shape) != self.config.size:
                image = torch.nn.functional.interpolate(
                    image[None, None],
                    size=self.config.size,
                    mode="bilinear",
                    antialias=True,
                    align_corners=False,
                )[0, 0].clamp(0.0, 1.0)
        self.image = image.float().contiguous()
        width = self.image.shape[1]
        space = FactorSpace([Factor("shift", 0.0, float(width), size=width, periodic=True)])
        self.factor_space = space
        shifts = space.factors[0].grid()[:, None]
        super().__init__(self.render(shifts), shifts, space)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """F(s) of §10.1 for shifts ``(n, 1)`` or ``(n,)`` (any finite values): ``(n, 1, H, W)``
        float32."""
        shifts = self.factor_space.check_values(factors)
        return shift_images(self.image, shifts[:, 0])

    def evaluation_set(self) -> Batch:
        """All W shifts, in order (the whole dataset, eq. 10.1)."""
        return Batch(self.x, self.factors)
