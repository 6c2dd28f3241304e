"""Δ-reduction (thesis ch. 8-9): reductor families, Algorithm 2, eq. 9.2, the pairwise table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from latentatlas.analysis.reduction import constant_term, delta_table, fit_reduction
from latentatlas.data.synthetic.sine_circle import SineCircle, SineCircleConfig
from latentatlas.errors import ConfigError, DataError
from latentatlas.latent import CircleLatent, EuclideanConfig, EuclideanLatent
from latentatlas.latent.heat_kernel import wrap
from latentatlas.models.ground_truth import GroundTruthModel
from latentatlas.models.likelihoods import Bernoulli, BernoulliConfig, FixedGaussian, GaussianConfig
from latentatlas.registry import REDUCTORS

D = 12
FAST = {"steps": 150, "samples": 256, "eval_samples": 4000, "lr": 0.05}


@pytest.fixture(scope="module")
def truth():
    return GroundTruthModel(SineCircle(SineCircleConfig(n=10, dim=D, sigma=0.1)))


class Warped(nn.Module):
    """A model whose decoder is the ground truth after a known change of coordinates."""

    def __init__(self, truth, latent, warp, sigma=0.1):
        super().__init__()
        self.truth, self.latent, self.warp = truth, latent, warp
        self.likelihood = FixedGaussian(GaussianConfig(sigma=sigma))

    def decode(self, z):
        return self.truth.decode(self.warp(z))


def test_ground_truth_is_the_benchmark_generator(truth):
    phases = torch.tensor([[-3.0], [0.5]], dtype=torch.float64)
    assert torch.allclose(truth.decode(phases.float()), truth.dataset.render(phases).float())
    assert truth.likelihood.config.sigma == 0.1 and truth.latent.periodic


def test_a_model_reduced_into_itself_leaves_only_the_constant_term(truth):
    same = fit_reduction(truth, truth, "rotation", **FAST)
    assert same.fit_term < 1e-3 and same.constant_term == 0.0
    assert abs(wrap(torch.tensor(same.parameters["offset"][0]))) < 0.02
    noisier = Warped(truth, CircleLatent(), lambda z: z, sigma=0.2)
    result = fit_reduction(truth, noisier, "rotation", **FAST)
    expected = 0.5 * D * (math.log(4.0) + 0.25 - 1.0)  # eq. 8.11 with σ₁ = 0.1, σ₂ = 0.2
    assert result.constant_term == pytest.approx(expected)
    assert result.delta == pytest.approx(expected, abs=2e-3)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_rotation_recovers_a_known_shift_and_reflection(truth, sign):
    shifted = Warped(truth, CircleLatent(), lambda z: wrap(sign * z + 1.0))
    result = fit_reduction(truth, shifted, "rotation", **FAST)
    # the ground truth at θ equals the shifted model at s·(θ − 1)
    assert result.parameters["sign"] == sign
    assert float(wrap(torch.tensor(result.parameters["offset"][0] + sign * 1.0))) == pytest.approx(
        0.0, abs=0.02
    )
    assert result.fit_term < 1e-2


def test_matrix_and_atan2_between_the_circle_and_the_plane(truth):
    plane = Warped(
        truth,
        EuclideanLatent(EuclideanConfig(dim=2)),
        lambda y: torch.atan2(y[..., 1:2], y[..., 0:1]),
    )
    into_plane = fit_reduction(truth, plane, **FAST)  # the default family: matrix C·Emb(θ)
    assert into_plane.family == "matrix" and into_plane.fit_term < 1e-2
    out_of_plane = fit_reduction(plane, truth, **FAST)  # atan2(z) + φ
    assert out_of_plane.family == "atan2" and out_of_plane.fit_term < 1e-2


def test_an_affine_map_reaches_plane_codes_centred_away_from_the_origin(truth):
    """Table 9.2's R² codes sit near (0.5, 0.5): plain C·Emb(θ) cannot reach a circle centred
    there, C·Emb(θ) + b can (``affine``; the errata allow the bias)."""
    centre = torch.tensor([0.5, 0.5])
    offset = Warped(
        truth,
        EuclideanLatent(EuclideanConfig(dim=2)),
        lambda y: torch.atan2(y[..., 1:2] - centre[1], y[..., 0:1] - centre[0]),
    )
    plain = fit_reduction(truth, offset, **FAST)
    affine = fit_reduction(truth, offset, affine=True, **FAST)
    assert plain.family == "matrix" and affine.family == "matrix + bias"
    assert affine.fit_term < 1e-2 < plain.fit_term
    assert affine.parameters["linear.bias"] == pytest.approx([0.5, 0.5], abs=0.05)
    # affine touches only the matrix family: maps into the circle keep theirs
    assert fit_reduction(offset, truth, affine=True, **FAST).family == "atan2"


def test_bad_pairs_are_refused_naming_both_spaces(truth):
    plane = Warped(truth, EuclideanLatent(EuclideanConfig(dim=2)), lambda y: y[..., :1])
    with pytest.raises(ConfigError, match=r"cannot map .*S¹.* into .*R\^2"):
        fit_reduction(truth, plane, "rotation", names=("truth", "plane"), **FAST)
    short = GroundTruthModel(SineCircle(SineCircleConfig(n=10, dim=D + 1, sigma=0.1)))
    with pytest.raises(ConfigError, match="same data"):
        fit_reduction(truth, short, **FAST)
    binary = Warped(truth, CircleLatent(), lambda z: z)
    binary.likelihood = Bernoulli(BernoulliConfig())
    with pytest.raises(ConfigError, match="fixed σX"):
        fit_reduction(truth, binary, **FAST)
    with pytest.raises(ConfigError, match="unknown reductor"):
        fit_reduction(truth, truth, "teleport", **FAST)
    assert {"matrix", "rotation", "atan2", "projection"} <= set(REDUCTORS.names())


def test_constant_term_is_eq_8_11():
    assert constant_term(0.1, 0.1, 25) == 0.0
    assert constant_term(1.0, 0.1, 2) == pytest.approx(math.log(0.01) + 100 - 1)


def test_common_sigma_is_e_over_two_sigma_squared_without_the_constant(truth):
    """The convention table 9.2's printed values fit: one σ for both models, no constant. The map
    is the same as eq. 9.2's; Δ is the same when every model's σX is that σ."""
    coarse = Warped(truth, CircleLatent(), lambda z: wrap(z + 0.02), sigma=0.01)
    printed = fit_reduction(coarse, truth, "rotation", seed=3, **FAST)  # σ₁ 0.01 into σ₂ 0.1
    common = fit_reduction(coarse, truth, "rotation", seed=3, common_sigma=0.1, **FAST)
    # eq. 8.11's constant for σ₁ = 0.01 into σ₂ = 0.1: (D/2)(log 100 + 0.01 − 1)
    assert printed.constant_term == pytest.approx(0.5 * D * (math.log(100) + 0.01 - 1))
    assert common.constant_term == 0.0 and common.convention == "common sigma 0.1"
    assert common.mse == pytest.approx(printed.mse)  # the same fit
    assert common.delta == pytest.approx(common.mse / (2 * 0.1**2))
    assert printed.convention == "eq. 9.2"
    same = fit_reduction(truth, truth, "rotation", seed=1, **FAST)  # both σX = 0.1
    same_common = fit_reduction(truth, truth, "rotation", seed=1, common_sigma=0.1, **FAST)
    assert same_common.delta == pytest.approx(same.delta)
    table = delta_table({"a": coarse, "Φ": truth}, repetitions=2, **FAST)
    mean, _ = table.mean_std("a", "Φ", common_sigma=0.1)
    assert mean == pytest.approx(sum(r.mse for r in table.runs[("a", "Φ")]) / 2 / 0.02)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="common_sigma"):
            fit_reduction(truth, truth, "rotation", common_sigma=bad, **FAST)
        with pytest.raises(ConfigError, match="common_sigma"):
            table.mean_std("a", "Φ", common_sigma=bad)
    for stride in (0, -2):
        with pytest.raises(ConfigError, match="loss_stride"):
            table.runs[("a", "Φ")][0].to_dict(stride)


def test_delta_table_has_every_ordered_pair(truth):
    shifted = Warped(truth, CircleLatent(), lambda z: wrap(z + 0.5))
    table = delta_table({"Φ": truth, "S¹": shifted}, repetitions=2, **FAST)
    assert set(table.runs) == {("Φ", "S¹"), ("S¹", "Φ")}
    mean, std = table.mean_std("Φ", "S¹")
    assert mean < 0.05 and std >= 0.0
    text = table.to_markdown()
    assert "| Φ | N/A |" in text and "±" in text
    assert table.to_dict()["delta"]["Φ -> S¹"]["runs"][0]["family"] == "rotation"
    # the loss curve thinned for tables of many fits: every 50th step and the last
    losses = table.runs[("Φ", "S¹")][0].losses
    thin = table.to_dict(50)["delta"]["Φ -> S¹"]["runs"][0]
    assert thin["losses"] == [*losses[::50], losses[-1]] and thin["loss_stride"] == 50
    assert table.to_dict()["delta"]["Φ -> S¹"]["runs"][0]["losses"] == losses


def test_mapped_latent_figure(truth, tmp_path):
    from matplotlib.collections import PathCollection

    from latentatlas.viz.reduction_plots import plot_reduction_grid

    shifted = Warped(truth, CircleLatent(), lambda z: wrap(z + 0.5))
    result = fit_reduction(truth, shifted, "rotation", **FAST)
    phases = torch.linspace(-math.pi, math.pi, 41)[:-1, None]
    codes = {"Φ": phases, "S¹": wrap(phases - 0.5)}  # S¹'s codes of the same points
    fig = plot_reduction_grid(
        codes,
        {"Φ": True, "S¹": True},
        {("Φ", "S¹"): result.reductor},
        hue=phases[:, 0],
        hue_label="phase",
    )
    cell = fig.axes[1]  # row Φ, column S¹
    grey, mapped = [c for c in cell.collections if isinstance(c, PathCollection)]
    # the fitted map puts every mapped point on the target point of the same phase
    assert np.allclose(grey.get_offsets(), mapped.get_offsets(), atol=0.05)
    fig.savefig(tmp_path / "grid.png", dpi=40)
    with pytest.raises(DataError, match="same points"):
        plot_reduction_grid({"a": phases, "b": phases[:5]}, {"a": True, "b": True}, {})


# -- into and out of spheres ------------------------------------------------------------------
class LitSphereTruth(nn.Module):
    """The lit ball's renderer as a generative model on S² (its decoder is the data's)."""

    def __init__(self, warp=lambda z: z, latent=None):
        super().__init__()
        from latentatlas.data.synthetic.lit_sphere import LitSphere, LitSphereConfig
        from latentatlas.latent import SphereLatent

        self.data = LitSphere(LitSphereConfig(n=1, size=8))
        self.latent = latent if latent is not None else SphereLatent()
        self.likelihood = FixedGaussian(GaussianConfig(sigma=0.1))
        self.warp = warp

    def decode(self, z):
        from latentatlas.data.synthetic.lit_sphere import factors_of_directions

        direction = nn.functional.normalize(self.warp(z).double(), dim=-1)
        return self.data.render(factors_of_directions(direction)).float()


@pytest.mark.parametrize("mirror", [False, True])
def test_orthogonal_recovers_a_known_rotation_of_the_sphere(mirror):
    from latentatlas.rotations import random_quaternions, rotation_matrix

    q = rotation_matrix(random_quaternions(1, torch.Generator().manual_seed(3)))[0].float()
    if mirror:
        q = q * torch.tensor([1.0, 1.0, -1.0])[:, None]  # a reflection after the rotation
    truth = LitSphereTruth()
    turned = LitSphereTruth(warp=lambda z: z @ q)  # decodes Qᵀz where truth decodes z
    result = fit_reduction(truth, turned, "orthogonal", **FAST)
    # truth(z) = turned(M z) needs Qᵀ M z = z: M = Q
    found = torch.tensor(result.parameters["generator"])
    reductor = result.reductor
    assert reductor is not None and found.shape == (3, 3)
    assert torch.allclose(reductor.matrix().detach(), q, atol=0.05)
    assert result.fit_term < 1e-2


def test_maps_between_a_plane_model_and_the_sphere():
    from latentatlas.latent import EuclideanConfig, EuclideanLatent

    truth = LitSphereTruth()
    # a model on R³ that decodes the direction of its code: normalise reaches the sphere exactly
    flat = LitSphereTruth(latent=EuclideanLatent(EuclideanConfig(dim=3)))
    into = fit_reduction(flat, truth, **FAST)
    assert into.family == "normalise" and into.fit_term < 1e-2
    out = fit_reduction(truth, flat, **FAST)
    assert out.family == "matrix" and out.fit_term < 1e-2


def test_sphere_pairs_that_no_family_can_map_are_refused():
    from latentatlas.latent import EuclideanConfig, EuclideanLatent, SphereConfig, SphereLatent

    sphere = LitSphereTruth()
    flat = LitSphereTruth(latent=EuclideanLatent(EuclideanConfig(dim=3)))
    with pytest.raises(ConfigError, match="normalise or orthogonal"):
        fit_reduction(flat, sphere, "matrix", **FAST)  # would leave the sphere
    with pytest.raises(ConfigError, match="same dimension"):
        bigger = LitSphereTruth(lambda z: z[..., :3], SphereLatent(SphereConfig(dim=3)))
        fit_reduction(sphere, bigger, "orthogonal", **FAST)
