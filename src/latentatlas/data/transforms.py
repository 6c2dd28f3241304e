"""Image transformations T_t with their validity masks (directions paper, sec. 2.1.2).

A transformation moves a batch of images ``(n, C, H, W)`` by an amount ``t`` per image and returns
the transformed images together with a mask ``(n, 1, H, W)`` that is 1 where the new image is
defined and 0 where it is not (the strip uncovered by a translation, the border left by a zoom out,
the corners of a rotation). Reconstruction errors ignore the undefined region
(``analysis.directions.inversion``).

Units of ``t`` (one convention for all, so that a direction's calibration g reads in them):

================ ======================================================================
translate-x      fraction of the image width; positive moves the content right
translate-y      fraction of the image height; positive moves the content down (rows grow
                 downwards, as in dSprites' ``pos_y``)
scale            log of the zoom factor about the image centre: factor ``exp(t)``; t > 0 zooms in
rotation         radians about the image centre; positive turns the content counter-clockwise
                 on screen
brightness       added to every pixel (images in [0, 1]); the result is clipped to [0, 1]
contrast         log of the contrast factor about each image's mean: ``m + (I − m)·exp(t)``,
                 clipped to [0, 1]
================ ======================================================================

Geometric transformations resample with bilinear interpolation (``grid_sample``, pixel centres
aligned as ``align_corners=False``); a pixel is defined when every input pixel it interpolates
from lies inside the image, so a translation by a whole number of pixels is an exact shift and its
mask is exactly the uncovered columns or rows. Brightness and contrast are defined everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import DataError, UnknownNameError

_INSIDE = 1.0 - 1e-5  # interpolated "ones" at least this large: all contributing pixels inside


def _check_images(images: torch.Tensor) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise DataError(f"expected an image batch of shape (n, C, H, W), got {got}")
    if not torch.isfinite(images).all():
        raise DataError("images to transform contain NaN or inf")
    return images


def _amounts(t: float | torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    amounts = torch.as_tensor(t, dtype=images.dtype, device=images.device)
    if amounts.ndim == 0:
        amounts = amounts.expand(images.shape[0])
    if amounts.shape != (images.shape[0],):
        raise DataError(
            f"transformation amounts: expected a number or a vector of {images.shape[0]} values, "
            f"got shape {tuple(amounts.shape)}"
        )
    if not torch.isfinite(amounts).all():
        raise DataError("transformation amounts contain NaN or inf")
    return amounts


def _warp(images: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample with the (n, 2, 3) output→input affine map in normalised coordinates."""
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    ones = torch.ones_like(images[:, :1])
    cover = F.grid_sample(ones, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out, (cover >= _INSIDE).to(images.dtype)


def _affine(n: int, like: torch.Tensor) -> torch.Tensor:
    theta = torch.zeros(n, 2, 3, dtype=like.dtype, device=like.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    return theta


def translate_x(images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    theta = _affine(len(images), images)
    theta[:, 0, 2] = -2.0 * t  # normalised coordinates span 2 per image width
    return _warp(images, theta)


def translate_y(images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    theta = _affine(len(images), images)
    theta[:, 1, 2] = -2.0 * t
    return _warp(images, theta)


def scale(images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    theta = _affine(len(images), images)
    inverse = torch.exp(-t)
    theta[:, 0, 0] = inverse
    theta[:, 1, 1] = inverse
    return _warp(images, theta)


def rotation(images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    h, w = images.shape[-2:]
    c, s = torch.cos(t), torch.sin(t)
    theta = _affine(len(images), images)
    # Output pixel (x, y) (y down) reads the input at the inverse rotation. In pixel units a
    # counter-clockwise turn on screen by t maps (x, y) to (x cos t + y sin t, −x sin t + y cos t);
    # its inverse in normalised coordinates needs the aspect ratio h / w on the off-diagonal.
    theta[:, 0, 0] = c
    theta[:, 0, 1] = -s * (h / w)
    theta[:, 1, 0] = s * (w / h)
    theta[:, 1, 1] = c
    return _warp(images, theta)


def brightness(images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out = (images + t[:, None, None, None]).clamp(0.0, 1.0)
    return out, torch.ones_like(images[:, :1])


def contrast(images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    out = (mean + (images - mean) * torch.exp(t)[:, None, None, None]).clamp(0.0, 1.0)
    return out, torch.ones_like(images[:, :1])


@dataclass(frozen=True)
class Transformation:
    """A named image transformation: ``apply(images, t) -> (transformed, mask)``."""

    name: str
    units: str
    linear_in_pixels: bool
    function: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

    def __call__(
        self, images: torch.Tensor, t: float | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Transformed images and their validity masks (1 = defined) for amounts ``t``.

        Refuses an amount that leaves an image with no defined pixel (nothing to compare).
        """
        images = _check_images(images)
        amounts = _amounts(t, images)
        out, mask = self.function(images, amounts)
        empty = mask.flatten(1).sum(1) == 0
        if empty.any():
            worst = float(amounts[empty][0])
            raise DataError(
                f"{self.name} by {worst:g} ({self.units}) leaves no defined pixel in the image; "
                "use smaller amounts"
            )
        return out, mask


TRANSFORMATIONS: dict[str, Transformation] = {
    t.name: t
    for t in (
        Transformation("translate-x", "fraction of the image width, + = right", False, translate_x),
        Transformation("translate-y", "fraction of the image height, + = down", False, translate_y),
        Transformation("scale", "log zoom factor, + = zoom in", False, scale),
        Transformation("rotation", "radians, + = counter-clockwise", False, rotation),
        Transformation("brightness", "intensity added, images in [0, 1]", True, brightness),
        Transformation("contrast", "log contrast factor about the mean", True, contrast),
    )
}
"""The built-in transformations by name."""


def get_transformation(name: str | Transformation) -> Transformation:
    """A built-in transformation by name (or the transformation itself)."""
    if isinstance(name, Transformation):
        return name
    if name not in TRANSFORMATIONS:
        raise UnknownNameError("transformation", name, list(TRANSFORMATIONS))
    return TRANSFORMATIONS[name]
