"""Slides, disks and size: the shape datasets, the disk autoencoder, homogeneity, Airy's profile."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from latentatlas.analysis.disk_profile import (
    airy_first_zero,
    airy_k,
    airy_profile,
    check_homogeneity,
    compare_profiles,
    optimal_profile,
    profile_distance,
    radial_profile,
    unit_profile,
)
from latentatlas.data.synthetic.shapes import (
    Disks,
    DisksConfig,
    Ellipses,
    EllipsesConfig,
    ellipse_descriptors,
    render_ellipses,
)
from latentatlas.errors import ConfigError, DataError
from latentatlas.models.geometry import disk_autoencoder_spec
from latentatlas.registry import MODELS, build


# -- datasets ------------------------------------------------------------------------------------
def test_disk_images_have_the_area_of_their_disk():
    data = Disks(DisksConfig(n=40, size=32, blur=0.0, seed=1))
    r = data.factors[:, 0]
    mass = data.x.sum((1, 2, 3)).double()
    # anti-aliased coverage: the mass is the area up to the pixel-edge error of the boundary
    assert torch.allclose(mass, math.pi * r**2, atol=0.02 * 2 * math.pi * 15.5 + 0.5)
    assert data.x.shape == (40, 1, 32, 32)
    assert 0 <= float(data.x.min()) and float(data.x.max()) <= 1


def test_blur_keeps_the_mass_of_a_disk_inside_the_image():
    centre = torch.tensor([[15.5, 15.5]])
    axes = torch.tensor([[8.0, 8.0]])
    sharp = render_ellipses(centre, axes, torch.zeros(1), 32, blur=0.0)
    soft = render_ellipses(centre, axes, torch.zeros(1), 32, blur=1.0)
    assert float(soft.sum()) == pytest.approx(float(sharp.sum()), rel=1e-5)
    assert float((soft - sharp).abs().max()) > 0.1  # the edge is softer


def test_disks_radius_range_and_centring():
    data = Disks(DisksConfig(n=200, size=64, blur=0.0))
    assert data.config.radius_max == 31.5  # size/2 − 0.5 by default
    assert float(data.factors[:, 0].max()) <= 31.5
    img = data.x[0, 0]
    assert torch.allclose(img, img.flip(0)) and torch.allclose(img, img.flip(1))  # centred


def test_off_centre_disks_carry_position_factors():
    data = Disks(DisksConfig(n=20, size=63, radius_max=8, position_range=10, blur=0.0, seed=3))
    assert data.factor_space.names == ["radius", "x", "y"]
    x, y = data.factors[:, 1], data.factors[:, 2]
    assert float((x - 31).abs().max()) <= 10 and float((y - 31).abs().max()) <= 10
    ii, jj = torch.meshgrid(torch.arange(63.0), torch.arange(63.0), indexing="ij")
    w = data.x[:, 0].double()
    cx = (w * jj).sum((1, 2)) / w.sum((1, 2))
    cy = (w * ii).sum((1, 2)) / w.sum((1, 2))
    big = data.factors[:, 0] > 2
    assert torch.allclose(cx[big], x[big], atol=0.05) and torch.allclose(cy[big], y[big], atol=0.05)


def test_ellipse_dataset_factors_and_orientation():
    data = Ellipses(EllipsesConfig(n=50, size=32, axis_max=15, seed=2))
    f = data.factors
    assert data.factor_space.names == ["axis_a", "axis_b", "angle"]
    assert torch.equal(f[:, :2], f[:, :2].round())  # integer semi-axes
    assert float(f[:, 2].min()) >= 0 and float(f[:, 2].max()) <= 90
    # the same ellipse drawn as (a, b, θ) and (b, a, θ + 90°): same image, same descriptors
    rows = torch.tensor([[10.0, 4.0, 30.0], [4.0, 10.0, 120.0]])
    img = render_ellipses(torch.full((2, 2), 15.5), rows[:, :2], torch.deg2rad(rows[:, 2]), 32)
    assert torch.allclose(img[0], img[1], atol=1e-6)
    d = ellipse_descriptors(rows)
    assert d["orientation_cos"][0] == pytest.approx(float(d["orientation_cos"][1]))
    assert d["orientation_sin"][0] == pytest.approx(float(d["orientation_sin"][1]))
    assert d["area"][0] == pytest.approx(math.pi * 40)


def test_shape_configs_refuse_impossible_ranges():
    with pytest.raises(ConfigError, match="radius_max"):
        DisksConfig(radius_min=10, radius_max=5)
    with pytest.raises(ConfigError, match="position_range"):
        DisksConfig(size=32, position_range=16)
    with pytest.raises(ConfigError, match="axis_max"):
        EllipsesConfig(size=32, axis_max=20)
    with pytest.raises(DataError, match="semi-axes"):
        render_ellipses(torch.zeros(1, 2), torch.tensor([[-1.0, 2.0]]), torch.zeros(1), 8)


# -- the disk autoencoder and homogeneity ---------------------------------------------------------
def _disk_ae(size=16, bias=True, seed=0):
    torch.manual_seed(seed)
    spec = disk_autoencoder_spec(size, channels=4, bias=bias)
    return build(MODELS, {**spec, "input_shape": [1, size, size]}, "model")


def test_disk_autoencoder_reduces_the_image_to_one_number_and_back():
    model = _disk_ae(32)
    x = torch.rand(3, 1, 32, 32)
    assert model.representation(x).shape == (3, 1)
    assert model.reconstruct(x).shape == (3, 1, 32, 32)
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5 and all(c.kernel_size == (3, 3) and c.stride == (2, 2) for c in convs)


def test_disk_autoencoder_refuses_a_size_the_stack_cannot_reduce():
    with pytest.raises(ConfigError, match="power of two"):
        disk_autoencoder_spec(63)
    with pytest.raises(ConfigError, match="slope"):
        disk_autoencoder_spec(64, slope=-0.1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bias_free_decoder_is_positively_homogeneous_with_random_weights(seed):
    model = _disk_ae(32, bias=False, seed=seed)
    codes = torch.randn(6, 1, generator=torch.Generator().manual_seed(seed))
    check = check_homogeneity(model.decode, codes)
    assert check.max_rel_error < 1e-5
    # …and the decoder with biases is not
    biased = _disk_ae(32, bias=True, seed=seed)
    assert check_homogeneity(biased.decode, codes).max_rel_error > 1e-2


def test_homogeneity_refuses_negative_lambda():
    with pytest.raises(DataError, match="λ ≥ 0"):
        check_homogeneity(lambda z: z, torch.ones(1, 1), lambdas=(1.0, -1.0))


# -- the optimal profile and Airy's equation -------------------------------------------------------
def test_airy_profile_solves_its_equation_and_boundary_conditions():
    radius = 31.5
    k = airy_k(radius)
    assert airy_first_zero() == pytest.approx(1.98635, abs=1e-5)
    h = 1e-3
    rho = np.linspace(0.5, 30, 60)
    f = airy_profile(rho, k)
    second = (airy_profile(rho + h, k) - 2 * f + airy_profile(rho - h, k)) / h**2
    np.testing.assert_allclose(second, -k * rho * f, atol=1e-6)
    assert airy_profile(np.array([0.0]), k)[0] == pytest.approx(1.0)
    slope0 = (airy_profile(np.array([h]), k) - airy_profile(np.array([-h]), k))[0] / (2 * h)
    assert slope0 == pytest.approx(0.0, abs=1e-9)
    assert airy_profile(np.array([radius]), k)[0] == pytest.approx(0.0, abs=1e-12)


def test_numerical_optimum_matches_airy_on_a_fine_grid():
    radius = 31.5
    rho, f = optimal_profile(radius, points=400)
    airy = unit_profile(rho, airy_profile(rho, airy_k(radius)))
    assert profile_distance(rho, f, airy) < 1e-4

    # the optimum beats other unit profiles for J(f) = ∫ ⟨f, 1_Br⟩² dr
    def energy(g):
        g = unit_profile(rho, g)
        inner = np.cumsum(g * rho) * (rho[1] - rho[0])
        return float(np.trapezoid(inner**2, rho))

    for other in (np.ones_like(rho), np.cos(rho / radius * math.pi / 2), 1 - rho / radius):
        assert energy(f) > energy(other)


def test_profile_distance_is_a_shape_distance():
    rho = np.linspace(0, 10, 101)
    f = np.exp(-rho)
    assert profile_distance(rho, f, 3 * f) == pytest.approx(0.0, abs=1e-12)
    assert profile_distance(rho, f, -f) == pytest.approx(2.0)
    with pytest.raises(DataError, match="zero"):
        unit_profile(rho, np.zeros_like(rho))


def test_radial_profile_reads_a_radial_image():
    size, c = 33, 16.0
    yy, xx = np.mgrid[0:size, 0:size]
    img = torch.tensor(np.hypot(xx - c, yy - c) * 0.1)
    rho = np.array([0.0, 3.0, 10.0])
    np.testing.assert_allclose(radial_profile(img, rho, (c, c)), 0.1 * rho, atol=0.02)


def test_compare_profiles_of_an_airy_image_is_near_zero():
    size, radius = 64, 31.5
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size]
    dist = np.hypot(xx - c, yy - c)
    img = torch.tensor(np.where(dist <= radius, airy_profile(dist, airy_k(radius)), 0.0))
    cmp = compare_profiles(img, (c, c), radius)
    assert cmp.learned_vs_airy < 0.02 and cmp.numerical_vs_airy < 1e-3
    assert cmp.learned_vs_numerical < 0.02
    with pytest.raises(DataError, match="past the image"):
        compare_profiles(img, (c, c), 60.0)


def test_the_contractive_penalty_is_the_encoders_squared_jacobian_norm():
    """λ‖∂E(x)/∂x‖²_F per sample, equal to the Jacobian torch computes; the loss evaluated
    without gradients carries the same penalty; training with it runs."""
    spec = disk_autoencoder_spec(8, 2, True, contraction=3.0)
    model = build(MODELS, {**spec, "input_shape": (1, 8, 8)}, "model")
    assert type(model).__name__ == "ContractiveAutoencoder"
    x = torch.rand(3, 1, 8, 8)
    out = model(x)
    expected = torch.stack(
        [
            torch.autograd.functional.jacobian(lambda v: model.encoder(v[None])[0], xi).pow(2).sum()
            for xi in x
        ]
    )
    assert torch.allclose(out.terms["contraction"], expected.mean(), rtol=1e-5)
    with torch.no_grad():
        quiet = model(x)
    assert torch.allclose(quiet.terms["contraction"], out.terms["contraction"], rtol=1e-5)
    assert torch.allclose(out.loss, out.terms["reconstruction"] + 3.0 * expected.mean(), rtol=1e-5)
    out.loss.backward()  # the penalty is differentiable (create_graph)
    assert all(p.grad is not None for p in model.encoder.parameters())
    with pytest.raises(ConfigError, match="contraction"):
        disk_autoencoder_spec(8, 2, contraction=-1.0)
