"""The heat kernel on the circle, circle and torus latents, the diffusion VAE (thesis ch. 7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from latentatlas.analysis.evaluation import evaluate
from latentatlas.errors import ConfigError
from latentatlas.latent import (
    CircleConfig,
    CircleLatent,
    HeatKernel,
    ThesisHeatKernel,
    TorusConfig,
    TorusLatent,
)
from latentatlas.latent.heat_kernel import (
    LOG_2PI,
    heat_kernel_kl_to_uniform,
    heat_kernel_log_density,
    wrap,
)
from latentatlas.registry import MODELS, build

TIMES = [1e-6, 1e-4, 4e-3, 0.05, 0.5, 1.0, 1.5, 10.0, 1e3]


def wrapped_normal(delta: np.ndarray, t: float, terms: int = 60) -> np.ndarray:
    """Reference: Σ_k N(δ + 2πk; 0, 2t) with many terms (float64)."""
    k = np.arange(-terms, terms + 1)
    d = delta[:, None] + 2 * np.pi * k
    return np.exp(-(d**2) / (4 * t)).sum(1) / np.sqrt(4 * np.pi * t)


def fourier(delta: np.ndarray, t: float, terms: int = 400, factor: float = 2.0) -> np.ndarray:
    """Reference: (1/2π)[1 + factor Σ_{m≥1} e^{−m²t} cos(mδ)] (factor 1: the printed eq. 7.5)."""
    m = np.arange(1, terms + 1)
    return (1 + factor * (np.exp(-(m**2) * t) * np.cos(m * delta[:, None])).sum(1)) / (2 * np.pi)


# -- the density -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("t", TIMES)
def test_density_integrates_to_one(t, dtype):
    n = 400_000  # the grid resolves even t = 1e-6 (standard deviation 1.4e-3)
    theta = torch.linspace(-math.pi, math.pi, n + 1, dtype=torch.float64)[:-1]
    log_p = HeatKernel(torch.tensor(2.0, dtype=dtype), torch.tensor(t, dtype=dtype)).log_prob(
        theta.to(dtype)
    )
    assert torch.isfinite(log_p).all()
    total = float(log_p.double().exp().sum()) * 2 * math.pi / n
    assert total == pytest.approx(1.0, abs=2e-6 if dtype == torch.float64 else 2e-5)


@pytest.mark.parametrize("t", [0.02, 0.3, 0.999, 1.0, 1.001, 3.0, 8.0])
def test_both_evaluations_agree_with_long_references(t):
    delta = np.linspace(-math.pi, math.pi, 101)[:-1]
    ours = heat_kernel_log_density(torch.tensor(delta), torch.tensor(t, dtype=torch.float64))
    np.testing.assert_allclose(ours.numpy(), np.log(wrapped_normal(delta, t)), rtol=0, atol=1e-11)
    # the series cancels to rounding noise where the density is tiny: compare densities there
    np.testing.assert_allclose(ours.exp().numpy(), fourier(delta, t), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stable_gradients_over_the_whole_range_of_times(dtype):
    t = torch.tensor(TIMES, dtype=dtype, requires_grad=True)
    mu = torch.full_like(t, 0.5).requires_grad_()
    kernel = HeatKernel(mu, t)
    value = torch.linspace(-3.0, 3.0, len(TIMES), dtype=dtype)
    (kernel.log_prob(value).sum() + kernel.kl_to_uniform().sum()).backward()
    assert torch.isfinite(t.grad).all() and torch.isfinite(mu.grad).all()
    z = kernel.rsample((4,))
    assert z.dtype == dtype and ((z >= -math.pi) & (z < math.pi)).all()


def test_gradient_matches_finite_differences():
    for t0 in (0.3, 2.0):
        t = torch.tensor([t0], dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda tt: heat_kernel_log_density(torch.tensor([0.4, -2.9], dtype=torch.float64), tt),
            (t,),
        )
        assert torch.autograd.gradcheck(heat_kernel_kl_to_uniform, (t,))


# -- sampling --------------------------------------------------------------------------------------
def cdf_of(log_density, mu: float, t: float):
    """Numerical CDF on [−π, π) of a density given as a function of angle differences."""
    grid = np.linspace(-math.pi, math.pi, 200_001)
    pdf = np.exp(log_density(torch.tensor(grid - mu), torch.tensor(t)).numpy())
    cdf = integrate.cumulative_trapezoid(pdf, grid, initial=0.0)
    return lambda x: np.interp(x, grid, cdf / cdf[-1])


@pytest.mark.parametrize(("mu", "t"), [(2.8, 0.3), (-1.0, 2.5), (0.0, 1e-3)])
def test_samples_follow_the_density(mu, t):
    kernel = HeatKernel(torch.tensor(mu, dtype=torch.float64), torch.tensor(t, dtype=torch.float64))
    samples = kernel.sample_with(20_000, torch.Generator().manual_seed(0)).numpy()
    cdf = cdf_of(heat_kernel_log_density, mu, t)
    assert stats.kstest(samples, cdf).pvalue > 1e-3


def test_the_printed_sampler_does_not_follow_the_true_density():
    # the goodness-of-fit test has power: eq. 7.10's standard deviation t instead of √(2t)
    mu, t = 0.0, 0.3
    thesis = ThesisHeatKernel(torch.tensor(mu, dtype=torch.float64), torch.tensor(t))
    samples = thesis.sample_with(20_000, torch.Generator().manual_seed(0)).numpy()
    assert stats.kstest(samples, cdf_of(heat_kernel_log_density, mu, t)).pvalue < 1e-6


# -- KL to the uniform prior -----------------------------------------------------------------------
@pytest.mark.parametrize("t", [1e-5, 3e-3, 5e-3, 0.05, 0.7, 4.0])
def test_kl_matches_scipy_quadrature(t):
    def integrand(theta: float) -> float:
        lp = float(
            heat_kernel_log_density(
                torch.tensor([theta], dtype=torch.float64), torch.tensor(t, dtype=torch.float64)
            )
        )
        return math.exp(lp) * (lp + LOG_2PI)

    sd = math.sqrt(2 * t)
    points = [p for p in (-3 * sd, 0.0, 3 * sd) if abs(p) < math.pi]
    reference, _ = integrate.quad(integrand, -math.pi, math.pi, points=points, limit=400)
    kl = float(heat_kernel_kl_to_uniform(torch.tensor(t, dtype=torch.float64)))
    assert kl == pytest.approx(reference, rel=1e-8, abs=1e-14)


def test_kl_limits():
    t = torch.tensor([1e-6, 1e-3], dtype=torch.float64)
    # small t: log 2π − H(N(0, 2t))
    gaussian = LOG_2PI - 0.5 * torch.log(4 * math.pi * math.e * t)
    assert torch.allclose(heat_kernel_kl_to_uniform(t), gaussian, rtol=1e-12)
    # large t: KL ≈ e^{−2t} (the first Fourier mode), and → 0
    for big in (5.0, 10.0):
        kl = float(heat_kernel_kl_to_uniform(torch.tensor(big, dtype=torch.float64)))
        assert kl == pytest.approx(math.exp(-2 * big), rel=1e-3)
    assert float(heat_kernel_kl_to_uniform(torch.tensor(1e3))) == 0.0
    kls = heat_kernel_kl_to_uniform(torch.logspace(-6, 3, 40, dtype=torch.float64))
    assert (kls.diff() <= 0).all() and (
        kls[:30].diff() < 0
    ).all()  # decreasing until e^{−2t} underflows


def test_monte_carlo_kl_agrees_with_quadrature():
    latent = TorusLatent(TorusConfig(dim=2, kl="monte_carlo", kl_samples=20_000))
    params = torch.tensor([[1.0, -1.0, 0.0, 1.0, 0.3, -2.0]], dtype=torch.float64)
    posterior = latent.posterior(params)
    mc = latent.kl_per_dim(posterior, torch.Generator().manual_seed(1))
    exact = posterior.base_dist.kl_to_uniform()
    assert torch.allclose(mc, exact, rtol=0.02)


# -- the thesis-compatible formulas ----------------------------------------------------------------
@pytest.mark.parametrize("t", [0.05, 0.5, 2.0])
def test_thesis_mode_reproduces_eq_7_5_and_7_10(t):
    mu = torch.tensor([0.7, -2.0], dtype=torch.float64)
    kernel = ThesisHeatKernel(mu, torch.tensor(t, dtype=torch.float64))
    delta = np.linspace(-math.pi, math.pi, 41)[:-1]
    printed = fourier(delta, t, factor=1.0)  # Σ_{m≥0} e^{−m²t} cos(m(θ−μ)) / 2π, as printed
    ours = kernel.log_prob(torch.tensor(delta)[:, None] + mu)[:, 0]
    np.testing.assert_allclose(ours.numpy(), np.log(printed), rtol=0, atol=1e-11)
    eps = torch.randn(5, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    drawn = kernel.sample_with(5, torch.Generator().manual_seed(3))
    assert torch.allclose(drawn, wrap(mu + t * eps))  # eq. 7.10: standard deviation t
    with pytest.raises(NotImplementedError, match="Monte Carlo"):
        kernel.kl_to_uniform()


# -- bad input -------------------------------------------------------------------------------------
def test_times_must_be_positive_and_angles_wrap():
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="expected t > 0"):
            HeatKernel(torch.zeros(2), torch.tensor([1.0, bad]))
    inside = HeatKernel(torch.tensor(-math.pi / 2), torch.tensor(0.2))
    outside = HeatKernel(torch.tensor(3 * math.pi / 2), torch.tensor(0.2))
    assert torch.allclose(outside.loc, inside.loc)
    assert torch.allclose(outside.log_prob(torch.tensor(1.0)), inside.log_prob(torch.tensor(1.0)))


def test_config_errors():
    with pytest.raises(ConfigError, match="no exact KL"):
        TorusConfig(thesis_compatible=True, kl="quadrature")
    with pytest.raises(ConfigError, match="dim"):
        CircleConfig(dim=2)
    with pytest.raises(ConfigError, match="heat-kernel latent space"):
        build(
            MODELS, {"name": "diffusion_vae", "input_shape": [5], "latent": {"name": "euclidean"}}
        )


# -- the latent spaces -----------------------------------------------------------------------------
def test_torus_geometry():
    latent = TorusLatent(TorusConfig(dim=3))
    z = torch.tensor([[0.1, -3.0, 2.5]])
    e = latent.embed(z)
    assert e.shape == (1, 6)
    assert torch.allclose(e.reshape(3, 2).norm(dim=1), torch.full((3,), 1 / math.sqrt(2)))
    assert torch.allclose(latent.chart(e), z)
    path = latent.geodesic(torch.tensor([3.0]), torch.tensor([-3.0]), 5)  # through π, not 0
    assert path.shape == (5, 1) and (path.abs() >= 3.0 - 1e-6).all()
    assert torch.allclose(path[-1], torch.tensor([-3.0]))
    turn = latent.traversal_values(8)
    step = torch.full((7,), math.pi / 4, dtype=turn.dtype)
    assert len(turn) == 8 and torch.allclose(wrap(turn.diff()), step)
    unit = CircleLatent()
    assert unit.dim == 1 and unit.embed_dim == 2 and unit.embed(torch.zeros(1)).tolist() == [1, 0]


def test_torus_posterior_prior_and_kl():
    latent = TorusLatent(TorusConfig(dim=2))
    params = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    posterior = latent.posterior(params)
    assert posterior.event_shape == (2,) and posterior.batch_shape == (4,)
    a, b, _ = params.split(2, dim=-1)
    assert torch.allclose(latent.mean(posterior), torch.atan2(b, a))
    assert (posterior.base_dist.time > 0).all()
    kl = latent.kl(posterior)
    assert torch.allclose(kl, posterior.base_dist.kl_to_uniform().sum(-1))
    g = lambda: torch.Generator().manual_seed(4)  # noqa: E731
    assert torch.equal(latent.sample(posterior, 3, g()), latent.sample(posterior, 3, g()))
    prior_draws = latent.sample(latent.prior(), 1000, g())
    assert prior_draws.shape == (1000, 2) and prior_draws.min() >= -math.pi
    assert prior_draws.max() < math.pi and abs(float(prior_draws.mean())) < 0.2


def test_bounded_time_stays_in_its_range_and_keeps_a_gradient():
    """time_param bounded: log t = log t_min + (log t_max − log t_min)·sigmoid(s), inside the
    range for any output (no underflow to t = 0 where exp + min_time 0 gives KL = inf), the
    range's middle at s = 0, and the KL's gradient in s is finite and pulls t up."""
    bounded = TorusLatent(TorusConfig(dim=1, time_param="bounded", min_time=1e-6, max_time=10.0))
    s = torch.tensor([-200.0, -30.0, 0.0, 30.0, 200.0])
    t = bounded.time_of(s)
    assert (t >= 1e-6 * (1 - 1e-5)).all() and (t <= 10.0 * (1 + 1e-5)).all()
    assert float(t[2]) == pytest.approx(math.sqrt(1e-6 * 10.0), rel=1e-5)  # the middle in log t
    assert torch.isfinite(heat_kernel_kl_to_uniform(t)).all()
    # exp without a floor underflows to t = 0 (KL = inf, NaN gradients); bounded stays finite
    raw = TorusLatent(TorusConfig(dim=1, time_param="exp", min_time=0.0))
    assert float(raw.time_of(torch.tensor([-200.0]))) == 0.0
    probe = torch.tensor([-200.0, -5.0, 0.0, 5.0], requires_grad=True)
    (grad,) = torch.autograd.grad(heat_kernel_kl_to_uniform(bounded.time_of(probe)).sum(), probe)
    assert torch.isfinite(grad).all() and (grad[1:] < 0).all()  # the KL pulls t up, never NaN
    for low, high in ((0.0, 1.0), (1.0, 1.0), (2.0, 1.0)):
        with pytest.raises(ConfigError, match="0 < min_time < max_time"):
            TorusConfig(time_param="bounded", min_time=low, max_time=high)


# -- the diffusion VAE -----------------------------------------------------------------------------
def test_diffusion_vae_trains_and_evaluates_on_the_sine_circle():
    from latentatlas.data.synthetic.sine_circle import SineCircle, SineCircleConfig
    from latentatlas.train import Trainer, TrainerConfig

    data = SineCircle(SineCircleConfig(n=500, dim=12, sigma=0.1, seed=0))
    torch.manual_seed(0)
    model = build(
        MODELS,
        {
            "name": "diffusion_vae",
            "input_shape": [12],
            "encoder": {"name": "mlp", "hidden": [16]},
            "decoder": {"name": "mlp", "hidden": [16]},
        },
    )
    x_vis = data.evaluation_set().x
    before = evaluate(model, x_vis, n_samples=20)
    Trainer(model, data, TrainerConfig(steps=300, batch_size=50, lr=1e-2, progress=False)).fit()
    after = evaluate(model, x_vis, n_samples=20)
    assert after.neg_elbo < before.neg_elbo - 50  # it learns
    assert after.kl > 0 and after.neg_elbo == pytest.approx(after.reconstruction + after.kl)
    codes = model.representation(x_vis)
    assert codes.shape == (100, 1) and ((codes >= -math.pi) & (codes < math.pi)).all()
    images = model.generate(5, torch.Generator().manual_seed(0))
    assert images.shape == (5, 12)


def test_kl_table_and_series_agree_with_quadrature():
    from latentatlas.latent.heat_kernel import TABLE_RANGE, kl_by_quadrature

    t = torch.logspace(
        math.log10(TABLE_RANGE[0]), math.log10(TABLE_RANGE[1]), 997, dtype=torch.float64
    )
    assert torch.allclose(heat_kernel_kl_to_uniform(t), kl_by_quadrature(t), rtol=1e-9, atol=0)
    # the series above the table: continuous at the seam, and q² + q⁴/2 − q⁶/3 at t = 3, where
    # the quadrature is still accurate, to the next order q⁸
    seam = torch.tensor([TABLE_RANGE[1] - 1e-9, TABLE_RANGE[1] + 1e-9], dtype=torch.float64)
    kl = heat_kernel_kl_to_uniform(seam)
    assert float(kl[0]) == pytest.approx(float(kl[1]), rel=1e-8)
    q = math.exp(-3.0)
    assert float(kl_by_quadrature(torch.tensor(3.0))) == pytest.approx(
        q**2 + q**4 / 2 - q**6 / 3, rel=2 * q**6
    )
