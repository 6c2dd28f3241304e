"""Direction estimators against generators whose latent directions are known (issue 21)."""

from __future__ import annotations

import pytest
import torch

from latentatlas.analysis.directions.bench import FACTORS, KnownDirectionsGenerator
from latentatlas.analysis.directions.estimators import (
    cosine,
    latent_velocities,
    minimal_move_direction,
)
from latentatlas.analysis.directions.fit import fit_direction
from latentatlas.analysis.directions.image_factors import log_contrast, mean_intensity
from latentatlas.analysis.directions.reach import OutOfReachWarning, auto_amounts, reach
from latentatlas.analysis.directions.search import find_direction
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
    # the 12 − 6 directions orthogonal to the factor basis change nothing
    null = torch.linalg.svd(gen.basis.T.double(), full_matrices=True)[2][len(FACTORS) :].float()
    assert torch.allclose(gen(z + null.sum(0)), gen(z), atol=1e-5)
    if oblique:  # the true directions are not orthogonal
        dirs = torch.stack(list(gen.directions.values()))
        assert (dirs @ dirs.T - torch.eye(len(FACTORS))).abs().max() > 0.1


@pytest.mark.parametrize("name", FACTORS)
def test_the_minimal_latent_move_of_each_transformation_is_its_true_direction(name):
    """One Gauss-Newton step per code, no optimiser: the velocities point along the truth even
    with oblique factors and a convolution, where the true directions are not orthogonal. 48
    pixels: on a blob two pixels wide, zooming the image also zooms the 3×3 kernel, which the
    generator can only imitate with the amplitude (the scale's truth turns ambiguous: cosine
    0.96 here at any number of codes, 0.98 at 64 pixels)."""
    gen = KnownDirectionsGenerator(latent_dim=12, size=48, oblique=True, conv=True, seed=1)
    z = 0.8 * torch.randn(8, 12, generator=torch.Generator().manual_seed(1))
    moves = latent_velocities(gen, z, name, 0.02)
    truth = gen.directions[name]
    assert moves.shape == (8, 12)
    if name in ("translate-x", "translate-y", "brightness", "contrast"):  # exact at every code
        assert min(cosine(m, truth) for m in moves) > 0.999
    # scale and rotation act about the image centre, so they also move an off-centre blob: per
    # code the move is only near the truth, and the moves average out over codes
    assert cosine(minimal_move_direction(gen, z, name, 0.02), truth) > 0.95


def test_blurring_the_residual_hides_what_tells_weak_factors_apart():
    """The paper's σ = 3 blur as the solve's weight (``sigma=3``) shrinks the images of the
    fine-grained factors below ``rcond`` × the brightness's: contrast is lost; unblurred (the
    default) it is exact."""
    gen = KnownDirectionsGenerator(latent_dim=12, size=32, oblique=True, conv=True, seed=0)
    z = 0.8 * torch.randn(16, 12, generator=torch.Generator().manual_seed(0))
    truth = gen.directions["contrast"]
    assert cosine(minimal_move_direction(gen, z, "contrast", 0.02), truth) > 0.999
    assert cosine(minimal_move_direction(gen, z, "contrast", 0.02, sigma=3.0), truth) < 0.9


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


@pytest.mark.slow
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


@pytest.mark.filterwarnings("ignore::latentatlas.analysis.directions.reach.OutOfReachWarning")
def test_find_direction_draws_codes_from_a_given_sampler():  # 2 steps: targets are not reached
    gen = KnownDirectionsGenerator(latent_dim=8, size=16, seed=0)
    drawn = []

    def sampler(k):
        codes = 0.5 * torch.randn(k, 8, generator=torch.Generator().manual_seed(len(drawn)))
        drawn.append(codes)
        return codes

    search = find_direction(
        gen, "brightness", n=4, steps=2, fit_steps=2, traversals=3, amounts=(0.05,), sampler=sampler
    )
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
        (dict(entangled=1.0), "entangled"),
        (dict(entangled=-0.1), "entangled"),
    ],
)
def test_the_bench_generator_refuses_bad_settings(kwargs, match):
    with pytest.raises(DataError, match=match):
        KnownDirectionsGenerator(**kwargs)
    with pytest.raises(DataError, match="codes"):
        KnownDirectionsGenerator(latent_dim=8)(torch.zeros(2, 9))


def test_the_bench_images_read_brightness_and_contrast_in_the_transformations_units():
    """The image mean is the brightness factor and the log contrast moves with the amplitude
    factor one for one, as ``brightness`` adds and ``contrast`` multiplies."""
    gen = KnownDirectionsGenerator(latent_dim=8, size=32, seed=4)
    z = 0.5 * torch.randn(16, 8, generator=torch.Generator().manual_seed(2))
    images, f = gen(z), gen.factors(z)
    assert images.min() >= 0 and images.max() <= 1
    assert torch.allclose(mean_intensity(images), f["brightness"].double(), atol=1e-3)
    moved = z + 0.5 * gen.directions["contrast"]
    change = log_contrast(gen(moved)) - log_contrast(images)
    assert torch.allclose(
        change, (gen.factors(moved)["contrast"] - f["contrast"]).double(), atol=1e-3
    )


def test_an_entangled_bench_knows_its_directions_through_the_jacobian():
    plain = KnownDirectionsGenerator(latent_dim=10, size=16, seed=5)
    tangled = KnownDirectionsGenerator(latent_dim=10, size=16, seed=5, entangled=0.6)
    z = torch.randn(64, 10, generator=torch.Generator().manual_seed(3))
    for name in FACTORS:  # without coupling the local direction is the global one everywhere
        assert torch.allclose(
            plain.local_directions(z)[name] @ plain.directions[name], torch.ones(64), atol=1e-5
        )
    local = tangled.local_directions(z)
    for name in FACTORS:  # each local direction changes its factor alone (first order) ...
        step = 1e-3 * local[name]
        before, after = tangled.factors(z), tangled.factors(z + step)
        for other in FACTORS:
            moved = (after[other] - before[other]).abs().max()
            assert (moved > 1e-5) if other == name else (moved < 2e-6), (name, other)
        # ... and it varies with the code: no single direction does that everywhere
        spread = local[name] @ tangled.directions[name]
        assert spread.min() < 0.95 and spread.mean() > 0.8
    u = minimal_move_direction(tangled, z, "translate-x", 0.02)
    assert cosine(u, tangled.directions["translate-x"]) > 0.97


def test_auto_amounts_follow_the_generators_range():
    gen = KnownDirectionsGenerator(latent_dim=8, size=32, seed=0)
    z = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    amounts = auto_amounts(gen, z, "barycentre-x")
    spread = float(gen.factors(z)["translate-x"].std())
    assert len(amounts) == 5 and amounts == tuple(sorted(amounts))
    assert abs(amounts[-1] - spread) < 0.2 * spread  # the measure reads the factor
    with pytest.raises(DataError, match="do not vary in barycentre-x"):
        auto_amounts(lambda c: torch.zeros(len(c), 1, 8, 8) + 0.5, z, "barycentre-x")


def test_targets_out_of_the_generators_range_are_measured_and_warned_about():
    """Positions saturate at ±0.25 of the width: a shift of 0.45 cannot be drawn."""
    gen = KnownDirectionsGenerator(latent_dim=8, size=24, seed=1)
    kwargs = dict(n=12, steps=40, lr=0.05, fit_steps=20, traversals=0, seed=0)
    with pytest.warns(OutOfReachWarning, match=r"translate-x: .* δt = 0.45"):
        far = find_direction(gen, "translate-x", amounts=(0.05, 0.45), **kwargs)
    assert far.reach[0.05] > 0.7 and far.reach[0.45] < 0.5
    assert far.to_dict()["reach"]["0.45"] == far.reach[0.45]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfReachWarning)
        near = find_direction(gen, "translate-x", **kwargs)  # amounts from the range
    assert near.amounts_chosen and min(near.reach.values()) > 0.5
    fractions = reach(
        gen, far.trajectories.z0, far.trajectories.zt, far.trajectories.t, "barycentre-x"
    )
    assert fractions == far.reach
    with pytest.raises(DataError, match="amounts"):
        find_direction(gen, "translate-x", amounts="wide", **kwargs)


def test_the_most_precise_direction_is_a_floor_found_with_the_measure():
    """Supervised by the measure, descent on the control spread turns a rough start towards the
    direction that moves the blob alone, and the spread falls."""
    from latentatlas.analysis.directions.evaluation import (
        evaluate_direction,
        most_precise_direction,
    )

    gen = KnownDirectionsGenerator(latent_dim=8, size=24, response="linear", seed=3)
    truth = gen.directions["translate-x"]
    noise = torch.randn(8, generator=torch.Generator().manual_seed(0))
    start = truth + 0.6 * (noise - (noise @ truth) * truth) / noise.norm()
    best = most_precise_direction(gen, "barycentre-x", start, steps=60, n=16, lr=0.05)
    before = evaluate_direction(gen, start, "barycentre-x", n=30, seed=5).std.mean()
    after = evaluate_direction(gen, best, "barycentre-x", n=30, seed=5).std.mean()
    assert cosine(best, truth) > max(0.97, cosine(start, truth)) and after < 0.5 * before
    with pytest.raises(DataError, match="not differentiable"):
        most_precise_direction(gen, "log-size", start, steps=1, n=4)
