"""Model settings chosen from the data when the config leaves them out, and named presets
(issue 22: an image folder trained a 2-D MLP with σX = 0.1 and no warning)."""

from __future__ import annotations

import json

import pytest
import torch

import latentatlas
from latentatlas.data.base import InMemoryDataset
from latentatlas.errors import ConfigError
from latentatlas.train import RunConfig
from latentatlas.train.data_defaults import apply_preset, choose_model_defaults, conv_stages

from .conftest import run_cli


def images(shape, low=0.0, high=1.0, binary=False, n=32):
    x = torch.rand(n, *shape) * (high - low) + low
    return InMemoryDataset((x > 0.5).float() if binary else x)


@pytest.mark.parametrize(
    ("size", "stages"), [((64, 64), 4), ((32, 32), 3), ((48, 40), 3), ((20, 20), 2), ((18, 18), 1)]
)
def test_conv_stages_halve_both_sides_exactly_and_keep_four_pixels(size, stages):
    assert conv_stages(*size) == stages


def test_images_get_conv_nets_latent_10_and_bernoulli_in_0_1():
    choice = choose_model_defaults({"name": "beta_vae"}, images((3, 32, 32), binary=True))
    assert choice.model["encoder"] == {"name": "conv_encoder", "channels": [32, 32, 32]}
    assert choice.model["decoder"]["name"] == "conv_decoder"
    assert choice.model["latent"] == {"name": "euclidean", "dim": 10}
    assert choice.model["likelihood"] == {"name": "bernoulli"}
    assert "3×32×32 images with values in {0, 1}" in choice.describe()
    # data outside [0, 1] keep the Gaussian; given parts are kept
    given = {"name": "vae", "encoder": {"name": "mlp", "hidden": [64]}, "latent": {"dim": 3}}
    choice = choose_model_defaults(given, images((1, 16, 16), -1.0, 1.0))
    assert choice.model["encoder"] == {"name": "mlp", "hidden": [64]}
    assert choice.model["latent"] == {"dim": 3} and "likelihood" not in choice.chosen
    assert set(choice.chosen) == {"decoder"}


def test_vectors_and_latents_that_are_the_method_keep_the_models_defaults():
    vectors = InMemoryDataset(torch.rand(16, 25))
    assert choose_model_defaults({"name": "vae"}, vectors).chosen == {}
    for name in ("diffusion_vae", "atomic_ae", "pca_ae"):
        assert choose_model_defaults({"name": name}, images((1, 32, 32))).chosen == {}
    assert choose_model_defaults({"name": "vae"}, images((1, 8, 8))).chosen == {}  # too small


def test_presets_fill_what_the_config_leaves_out():
    spec = apply_preset("locatello", {"name": "beta_vae", "beta": 4}, (1, 64, 64))
    assert spec["encoder"]["channels"] == [32, 32, 64, 64] and spec["beta"] == 4
    assert apply_preset("mlp", {"name": "vae"}, (1, 64, 64)) == {"name": "vae"}
    with pytest.raises(ConfigError, match="64×64"):
        apply_preset("locatello", {"name": "beta_vae"}, (1, 32, 32))
    with pytest.raises(ConfigError, match="unknown preset 'big'"):
        apply_preset("big", {"name": "vae"}, (1, 64, 64))


@pytest.mark.slow
def test_train_run_and_the_cli_choose_and_say_so(tmp_path, caplog):
    config = RunConfig.from_dict(
        {
            "dataset": {"name": "disks", "n": 64, "size": 16},
            "model": {"name": "beta_vae"},
            "train": {"steps": 2, "progress": False},
        }
    )
    with caplog.at_level("WARNING"):
        latentatlas.train_run(config, tmp_path / "auto")
    assert "defaults chosen from the data (1×16×16 images" in caplog.text
    saved = json.loads((tmp_path / "auto" / "config.json").read_text())["model"]
    assert saved["encoder"]["name"] == "conv_encoder" and saved["latent"]["dim"] == 10
    latentatlas.train_run(config, tmp_path / "plain", defaults=None)
    saved = json.loads((tmp_path / "plain" / "config.json").read_text())["model"]
    assert saved["encoder"]["name"] == "mlp" and saved["latent"]["dim"] == 2
    sets = ["dataset.n=64", "dataset.size=16", "train.steps=2", "train.progress=false"]
    args = ["train", "--dataset", "disks", "--model", "vae", *(f"--set={s}" for s in sets)]
    proc = run_cli(*args, "--out", str(tmp_path / "cli"))
    assert proc.returncode == 0 and "defaults chosen from the data" in proc.stderr
    proc = run_cli(*args, "--preset", "mlp", "--out", str(tmp_path / "mlp"))
    assert proc.returncode == 0 and "defaults chosen" not in proc.stderr
    saved = json.loads((tmp_path / "mlp" / "config.json").read_text())["model"]
    assert saved["encoder"]["name"] == "mlp"
    bad = run_cli(*args, "--preset", "locatello", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "64×64" in bad.stderr and "Traceback" not in bad.stderr
