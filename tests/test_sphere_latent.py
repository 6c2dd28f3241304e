"""The sphere latent space: its contract (shapes, uniform prior, closed-form KL, geodesics,
traversals that stay on the sphere), its config errors, and VAEs with each posterior family
that train without NaN, also when the concentration or time is pushed to its extreme."""

from __future__ import annotations

import math

import pytest
import torch

from latentatlas.analysis.evaluation import evaluate
from latentatlas.analysis.latents import traverse
from latentatlas.errors import ConfigError
from latentatlas.latent import SphereConfig, SphereLatent
from latentatlas.registry import MODELS, build

FAMILIES = ["heat", "power_spherical", "von_mises_fisher"]


@pytest.mark.parametrize("posterior", FAMILIES)
@pytest.mark.parametrize("dim", [2, 3])
def test_the_latent_contract(posterior, dim):
    latent = SphereLatent(SphereConfig(dim=dim, posterior=posterior))
    assert (latent.dim, latent.manifold_dim, latent.embed_dim, latent.param_size) == (
        dim + 1,
        dim,
        dim + 1,
        dim + 2,
    )
    params = torch.randn(5, latent.param_size, generator=torch.Generator().manual_seed(0))
    q = latent.posterior(params)
    mu = latent.mean(q)
    assert mu.shape == (5, dim + 1) and torch.allclose(mu.norm(dim=-1), torch.ones(5))
    eps = latent.noise(q, 4, torch.Generator().manual_seed(1))
    assert eps.shape == (4, 5, latent.noise_size)
    z = latent.reparameterize(q, eps)
    assert z.shape == (4, 5, dim + 1) and torch.allclose(z.norm(dim=-1), torch.ones(4, 5))
    # the same generator gives the same samples
    again = latent.sample(q, 4, torch.Generator().manual_seed(1))
    torch.testing.assert_close(again, z)
    kl = latent.kl(q)
    assert kl.shape == (5,) and (kl > 0).all()
    with pytest.raises(NotImplementedError):
        latent.kl_per_dim(q)
    # the prior is uniform: sample mean near 0, every sample a unit vector
    prior = latent.sample(latent.prior(), 20000, torch.Generator().manual_seed(2))
    assert prior.shape == (20000, dim + 1)
    assert float(prior.mean(0).norm()) < 0.03
    # a wider posterior (a longer time, a lower concentration) is closer to the prior
    sign = 1.0 if posterior == "heat" else -1.0
    wide = latent.posterior(torch.cat([params[:, :-1], torch.full((5, 1), 20.0 * sign)], 1))
    sharp = latent.posterior(torch.cat([params[:, :-1], torch.full((5, 1), -20.0 * sign)], 1))
    assert (latent.kl(wide) < latent.kl(sharp)).all()


def test_geodesics_are_great_circle_arcs_and_traversals_stay_on_the_sphere():
    latent = SphereLatent(SphereConfig(dim=2))
    z0 = torch.tensor([1.0, 0.0, 0.0])
    z1 = torch.tensor([0.0, 0.6, 0.8])
    path = latent.geodesic(z0, z1, 11)
    assert path.shape == (11, 3)
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1)
    assert torch.allclose(path.norm(dim=-1), torch.ones(11))
    steps = (path[1:] * path[:-1]).sum(-1).clamp(-1, 1).acos()
    torch.testing.assert_close(steps, torch.full((10,), math.pi / 2 / 10))  # even steps of arc
    # antipodal ends: still a half great circle of unit vectors
    half = latent.geodesic(z0, -z0, 5)
    assert torch.allclose(half.norm(dim=-1), torch.ones(5))
    assert torch.allclose(half[-1], -z0, atol=1e-6)
    torch.testing.assert_close(latent.chart(3 * z1), z1)
    values = latent.traversal_values(7)
    moved = latent.set_coordinate(z1.repeat(7, 1), 0, values.float())
    assert torch.allclose(moved.norm(dim=-1), torch.ones(7), atol=1e-6)
    torch.testing.assert_close(moved[:, 0], values.float())
    # the other coordinates keep their direction: a great circle through e₀ and z1
    assert torch.allclose(moved[:, 1] * 0.8, moved[:, 2] * 0.6, atol=1e-6)


def test_config_errors_name_what_is_expected():
    with pytest.raises(ConfigError, match="S² and S³"):
        SphereConfig(dim=4)
    SphereConfig(dim=4, posterior="power_spherical")  # any sphere for the others
    with pytest.raises(ConfigError, match="min_time"):
        SphereConfig(min_time=1e-9)
    with pytest.raises(ConfigError, match="min_concentration"):
        SphereConfig(posterior="von_mises_fisher", min_concentration=10, max_concentration=1)
    with pytest.raises(ConfigError, match="heat-kernel latent space"):
        build(
            MODELS,
            {
                "name": "diffusion_vae",
                "input_shape": [5],
                "latent": {"name": "sphere", "posterior": "power_spherical"},
            },
        )


def _model(name: str, latent: dict):
    return build(
        MODELS,
        {
            "name": name,
            "input_shape": [12],
            "latent": latent,
            "encoder": {"name": "mlp", "hidden": [16]},
            "decoder": {"name": "mlp", "hidden": [16]},
            "likelihood": {"name": "gaussian", "sigma": 0.01},
        },
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "latent"),
    [
        ("diffusion_vae", {"name": "sphere", "min_time": 1e-6}),
        ("vae", {"name": "sphere", "posterior": "power_spherical", "max_concentration": 1e8}),
        ("vae", {"name": "sphere", "posterior": "von_mises_fisher", "max_concentration": 1e8}),
    ],
    ids=FAMILIES,
)
def test_sphere_vaes_train_without_nan_when_the_posterior_is_pushed_sharp(name, latent):
    """σX = 0.01 on nearly noiseless data drives the posterior as sharp as its bounds allow."""
    from latentatlas.data.synthetic.sine_circle import SineCircle, SineCircleConfig
    from latentatlas.train import Trainer, TrainerConfig

    data = SineCircle(SineCircleConfig(n=400, dim=12, sigma=0.01, seed=0))
    torch.manual_seed(0)
    model = _model(name, latent)
    x = data.evaluation_set().x
    before = evaluate(model, x, n_samples=5)
    Trainer(model, data, TrainerConfig(steps=150, batch_size=50, lr=1e-2, progress=False)).fit()
    after = evaluate(model, x, n_samples=5)
    assert math.isfinite(after.neg_elbo) and after.neg_elbo < before.neg_elbo
    with torch.no_grad():
        spread = model.latent.posterior(model.run_encoder(x)).spread
    assert torch.isfinite(spread).all()
    if name == "diffusion_vae":
        assert float(spread.median()) < 1e-2  # sharp: t far below the initial ~0.01-1
    else:
        assert float(spread.median()) > 1e2  # κ pushed high
    codes = model.representation(x)
    assert codes.shape == (len(x), 3) and torch.allclose(codes.norm(dim=-1), torch.ones(len(x)))
    images = traverse(model, codes[0], 1, model.latent.traversal_values(5))
    assert images.shape == (5, 12) and torch.isfinite(images).all()
    assert model.generate(3, torch.Generator().manual_seed(0)).shape == (3, 12)


@pytest.mark.slow
def test_a_runs_report_draws_its_codes_on_the_sphere(tmp_path):
    from latentatlas import train_run
    from latentatlas.train import RunConfig
    from latentatlas.viz.report import write_report

    config = RunConfig.from_dict(
        {
            "dataset": {"name": "lit_sphere", "n": 200, "size": 8, "n_vis": 100},
            "model": {
                "name": "diffusion_vae",
                "latent": {"name": "sphere"},
                "encoder": {"name": "mlp", "hidden": [16]},
                "decoder": {"name": "mlp", "hidden": [16]},
            },
            "train": {"steps": 20, "batch_size": 50, "progress": False},
        }
    )
    train_run(config, tmp_path / "run")
    page = write_report(tmp_path / "run", dpi=40).read_text(encoding="utf-8")
    assert "the codes on the sphere" in page
    assert (tmp_path / "run" / "figures" / "latent_sphere.png").stat().st_size > 1000


@pytest.mark.slow
def test_a_rotation_runs_report_draws_its_codes_as_rotation_vectors(tmp_path):
    from latentatlas import train_run
    from latentatlas.train import RunConfig
    from latentatlas.viz.report import write_report

    config = RunConfig.from_dict(
        {
            "dataset": {
                "name": "tumbling_object",
                "n": 100,
                "size": 8,
                "supersample": 1,
                "n_vis": 60,
            },
            "model": {
                "name": "diffusion_vae",
                "latent": {"name": "rotation"},
                "encoder": {"name": "mlp", "hidden": [16]},
                "decoder": {"name": "mlp", "hidden": [16]},
            },
            "train": {"steps": 20, "batch_size": 50, "progress": False},
        }
    )
    train_run(config, tmp_path / "run")
    page = write_report(tmp_path / "run", dpi=40).read_text(encoding="utf-8")
    assert "the codes as rotation vectors" in page
    assert (tmp_path / "run" / "figures" / "latent_rotations.png").stat().st_size > 1000
