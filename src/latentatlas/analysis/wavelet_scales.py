"""Images split by spatial scale with a 2-D Haar wavelet transform (intrinsic paper, sec. 5.1.1).

"By zeroing wavelet coefficients at all but one scale and applying the inverse wavelet transform,
we generated five component images containing features at successive spatial scales, from coarse
to fine." The paper does not give the exact convention; ours (PyWavelets):

* a ``levels``-level Haar decomposition (``pywt.wavedec2``, periodization mode, over the last two
  axes) gives the approximation at level L and the details of levels L … 1;
* component 1 (coarsest) keeps only the approximation, component k + 1 only the details of level
  L − k + 1, so there are L + 1 components; the default L = 4 gives the paper's five scales (for
  64×64 images: 4×4 blocks, then details of 8-, 4-, 2- and 1-pixel size … down to the finest).

The Haar transform with periodization is orthonormal, so the components of an image sum back to
it exactly and are orthogonal: the per-scale squared errors add up to the total squared error
(both are tested).
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError, DataError

DEFAULT_LEVELS = 4
"""Decomposition levels: L + 1 = 5 component images, as in the paper's fig. 3c-d."""


def _check(images: torch.Tensor, levels: int) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim < 2:
        raise DataError("wavelet scales: expected images (..., H, W)")
    if levels < 1:
        raise ConfigError(f"wavelet levels: expected ≥ 1, got {levels}")
    h, w = images.shape[-2:]
    if h % 2**levels or w % 2**levels:
        raise ConfigError(
            f"wavelet levels: {levels} Haar levels need sides divisible by {2**levels}, "
            f"got {h}×{w}; use fewer levels"
        )
    if not torch.isfinite(images).all():
        raise DataError("wavelet scales: the images contain NaN or inf")


def haar_components(images: torch.Tensor, levels: int = DEFAULT_LEVELS) -> torch.Tensor:
    """The ``levels + 1`` scale components of ``images`` (..., H, W), coarse to fine, stacked on
    a new first axis; they sum to ``images``."""
    import pywt

    _check(images, levels)
    a = images.detach().cpu().double().numpy()
    coeffs = pywt.wavedec2(a, "haar", mode="periodization", level=levels, axes=(-2, -1))
    parts = []
    for k in range(len(coeffs)):
        kept = [
            c if i == k else (np.zeros_like(c) if i == 0 else tuple(np.zeros_like(d) for d in c))
            for i, c in enumerate(coeffs)
        ]
        parts.append(pywt.waverec2(kept, "haar", mode="periodization", axes=(-2, -1)))
    return torch.from_numpy(np.stack(parts)).to(images.dtype)


def scale_errors(a: torch.Tensor, b: torch.Tensor, levels: int = DEFAULT_LEVELS) -> torch.Tensor:
    """Mean squared difference of ``a`` and ``b`` in each scale component, coarse to fine
    (``levels + 1`` values; mean over every pixel of the batch). They sum to the plain MSE."""
    if a.shape != b.shape:
        raise DataError(f"wavelet scales: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    parts = haar_components(a - b, levels)
    return parts.pow(2).flatten(1).mean(1)
