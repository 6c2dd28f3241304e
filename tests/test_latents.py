"""Latent summaries and traversals (latentatlas.analysis.latents)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from latentatlas.analysis.latents import (
    LatentSummary,
    posterior_traversal_values,
    prior_traversal_values,
    summarise_latents,
    traversal_grid,
    traverse,
)
from latentatlas.data.factors import Factor, FactorSpace
from latentatlas.errors import DataError
from latentatlas.latent.euclidean import EuclideanConfig, EuclideanLatent
from latentatlas.latent.point import PointConfig, PointLatent
from latentatlas.models import VAE, FixedGaussian, VAEConfig
from latentatlas.models.likelihoods import GaussianConfig


class FixedCodes(nn.Module):
    """A stand-in autoencoder whose posterior is given, and whose decoder records its input."""

    def __init__(self, mu: torch.Tensor, log_var: torch.Tensor | None, obs_dim: int = 5):
        super().__init__()
        d = mu.shape[1]
        if log_var is None:
            self.latent = PointLatent(PointConfig(dim=d))
            self.params_ = mu
        else:
            self.latent = EuclideanLatent(EuclideanConfig(dim=d))
            self.params_ = torch.cat([mu, log_var], dim=1)
        self.likelihood = FixedGaussian(GaussianConfig(sigma=0.1))
        self.weight = nn.Parameter(
            torch.randn(d, obs_dim, generator=torch.Generator().manual_seed(0))
        )
        self.decoded: list[torch.Tensor] = []

    def encode(self, x: torch.Tensor):
        idx = x[:, 0].long()  # the first entry of x is the row of the given codes
        return self.latent.posterior(self.params_[idx])

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.decoded.append(z.clone())
        return z @ self.weight


def _index_data(n: int) -> torch.Tensor:
    return torch.stack([torch.arange(n, dtype=torch.float32), torch.zeros(n)], dim=1)


def test_summary_shapes_and_to_dict():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(6,), latent={"name": "euclidean", "dim": 3}))
    space = FactorSpace([Factor("phase", -math.pi, math.pi, periodic=True), Factor("size", 0, 2)])
    x = torch.randn(40, 6)
    factors = space.sample(40, generator=torch.Generator().manual_seed(1))
    s = summarise_latents(model, x, factors, space, batch_size=16)
    assert s.means.shape == (40, 3) and s.stds.shape == (40, 3)
    assert s.kl_per_dim.shape == (3,) and s.activity_measure == "kl"
    assert sorted(s.order.tolist()) == [0, 1, 2]
    assert s.factors.shape == (40, 2)
    assert s.factor_names == ["phase", "size"] and s.factor_periodic == [True, False]
    assert s.factor_ranges[0] == pytest.approx((-math.pi, math.pi))
    assert s.latent == "euclidean" and (s.n, s.dim) == (40, 3)
    # the means are the model's posterior locations, batching does not matter
    with torch.no_grad():
        torch.testing.assert_close(s.means, model.representation(x))
    d = s.to_dict()
    json.dumps(d)
    assert d["dim"] == 3 and len(d["means"]) == 40 and d["factor_periodic"] == [True, False]
    assert model.training  # the training mode is restored


def test_activity_order_puts_larger_kl_first():
    n = 10
    g = torch.Generator().manual_seed(0)
    mu = torch.zeros(n, 3)
    mu[:, 1] = 3.0 * torch.randn(n, generator=g)  # far from the prior: large KL
    mu[:, 2] = 0.5 * torch.randn(n, generator=g)  # a little information
    log_var = torch.zeros(n, 3)  # σ = 1 on coordinate 0: equal to the prior, KL = 0
    log_var[:, 1] = math.log(0.01)
    log_var[:, 2] = math.log(0.5)
    model = FixedCodes(mu, log_var)
    s = summarise_latents(model, _index_data(n))
    assert s.order.tolist() == [1, 2, 0]
    var = log_var.exp()
    expected = (0.5 * (var + mu.pow(2) - log_var - 1)).mean(0)
    torch.testing.assert_close(s.kl_per_dim, expected)
    assert s.kl_per_dim[0] == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(s.stds, (0.5 * log_var).exp())


def test_point_latents_have_no_stds_and_order_by_variance():
    n = 12
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(n, 3, generator=g) * torch.tensor([0.1, 5.0, 1.0])
    s = summarise_latents(FixedCodes(mu, None), _index_data(n))
    assert s.stds is None and s.kl_per_dim is None
    assert s.activity_measure == "variance"
    assert s.order.tolist() == [1, 2, 0]
    assert s.factors is None and s.factor_names == []
    assert s.to_dict()["stds"] is None


def test_factors_without_space_get_names_and_ranges():
    n = 8
    s = summarise_latents(
        FixedCodes(torch.zeros(n, 2), torch.zeros(n, 2)),
        _index_data(n),
        factors=torch.linspace(2, 4, n),
    )
    assert s.factor_names == ["factor 0"] and s.factor_periodic == [False]
    assert s.factor_ranges == [(2.0, 4.0)]
    with pytest.raises(DataError, match="factors"):
        summarise_latents(FixedCodes(torch.zeros(n, 2), None), _index_data(n), torch.zeros(n - 1))


def test_traverse_changes_only_the_chosen_coordinate():
    model = FixedCodes(torch.zeros(1, 4), torch.zeros(1, 4), obs_dim=5)
    base = torch.tensor([0.5, -1.0, 2.0, 0.25])
    values = torch.linspace(-3, 3, 7)
    out = traverse(model, base, 2, values)
    assert out.shape == (7, 5)
    (z,) = model.decoded
    assert z.shape == (7, 4)
    torch.testing.assert_close(z[:, 2], values)
    others = [0, 1, 3]
    torch.testing.assert_close(z[:, others], base[others].expand(7, -1))
    # the output is the likelihood mean of the decoded parameters (identity for a Gaussian)
    torch.testing.assert_close(out, z @ model.weight.detach())


def test_traversal_grid_shapes_and_per_row_values():
    model = FixedCodes(torch.zeros(1, 3), torch.zeros(1, 3), obs_dim=5)
    base = torch.zeros(3)
    grid = traversal_grid(model, base, [2, 0], torch.linspace(-1, 1, 4))
    assert grid.shape == (2, 4, 5)
    per_row = torch.tensor([[0.0, 1.0, 2.0], [-5.0, 0.0, 5.0]])
    model.decoded.clear()
    grid = traversal_grid(model, base, [1, 2], per_row)
    assert grid.shape == (2, 3, 5)
    torch.testing.assert_close(model.decoded[0][:, 1], per_row[0])
    torch.testing.assert_close(model.decoded[1][:, 2], per_row[1])
    with pytest.raises(DataError, match="values"):
        traversal_grid(model, base, [0, 1], torch.zeros(3, 4))
    with pytest.raises(DataError, match="base_z"):
        traverse(model, torch.zeros(2), 0, torch.zeros(3))
    with pytest.raises(DataError, match="out of range"):
        traverse(model, base, 3, torch.zeros(3))


def test_traversal_values():
    model = FixedCodes(torch.zeros(1, 2), torch.zeros(1, 2))
    fixed = prior_traversal_values(model, steps=7)
    assert fixed.shape == (7,)
    assert float(fixed[0]) == pytest.approx(-3.0) and float(fixed[-1]) == pytest.approx(3.0)
    means = torch.tensor([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]])
    s = LatentSummary(means=means, order=torch.tensor([0, 1]), activity=torch.ones(2))
    vals = posterior_traversal_values(s, [0, 1], steps=5)
    std0 = float(means[:, 0].std(unbiased=False))
    assert vals.shape == (2, 5)
    assert vals[0].tolist() == pytest.approx([2 - 2 * std0, 2 - std0, 2, 2 + std0, 2 + 2 * std0])
    assert vals[1].tolist() == pytest.approx([10.0] * 5)  # no spread: a constant traversal
    assert s.base_point().tolist() in means.tolist()


def test_circle_winding_counts_turns_and_a_non_winding_direction_is_stable():
    """A loop around the codes winds ±1 with every step forward; codes that do not wind report
    the share of steps in their majority direction, whatever the sign of their near-zero sum
    (it flipped between two runs that differed in the sixth digit)."""
    from latentatlas.analysis.latents import circle_winding

    theta = torch.linspace(0, 2 * math.pi, 73)[:-1]
    loop = torch.stack([theta.cos(), theta.sin()], 1)
    assert circle_winding(theta, loop) == {"winding": 1, "forward": 1.0}
    assert circle_winding(theta, loop.flip(1)) == {"winding": -1, "forward": 1.0}
    # a sawtooth arc and its mirror image: no winding, 2 of every 3 steps go one way (the
    # steps' total is 0 up to rounding, so its sign must not choose the direction)
    arc = torch.tensor([0.0, 0.1, 0.2] * 24, dtype=torch.float64)
    for angles in (arc, -arc):
        result = circle_winding(theta, angles[:, None])  # codes given as angles
        assert result["winding"] == 0 and result["forward"] == pytest.approx(2 / 3)
