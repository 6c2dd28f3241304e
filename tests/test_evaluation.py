"""The thesis evaluation (eq. 5.7-5.10) computed by ``evaluate`` against a direct computation."""

from __future__ import annotations

import math

import pytest
import torch

from latentatlas.analysis.evaluation import evaluate
from latentatlas.errors import ConfigError, DataError
from latentatlas.registry import MODELS, build

D = 6


def model_of(name: str = "vae", sigma: float = 0.3):
    torch.manual_seed(0)
    return build(
        MODELS,
        {
            "name": name,
            "input_shape": [D],
            "encoder": {"name": "mlp", "hidden": [5]},
            "decoder": {"name": "mlp", "hidden": [5]},
            "likelihood": {"name": "gaussian", "sigma": sigma},
        },
    )


def test_matches_eq_5_7_to_5_10_computed_by_hand():
    sigma, L = 0.3, 4000
    model = model_of(sigma=sigma).eval()
    x = torch.randn(7, D, generator=torch.Generator().manual_seed(1))
    result = evaluate(model, x, n_samples=L, seed=2)
    with torch.no_grad():
        post = model.encode(x)
        mu, std = post.base_dist.loc, post.base_dist.scale
        # eq. 5.10 with the closed form of eq. 4.5
        kl = 0.5 * (std**2 + mu**2 - torch.log(std**2) - 1).sum(1)
        # eq. 5.7-5.8: squared error of the mean reconstruction, summed over dimensions
        mse = (x - model.decoder(mu)).pow(2).sum(1)
        # eq. 5.9 with eq. 4.10's ½ and constant, by Monte Carlo over L samples
        z = mu + std * torch.randn(L, *mu.shape, generator=torch.Generator().manual_seed(9))
        sq = (x - model.decoder(z.reshape(-1, mu.shape[1])).reshape(L, 7, D)).pow(2).sum(-1)
        recon = (0.5 * sq / sigma**2 + D / 2 * math.log(2 * math.pi * sigma**2)).mean(0)
    assert result.n_points == 7 and result.n_samples == L
    assert result.kl == pytest.approx(float(kl.mean()), rel=1e-5)
    assert result.mse == pytest.approx(float(mse.mean()), rel=1e-5)
    # two independent L-sample estimates agree to Monte-Carlo precision
    assert result.reconstruction == pytest.approx(float(recon.mean()), rel=2e-2)
    assert result.neg_elbo == pytest.approx(result.reconstruction + result.kl, rel=1e-9)


def test_seeded_batched_and_leaves_the_model_and_global_rng_alone():
    model = model_of()
    x = torch.randn(25, D, generator=torch.Generator().manual_seed(1))
    state = torch.get_rng_state()
    a = evaluate(model, x, n_samples=10, seed=5)
    assert torch.equal(state, torch.get_rng_state())  # a private generator
    assert model.training  # the mode is restored
    assert evaluate(model, x, n_samples=10, seed=5) == a
    assert evaluate(model, x, n_samples=10, seed=6) != a
    chunked = evaluate(model, x, n_samples=10, seed=5, batch_size=7)
    assert chunked.kl == pytest.approx(a.kl) and chunked.mse == pytest.approx(a.mse)


def test_large_observations_are_decoded_in_blocks_that_fit(monkeypatch):
    from latentatlas.analysis import evaluation

    # L = 100 samples of 1000 64×64 images at once (25 GB of activations) were OOM-killed
    assert evaluation.points_per_block(100, 64 * 64, 1000) == 40
    assert evaluation.points_per_block(100, 25, 1000) == 1000  # the sine circle: unchanged
    assert evaluation.points_per_block(10**7, 64 * 64, 1000) == 1
    model = model_of()
    x = torch.randn(23, D, generator=torch.Generator().manual_seed(1))
    monkeypatch.setattr(evaluation, "DECODED_VALUES", 10 * D * 5)  # blocks of 5 points
    bounded = evaluate(model, x, n_samples=10, seed=5)
    monkeypatch.undo()
    assert bounded == evaluate(model, x, n_samples=10, seed=5, batch_size=5)
    assert bounded != evaluate(model, x, n_samples=10, seed=5)  # one block: other noise


def test_the_importance_weighted_log_likelihood_reaches_the_exact_one_of_a_linear_model():
    """A VAE with a linear decoder x = Wz + b + σε, z ~ N(0, I) has log p(x) in closed form,
    N(x; b, WWᵀ + σ²I): the estimate of Burda et al. (eq. 8) lies below it, above the ELBO, and
    reaches it as the samples grow."""
    torch.manual_seed(0)
    sigma = 1.0
    model = build(
        MODELS,
        {
            "name": "vae",
            "input_shape": [3],
            "latent": {"name": "euclidean", "dim": 1},
            "encoder": {"name": "mlp", "hidden": [5]},
            "decoder": {"name": "mlp", "hidden": []},  # linear
            "likelihood": {"name": "gaussian", "sigma": sigma},
        },
    ).eval()
    x = torch.randn(20, 3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        b = model.decoder(torch.zeros(1, 1))[0]
        w = model.decoder(torch.ones(1, 1))[0] - b
    cov = torch.outer(w, w) + sigma**2 * torch.eye(3)
    exact = float(torch.distributions.MultivariateNormal(b, cov).log_prob(x).mean())
    few, many = (
        evaluate(model, x, n_samples=2, seed=0),
        evaluate(model, x, n_samples=20_000, seed=0),
    )
    assert many.log_likelihood == pytest.approx(exact, abs=2e-3)
    assert few.log_likelihood < many.log_likelihood <= exact + 2e-3
    assert many.log_likelihood >= -many.neg_elbo - 1e-3  # at least the ELBO


def test_the_log_likelihood_estimate_covers_circle_and_torus_latents():
    torch.manual_seed(0)
    for latent in ({"name": "circle"}, {"name": "torus", "dim": 2}):
        model = build(
            MODELS,
            {
                "name": "diffusion_vae",
                "input_shape": [D],
                "latent": latent,
                "encoder": {"name": "mlp", "hidden": [5]},
                "decoder": {"name": "mlp", "hidden": [5]},
                "likelihood": {"name": "gaussian", "sigma": 0.3},
            },
        )
        result = evaluate(model, torch.randn(6, D), n_samples=200)
        assert math.isfinite(result.log_likelihood)
        assert result.log_likelihood >= -result.neg_elbo - 0.5  # at least the ELBO, up to noise


def test_plain_autoencoder_has_no_kl():
    model = model_of("ae")
    result = evaluate(model, torch.randn(5, D), n_samples=3)
    assert result.kl is None and result.neg_elbo is None and result.log_likelihood is None
    assert math.isfinite(result.reconstruction) and result.to_dict()["kl"] is None


def test_bad_input_is_refused():
    model = model_of()
    with pytest.raises(DataError, match="NaN"):
        evaluate(model, torch.full((3, D), float("nan")))
    with pytest.raises(DataError, match=r"expected input of shape \(n, 6\)"):
        evaluate(model, torch.zeros(3, D + 1))
    with pytest.raises(ConfigError, match="at least 1"):
        evaluate(model, torch.zeros(3, D), n_samples=0)
