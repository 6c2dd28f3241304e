"""The Power Spherical distribution (De Cao and Aziz 2020): its density integrates to 1, its KL to
the uniform distribution equals numerical integration, its sampler follows its density, its
reparameterised gradients equal the derivative of the closed-form mean, and nothing overflows
at very high concentrations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from latentatlas.latent.power_spherical import PowerSpherical, noise_size


def _unit(m: int, seed: int = 0) -> torch.Tensor:
    v = torch.randn(m, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return v / v.norm()


def _marginal(p: PowerSpherical, kappa: float, m: int):
    """The density of t = μᵀz on [−1, 1]: p(t) |S^{m−2}| (1 − t²)^{(m−3)/2}."""
    log_n = float(p.log_normalizer())
    log_sub_area = math.log(2) + (m - 1) / 2 * math.log(math.pi) - math.lgamma((m - 1) / 2)

    def density(t: float) -> float:
        if not -1 < t < 1:
            return 0.0
        log = kappa * math.log1p(t) - log_n + log_sub_area + (m - 3) / 2 * math.log(1 - t * t)
        return math.exp(log)

    return density, log_n


@pytest.mark.parametrize("m", [2, 3, 5, 10])
@pytest.mark.parametrize("kappa", [0.0, 0.5, 10.0, 1000.0])
def test_the_density_integrates_to_one_and_the_kl_equals_numerical_integration(m, kappa):
    p = PowerSpherical(_unit(m), torch.tensor(kappa, dtype=torch.float64))
    density, log_n = _marginal(p, kappa, m)
    log_area = math.log(2) + m / 2 * math.log(math.pi) - math.lgamma(m / 2)
    near_one = [1 - 1e-3] if kappa > 100 else None  # the mass piles up next to t = 1
    total, _ = integrate.quad(density, -1, 1, limit=500, points=near_one)
    kl, _ = integrate.quad(
        lambda t: density(t) * (kappa * math.log1p(t) - log_n + log_area) if -1 < t < 1 else 0.0,
        -1,
        1,
        limit=500,
        points=near_one,
    )
    assert total == pytest.approx(1.0, abs=1e-10)
    assert float(p.kl_to_uniform()) == pytest.approx(kl, abs=1e-9)


@pytest.mark.parametrize("m", [2, 3, 10])
@pytest.mark.parametrize("kappa", [0.3, 5.0, 300.0, 1e5])
def test_samples_follow_the_density(m, kappa):
    """t = μᵀz is 2u − 1 with u ~ Beta((m−1)/2 + κ, (m−1)/2) (a Kolmogorov-Smirnov test),
    every sample is a unit vector, and their mean is the closed form μκ/(κ + m − 1)."""
    loc = _unit(m, seed=int(kappa) + m)
    p = PowerSpherical(loc, torch.tensor(kappa, dtype=torch.float64))
    z = p.rsample_from(p.noise(20_000, torch.Generator().manual_seed(m)))
    assert z.shape == (20_000, m) and torch.isfinite(z).all()
    assert (z.norm(dim=-1) - 1).abs().max() < 1e-12
    u = ((z @ loc).numpy() + 1) / 2
    assert stats.kstest(u, stats.beta((m - 1) / 2 + kappa, (m - 1) / 2).cdf).pvalue > 0.01
    assert (z.mean(0) - p.mean).norm() < 4 / math.sqrt(20_000)
    # the test can fail: samples of another concentration are refused
    other = stats.beta((m - 1) / 2 + 1.5 * kappa + 1, (m - 1) / 2).cdf
    assert stats.kstest(u, other).pvalue < 1e-6


@pytest.mark.parametrize(("m", "kappa"), [(3, 0.5), (3, 5.0), (10, 50.0)])
def test_the_reparameterised_gradient_equals_the_closed_forms_derivative(m, kappa):
    """d/dκ E[μᵀz] = (m − 1)/(κ + m − 1)², through the Gamma variables' acceptance step."""
    k = torch.tensor(kappa, dtype=torch.float64, requires_grad=True)
    loc = torch.zeros(m, dtype=torch.float64)
    loc[0] = 1.0
    p = PowerSpherical(loc, k)
    z = p.rsample_from(p.noise(100_000, torch.Generator().manual_seed(1)))
    z[:, 0].mean().backward()
    exact = (m - 1) / (kappa + m - 1) ** 2
    assert float(k.grad) == pytest.approx(exact, rel=0.03)


def test_very_high_concentrations_stay_finite_with_their_gradients():
    k = torch.tensor([1e3, 1e6, 1e8], requires_grad=True)  # float32, as a model trains
    loc = torch.nn.functional.normalize(torch.randn(3, 4, requires_grad=True), dim=-1)
    p = PowerSpherical(loc, k)
    z = p.rsample_from(p.noise(64))
    loss = (z.sum() + p.log_prob(z).sum() + p.kl_to_uniform().sum()) / 1e9
    loss.backward()
    assert torch.isfinite(z).all() and torch.isfinite(p.log_prob(z)).all()
    assert torch.isfinite(k.grad).all()
    # near μ: 1 − μᵀz has mean 2(m − 1)/(2κ + m − 1) = 3e-3 at κ = 1e3
    assert (torch.einsum("nbm,bm->nb", z, loc.detach()) > 0.95).all()
    kl = p.kl_to_uniform().detach()  # (m − 1)/2 log κ + const: 1.5 log 100 between the last two
    assert float(kl[2] - kl[1]) == pytest.approx(1.5 * math.log(100), abs=1e-3)


def test_noise_layout_and_bad_dimensions():
    p = PowerSpherical(_unit(4), torch.tensor(2.0, dtype=torch.float64))
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a, b = p.noise(5, g1), p.noise(5, g2)
    assert a.shape == (5, noise_size(4)) and torch.equal(a, b)  # a caller's generator drives it
    assert torch.equal(p.rsample_from(a), p.rsample_from(b))
    with pytest.raises(ValueError, match="at least 2"):
        PowerSpherical(torch.ones(1), torch.tensor(1.0))
    assert np.isclose(float(p.entropy() + p.kl_to_uniform()), math.log(2 * math.pi**2))
