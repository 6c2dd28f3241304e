"""The von Mises-Fisher distribution: its Bessel function equals SciPy's at every concentration,
its density integrates to 1 and its KL to the uniform distribution equals numerical
integration, Wood's sampler follows the density, the implicit gradient equals the derivative of
the closed-form mean, and nothing overflows at very high concentrations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special, stats

from latentatlas.latent import von_mises_fisher as vmf

F64 = torch.float64


def _unit(m: int, seed: int = 0) -> torch.Tensor:
    v = torch.randn(m, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return v / v.norm()


def _angle_density(q: vmf.VonMisesFisher, kappa: float):
    """The density of θ = ∠(μ, z) on [0, π]: C e^{κ cos θ} |S^{m−2}| sin^{m−2}θ (smooth for every
    m, unlike the density of cos θ, which is singular at ±1 for m = 2)."""
    m = q.m
    log_c = float(q.log_normalizer())
    log_sub = vmf.log_sphere_area(m - 1) if m > 2 else math.log(2.0)

    def density(theta: float) -> float:
        sine = math.sin(theta)
        if m > 2 and sine <= 0:
            return 0.0
        return math.exp(log_c + kappa * math.cos(theta) + log_sub + (m - 2) * math.log(sine or 1.0))

    return density


@pytest.mark.parametrize("nu", [0.0, 0.5, 1.0, 1.5, 4.0, 24.0])
def test_the_bessel_function_equals_scipys(nu):
    kappa = torch.tensor([1e-6, 1e-3, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 1e3, 1e5, 1e7], dtype=F64)
    ours = vmf.log_bessel_iv(nu, kappa).numpy()
    reference = np.log(special.ive(nu, kappa.numpy())) + kappa.numpy()
    assert np.abs(ours - reference).max() / np.abs(reference).clip(1).max() < 1e-13
    assert (np.abs(ours - reference) / np.abs(reference).clip(1) < 1e-13).all()


@pytest.mark.parametrize("m", [2, 3, 5, 10])
@pytest.mark.parametrize("kappa", [1e-3, 0.5, 10.0, 1000.0])
def test_the_density_integrates_to_one_and_the_kl_equals_numerical_integration(m, kappa):
    q = vmf.VonMisesFisher(_unit(m), torch.tensor(kappa, dtype=F64))
    density = _angle_density(q, kappa)
    peak = [min(math.pi / 2, 10 / math.sqrt(kappa))]

    def quad(f) -> float:
        return integrate.quad(f, 0, math.pi, points=peak, limit=400, epsabs=1e-14)[0]

    assert quad(density) == pytest.approx(1.0, abs=1e-10)
    log_c, log_area = float(q.log_normalizer()), vmf.log_sphere_area(m)
    kl = quad(lambda th: density(th) * (log_c + kappa * math.cos(th) + log_area))
    assert float(q.kl_to_uniform()) == pytest.approx(kl, rel=1e-8, abs=1e-11)
    # the mean cosine is the Bessel ratio; for m = 3 it is coth κ − 1/κ
    mean = quad(lambda th: math.cos(th) * density(th))
    assert float(q.mean_cosine()) == pytest.approx(mean, rel=1e-8, abs=1e-12)
    if m == 3 and kappa < 700:
        assert float(q.mean_cosine()) == pytest.approx(1 / math.tanh(kappa) - 1 / kappa, rel=1e-9)


@pytest.mark.parametrize("m", [2, 3, 5, 10, 50, 200])
def test_each_wood_proposal_is_accepted_often_enough(m):
    for kappa in [1e-3, 0.5, 2.0, 10.0, 100.0, 1e4, 1e7]:
        q = vmf.VonMisesFisher(_unit(m), torch.tensor(kappa, dtype=F64))
        noise = q.noise(2000, torch.Generator().manual_seed(0))[..., m:]
        _, accept = vmf.wood_proposals(torch.full((2000,), kappa, dtype=F64), noise, m)
        assert float(accept.double().mean()) > 0.62, (m, kappa)


@pytest.mark.parametrize("m", [2, 3, 10])
@pytest.mark.parametrize("kappa", [0.05, 1.0, 10.0, 1e3])
def test_samples_follow_the_density(m, kappa):
    loc = _unit(m, seed=m)
    q = vmf.VonMisesFisher(loc, torch.tensor(kappa, dtype=F64))
    z = q.rsample_from(q.noise(3000, torch.Generator().manual_seed(1)))
    assert ((z.norm(dim=-1) - 1).abs() < 1e-12).all()
    theta = (2 * torch.atan2((z - loc).norm(dim=-1), (z + loc).norm(dim=-1))).numpy()
    grid = np.linspace(0, min(math.pi, 30 / math.sqrt(kappa)), 20001)

    def cdf_of(density) -> np.ndarray:
        values = np.array([density(x) for x in grid])
        cdf = np.concatenate([[0.0], np.cumsum((values[1:] + values[:-1]) / 2 * np.diff(grid))])
        return cdf / cdf[-1]

    cdf = cdf_of(_angle_density(q, kappa))
    assert stats.kstest(theta, lambda a: np.interp(a, grid, cdf)).pvalue > 1e-3
    # against twice the concentration, the same samples fail
    other = vmf.VonMisesFisher(loc, torch.tensor(2 * kappa + 1, dtype=F64))
    wrong = cdf_of(_angle_density(other, 2 * kappa + 1))
    assert stats.kstest(theta, lambda a: np.interp(a, grid, wrong)).pvalue < 1e-3


@pytest.mark.parametrize("m", [3, 5])
@pytest.mark.parametrize("kappa", [0.5, 5.0, 200.0])
def test_the_implicit_gradient_equals_the_derivative_of_the_mean(m, kappa):
    loc = _unit(m, seed=3)
    k = torch.tensor(kappa, dtype=F64, requires_grad=True)
    q = vmf.VonMisesFisher(loc, k)
    z = q.rsample_from(q.noise(20000, torch.Generator().manual_seed(2)))
    (grad,) = torch.autograd.grad((z @ loc).mean(), k)
    # dA/dκ = 1 − A² − (m − 1)A/κ (the Bessel ratio's Riccati equation)
    a = float(vmf.VonMisesFisher(loc, torch.tensor(kappa, dtype=F64)).mean_cosine())
    exact = 1 - a * a - (m - 1) * a / kappa
    assert float(grad) == pytest.approx(exact, rel=0.05)
    # and the autograd derivative of A itself (through the Bessel quadrature) is the same
    k2 = torch.tensor(kappa, dtype=F64, requires_grad=True)
    (slope,) = torch.autograd.grad(vmf.VonMisesFisher(loc, k2).mean_cosine(), k2)
    assert float(slope) == pytest.approx(exact, rel=1e-7)


def test_very_high_concentrations_stay_finite_with_their_gradients():
    loc = _unit(3).float()
    for kappa in [1e4, 1e6, 1e8]:
        k = torch.tensor(kappa, requires_grad=True)
        q = vmf.VonMisesFisher(loc, k)
        z = q.rsample_from(q.noise(64, torch.Generator().manual_seed(0)))
        loss = (z @ loc).sum() + q.kl_to_uniform() + q.log_prob(z).sum()
        (grad,) = torch.autograd.grad(loss, k)
        assert torch.isfinite(z).all() and torch.isfinite(loss) and torch.isfinite(grad)
        # the KL grows as ((m − 1)/2) log κ
        expected = math.log(kappa) + math.log(2) - 1  # log |S²| − H of a normal of variance 1/κ
        assert float(q.kl_to_uniform().detach()) == pytest.approx(expected, rel=1e-3)


def test_bad_dimensions_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        vmf.VonMisesFisher(torch.tensor([1.0]), torch.tensor(1.0))
