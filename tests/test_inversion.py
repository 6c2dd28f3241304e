"""Generator inversion (directions paper, eq. 1-3, appendix C)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage
from torch import nn

from latentatlas.analysis.directions.inversion import (
    dssim,
    gaussian_filter,
    gaussian_filtered_mse,
    gaussian_kernel1d,
    invert,
    masked_mse,
    project_to_ball,
    ssim_map,
)
from latentatlas.errors import DataError, UnknownNameError


class LinearImages(nn.Module):
    """G(z) = sigmoid(A z) reshaped to (1, 8, 8): smooth and identifiable."""

    latent_dim = 4

    def __init__(self, seed=0):
        super().__init__()
        self.layer = nn.Linear(4, 64, bias=False)
        with torch.no_grad():
            self.layer.weight.copy_(
                torch.randn(64, 4, generator=torch.Generator().manual_seed(seed))
            )

    def forward(self, z):
        return torch.sigmoid(self.layer(z)).reshape(-1, 1, 8, 8)


def test_gaussian_filtered_loss_equals_its_fourier_form():
    """Eq. 3: ‖(I₁ − I₂) ∗ σ‖² = ‖F{I₁ − I₂}·F{σ}‖² (Parseval, circular convolution)."""
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(2, 1, 24, 20, generator=g, dtype=torch.float64)
    e = (a - b)[None]
    sigma = 1.5
    spatial = float((gaussian_filter(e, sigma, padding="circular") ** 2).sum())
    k = gaussian_kernel1d(sigma, torch.float64)
    r = (len(k) - 1) // 2
    kernel = torch.zeros(24, 20, dtype=torch.float64)
    for i in range(-r, r + 1):
        for j in range(-r, r + 1):
            kernel[i % 24, j % 20] += k[i + r] * k[j + r]
    fourier = torch.fft.fft2(e[0, 0]) * torch.fft.fft2(kernel)
    assert spatial == pytest.approx(float((fourier.abs() ** 2).sum()) / (24 * 20), rel=1e-10)
    ones = torch.ones(1, 1, 24, 20, dtype=torch.float64)
    loss = gaussian_filtered_mse(a[None], b[None], ones, sigma, padding="circular")
    assert float(loss) == pytest.approx(spatial / (24 * 20), rel=1e-10)


def test_masked_losses_ignore_undefined_pixels():
    a = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    b = a.clone()
    b[:, :, :, :3] += 5.0  # garbage where the mask is 0
    mask = torch.ones(2, 1, 8, 8)
    mask[..., :3] = 0
    assert torch.allclose(masked_mse(a, b, mask), torch.zeros(2))
    assert torch.allclose(gaussian_filtered_mse(a, b, mask, 2.0), torch.zeros(2))
    assert torch.allclose(dssim(a, b, mask), torch.zeros(2), atol=1e-6)
    assert (masked_mse(a, b, torch.ones_like(mask)) > 1).all()


def test_ssim_matches_a_scipy_reference():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(1, 1, 20, 20, generator=g, dtype=torch.float64)
    y = (x + 0.2 * torch.rand(1, 1, 20, 20, generator=g, dtype=torch.float64)).clamp(0, 1)
    xs, ys = x[0, 0].numpy(), y[0, 0].numpy()

    def blur(v):
        return ndimage.gaussian_filter(v, 1.5, mode="constant", truncate=5 / 1.5)

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(xs), blur(ys)
    sxx, syy, sxy = blur(xs * xs) - mx**2, blur(ys * ys) - my**2, blur(xs * ys) - mx * my
    ref = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    np.testing.assert_allclose(ssim_map(x, y)[0, 0].numpy(), ref, rtol=1e-9, atol=1e-12)
    assert float(dssim(x, x, torch.ones(1, 1, 20, 20, dtype=torch.float64))) == pytest.approx(0)


def test_inversion_recovers_the_codes_of_generated_targets():
    gen = LinearImages()
    z_true = torch.randn(16, 4, generator=torch.Generator().manual_seed(3)) * 0.4
    with torch.no_grad():
        targets = gen(z_true)
    result = invert(gen, targets, loss="mse", steps=400, lr=0.05, seed=1)
    assert result.errors.shape == (16,)
    assert result.errors.max() < 1e-5
    assert torch.allclose(result.z, z_true, atol=0.02)
    assert all(p.requires_grad for p in gen.parameters())  # flags restored


def test_batched_inversion_equals_one_target_at_a_time():
    """Adam is elementwise and the generator is in eval mode: batching changes nothing."""
    gen = LinearImages()
    targets = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(4))
    init = torch.randn(5, 4, generator=torch.Generator().manual_seed(5))
    batched = invert(gen, targets, init=init, steps=30, lr=0.05)
    for i in range(5):
        alone = invert(gen, targets[i : i + 1], init=init[i : i + 1], steps=30, lr=0.05)
        assert torch.allclose(alone.z[0], batched.z[i], atol=1e-5)
        assert float(alone.errors[0]) == pytest.approx(float(batched.errors[i]), rel=1e-4)


def test_projection_keeps_codes_in_the_ball_and_the_unconstrained_problem_leaves_it():
    gen = LinearImages()
    with torch.no_grad():
        targets = gen(torch.full((6, 4), 3.0))  # ‖z‖ = 6 > √4 = 2
    constrained = invert(gen, targets, loss="mse", steps=200, lr=0.1, record=True)
    assert constrained.z.norm(dim=1).max() <= math.sqrt(4) + 1e-5
    free = invert(gen, targets, loss="mse", steps=200, lr=0.1, constrain=False)
    assert free.z.norm(dim=1).min() > 2.5
    assert constrained.history.shape == (201, 6)
    z = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    assert torch.allclose(project_to_ball(z, 1.0), torch.tensor([[0.6, 0.8], [0.3, 0.4]]))


def test_inversion_refuses_bad_generators_and_targets():
    gen = LinearImages()
    good = torch.rand(2, 1, 8, 8)
    with pytest.raises(DataError, match="image batch"):
        invert(lambda z: z, good, latent_dim=4)
    with pytest.raises(DataError, match="shape"):
        invert(gen, torch.rand(2, 1, 9, 9))
    bad = good.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        invert(gen, bad)
    with pytest.raises(DataError, match="no defined pixel"):
        invert(gen, good, torch.zeros(2, 1, 8, 8))
    with pytest.raises(DataError, match="latent dimension"):
        invert(lambda z: z, good)
    with pytest.raises(UnknownNameError, match="gaussian"):
        invert(gen, good, loss="lpips-ish")
    with pytest.raises(DataError, match="sigma"):
        invert(gen, good, sigma=0.0)
