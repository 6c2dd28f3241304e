"""torchrun --nproc_per_node=2 trains with DistributedDataParallel (gloo on CPU)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from latentatlas import train_run
from latentatlas.train import RunConfig, load
from latentatlas.train import checkpoint as ckpt
from tests.conftest import tiny_run_dict


@pytest.mark.slow
def test_torchrun_two_processes_match_one_process_with_the_global_batch(tmp_path):
    # A deterministic autoencoder: DDP's averaged gradients over two ranks of batch B equal the
    # gradient of one process on the union batch 2B, which the trainer's sharding guarantees.
    base = tiny_run_dict(8, checkpoint_every=0)
    base["model"]["name"] = "ae"
    base["model"]["latent"] = {"name": "point", "dim": 2}
    sets = [f"--set=train.{k}={v}" for k, v in base["train"].items()]
    config_file = tmp_path / "run.json"
    config_file.write_text(json.dumps({k: base[k] for k in ("dataset", "model", "seed")}))
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "latentatlas.cli",
        "train",
        str(config_file),
        "--out",
        str(out),
        *sets,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / ckpt.METADATA).read_text())
    assert meta["status"] == "finished" and meta["step"] == 8

    single = dict(base, train={**base["train"], "batch_size": 2 * base["train"]["batch_size"]})
    reference, _ = train_run(RunConfig.from_dict(single), tmp_path / "single")
    ddp_model = load(out)
    for name, value in reference.state_dict().items():
        assert torch.allclose(ddp_model.state_dict()[name], value, atol=1e-5), name


@pytest.mark.slow
def test_torchrun_resume_equals_an_uninterrupted_run(tmp_path):
    # A VAE: each rank draws its own posterior noise, so resuming exactly needs every rank's
    # random state in the checkpoint, not only rank 0's.
    base = tiny_run_dict(10, checkpoint_every=0)
    config_file = tmp_path / "run.json"
    config_file.write_text(json.dumps({k: base[k] for k in ("dataset", "model", "seed")}))
    sets = [f"--set=train.{k}={v}" for k, v in base["train"].items() if k != "steps"]

    def torchrun(*args: str) -> None:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "latentatlas.cli",
            "train",
            *args,
            *sets,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]

    torchrun(str(config_file), "--out", str(tmp_path / "full"), "--set=train.steps=10")
    torchrun(str(config_file), "--out", str(tmp_path / "part"), "--set=train.steps=4")
    state = torch.load(tmp_path / "part" / ckpt.STATE, weights_only=True)
    assert state["torch_rng"].shape[0] == 2  # one random state per rank
    torchrun("--resume", "--out", str(tmp_path / "part"), "--set=train.steps=10")
    full, resumed = load(tmp_path / "full").state_dict(), load(tmp_path / "part").state_dict()
    for name, value in full.items():
        assert torch.equal(resumed[name], value), name
