"""The vectorised ensemble trains each member exactly as train_run would alone."""

from __future__ import annotations

import pytest
import torch

from latentatlas.errors import ConfigError
from latentatlas.train import RunConfig, train_run
from latentatlas.train.ensemble import train_ensemble


def member(
    seed: int, data_sigma: float, sigma_x: float, name: str = "vae", latent=None
) -> RunConfig:
    model = {
        "name": name,
        "encoder": {"name": "mlp", "hidden": [6, 6]},
        "decoder": {"name": "mlp", "hidden": [6, 6]},
        "likelihood": {"name": "gaussian", "sigma": sigma_x},
    }
    if latent is not None:
        model["latent"] = latent
    return RunConfig.from_dict({
        "dataset": {"name": "sine_circle", "n": 200, "dim": 9, "sigma": data_sigma},
        "model": model,
        "train": {"steps": 40, "batch_size": 32, "lr": 3e-3, "schedule": "cosine",
                  "progress": False},
        "seed": seed,
    })  # fmt: skip


@pytest.mark.parametrize(
    ("name", "latent"), [("vae", None), ("diffusion_vae", None), ("ae", {"name": "point"})]
)
def test_members_match_training_alone(name, latent):
    configs = [member(s, ds, sx, name, latent) for s, ds, sx in
               [(0, 0.1, 0.1), (1, 0.1, 1.0), (2, 0.5, 0.1)]]  # fmt: skip
    result = train_ensemble(configs)
    assert result.losses.shape == (40, 3)
    for config, model in zip(configs, result.models):
        alone, _ = train_run(config, None)
        for key, value in alone.state_dict().items():
            torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-4, atol=1e-5)


def test_members_must_share_the_architecture():
    a = member(0, 0.1, 0.1)
    b = RunConfig.from_dict({**a.to_dict(), "model": {**a.model, "beta": 2.0}})
    with pytest.raises(ConfigError, match="differs from member 0 in model"):
        train_ensemble([a, b])
    c = RunConfig.from_dict({**a.to_dict(), "dataset": {**a.dataset, "n": 100}})
    with pytest.raises(ConfigError, match="differ in size or shape"):
        train_ensemble([a, c])
    thesis = member(0, 0.1, 0.1, "diffusion_vae", {"name": "circle", "thesis_compatible": True})
    with pytest.raises(ConfigError, match="Monte-Carlo KL"):
        train_ensemble([thesis, thesis])
