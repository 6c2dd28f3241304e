"""The heat kernel on S² and S³: it integrates to 1, equals its eigenfunction series summed in
high precision, solves the heat equation where the series is useless (small t), its KL to the
uniform distribution equals quadrature, its rejection sampler follows the density with the
bounds it relies on checked, and its implicit gradient equals the derivative of the closed
form E[μᵀz] = e^{−dt}."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from scipy import stats

from latentatlas.latent import heat_kernel_kl as kl
from latentatlas.latent import sphere_heat_kernel as shk
from latentatlas.latent.heat_kernel_posterior import SphereHeatKernel

F64 = torch.float64


def _t(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=F64)


def _unit(m: int, seed: int = 0) -> torch.Tensor:
    v = torch.randn(m, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return v / v.norm()


def _angle_density(theta: np.ndarray, t: float, d: int) -> np.ndarray:
    """The density of θ = ∠(μ, z): |S^{d−1}| sin^{d−1}θ p_t(θ)."""
    th = torch.as_tensor(theta, dtype=F64)
    log_p = shk.log_heat_kernel(th, _t(t), d)
    shell = math.exp(shk.log_volume(d - 1)) * torch.sin(th) ** (d - 1)
    return (shell * log_p.exp()).numpy()


def _series_mp(theta: float, t: float, d: int, terms: int) -> mpmath.mpf:
    """Eq. (1) summed in 120-digit arithmetic, where the cancellation of its terms is harmless."""
    with mpmath.workdps(120):
        nu = mpmath.mpf(d - 1) / 2
        x = mpmath.cos(mpmath.mpf(theta))
        previous, current = mpmath.mpf(1), 2 * nu * x
        total = 1 + (1 + nu) / nu * mpmath.exp(-(1 + 2 * nu) * t) * current
        for n in range(1, terms):
            previous, current = (
                current,
                (2 * x * (n + nu) * current - (n + 2 * nu - 1) * previous) / (n + 1),
            )
            total += (n + 1 + nu) / nu * mpmath.exp(-(n + 1) * (n + 1 + 2 * nu) * t) * current
        volume = 2 * mpmath.pi ** ((d + 1) / mpmath.mpf(2)) / mpmath.gamma((d + 1) / mpmath.mpf(2))
        return mpmath.log(total / volume)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("t", [1e-6, 1e-4, 1e-2, 0.2, 0.49, 0.5, 3.0])
def test_the_kernel_integrates_to_one(d, t):
    # Gauss-Legendre over [0, min(π, 14√t)] with 400 nodes (beyond, the mass is below e^{−49})
    end = min(math.pi, 14 * math.sqrt(t))
    x, w = np.polynomial.legendre.leggauss(400)
    theta = end * (x + 1) / 2
    total = float((end / 2 * w * _angle_density(theta, t, d)).sum())
    assert abs(total - 1) < 1e-10


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("t", [0.02, 0.1, 0.3, 0.49, 0.5, 2.0])
def test_the_kernel_equals_its_series_summed_in_high_precision(d, t):
    terms = int(math.sqrt(400 / t)) + 10  # e^{−l(l+1)t} below e^{−400} at the last term
    theta = [0.0, 1e-7, 0.05, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.14, math.pi]
    ours = shk.log_heat_kernel(torch.tensor(theta, dtype=F64), _t(t), d)
    for th, value in zip(theta, ours.tolist(), strict=True):
        assert abs(value - float(_series_mp(th, t, d, terms))) < 1e-8, (th, value)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("t", [1e-5, 1e-3, 0.05, 0.3])
def test_the_small_time_kernel_solves_the_heat_equation(d, t):
    # ∂t log p = ∂θθ log p + (∂θ log p)² + (d − 1) cot θ ∂θ log p for a zonal p; far in the tails
    # (p ~ e^{−θ²/4t}) where the series cannot be summed
    theta = torch.tensor([0.3, 1.0, 2.0, 3.0], dtype=F64) * min(1.0, 8 * math.sqrt(t))
    h, k = 1e-4 * math.sqrt(t), 1e-4 * t

    def log_p(th, time):
        return shk.log_heat_kernel(th, _t(time), d)

    d_t = (log_p(theta, t + k) - log_p(theta, t - k)) / (2 * k)
    first = (log_p(theta + h, t) - log_p(theta - h, t)) / (2 * h)
    second = (log_p(theta + h, t) - 2 * log_p(theta, t) + log_p(theta - h, t)) / h**2
    laplacian = second + first**2 + (d - 1) / torch.tan(theta) * first
    # residual relative to the size of the terms (1/t near the peak)
    assert ((d_t - laplacian).abs() * t).max() < 1e-4
    # a wrong time factor (e^{t/4} missing for d = 2, e^{t} for d = 3) would leave 1/4 or 1
    assert (d_t.abs() * t).max() > 1e-3


@pytest.mark.parametrize("d", [2, 3])
def test_the_kl_to_uniform_equals_quadrature_and_its_tail(d):
    t = torch.exp(torch.linspace(math.log(1.3e-6), math.log(3.9), 97, dtype=F64))
    x, w = np.polynomial.legendre.leggauss(600)
    reference = []
    for time in t.tolist():
        end = min(math.pi, 14 * math.sqrt(time))
        theta = end * (x + 1) / 2
        log_p = shk.log_heat_kernel(torch.as_tensor(theta), _t(time), d).numpy()
        shell = math.exp(shk.log_volume(d - 1)) * np.sin(theta) ** (d - 1)
        dens = np.exp(log_p)
        cross = end / 2 * w * shell * dens * (log_p + shk.log_volume(d))
        reference.append(cross.sum())
    reference = torch.tensor(reference, dtype=F64)
    ours = kl.kl_to_uniform(t, d)
    # the plain integral is itself exact to ~1e-12 absolute (its terms cancel at large t)
    assert ((ours - reference).abs() / reference.clamp_min(1e-3)).max() < 1e-8
    # large t: the KL of the series' first terms, ½Σ N_l e^{−2l(l+d−1)t} (l = 1, 2) and the
    # quartic term of l = 1, to a relative e^{−24}; the quadrature keeps its relative precision
    big = torch.tensor([4.5, 6.0, 10.0, 20.0], dtype=F64)
    leading = 0.5 * (
        (d + 1) * torch.exp(-2 * d * big) + d * (d + 3) / 2 * torch.exp(-4 * (d + 1) * big)
    ) + (d + 1) ** 3 / (4 * (d + 3)) * torch.exp(-4 * d * big)
    assert ((kl.kl_to_uniform(big, d) / leading) - 1).abs().max() < 1e-9
    # a sharp posterior: the KL grows as (d/2) log(1/t)
    assert float(kl.kl_to_uniform(_t(1e-6), d) - kl.kl_to_uniform(_t(1e-5), d)) == pytest.approx(
        d / 2 * math.log(10), rel=1e-3
    )


@pytest.mark.parametrize("d", [2, 3])
def test_the_rejection_bounds_hold_and_one_proposal_is_always_good(d):
    for t in np.exp(np.linspace(math.log(1e-6), math.log(5.0), 40)):
        time = _t(float(t))
        theta = torch.linspace(0, math.pi, 4001, dtype=F64)
        tangent = shk.tangent_proposal_accepts(time, d) >= shk.uniform_proposal_accepts(time, d)
        if tangent:  # the tangent normal's ratio peaks at θ = 0
            ratio = shk._log_tangent_ratio(theta[1:], time, d)
            assert float(ratio.max()) <= float(shk._log_tangent_ratio(theta[:1], time, d)) + 1e-12
        log_p = shk.log_heat_kernel(theta, time, d)  # the kernel decreases in θ
        assert float(log_p.max()) <= float(log_p[0]) + 1e-12
        best = max(shk.tangent_proposal_accepts(time, d), shk.uniform_proposal_accepts(time, d))
        assert float(best) > 0.5


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("t", [1e-5, 0.01, 0.4, 0.7, 1.2])
def test_samples_follow_the_density(d, t):
    loc = _unit(d + 1, seed=d)
    kernel = SphereHeatKernel(loc, _t(t))
    z = kernel.rsample_from(kernel.noise(6000, torch.Generator().manual_seed(1)))
    assert ((z.norm(dim=-1) - 1).abs() < 1e-12).all()
    theta = shk.geodesic_angle(loc, z).numpy()
    grid = np.linspace(0, min(math.pi, 14 * math.sqrt(t)), 40001)
    dens = _angle_density(grid, t, d)
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))])
    assert stats.kstest(theta, lambda a: np.interp(a, grid, cdf / cdf[-1])).pvalue > 1e-3
    # and the same samples against a kernel of 0.6 times the time fail
    dens = _angle_density(grid, 0.6 * t, d)
    wrong = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))])
    assert stats.kstest(theta, lambda a: np.interp(a, grid, wrong / wrong[-1])).pvalue < 1e-3
    # the direction around μ is uniform: the part of z orthogonal to μ averages to 0
    orthogonal = z - (z @ loc)[:, None] * loc
    assert float(orthogonal.mean(0).norm()) < 4 * float(orthogonal.norm(dim=-1).mean()) / 6000**0.5


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("t", [0.01, 0.3, 1.0])
def test_the_implicit_gradient_equals_the_closed_forms_derivative(d, t):
    # E[μᵀz] = e^{−dt} (μᵀz is the first eigenfunction), so dE/dt = −d e^{−dt}
    loc = _unit(d + 1, seed=3)
    time = _t(t).requires_grad_()
    kernel = SphereHeatKernel(loc, time)
    z = kernel.rsample_from(kernel.noise(20000, torch.Generator().manual_seed(2)))
    mean = (z @ loc).mean()
    (grad,) = torch.autograd.grad(mean, time)
    assert float(mean.detach()) == pytest.approx(math.exp(-d * t), abs=6e-3)
    assert float(grad) == pytest.approx(-d * math.exp(-d * t), rel=0.03)


def test_gradients_reach_the_location_and_bad_dimensions_are_refused():
    loc = _unit(3).requires_grad_()
    kernel = SphereHeatKernel(loc / loc.norm(), _t(0.1))
    z = kernel.rsample_from(kernel.noise(100, torch.Generator().manual_seed(0)))
    (grad,) = torch.autograd.grad((z @ torch.tensor([1.0, 0.0, 0.0], dtype=F64)).sum(), loc)
    assert torch.isfinite(grad).all() and float(grad.norm()) > 0
    with pytest.raises(ValueError, match="d in"):
        SphereHeatKernel(torch.tensor([1.0, 0.0]), _t(0.1))
    with pytest.raises(ValueError, match="d in"):
        shk.log_heat_kernel(torch.zeros(3), _t(0.1), 4)
