"""Latent directions of image transformations (directions paper, sec. 2-3)."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from torch import nn

from latentatlas.analysis.directions.baselines import (
    encoder_records,
    first_linear,
    ganspace_directions,
    match_direction,
    pca_directions,
    sefa_directions,
)
from latentatlas.analysis.directions.evaluation import evaluate_direction
from latentatlas.analysis.directions.fit import (
    DirectionModel,
    displacement_direction,
    fit_direction,
    linear_direction,
    scipy_ppf,
)
from latentatlas.analysis.directions.image_factors import barycentre_x
from latentatlas.analysis.directions.search import find_direction
from latentatlas.analysis.directions.trajectories import trajectories
from latentatlas.errors import DataError, RunFolderError

VX = torch.tensor([0.6, 0.8, 0.0, 0.0])
VY = torch.tensor([0.0, 0.0, 1.0, 0.0])


class Blob(nn.Module):
    """A Gaussian blob whose position is a known linear function of z: x = 0.1⟨z, v_x⟩,
    y = 0.1⟨z, v_y⟩ (fractions of the width from the centre); the 4th coordinate does nothing."""

    latent_dim = 4

    def __init__(self, size: int = 32, y_gain: float = 0.1):
        super().__init__()
        self.size = size
        self.first = nn.Linear(4, 2, bias=False)  # the layer that reads z (for SeFa/GANSpace)
        with torch.no_grad():
            self.first.weight.copy_(torch.stack([0.1 * VX, y_gain * VY]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        pos = self.first(z)
        c = (torch.arange(self.size) + 0.5) / self.size - 0.5
        dx = c[None, None, :] - pos[:, 0, None, None]
        dy = c[None, :, None] - pos[:, 1, None, None]
        return torch.exp(-(dx**2 + dy**2) * self.size**2 / (2 * 2.0**2))[:, None]


@pytest.fixture(scope="module")
def search():
    torch.manual_seed(0)
    return find_direction(
        Blob(),
        "translate-x",
        n=48,
        amounts=(0.05, 0.1, 0.15),
        steps=50,
        lr=0.05,
        fit_steps=800,
        traversals=16,
        alphas=(-2, -1, 0, 1, 2),
    )


def test_the_method_recovers_a_known_direction_and_its_calibration(search):
    u = search.direction.u.detach()
    assert float(u @ VX) > 0.98
    g = search.direction.g(torch.tensor([-1.0, 1.0])).detach()
    assert g.tolist() == pytest.approx([-0.1, 0.1], rel=0.1)  # t = 0.1·⟨z, v_x⟩
    assert search.fit.r2 > 0.95
    ev = search.evaluation
    assert ev.mean.tolist() == pytest.approx([-0.2, -0.1, 0.0, 0.1, 0.2], abs=0.03)
    assert ev.calibration_error() < 0.03
    assert ev.calibration_error(max_alpha=1.0) <= ev.calibration_error()
    report = search.to_dict()
    assert report["trajectories"]["records"] == 48 * 2 * 3
    assert report["evaluation"]["measure"] == "barycentre-x"


def test_trajectories_drop_the_worst_tenth_and_warm_start_along_each_sign():
    data = trajectories(Blob(), "translate-x", n=20, amounts=(0.05, 0.1), steps=20, lr=0.05)
    assert data.t.shape == (80,) and len(data) == int((data.errors < data.threshold).sum())
    assert 0.85 * 80 <= len(data) <= 0.9 * 80 + 1
    z0, zt, t = data.records()
    assert z0.shape == zt.shape and {round(v, 6) for v in t.tolist()} <= {-0.1, -0.05, 0.05, 0.1}
    everything = trajectories(
        Blob(), "translate-x", n=4, amounts=(0.05,), steps=5, drop_quantile=1.0
    )
    assert len(everything) == 8
    with pytest.raises(DataError, match="increasing"):
        trajectories(Blob(), "translate-x", n=4, amounts=(0.2, 0.1))


def test_calibration_is_zero_at_zero_increasing_and_exactly_invertible():
    model = DirectionModel(3, knots=20, extent=4.0)
    with torch.no_grad():
        model.raw_slopes.copy_(torch.randn(20, generator=torch.Generator().manual_seed(0)))
    x = torch.linspace(-7, 7, 301)  # beyond the knots too
    y = model.g(x).detach()
    assert model.g(torch.zeros(1)).item() == pytest.approx(0.0, abs=1e-6)
    assert (y[1:] > y[:-1]).all()
    assert torch.allclose(model.g_inverse(y).detach(), x, atol=1e-4)


def _erf_model() -> DirectionModel:
    """g(x) = ½ erf(x/√2) (eq. 7), the calibration that makes a position uniform on [−½, ½]."""
    model = DirectionModel(2, knots=2400, extent=6.0)
    knots = model.knots
    mid = (knots[1:] + knots[:-1]) / 2
    slopes = torch.exp(-0.5 * mid**2) / math.sqrt(2 * math.pi)
    with torch.no_grad():
        model.raw_slopes.copy_(slopes + torch.log(-torch.expm1(-slopes)))
    return model


def test_factor_density_integrates_to_one_and_erf_calibration_gives_a_uniform_factor():
    """Eq. 6 is a density; with eq. 7's g the factor is U(−½, ½)."""
    model = _erf_model()
    t = torch.linspace(-0.49999, 0.49999, 20001, dtype=torch.float32)
    density = model.density(t)
    assert float(torch.trapezoid(density, t)) == pytest.approx(1.0, abs=2e-3)
    assert density[2000:-2000].tolist() == pytest.approx([1.0] * 16001, abs=0.01)
    other = DirectionModel(2, knots=30)
    with torch.no_grad():
        other.raw_slopes.copy_(torch.linspace(-2, 1, 30))
    lo, hi = other.g(torch.tensor([-12.0, 12.0])).detach().tolist()
    ts = torch.linspace(lo, hi, 200001)
    assert float(torch.trapezoid(other.density(ts), ts)) == pytest.approx(1.0, abs=1e-3)


def test_resampling_along_u_gives_the_chosen_factor_distribution():
    """Eq. 10-11: z ← z − ⟨z,u⟩u + h_φ(ψ(⟨z,u⟩))u makes g(⟨z,u⟩) follow φ."""
    model = _erf_model()
    with torch.no_grad():
        model.w.copy_(torch.tensor([1.0, 1.0]))
    z = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    target = stats.uniform(-0.2, 0.4)
    moved = model.resample(z, scipy_ppf(target))
    factor = model(moved).detach().double().numpy()
    assert stats.kstest(factor, target.cdf).pvalue > 0.01
    orth = torch.tensor([1.0, -1.0]) / math.sqrt(2)
    assert torch.allclose(moved @ orth, z @ orth, atol=1e-5)  # only ⟨z,u⟩ changes
    before = model(z).detach().double().numpy()
    assert stats.kstest(before, stats.uniform(-0.5, 1).cdf).pvalue > 0.01  # eq. 7
    edited = model.set_factor(z[:5], 0.25)
    assert model(edited).detach().tolist() == pytest.approx([0.25] * 5, abs=1e-5)
    shifted = model.shift_factor(z[:5], 0.01)
    assert (model(shifted) - model(z[:5])).detach().tolist() == pytest.approx([0.01] * 5, abs=1e-5)


@pytest.mark.slow
def test_fit_recovers_a_nonlinear_calibration_from_differences_only():
    g = torch.Generator().manual_seed(1)
    u_true = torch.tensor([0.0, 0.6, -0.8])
    z0 = torch.randn(600, 3, generator=g)
    zt = z0 + torch.randn(600, 3, generator=g) * 0.5

    def truth(z):
        x = z @ u_true
        return torch.tanh(x) * 0.5 + 0.1 * x

    fit = fit_direction(z0, zt, truth(zt) - truth(z0), steps=3000, lr=1e-2, seed=0)
    assert float(fit.model.u.detach() @ u_true) > 0.99
    x = torch.linspace(-1.5, 1.5, 7)
    assert fit.model.g(x).detach().tolist() == pytest.approx(
        truth(x[:, None] * u_true).tolist(), abs=0.05
    )
    assert fit.r2 > fit.linear_r2
    with pytest.raises(DataError, match="shape"):
        fit_direction(z0, zt[:5], truth(zt))
    with pytest.raises(DataError, match="do not move"):
        linear_direction(z0, z0, torch.ones(600))


def test_direction_files_round_trip_and_bad_files_are_refused(tmp_path):
    model = _erf_model()
    model.transformation, model.units = "translate-x", "fraction of the width"
    path = model.save(tmp_path / "direction.safetensors")
    back = DirectionModel.load(path)
    assert back.transformation == "translate-x" and back.units == "fraction of the width"
    x = torch.linspace(-3, 3, 13)
    assert torch.equal(back.g(x), model.g(x))
    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(RunFolderError, match="not a readable"):
        DirectionModel.load(tmp_path / "junk.safetensors")
    with pytest.raises(RunFolderError, match="no such"):
        DirectionModel.load(tmp_path / "missing.safetensors")


def test_evaluation_spread_is_small_along_the_true_direction_and_large_across_it():
    blob = Blob()
    along = evaluate_direction(blob, VX, "barycentre-x", alphas=(-1.0, 0.0, 1.0), n=20)
    across = evaluate_direction(blob, VY, "barycentre-x", alphas=(-1.0, 0.0, 1.0), n=20)
    assert along.std.max() < 1e-3 < 0.02 < across.std.min()
    assert along.mean.tolist() == pytest.approx([-0.1, 0.0, 0.1], abs=1e-3)
    assert along.to_dict()["traversals"] == 20 and along.calibration_error() is None


def test_baseline_directions_on_a_generator_with_known_structure():
    blob = Blob(y_gain=0.05)  # x varies more than y: the first principal axis
    weight = first_linear(blob, 4).weight
    sefa = sefa_directions(weight, k=2)
    assert [round(abs(float(v @ VX)), 4) for v in sefa] == [1.0, 0.0]
    gan = ganspace_directions(blob, blob.first, latent_dim=4, k=2, n=2000)
    assert abs(float(gan[0] @ VX)) > 0.99
    index, u = match_direction(blob, gan, "barycentre-x")
    assert index == 0 and float(u @ VX) > 0.99
    codes = torch.randn(500, 4, generator=torch.Generator().manual_seed(0)) * torch.tensor(
        [3.0, 1.0, 0.1, 0.1]
    )
    assert abs(float(pca_directions(codes, k=1)[0, 0])) > 0.99

    def encode(images):  # a perfect encoder of x (and nothing else)
        return barycentre_x(images).float()[:, None] * VX / 0.1

    images = blob(torch.randn(30, 4, generator=torch.Generator().manual_seed(1)) * 0.5)
    z0, zt, t = encoder_records(encode, images, "translate-x", amounts=(0.05, 0.1))
    linear = linear_direction(z0, zt, t)
    assert float(linear.u @ VX) > 0.999 and linear.slope == pytest.approx(0.1, rel=0.05)
    assert float(displacement_direction(z0, zt, t) @ VX) > 0.999
    with pytest.raises(DataError, match="no linear layer"):
        first_linear(blob, 7)
