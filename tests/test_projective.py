"""Projective spaces RPᵈ and the rotation group SO(3): their heat kernels integrate to 1 and
equal the character series of SO(3) summed in high precision, their KL to the uniform
distribution equals quadrature and its leading term, sampled rotations follow the kernel, and
the latent spaces embed ±z as one point, chart back, take the shorter path and train."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from scipy import stats

from latentatlas.errors import ConfigError
from latentatlas.latent import ProjectiveLatent, RotationConfig, RotationLatent
from latentatlas.latent import heat_kernel_kl as kl
from latentatlas.latent import sphere_heat_kernel as shk
from latentatlas.latent.heat_kernel_posterior import SphereHeatKernel
from latentatlas.rotations import quaternion_of, rotation_matrix

F64 = torch.float64


def _t(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=F64)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("t", [1e-5, 1e-2, 0.3, 0.5, 2.0])
def test_the_projective_kernel_integrates_to_one(d, t):
    end = min(math.pi / 2, 14 * math.sqrt(t))
    x, w = np.polynomial.legendre.leggauss(400)
    theta = torch.as_tensor(end * (x + 1) / 2)
    log_p = shk.log_heat_kernel(theta, _t(t), d, projective=True)
    shell = math.exp(shk.log_volume(d - 1)) * torch.sin(theta) ** (d - 1)
    assert abs(float((end / 2 * torch.as_tensor(w) * shell * log_p.exp()).sum()) - 1) < 1e-10


def _character_series(omega: float, t: float) -> float:
    """log of Σ (2l + 1) e^{−l(l+1)t} sin((2l+1)ω/2)/sin(ω/2) / (8π²), in 150 digits."""
    terms = int(math.sqrt(500 / t)) + 10
    with mpmath.workdps(150):
        w = mpmath.mpf(omega)
        total = mpmath.mpf(0)
        for l in range(terms):
            if w == 0:
                character = mpmath.mpf(2 * l + 1)
            else:
                character = mpmath.sin((2 * l + 1) * w / 2) / mpmath.sin(w / 2)
            total += (2 * l + 1) * mpmath.exp(-l * (l + 1) * mpmath.mpf(t)) * character
        return float(mpmath.log(total / (8 * mpmath.pi**2)))


@pytest.mark.parametrize("t", [0.02, 0.1, 0.5, 2.0, 4.0])
def test_the_rotation_kernel_equals_the_character_series(t):
    omegas = [0.0, 1e-6, 0.1, 0.5, 1.0, 2.0, 2.8, 3.1, math.pi]
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=F64)
    # a rotation by ω about a fixed axis: q = (cos(ω/2), sin(ω/2)·axis)
    axis = torch.tensor([0.48, 0.6, 0.64], dtype=F64)
    kernel = SphereHeatKernel(identity, _t(t), projective=True, radius=2.0)
    for omega in omegas:
        q = torch.cat([torch.tensor([math.cos(omega / 2)], dtype=F64), math.sin(omega / 2) * axis])
        for rotation in (q, -q):  # ±q is one rotation
            assert float(kernel.log_prob(rotation)) == pytest.approx(
                _character_series(omega, t), abs=1e-8
            ), omega


@pytest.mark.parametrize("d", [2, 3])
def test_the_projective_kl_equals_quadrature_and_its_leading_term(d):
    t = torch.exp(torch.linspace(math.log(1.3e-6), math.log(1.5), 41, dtype=F64))
    x, w = np.polynomial.legendre.leggauss(600)
    reference = []
    for time in t.tolist():
        end = min(math.pi / 2, 14 * math.sqrt(time))
        theta = torch.as_tensor(end * (x + 1) / 2)
        log_p = shk.log_heat_kernel(theta, _t(time), d, projective=True)
        shell = math.exp(shk.log_volume(d - 1)) * torch.sin(theta) ** (d - 1)
        cross = log_p.exp() * (log_p + shk.log_volume(d, projective=True))
        reference.append(float((end / 2 * torch.as_tensor(w) * shell * cross).sum()))
    reference = torch.tensor(reference, dtype=F64)
    ours = kl.kl_to_uniform(t, d, projective=True)
    assert ((ours - reference).abs() / reference.clamp_min(1e-3)).max() < 1e-8
    # large t: ½ N₂ e^{−2·2(d+1)t} with N₂ = d(d + 3)/2, to a relative e^{−2(d+1)t}
    big = torch.tensor([3.0, 5.0], dtype=F64)
    leading = 0.25 * d * (d + 3) * torch.exp(-4 * (d + 1) * big)
    assert ((kl.kl_to_uniform(big, d, projective=True) / leading) - 1).abs().max() < 1e-7
    # the projective kernel is closer to uniform than the sphere's at the same time
    assert (kl.kl_to_uniform(t, d, projective=True) < kl.kl_to_uniform(t, d)).all()


def _angle_cdf(t: float):
    """The CDF of the rotation angle ω of the SO(3) kernel: density 16π sin²(ω/2) p_t(ω)."""
    grid = np.linspace(0, math.pi, 40001)
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=F64)
    kernel = SphereHeatKernel(identity, _t(t), projective=True, radius=2.0)
    half = torch.as_tensor(grid / 2)
    q = torch.stack([torch.cos(half), torch.sin(half), 0 * half, 0 * half], -1)
    dens = (16 * math.pi * torch.sin(half) ** 2 * kernel.log_prob(q).exp()).numpy()
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))])
    return grid, cdf / cdf[-1], cdf[-1]


@pytest.mark.parametrize("t", [1e-3, 0.05, 0.5, 3.0])
def test_sampled_rotations_follow_the_kernel(t):
    latent = RotationLatent()
    q0 = torch.nn.functional.normalize(torch.tensor([0.3, -0.5, 0.2, 0.7], dtype=F64), dim=0)
    kernel = SphereHeatKernel(q0, _t(t), projective=True, radius=2.0)
    q = kernel.rsample_from(kernel.noise(6000, torch.Generator().manual_seed(0)))
    omega = latent.rotation_angle(q0.expand_as(q), q).numpy()
    grid, cdf, mass = _angle_cdf(t)
    assert mass == pytest.approx(1.0, abs=1e-6)
    assert stats.kstest(omega, lambda a: np.interp(a, grid, cdf)).pvalue > 1e-3
    grid, wrong, _ = _angle_cdf(0.6 * t)
    assert stats.kstest(omega, lambda a: np.interp(a, grid, wrong)).pvalue < 1e-3
    # the rotation axis of R₀ᵀR is uniform: its mean is near 0
    relative = rotation_matrix(q0).T @ rotation_matrix(q)
    axis = torch.stack(
        [
            relative[:, 2, 1] - relative[:, 1, 2],
            relative[:, 0, 2] - relative[:, 2, 0],
            relative[:, 1, 0] - relative[:, 0, 1],
        ],
        -1,
    )
    axis = torch.nn.functional.normalize(axis, dim=-1)
    assert float(axis.mean(0).norm()) < 0.05


def test_the_uniform_prior_on_rotations_has_the_haar_angle_law():
    latent = RotationLatent()
    q = latent.sample(latent.prior(), 20000, torch.Generator().manual_seed(0)).double()
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=F64)
    omega = latent.rotation_angle(identity.expand_as(q), q).numpy()
    # Haar measure: the angle has density (1 − cos ω)/π, CDF (ω − sin ω)/π
    assert stats.kstest(omega, lambda w: (w - np.sin(w)) / math.pi).pvalue > 1e-3
    assert stats.kstest(omega, lambda w: w / math.pi).pvalue < 1e-3


def test_quaternions_and_matrices_round_trip_and_the_embeddings_forget_the_sign():
    q = torch.nn.functional.normalize(torch.randn(500, 4, dtype=F64), dim=-1)
    r = rotation_matrix(q)
    assert torch.allclose(r @ r.transpose(-1, -2), torch.eye(3, dtype=F64).expand(500, 3, 3))
    assert torch.allclose(torch.linalg.det(r), torch.ones(500, dtype=F64))
    back = quaternion_of(r)
    assert torch.minimum((back - q).norm(dim=-1), (back + q).norm(dim=-1)).max() < 1e-12
    rotation, projective = RotationLatent(), ProjectiveLatent()
    torch.testing.assert_close(rotation.embed(q), rotation.embed(-q))
    z = torch.nn.functional.normalize(torch.randn(50, 3, dtype=F64), dim=-1)
    torch.testing.assert_close(projective.embed(z), projective.embed(-z))
    assert projective.embed(z).shape == (50, 6)
    torch.testing.assert_close(projective.chart(projective.embed(z)), projective._canonical(z))
    # the shorter path: to the nearer lift of the end
    a = torch.tensor([1.0, 0.0, 0.0], dtype=F64)
    b = torch.tensor([-0.8, 0.6, 0.0], dtype=F64)
    path = projective.geodesic(a, b, 9)
    torch.testing.assert_close(path[-1], -b)
    length = sum(float(shk.geodesic_angle(path[i], path[i + 1])) for i in range(len(path) - 1))
    assert length == pytest.approx(math.acos(0.8), rel=1e-9)


def test_config_errors():
    with pytest.raises(ConfigError, match="min_time"):
        RotationConfig(min_time=1e-6)  # below 4·1e-6, the unit sphere's smallest time
    with pytest.raises(ConfigError):
        RotationConfig(dim=2)


@pytest.mark.slow
@pytest.mark.parametrize("latent", [{"name": "rotation"}, {"name": "projective", "dim": 2}])
def test_a_diffusion_vae_trains_on_these_spaces(latent):
    from latentatlas.analysis.evaluation import evaluate
    from latentatlas.data.synthetic.sine_circle import SineCircle, SineCircleConfig
    from latentatlas.registry import MODELS, build
    from latentatlas.train import Trainer, TrainerConfig

    data = SineCircle(SineCircleConfig(n=300, dim=12, sigma=0.05, seed=0))
    torch.manual_seed(0)
    model = build(
        MODELS,
        {
            "name": "diffusion_vae",
            "input_shape": [12],
            "latent": latent,
            "encoder": {"name": "mlp", "hidden": [16]},
            "decoder": {"name": "mlp", "hidden": [16]},
        },
    )
    x = data.evaluation_set().x
    before = evaluate(model, x, n_samples=5)
    Trainer(model, data, TrainerConfig(steps=100, batch_size=50, lr=1e-2, progress=False)).fit()
    after = evaluate(model, x, n_samples=5)
    assert math.isfinite(after.neg_elbo) and after.neg_elbo < before.neg_elbo
    assert after.kl > 0
