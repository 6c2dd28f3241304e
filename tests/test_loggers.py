"""Experiment trackers (train.loggers): every metrics record reaches CSV, TensorBoard, W&B
(offline) and MLflow, each read back with its own library, including across a crash and resume."""

from __future__ import annotations

import csv
import json
import math

import pytest

from latentatlas import resume_run, train_run
from latentatlas.errors import ConfigError
from latentatlas.train import Callback, RunConfig, read_metadata
from latentatlas.train import checkpoint as ckpt
from latentatlas.train.loggers import TensorBoardLogger

from .conftest import run_cli, tiny_run_dict


class CrashAt(Callback):
    """Raise after ``step`` steps: the run stops between two checkpoints, as a killed one does."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, trainer, step, scalars) -> None:
        if step == self.step:
            raise RuntimeError("simulated crash")


def config(*loggers: str, steps: int = 40, **train) -> RunConfig:
    train = {"log_every": 5, "eval_every": 20, "checkpoint_every": 20, **train}
    return RunConfig.from_dict(tiny_run_dict(steps=steps, loggers=list(loggers), **train))


def crashed_then_resumed(run_dir, *loggers: str):
    """Train to step 30 (checkpoint at 20, records to 30), crash, resume to 40."""
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_run(config(*loggers), run_dir, [CrashAt(30)])
    assert max(r["step"] for r in ckpt.read_metrics(run_dir)) == 30
    resume_run(run_dir)
    assert read_metadata(run_dir)["status"] == "finished"


def by_split(run_dir) -> dict[str, list[dict]]:
    """metrics.jsonl's records per split."""
    out: dict[str, list[dict]] = {}
    for record in ckpt.read_metrics(run_dir):
        out.setdefault(record["split"], []).append(record)
    return out


def test_csv_files_hold_every_record_of_metrics_jsonl(tmp_path):
    run_dir = tmp_path / "run"
    crashed_then_resumed(run_dir, "csv")
    records = by_split(run_dir)
    assert set(records) == {"train", "eval"}
    for split, expected in records.items():
        with open(run_dir / "csv" / f"{split}.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        # the crashed attempt's rows past the checkpoint are gone, as in metrics.jsonl
        assert [int(r["step"]) for r in rows] == [r["step"] for r in expected]
        for row, record in zip(rows, expected):
            for key, value in record.items():
                if key not in ("step", "split"):
                    assert float(row[key]) == pytest.approx(value, rel=1e-12), (split, key)


def test_tensorboard_event_files_read_back_as_metrics_jsonl(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    crashed_then_resumed(run_dir, "tensorboard")
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    records = by_split(run_dir)
    assert len(list((run_dir / "tensorboard").iterdir())) == 2  # one event file per attempt
    for split, expected in records.items():
        for key in ("neg_elbo", "kl"):
            scalars = events.Scalars(f"{split}/{key}")
            # the purge step hides the crashed attempt's steps 25 and 30
            assert [s.step for s in scalars] == [r["step"] for r in expected]
            assert [s.value for s in scalars] == pytest.approx([r[key] for r in expected])
    assert "config/text_summary" in events.Tags()["tensors"]  # the run config, as text


@pytest.mark.slow
def test_wandb_offline_run_is_one_run_across_a_resume(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)  # offline by default
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = tmp_path / "run"
    crashed_then_resumed(run_dir, "wandb")
    run_id = json.loads((run_dir / "loggers.json").read_text())["wandb"]
    attempts = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert len(attempts) == 2 and all(a.name.endswith(run_id) for a in attempts)
    for attempt in attempts:
        data = (attempt / f"run-{run_id}.wandb").read_bytes()
        assert b"train/neg_elbo" in data and b"eval/kl" in data


@pytest.mark.slow
def test_mlflow_metric_history_equals_metrics_jsonl(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run_dir = tmp_path / "run"
    crashed_then_resumed(run_dir, "mlflow")
    uri = f"sqlite:///{(run_dir / 'mlflow.db').resolve()}"
    run_id = json.loads((run_dir / "loggers.json").read_text())[f"mlflow:{uri}"]
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params["model.name"] == "vae"
    expected = {r["step"]: r["neg_elbo"] for r in by_split(run_dir)["eval"]}
    history = client.get_metric_history(run_id, "eval/neg_elbo")
    assert {m.step: m.value for m in history} == pytest.approx(expected)
    # the crashed attempt logged train records at 25 and 30 before its checkpoint was lost:
    # MLflow keeps them (its history is append-only), the resumed attempt logs them again
    train_steps = sorted({m.step for m in client.get_metric_history(run_id, "train/loss")})
    assert train_steps == [r["step"] for r in by_split(run_dir)["train"]]


def test_loggers_are_checked_before_any_work(tmp_path, monkeypatch):
    for bad, message in ((["nope"], "unknown logger 'nope'"), (["csv", "csv"], "named twice")):
        with pytest.raises(ConfigError, match=message):
            RunConfig.from_dict(tiny_run_dict(loggers=bad))
    monkeypatch.setattr(TensorBoardLogger, "module", "no_such_tracker_module")
    with pytest.raises(ConfigError, match=r"latent-atlas\[tensorboard\]"):
        train_run(config("tensorboard"), tmp_path / "run")
    assert not (tmp_path / "run" / ckpt.METRICS).exists()


@pytest.mark.slow
def test_cli_logger_option_sets_train_loggers(tmp_path):
    out = tmp_path / "run"
    args = ["--dataset", "sine_circle", "--model", "vae", "--set", "dataset.n=64"]
    args += [
        "--set",
        "train.steps=10",
        "--set",
        "train.log_every=5",
        "--set",
        "train.progress=false",
    ]
    proc = run_cli("train", *args, "--logger", "csv", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / ckpt.CONFIG).read_text())["train"]["loggers"] == ["csv"]
    rows = list(csv.DictReader(open(out / "csv" / "train.csv", newline="")))
    assert [int(r["step"]) for r in rows] == [5, 10] and all(
        math.isfinite(float(r["loss"])) for r in rows
    )
    bad = run_cli("train", *args, "--logger", "tensorbored", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "unknown logger 'tensorbored'" in bad.stderr
