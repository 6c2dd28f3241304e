"""The VAE variants of Locatello et al. (2019): objectives, conformance (train, save, reload,
resume) and the study's network preset."""

from __future__ import annotations

import math

import pytest
import torch

from latentatlas import resume_run, train_run
from latentatlas.models.disentangling import (
    dip_penalty,
    locatello_spec,
    minibatch_weighted_tc,
    permute_dims,
)
from latentatlas.registry import MODELS, build
from latentatlas.train import checkpoint as ckpt
from latentatlas.train.callbacks import StopAt
from latentatlas.train.run import RunConfig, load, load_config

VARIANTS = {
    "beta_vae": {},
    "annealed_vae": {"iteration_threshold": 10, "c_max": 5.0},
    "beta_tcvae": {},
    "dip_vae": {"dip_type": "ii"},
    "factor_vae": {"discriminator_units": 16, "discriminator_layers": 2},
}


def run_dict(name: str, steps: int = 12) -> dict:
    return {
        "dataset": {"name": "sine_circle", "n": 128, "dim": 8},
        "model": {"name": name, "latent": {"name": "euclidean", "dim": 3}, **VARIANTS[name]},
        "train": {
            "steps": steps,
            "batch_size": 32,
            "progress": False,
            "checkpoint_every": 5,
            "log_every": 2,
        },
        "seed": 2,
    }


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_trains_saves_reloads_and_resumes(name, tmp_path):
    cfg = RunConfig.from_dict(run_dict(name))
    model, fit = train_run(cfg, tmp_path / "full")
    assert fit.status == "finished" and math.isfinite(fit.last["loss"])
    reloaded = load(tmp_path / "full")
    x = torch.rand(4, 8)
    assert torch.equal(reloaded.representation(x), model.eval().representation(x))
    train_run(cfg, tmp_path / "part", callbacks=[StopAt(7)])
    resumed, _ = resume_run(tmp_path / "part")
    a, b = model.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), name


def test_annealed_capacity_grows_linearly_and_enters_the_loss():
    vae = build(
        MODELS,
        {
            "name": "annealed_vae",
            "input_shape": [8],
            "gamma": 100.0,
            "c_max": 10.0,
            "iteration_threshold": 100,
            "latent": {"name": "euclidean", "dim": 2},
        },
    )
    for step, expected in ((0, 0.0), (50, 5.0), (100, 10.0), (500, 10.0)):
        vae.curriculum(step, 1000)
        assert vae.capacity == pytest.approx(expected)
    vae.curriculum(50, 1000)
    torch.manual_seed(0)
    values = vae(torch.rand(16, 8)).scalars()
    gap = abs(values["kl"] - 5.0)
    assert values["capacity_gap"] == pytest.approx(gap, rel=1e-5)
    assert values["loss"] == pytest.approx(values["reconstruction"] + 100.0 * gap, rel=1e-5)


def test_minibatch_weighted_tc_matches_its_formula_and_its_known_bias():
    g = torch.Generator().manual_seed(1)
    m, d, n = 6, 3, 1000
    loc, scale = torch.randn(m, d, generator=g), torch.rand(m, d, generator=g) + 0.5
    z = loc + scale * torch.randn(m, d, generator=g)
    joint, marginal = [], []
    for i in range(m):
        per_k = [torch.distributions.Normal(loc[k], scale[k]).log_prob(z[i]) for k in range(m)]
        stacked = torch.stack(per_k)  # (k, d)
        joint.append(torch.logsumexp(stacked.sum(1), 0) - math.log(n * m))
        marginal.append((torch.logsumexp(stacked, 0) - math.log(n * m)).sum())
    expected = (torch.stack(joint) - torch.stack(marginal)).mean()
    assert float(minibatch_weighted_tc(z, loc, scale, n)) == pytest.approx(
        float(expected), rel=1e-5
    )
    # posteriors equal to the prior: the estimator returns (d − 1) log N (its bias), not 0
    prior = minibatch_weighted_tc(z, torch.zeros(m, d), torch.ones(m, d), n)
    assert float(prior) == pytest.approx((d - 1) * math.log(n), rel=1e-5)


def test_beta_tcvae_gets_the_dataset_size_from_its_data(tmp_path):
    train_run(RunConfig.from_dict(run_dict("beta_tcvae", 2)), tmp_path / "run")
    assert load_config(tmp_path / "run").model["dataset_size"] == 128


def test_dip_penalty_is_zero_for_decorrelated_unit_codes():
    g = torch.Generator().manual_seed(3)
    loc = torch.linalg.qr(torch.randn(400, 3, generator=g))[0] * math.sqrt(400)
    loc = loc - loc.mean(0)
    off, diag = dip_penalty(loc, torch.zeros(400, 3), "i")
    assert float(off) < 0.05 and float(diag) < 0.05
    _, diag_ii = dip_penalty(loc, torch.ones(400, 3), "ii")  # variances add 1 to the diagonal
    assert float(diag_ii) == pytest.approx(3.0, abs=0.2)
    vae = build(
        MODELS,
        {
            "name": "dip_vae",
            "input_shape": [4],
            "lambda_od": 2.0,
            "latent": {"name": "euclidean", "dim": 2},
        },
    )
    assert vae.term_weights() == {"kl": 1.0, "dip_off_diagonal": 2.0, "dip_diagonal": 20.0}


def test_factor_vae_trains_its_discriminator_in_its_own_step(tmp_path):
    cfg = RunConfig.from_dict(run_dict("factor_vae", 6))
    torch.manual_seed(cfg.seed)
    fresh = build(MODELS, {**cfg.model, "input_shape": [8]})
    model, _ = train_run(cfg, tmp_path / "run")
    before = dict(fresh.discriminator.named_parameters())
    after = dict(model.discriminator.named_parameters())
    assert any(not torch.equal(before[k], after[k]) for k in before)
    own = {id(p) for p in model.discriminator.parameters()}
    assert not own & {id(p) for p in model.optimized_parameters()}
    records = [r for r in ckpt.read_metrics(tmp_path / "run") if r["split"] == "discriminator"]
    assert records and all(math.isfinite(r["discriminator"]) for r in records)
    z = torch.arange(12.0).reshape(4, 3)
    shuffled = permute_dims(z, torch.Generator().manual_seed(0))
    assert all(sorted(shuffled[:, j].tolist()) == z[:, j].tolist() for j in range(3))


def test_the_study_preset_builds_its_64x64_networks():
    spec = locatello_spec("factor_vae", gamma=20.0)
    vae = build(MODELS, {**spec, "input_shape": [1, 64, 64]})
    convs = [m for m in vae.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert vae.latent.dim == 10 and vae.config.gamma == 20.0
    assert vae.decode(torch.zeros(2, 10)).shape == (2, 1, 64, 64)
    with pytest.raises(Exception, match="not one of the study's models"):
        locatello_spec("gan")
