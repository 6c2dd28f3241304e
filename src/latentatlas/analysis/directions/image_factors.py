"""Factors measured directly on images, in the units of the matching transformation.

The evaluation of the directions paper (sec. 3.1) needs the true value of a factor on generated
images: the barycentre of the intensity for position, the proportion of bright pixels for scale,
the mean intensity for brightness. Each measure here reads in the same units as the transformation
of ``data.transforms`` it checks, so that a calibrated direction's g(α) and the measurement can be
compared directly (up to an offset: g(0) = 0 while the measure has the generator's own mean).

================ ======================= ===================================================
transformation   measure                 value
================ ======================= ===================================================
translate-x      ``barycentre-x``        barycentre of the intensity above the image's median
                                         (its background), fraction of the width from the
                                         image centre, in [−0.5, 0.5]
translate-y      ``barycentre-y``        the same along the height (down positive)
scale            ``log-size``            ½·log of the fraction of pixels above 0.5 (a zoom by
                                         exp(t) adds t)
rotation         ``orientation``         principal-axis angle from the second moments above
                                         the median, radians in (−π/2, π/2],
                                         counter-clockwise positive
brightness       ``mean-intensity``      mean pixel value
contrast         ``log-contrast``        log of the standard deviation of the pixels
================ ======================= ===================================================

Colour images are measured on their channel mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ...errors import DataError, UnknownNameError
from ..organisation import moment_descriptors

AREA_THRESHOLD = 0.5
"""Intensity above which a pixel counts as part of the object (binary dSprites-like images)."""


def _grey(images: torch.Tensor) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise DataError(f"expected an image batch (n, C, H, W), got {got}")
    return images.double().mean(1, keepdim=True)  # keeps gradients: measures differentiate


def _foreground(grey: torch.Tensor) -> torch.Tensor:
    """The intensity above each image's median: a flat background (most of the pixels) weighs
    nothing, so it does not pull positions towards the centre; black backgrounds are unchanged."""
    median = grey.flatten(1).median(1).values
    return (grey - median[:, None, None, None]).clamp_min(0)


def barycentre_x(images: torch.Tensor) -> torch.Tensor:
    grey = _foreground(_grey(images))
    return (moment_descriptors(grey)["x"] + 0.5) / grey.shape[-1] - 0.5


def barycentre_y(images: torch.Tensor) -> torch.Tensor:
    grey = _foreground(_grey(images))
    return (moment_descriptors(grey)["y"] + 0.5) / grey.shape[-2] - 0.5


def area(images: torch.Tensor, threshold: float = AREA_THRESHOLD) -> torch.Tensor:
    """Fraction of the pixels above ``threshold`` (the paper's proportion of salient pixels)."""
    return (_grey(images) > threshold).double().flatten(1).mean(1)


def log_size(images: torch.Tensor) -> torch.Tensor:
    grey = _grey(images)
    floor = 1.0 / grey[0].numel()  # one pixel: an empty image would give −inf
    return 0.5 * torch.log(area(images).clamp_min(floor))


def orientation(images: torch.Tensor) -> torch.Tensor:
    m = moment_descriptors(_foreground(_grey(images)))
    # atan2 of the anisotropy gives 2θ with y pointing down; negate for counter-clockwise
    return -0.5 * torch.atan2(m["orientation_sin"], m["orientation_cos"])


def mean_intensity(images: torch.Tensor) -> torch.Tensor:
    return _grey(images).flatten(1).mean(1)


def log_contrast(images: torch.Tensor) -> torch.Tensor:
    return torch.log(_grey(images).flatten(1).std(1).clamp_min(1e-12))


MEASURES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "barycentre-x": barycentre_x,
    "barycentre-y": barycentre_y,
    "log-size": log_size,
    "orientation": orientation,
    "mean-intensity": mean_intensity,
    "log-contrast": log_contrast,
}
"""Image measures by name: images ``(n, C, H, W)`` → values ``(n,)`` (float64)."""

MEASURE_OF = {
    "translate-x": "barycentre-x",
    "translate-y": "barycentre-y",
    "scale": "log-size",
    "rotation": "orientation",
    "brightness": "mean-intensity",
    "contrast": "log-contrast",
}
"""The measure that reads each built-in transformation's amount."""


PERIOD_OF = {"orientation": math.pi}
"""Measures read modulo a period (an axis angle): differences of them wrap."""


def get_measure(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if name not in MEASURES:
        raise UnknownNameError("image measure", name, list(MEASURES))
    return MEASURES[name]
