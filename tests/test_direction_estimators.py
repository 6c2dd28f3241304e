"""Direction estimators against generators whose latent directions are known (issue 21)."""

from __future__ import annotations

import pytest
import torch

from latentatlas.analysis.direction_bench import FACTORS, KnownDirectionsGenerator
from latentatlas.analysis.direction_estimators import (
    cosine,
    latent_velocities,
    minimal_move_direction,
)
from latentatlas.analysis.direction_search import find_direction
from latentatlas.analysis.directions import fit_direction
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


@pytest.mark.parametrize("name", FACTORS)
def test_the_minimal_latent_move_of_each_transformation_is_its_true_direction(name):
    """One Gauss-Newton step per code, no optimiser: the velocities point along the truth even
    with oblique factors and a convolution, where the true directions are not orthogonal."""
    gen = KnownDirectionsGenerator(latent_dim=12, size=24, oblique=True, conv=True, seed=1)
    z = 0.8 * torch.randn(8, 12, generator=torch.Generator().manual_seed(1))
    moves = latent_velocities(gen, z, name, 0.02)
    truth = gen.directions[name]
    assert moves.shape == (8, 12)
    if name in ("translate-x", "translate-y", "brightness"):  # exact at every code
        assert min(cosine(m, truth) for m in moves) > 0.999
    # scale and rotation act about the image centre, so they also move an off-centre blob: per
    # code the move is only near the truth, and the moves average out over codes
    assert cosine(minimal_move_direction(gen, z, name, 0.02), truth) > 0.99
    plain = minimal_move_direction(gen, z, name, 0.02, sigma=None)  # unblurred least squares
    assert cosine(plain, truth) > 0.99


def test_the_minimal_move_refuses_what_it_cannot_estimate():
    gen = KnownDirectionsGenerator(latent_dim=8, size=16)
    z = torch.zeros(2, 8)
    with pytest.raises(DataError, match="rcond"):
        latent_velocities(gen, z, "brightness", 0.05, rcond=1.5)
    with pytest.raises(DataError, match="amount"):
        latent_velocities(gen, z, "brightness", 0.0)
    with pytest.raises(DataError, match="finite codes"):
        latent_velocities(gen, torch.full((2, 8), float("nan")), "brightness", 0.05)

    def flat(codes):  # a generator whose images never change
        return torch.zeros(len(codes), 1, 16, 16) + 0 * codes.sum()

    with pytest.raises(DataError, match="no latent move reproduces translate-x"):
        minimal_move_direction(flat, z, "translate-x", 0.05)


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
