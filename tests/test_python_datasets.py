"""Datasets passed from Python: torch datasets adapted, and recorded with the run (issue 22)."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import TensorDataset

import latentatlas
from latentatlas.data.base import InMemoryDataset
from latentatlas.data.factors import Factor, FactorSpace
from latentatlas.data.recorded import as_factor_dataset
from latentatlas.errors import DataError
from latentatlas.train.run import RunConfig, load_dataset

from .conftest import run_cli

CONFIG = {
    "dataset": {"name": "sine_circle"},  # what the config says; the data passed is another
    "model": {
        "name": "vae",
        "latent": {"name": "euclidean", "dim": 2},
        "encoder": {"name": "mlp", "hidden": [8]},
        "decoder": {"name": "mlp", "hidden": [8]},
    },
    "train": {"steps": 4, "batch_size": 16, "progress": False},
}


def _labelled(n: int = 200) -> InMemoryDataset:
    g = torch.Generator().manual_seed(0)
    shape = torch.randint(0, 3, (n,), generator=g).double()
    angle = 2 * torch.pi * torch.rand(n, generator=g, dtype=torch.float64)
    x = torch.stack([torch.cos(angle), torch.sin(angle), shape / 2], 1).float()
    x = x + 0.01 * torch.randn(n, 3, generator=g)
    space = FactorSpace(
        [
            Factor("shape", 0, 2, values=(0, 1, 2), labels=("a", "b", "c")),
            Factor("angle", 0, 2 * torch.pi, periodic=True),
        ]
    )
    return InMemoryDataset(x, torch.stack([shape, angle], 1), space)


@pytest.mark.slow
def test_a_dataset_from_python_is_recorded_and_found_again(tmp_path):
    data = _labelled()
    run = tmp_path / "run"
    latentatlas.train_run(RunConfig.from_dict(CONFIG), run, dataset=data)
    config = json.loads((run / "config.json").read_text())
    assert config["dataset"]["name"] == "recorded" and (run / "data" / "data.safetensors").is_file()
    again = load_dataset(run)
    assert torch.equal(again.x, data.x) and torch.equal(again.factors, data.factors)
    assert again.factor_space.factors[0].labels == ("a", "b", "c")
    assert again.factor_space.factors[1].periodic
    _, more = latentatlas.resume_run(run, {"train": {"steps": 6}})  # no "the dataset differs"
    assert more.step == 6
    scored = run_cli("evaluate", str(run), "--samples", "2", "--metrics", "mig", "--preset", "fast")
    assert scored.returncode == 0, scored.stderr
    scores = json.loads((run / "disentanglement.json").read_text())["scores"]
    assert {"mig/shape", "mig/angle"} <= set(scores)


def test_a_torch_dataset_trains_with_or_without_factors(tmp_path):
    data = _labelled(64)
    with_factors = TensorDataset(data.x, data.factors)
    latentatlas.train_run(RunConfig.from_dict(CONFIG), tmp_path / "a", dataset=with_factors)
    recorded = load_dataset(tmp_path / "a")
    assert [f.name for f in recorded.factor_space.factors] == ["factor_0", "factor_1"]
    only_x = TensorDataset(data.x)
    latentatlas.train_run(
        RunConfig.from_dict(CONFIG), tmp_path / "b", dataset=only_x, record_data=False
    )
    assert not (tmp_path / "b" / "data").exists()  # the caller passes it again on resume


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([1, 2, 3], "expected a latent-atlas dataset or a sized torch.utils.data.Dataset"),
        (TensorDataset(torch.zeros(0, 3)), "is empty"),
    ],
)
def test_what_cannot_be_adapted_is_refused(data, match):
    with pytest.raises(DataError, match=match):
        as_factor_dataset(data)


def test_items_of_different_shapes_are_refused():
    class Ragged(torch.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return torch.zeros(3 + i)

    with pytest.raises(DataError, match="differ in shape"):
        as_factor_dataset(Ragged())


def test_the_trainer_takes_a_torch_dataset():
    from latentatlas.registry import MODELS, build
    from latentatlas.train import Trainer, TrainerConfig

    x = torch.rand(64, 5)
    model = build(MODELS, {"name": "vae", "input_shape": [5]})
    trainer = Trainer(
        model, TensorDataset(x), TrainerConfig(steps=3, batch_size=16, progress=False)
    )
    assert trainer.fit().status == "finished"
    assert torch.equal(trainer.dataset.x, x) and trainer.dataset.factors is None
