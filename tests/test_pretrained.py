"""save_pretrained / from_pretrained for models built in Python (issue 22)."""

from __future__ import annotations

import json

import pytest
import torch

import latentatlas
from latentatlas.errors import ConfigError, RunFolderError
from latentatlas.registry import MODELS, build

SPEC = {
    "name": "beta_vae",
    "beta": 4.0,
    "input_shape": [1, 16, 16],
    "latent": {"name": "euclidean", "dim": 3},
    "encoder": {
        "name": "conv_encoder",
        "channels": [4, 8],
        "kernel": 4,
        "stride": 2,
        "dense": [16],
    },
    "decoder": {
        "name": "conv_decoder",
        "channels": [8, 4],
        "kernel": 4,
        "stride": 2,
        "dense": [16],
    },
    "likelihood": {"name": "bernoulli"},
}


def test_a_model_built_in_python_round_trips(tmp_path):
    torch.manual_seed(0)
    model = build(MODELS, SPEC)
    folder = latentatlas.save_pretrained(model, tmp_path / "mine", SPEC)
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["beta"] == 4.0 and "input_shape" in config["model"]
    again = latentatlas.from_pretrained(folder)
    assert not again.training
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(model.eval().encode(x).mean, again.encode(x).mean)
    with pytest.raises(RunFolderError, match="--force"):
        latentatlas.save_pretrained(model, folder, SPEC)
    latentatlas.save_pretrained(model, folder, SPEC, force=True)


def test_save_pretrained_refuses_a_spec_that_does_not_fit_the_weights(tmp_path):
    model = build(MODELS, SPEC)
    other = {**SPEC, "latent": {"name": "euclidean", "dim": 5}}
    with pytest.raises(ConfigError, match="do not fit the spec"):
        latentatlas.save_pretrained(model, tmp_path / "x", other)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="expected the model's spec"):
        latentatlas.save_pretrained(model, tmp_path / "y", {"beta": 4})


def test_from_pretrained_reads_run_folders_and_refuses_broken_ones(tmp_path):
    from latentatlas.train.run import RunConfig

    run = RunConfig.from_dict(
        {
            "dataset": {"name": "sine_circle", "n": 32},
            "model": {"name": "vae", "latent": {"name": "euclidean", "dim": 2}},
            "train": {"steps": 2, "progress": False},
        }
    )
    trained, _ = latentatlas.train_run(run, tmp_path / "run")
    loaded = latentatlas.from_pretrained(tmp_path / "run")
    assert loaded.state_dict().keys() == trained.state_dict().keys()
    model = build(MODELS, SPEC)
    folder = latentatlas.save_pretrained(model, tmp_path / "m", SPEC)
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(RunFolderError, match="corrupt"):
        latentatlas.from_pretrained(folder)
    with pytest.raises(RunFolderError, match="no config.json"):
        latentatlas.from_pretrained(tmp_path / "absent")
