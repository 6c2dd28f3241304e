"""Generator inversion by gradient descent (directions paper, eq. 1-3 and appendix A, C).

ẑ = argmin_{‖z‖ ≤ √d} L(I, G(z))   (eq. 2)

solved for a whole batch of targets at once: one Adam optimiser over a ``(n, d)`` tensor of codes,
the loss summed over targets. Adam's update is elementwise, so each target's code follows exactly
the path it would follow alone; the batch only shares the generator's forward and backward passes
(``benchmarks/inversion.py`` measures the gain). After every step each code is projected back onto
the ball ‖z‖ ≤ √d (the χ_d concentration argument of sec. 2.1).

Reconstruction errors L (each returns one value per target, ignoring pixels where the mask is 0):

* ``"gaussian"`` — the paper's eq. 3, ‖(I₁ − I₂) ∗ σ‖²: the error image convolved with a Gaussian
  of standard deviation σ pixels (default 3, as in the authors' code), squared, masked, divided by
  the mask's mean (mean over the defined pixels). Low-pass filtering the error lowers the weight
  of high frequencies (appendix A: with unknown high-frequency phases, plain MSE favours blur).
* ``"mse"`` — the masked mean squared error.
* ``"dssim"`` — structural dissimilarity (1 − SSIM)/2 (Wang et al. 2004; Gaussian window 11 px,
  σ 1.5, K₁ = 0.01, K₂ = 0.03, data range 1), averaged over the defined pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ...errors import DataError, UnknownNameError
from ..generators import check_image_batch, frozen

LOSSES = ("gaussian", "mse", "dssim")
"""Names of the reconstruction errors."""

LossFunction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


# -- filters ---------------------------------------------------------------------------------------
def gaussian_kernel1d(sigma: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """Normalised 1-D Gaussian of standard deviation ``sigma`` pixels, radius ⌈3σ⌉."""
    if not sigma > 0:
        raise DataError(f"Gaussian sigma must be positive, got {sigma}")
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).to(dtype=dtype, device=device)


def gaussian_matrix(
    n: int, sigma: float, padding: str = "zeros", dtype=torch.float32, device=None
) -> torch.Tensor:
    """The ``(n, n)`` matrix of a 1-D Gaussian blur of a length-n signal: banded Toeplitz for
    zero padding, circulant for circular padding (entries of the kernel that wrap around add)."""
    k = gaussian_kernel1d(sigma, torch.float64)
    r = (len(k) - 1) // 2
    i = torch.arange(n)
    offsets = i[None, :] - i[:, None]  # column − row
    if padding == "zeros":
        inside = offsets.abs() <= r
        m = torch.where(inside, k[(offsets + r).clamp(0, 2 * r)], torch.zeros((), dtype=k.dtype))
    else:
        m = torch.zeros(n, n, dtype=torch.float64)
        for j, weight in zip(range(-r, r + 1), k):
            m += weight * ((offsets - j) % n == 0)
    return m.to(dtype=dtype, device=device)


def gaussian_filter(images: torch.Tensor, sigma: float, padding: str = "zeros") -> torch.Tensor:
    """Separable Gaussian blur of ``(n, C, H, W)`` per channel, same size.

    ``padding``: ``"zeros"`` (the image is 0 outside) or ``"circular"`` (periodic images, where
    the blur equals a product in the Fourier domain, eq. 3). Computed as two matrix products,
    B_H · image · B_Wᵀ (faster on CPU than a depthwise convolution with a wide kernel, and exact).
    """
    if padding not in ("zeros", "circular"):
        raise DataError(f"padding: expected 'zeros' or 'circular', got {padding!r}")
    h, w = images.shape[-2:]
    rows = gaussian_matrix(h, sigma, padding, images.dtype, images.device)
    cols = gaussian_matrix(w, sigma, padding, images.dtype, images.device)
    return rows @ images @ cols.T


# -- reconstruction errors -------------------------------------------------------------------------
def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the defined pixels (and channels) of each image."""
    c = values.shape[1]
    return (values * mask).flatten(1).sum(1) / (mask.flatten(1).sum(1) * c)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean squared error per image."""
    return _masked_mean((pred - target) ** 2, mask)


def gaussian_filtered_mse(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    sigma: float = 3.0,
    padding: str = "zeros",
) -> torch.Tensor:
    """Eq. 3 per image: mean over defined pixels of ((I₁ − I₂)·m ∗ G_σ)².

    The error is masked before the blur (so undefined pixels never enter) and the blurred error is
    averaged over the defined pixels.
    """
    blurred = gaussian_filter((pred - target) * mask, sigma, padding)
    return _masked_mean(blurred**2, mask)


def ssim_map(
    x: torch.Tensor, y: torch.Tensor, window_sigma: float = 1.5, data_range: float = 1.0
) -> torch.Tensor:
    """Per-pixel SSIM (Wang et al. 2004) with a Gaussian window of σ = 1.5 px (radius 5, the
    usual 11-px window), zero padding at the border."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        return gaussian_filter(t, window_sigma)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def dssim(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Structural dissimilarity (1 − SSIM)/2 per image, averaged over the defined pixels (both
    images are zeroed where undefined first, so those pixels never enter a window)."""
    return (1.0 - _masked_mean(ssim_map(pred * mask, target * mask), mask)) / 2.0


def reconstruction_loss(name: str = "gaussian", sigma: float = 3.0) -> LossFunction:
    """The per-target reconstruction error ``(pred, target, mask) -> (n,)`` named ``name``."""
    if name == "gaussian":
        gaussian_kernel1d(sigma)  # refuse sigma <= 0 now, not at the first step
        return lambda p, t, m: gaussian_filtered_mse(p, t, m, sigma)
    if name == "mse":
        return masked_mse
    if name == "dssim":
        return dssim
    raise UnknownNameError("reconstruction loss", name, list(LOSSES))


# -- inversion -------------------------------------------------------------------------------------
def project_to_ball(z: torch.Tensor, radius: float) -> torch.Tensor:
    """Each row of ``z`` scaled onto the ball of ``radius`` if it lies outside (in place)."""
    with torch.no_grad():
        norms = z.norm(dim=-1, keepdim=True)
        z.mul_(torch.clamp(radius / norms.clamp_min(1e-12), max=1.0))
    return z


def latent_dim_of(generator: object, given: int | None = None) -> int:
    """The latent dimension: ``given``, else the generator's ``latent_dim`` attribute."""
    dim = given if given is not None else getattr(generator, "latent_dim", None)
    if dim is None:
        raise DataError(
            "the latent dimension is unknown: pass latent_dim= or initial codes (the generator has "
            "no latent_dim attribute)"
        )
    return int(dim)


@dataclass
class InversionResult:
    """Codes found for a batch of targets and the reconstruction error of each."""

    z: torch.Tensor
    errors: torch.Tensor
    loss: str
    steps: int
    history: torch.Tensor | None = field(default=None, repr=False)
    """(steps + 1, n): each target's error before every step and at the end (``record=True``)."""

    def to_dict(self) -> dict[str, Any]:
        e = self.errors
        return {
            "loss": self.loss,
            "steps": self.steps,
            "targets": len(e),
            "error_mean": float(e.mean()),
            "error_median": float(e.median()),
            "error_max": float(e.max()),
            "largest_norm": float(self.z.norm(dim=1).max()),
        }


def check_targets(targets: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
    """Validate a target batch and its masks; returns the masks (all ones when not given)."""
    if not isinstance(targets, torch.Tensor) or targets.ndim != 4:
        got = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise DataError(f"targets: expected an image batch (n, C, H, W), got {got}")
    if not torch.isfinite(targets).all():
        raise DataError("targets contain NaN or inf")
    if masks is None:
        return torch.ones_like(targets[:, :1])
    if masks.shape != (targets.shape[0], 1, *targets.shape[2:]):
        raise DataError(
            f"masks: expected shape {(targets.shape[0], 1, *targets.shape[2:])}, got "
            f"{tuple(masks.shape)}"
        )
    if (masks.flatten(1).sum(1) == 0).any():
        raise DataError("a mask has no defined pixel: nothing to compare with that target")
    return masks


def invert(
    generator: Callable[[torch.Tensor], torch.Tensor],
    targets: torch.Tensor,
    masks: torch.Tensor | None = None,
    *,
    init: torch.Tensor | None = None,
    latent_dim: int | None = None,
    loss: str = "gaussian",
    sigma: float = 3.0,
    steps: int = 50,
    lr: float = 0.01,
    constrain: bool = True,
    radius: float | None = None,
    seed: int = 0,
    record: bool = False,
) -> InversionResult:
    """Find codes z with G(z) ≈ targets (eq. 2), all targets in one batched optimisation.

    ``init``: starting codes ``(n, d)`` (warm start); by default prior samples N(0, I) drawn with
    ``seed``. ``constrain``: project onto ‖z‖ ≤ ``radius`` (default √d) after every Adam step
    (eq. 2); ``False`` solves the unconstrained eq. 1. A module generator is put in eval mode and
    its parameters stop requiring gradients for the call (both restored afterwards).
    """
    masks = check_targets(targets, masks)
    n = targets.shape[0]
    if init is None:
        d = latent_dim_of(generator, latent_dim)
        g = torch.Generator().manual_seed(seed)
        init = torch.randn(n, d, generator=g, dtype=targets.dtype).to(targets.device)
    if init.ndim != 2 or init.shape[0] != n:
        raise DataError(f"init: expected codes of shape ({n}, d), got {tuple(init.shape)}")
    if steps < 0:
        raise DataError(f"steps must be >= 0, got {steps}")
    d = init.shape[1]
    bound = math.sqrt(d) if radius is None else float(radius)
    loss_fn = reconstruction_loss(loss, sigma)
    z = init.detach().clone()
    if constrain:
        project_to_ball(z, bound)
    z.requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=lr)
    history = []
    with frozen(generator):
        first = check_image_batch(generator(z), n)
        if first.shape != targets.shape:
            raise DataError(
                f"the generator makes images of shape {tuple(first.shape[1:])}, the targets have "
                f"{tuple(targets.shape[1:])}"
            )
        for step in range(steps):
            images = first if step == 0 else generator(z)
            per_target = loss_fn(images, targets, masks)
            if record:
                history.append(per_target.detach())
            optimiser.zero_grad(set_to_none=True)
            per_target.sum().backward()
            optimiser.step()
            if constrain:
                project_to_ball(z, bound)
        with torch.no_grad():
            errors = loss_fn(generator(z), targets, masks)
    if not torch.isfinite(errors).all():
        raise DataError("inversion diverged: non-finite reconstruction errors (lower lr)")
    if record:
        history.append(errors)
    return InversionResult(
        z=z.detach(),
        errors=errors.detach(),
        loss=loss,
        steps=steps,
        history=torch.stack(history) if record else None,
    )
