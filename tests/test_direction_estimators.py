"""Direction estimators against generators whose latent directions are known (issue 21)."""

from __future__ import annotations

import pytest
import torch

from latentatlas.analysis.direction_bench import FACTORS, KnownDirectionsGenerator
from latentatlas.analysis.direction_estimators import (
    cosine,
    jacobian_row_space,
    minimal_move_direction,
)
from latentatlas.analysis.direction_search import find_direction
from latentatlas.analysis.directions import fit_direction, linear_direction
from latentatlas.errors import DataError


@pytest.mark.parametrize("oblique", [False, True])
def test_the_bench_generator_changes_one_factor_along_each_true_direction(oblique):
    gen = KnownDirectionsGenerator(latent_dim=12, size=16, oblique=oblique, seed=3)
    z = torch.randn(6, 12, generator=torch.Generator().manual_seed(0))
    before = gen.factors(z)
    for name, u in gen.directions.items():
        assert abs(float(u.norm()) - 1) < 1e-5
        after = gen.factors(z + 0.05 * u)
        for other in FACTORS:
            moved = (after[other] - before[other]).abs().max()
            assert (moved > 1e-3) if other == name else (moved < 1e-5), (name, other)
    # the 12 − 5 directions orthogonal to the factor basis change nothing
    null = torch.linalg.svd(gen.basis.T.double(), full_matrices=True)[2][5:].float()
    assert torch.allclose(gen(z + null.sum(0)), gen(z), atol=1e-5)
    if oblique:  # the true directions are not orthogonal
        dirs = torch.stack(list(gen.directions.values()))
        assert (dirs @ dirs.T - torch.eye(5)).abs().max() > 0.1


def test_the_jacobian_row_space_is_the_span_of_the_active_directions():
    gen = KnownDirectionsGenerator(latent_dim=10, size=16, oblique=True, conv=True, seed=1)
    z = torch.randn(3, 10, generator=torch.Generator().manual_seed(1))
    p = jacobian_row_space(gen, z, rcond=1e-4)
    assert p.shape == (3, 10, 10)
    assert torch.allclose(p, p.transpose(1, 2), atol=1e-5)
    assert torch.allclose(p @ p, p, atol=1e-4)
    assert [round(float(torch.diagonal(m).sum())) for m in p] == [5, 5, 5]  # rank 5 of 10
    for u in gen.directions.values():  # each true direction lies in it
        assert torch.allclose(p @ u, u.expand(3, -1), atol=1e-4)
    with pytest.raises(DataError, match="rcond"):
        jacobian_row_space(gen, z, rcond=1.5)
    with pytest.raises(DataError, match="finite codes"):
        jacobian_row_space(gen, torch.full((2, 10), float("nan")))


def test_the_minimal_move_estimate_ignores_drift_the_generator_cannot_see():
    """Records whose displacements drift into null directions, correlated with t (what Adam's
    per-coordinate steps do): least squares follows the drift, the minimal move does not."""
    gen = KnownDirectionsGenerator(latent_dim=16, size=16, response="linear", seed=0)
    u = gen.directions["translate-x"]
    null = torch.linalg.svd(gen.basis.T.double(), full_matrices=True)[2][5:].float()
    g = torch.Generator().manual_seed(0)
    z0 = torch.randn(64, 16, generator=g).repeat(2, 1)
    t = torch.cat([torch.full((64,), 0.05), torch.full((64,), -0.05)])
    drift = (torch.randn(64, 10, generator=g) @ null[1:]).repeat(2, 1)  # per code, both signs
    skew = 0.1 * (t / 0.05)[:, None] * null[0]  # a small move in a null direction that follows t
    inexact = 1 + 0.3 * torch.randn(128, generator=g)  # the inversion reaches t only roughly
    zt = z0 + (inexact * t / 0.08)[:, None] * u + 0.3 * drift + skew
    assert cosine(linear_direction(z0, zt, t).u, u) < 0.5
    assert cosine(minimal_move_direction(gen, z0, zt, t), u) > 0.999


def test_fit_direction_can_hold_a_given_direction_fixed():
    g = torch.Generator().manual_seed(0)
    z0 = torch.randn(200, 6, generator=g)
    u = torch.tensor([0.6, -0.8, 0, 0, 0, 0])
    zt = z0 + torch.randn(200, 1, generator=g) * u
    t = torch.tanh((zt - z0) @ u)  # g is not linear
    fit = fit_direction(z0, zt, t, direction=-u, steps=300)
    assert torch.allclose(fit.model.u, u, atol=1e-6)  # sign chosen so that g increases
    assert fit.r2 > 0.9 and fit.r2 > fit.linear_r2 > 0.5 and fit.model.w.requires_grad
    with pytest.raises(DataError, match="direction"):
        fit_direction(z0, zt, t, direction=torch.zeros(6), steps=1)
    with pytest.raises(DataError, match="direction"):
        fit_direction(z0, zt, t, direction=torch.ones(5), steps=1)


def test_find_direction_recovers_the_known_direction_with_the_default_estimator():
    gen = KnownDirectionsGenerator(latent_dim=12, size=16, seed=2)
    kwargs = dict(n=24, steps=30, fit_steps=100, traversals=6, seed=0)
    found = find_direction(gen, "translate-y", **kwargs)
    paper = find_direction(gen, "translate-y", method="paper", **kwargs)
    truth = gen.directions["translate-y"]
    assert found.method == "minimal-move" and found.to_dict()["method"] == "minimal-move"
    assert cosine(found.direction.u, truth) > 0.95
    assert cosine(paper.direction.u, truth) < cosine(found.direction.u, truth)
    with pytest.raises(DataError, match="method"):
        find_direction(gen, "translate-y", method="best", **kwargs)


def test_find_direction_draws_codes_from_a_given_sampler():
    gen = KnownDirectionsGenerator(latent_dim=8, size=16, seed=0)
    drawn = []

    def sampler(k):
        codes = 0.5 * torch.randn(k, 8, generator=torch.Generator().manual_seed(len(drawn)))
        drawn.append(codes)
        return codes

    search = find_direction(gen, "brightness", n=4, steps=2, fit_steps=2, traversals=3,
                            amounts=(0.05,), sampler=sampler)  # fmt: skip
    assert [len(c) for c in drawn] == [4, 3]  # trajectories, then the evaluation
    assert torch.equal(search.trajectories.z0[:4], drawn[0])  # inside the ball: unchanged
    with pytest.raises(DataError, match=r"sampler\(4\) must return codes of shape \(4, 8\)"):
        find_direction(gen, "brightness", n=4, sampler=lambda k: torch.zeros(k, 7))
    with pytest.raises(DataError, match="NaN"):
        find_direction(gen, "brightness", n=4, sampler=lambda k: torch.full((k, 8), float("nan")))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(latent_dim=3), "latent_dim"),
        (dict(size=4), "size"),
        (dict(response="cubic"), "response"),
    ],
)
def test_the_bench_generator_refuses_bad_settings(kwargs, match):
    with pytest.raises(DataError, match=match):
        KnownDirectionsGenerator(**kwargs)
    with pytest.raises(DataError, match="codes"):
        KnownDirectionsGenerator(latent_dim=8)(torch.zeros(2, 9))
