"""The PCA-like autoencoder (slides 33-37, 42-46): covariance loss, stages, generator variant."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from latentatlas.data.base import InMemoryDataset
from latentatlas.errors import ConfigError, DataError
from latentatlas.models.pca_ae import (
    GeneratorPCAAutoencoder,
    PCAAEConfig,
    PCAAutoencoder,
    covariance_loss,
)
from latentatlas.train.trainer import Trainer, TrainerConfig

SPEC = {
    "input_shape": [6],
    "components": 3,
    "encoder": {"name": "mlp", "hidden": [8]},
    "decoder": {"name": "mlp", "hidden": [8]},
}


def _model(**overrides) -> PCAAutoencoder:
    torch.manual_seed(0)
    return PCAAutoencoder(PCAAEConfig.from_dict({**SPEC, **overrides}))


def test_covariance_loss_is_zero_for_decorrelated_codes_and_positive_otherwise():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(512, generator=g)
    # exactly decorrelated: z2 orthogonal to z1 after centring
    b = torch.randn(512, generator=g)
    a, b = a - a.mean(), b - b.mean()
    b = b - (a @ b) / (a @ a) * a
    z = torch.stack([a, b, torch.zeros(512)], 1)
    assert float(covariance_loss(z, 2)) == pytest.approx(0.0, abs=1e-10)
    corr = torch.stack([a, 0.5 * a + b], 1)
    cov = ((corr[:, 0] - corr[:, 0].mean()) * (corr[:, 1] - corr[:, 1].mean())).mean()
    assert float(covariance_loss(corr, 2)) == pytest.approx(float(cov**2), rel=1e-5)
    assert float(covariance_loss(corr, 2)) > 0.01
    # eq. 14 with the 1/(k − 1) normalisation: the mean of the squared covariances
    three = torch.stack([a, b, 0.5 * a + 0.5 * b], 1)
    c = three - three.mean(0)
    expected = ((c[:, 0] * c[:, 2]).mean() ** 2 + (c[:, 1] * c[:, 2]).mean() ** 2) / 2
    assert float(covariance_loss(three, 3)) == pytest.approx(float(expected), rel=1e-5)
    assert float(covariance_loss(three, 1)) == 0.0
    with pytest.raises(DataError):
        covariance_loss(three, 4)


def test_negative_covariance_weight_and_wrong_latent_are_refused():
    with pytest.raises(ConfigError, match="cov_weight"):
        PCAAEConfig.from_dict({**SPEC, "cov_weight": -1.0})
    with pytest.raises(ConfigError, match="point codes"):
        PCAAEConfig.from_dict({**SPEC, "latent": {"name": "point", "dim": 2}})
    with pytest.raises(ConfigError, match="stage"):
        _model().set_stage(4)


def test_components_past_the_stage_are_zero_and_each_head_is_normalised():
    model = _model()
    x = torch.randn(64, 6)
    model.set_stage(2)
    z = model.representation(x)
    assert z.shape == (64, 3) and torch.equal(z[:, 2], torch.zeros(64))
    model.train()
    out = model(x)
    codes = out.posterior.mean
    torch.testing.assert_close(codes[:, 1].mean(), torch.tensor(0.0), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        codes[:, 1].std(unbiased=False), torch.tensor(1.0), atol=1e-3, rtol=0
    )
    assert "covariance" in out.terms


def test_a_training_batch_of_one_is_refused_clearly():
    model = _model().train()
    with pytest.raises(DataError, match="batches of at least 2"):
        model(torch.randn(1, 6))
    model.eval()
    assert model.representation(torch.randn(1, 6)).shape == (1, 3)  # evaluation is fine


def test_curriculum_splits_the_steps_evenly():
    model = _model()
    stages = []
    for step in range(9):
        model.curriculum(step, 9)
        stages.append(model.stage)
    assert stages == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_stage_k_leaves_earlier_heads_unchanged():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(256, 6, generator=g)
    data = InMemoryDataset(x)
    model = _model()
    config = TrainerConfig(steps=30, batch_size=32, lr=1e-2, progress=False, checkpoint_every=0)
    snapshots = {}

    class Snapshot:
        def on_train_start(self, trainer): ...

        def on_step_end(self, trainer, step, scalars):
            if step in (10, 20, 30):
                snapshots[step] = {k: v.clone() for k, v in model.state_dict().items()}

        def on_checkpoint(self, trainer, step): ...

        def on_train_end(self, trainer, step): ...

    Trainer(model, data, config, callbacks=[Snapshot()]).fit()
    assert model.stage == 3
    first, second, third = snapshots[10], snapshots[20], snapshots[30]
    head0 = [k for k in first if k.startswith(("encoder.heads.0.", "encoder.norms.0."))]
    head1 = [k for k in first if k.startswith(("encoder.heads.1.", "encoder.norms.1."))]
    assert head0 and head1
    for k in head0:  # frozen after stage 1: weights and BatchNorm statistics
        assert torch.equal(first[k], second[k]) and torch.equal(first[k], third[k]), k
    for k in head1:
        assert torch.equal(second[k], third[k]), k
    # while the newest head and its decoder did train
    assert not torch.equal(
        first["encoder.heads.1.net.1.weight"], second["encoder.heads.1.net.1.weight"]
    )
    assert not torch.equal(second["decoder.2.net.1.weight"], third["decoder.2.net.1.weight"])
    # decoder 1 was fresh when stage 2 began: untouched during stage 1
    torch.manual_seed(0)
    fresh = _model()
    assert torch.equal(
        first["decoder.1.net.1.weight"], fresh.state_dict()["decoder.1.net.1.weight"]
    )


def test_covariance_term_decorrelates_the_components():
    g = torch.Generator().manual_seed(2)
    latent = torch.randn(512, 2, generator=g)
    mix = torch.randn(2, 6, generator=g)
    data = InMemoryDataset(latent @ mix)
    results = {}
    for weight in (0.0, 50.0):
        model = _model(components=2, cov_weight=weight)
        config = TrainerConfig(
            steps=600, batch_size=128, lr=1e-2, progress=False, checkpoint_every=0
        )
        Trainer(model, data, config, seed=0).fit()
        model.eval()
        with torch.no_grad():
            z = model.representation(data.x)
        results[weight] = abs(float(torch.corrcoef(z.T)[0, 1]))
    assert results[50.0] < 0.1
    assert results[50.0] < results[0.0]


class _Generator(nn.Module):
    def __init__(self, dim: int = 4):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, 12), nn.Tanh(), nn.Linear(12, 9))

    def forward(self, z):
        return self.net(z).reshape(-1, 1, 3, 3)


def test_generator_variant_measures_the_error_in_image_space():
    torch.manual_seed(0)
    gen = _Generator()
    centre = torch.randn(4)
    config = PCAAEConfig.from_dict({**SPEC, "input_shape": [4], "components": 2})
    model = GeneratorPCAAutoencoder(config, gen, centre)
    assert all(not p.requires_grad for p in gen.parameters())
    eta = 0.3 * torch.randn(16, 4)
    out = model(eta)
    with torch.no_grad():
        rec = model.decode(model.representation(eta))
        expected = (gen(rec + centre) - gen(eta + centre)).pow(2).flatten(1).sum(1).mean()
    model.eval()
    assert float(out.terms["reconstruction"].detach()) == pytest.approx(float(expected), rel=1e-4)
    out.loss.backward()
    assert all(p.grad is None for p in gen.parameters())


def test_generator_variant_refuses_mismatched_sizes():
    config = PCAAEConfig.from_dict({**SPEC, "input_shape": [5]})
    with pytest.raises(ConfigError, match="size of z̃"):
        GeneratorPCAAutoencoder(config, _Generator(), torch.zeros(4))
    config = PCAAEConfig.from_dict({**SPEC, "input_shape": [5]})
    with pytest.raises(ConfigError, match="does not accept a code of size 5"):
        GeneratorPCAAutoencoder(config, _Generator(4), torch.zeros(5))


def test_a_resumed_staged_run_equals_an_uninterrupted_one(tmp_path):
    import json

    from latentatlas import resume_run, train_run
    from latentatlas.train.callbacks import StopAt
    from latentatlas.train.run import RunConfig

    spec = {
        "dataset": {"name": "sine_circle", "n": 64},
        "model": {key: value for key, value in SPEC.items() if key != "input_shape"},
        "train": {
            "steps": 30,
            "batch_size": 16,
            "lr": 1e-2,
            "checkpoint_every": 7,
            "progress": False,
        },
        "seed": 0,
    }
    spec["model"]["name"] = "pca_ae"
    cfg = RunConfig.from_dict(spec)
    full, _ = train_run(cfg, tmp_path / "full")
    _, fit = train_run(cfg, tmp_path / "part", callbacks=[StopAt(14)])  # inside stage 2
    assert fit.status == "interrupted"
    resumed, fit = resume_run(tmp_path / "part")
    assert fit.step == 30 and resumed.stage == 3
    a, b = full.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((tmp_path / "part" / "config.json").read_text())["model"]["components"] == 3


def test_organise_generator_refuses_a_non_positive_radius():
    from latentatlas.analysis.organisation import organise_generator

    with pytest.raises(ConfigError, match="radius"):
        organise_generator(_Generator(), torch.zeros(4), radius=0.0)
