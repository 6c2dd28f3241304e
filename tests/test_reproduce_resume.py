"""Reproductions keep every model in a run folder and continue where they stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from latentatlas.errors import Interrupted, RunFolderError
from latentatlas.experiments.model_store import ModelStore
from latentatlas.train.callbacks import PeriodicCallback, Snapshots, StopAt

from .conftest import run_cli, start_cli, tiny_run_dict

TINY_DISK = ["--quick", "--set", "size=16", "--set", "images=200", "--set", "channels=4"]


def _results(folder: Path) -> dict:
    """results.json without the wall times (the only thing two runs may differ in)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if "seconds" not in k}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads((folder / "results.json").read_text()))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "latentatlas.cli", *args]


@pytest.mark.slow
def test_sigterm_then_the_same_command_gives_the_uninterrupted_results(tmp_path):
    settings = [*TINY_DISK, "--set", "steps=300"]
    whole = run_cli("reproduce", "slides-disk", *settings, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "stopped"
    proc = start_cli("reproduce", "slides-disk", *settings, "--out", str(out))
    metrics = out / "models" / "02-no_bias" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.is_file() and metrics.stat().st_size) and proc.poll() is None:
        assert time.monotonic() < deadline, "the second model never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Run the same command again to continue" in stderr and "Traceback" not in stderr
    meta = json.loads((out / "models" / "02-no_bias" / "metadata.json").read_text())
    assert meta["status"] == "interrupted" and 0 < meta["step"] < 300
    assert not (out / "results.json").exists()
    page = (out / "report.html").read_text()
    assert "partial: 1 of 3 models finished" in page  # with biases, without, contractive
    again = run_cli("reproduce", "slides-disk", *settings, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert _results(out) == _results(tmp_path / "whole")
    record = json.loads((out / "reproduction.json").read_text())
    assert record["invocations"] == 2 and record["models"] == 3
    assert "partial" not in (out / "report.html").read_text()


@pytest.mark.slow
def test_a_rerun_reuses_finished_models_and_refuses_other_settings(tmp_path):
    out = tmp_path / "disk"
    args = ["reproduce", "slides-disk", *TINY_DISK, "--set", "steps=20", "--out", str(out)]
    assert run_cli(*args).returncode == 0
    weights = out / "models" / "01-bias" / "model.safetensors"
    first = (weights.stat().st_mtime_ns, _results(out))
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert (weights.stat().st_mtime_ns, _results(out)) == first  # reused, not retrained
    changed = run_cli(*args[:-2], "--set", "steps=30", "--out", str(out))
    assert changed.returncode == 2 and "settings.steps = 20" in changed.stderr
    assert "--force" in changed.stderr and "Traceback" not in changed.stderr
    other = run_cli(
        "reproduce",
        "slides-disk",
        *TINY_DISK,
        "--set",
        "steps=20",
        "--seed",
        "3",
        "--out",
        str(out),
    )
    assert other.returncode == 2 and "options.seed" in other.stderr
    replaced = run_cli(*args[:-2], "--set", "steps=30", "--out", str(out), "--force")
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads((out / "reproduction.json").read_text())["settings"]["steps"] == 30


@pytest.mark.slow
def test_a_model_folder_from_other_code_is_refused(tmp_path):
    out = tmp_path / "disk"
    args = ["reproduce", "slides-disk", *TINY_DISK, "--set", "steps=20", "--out", str(out)]
    assert run_cli(*args).returncode == 0
    config = out / "models" / "02-no_bias" / "config.json"
    data = json.loads(config.read_text())
    data["train"]["lr"] = 0.5  # as if the experiment's code had changed since
    config.write_text(json.dumps(data))
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert "02-no_bias was trained with train.lr = 0.5, this run needs 0.01" in proc.stderr


@pytest.mark.slow
def test_a_model_saved_before_a_new_config_field_is_reused(tmp_path):
    """A field added to the library since a model was saved (absent from its config.json, its
    default keeping the old behaviour) does not make the reproduction refuse the model; the
    same field with another value than the default does."""
    out = tmp_path / "disk"
    args = ["reproduce", "slides-disk", *TINY_DISK, "--set", "steps=20", "--out", str(out)]
    assert run_cli(*args).returncode == 0
    weights = out / "models" / "02-no_bias" / "model.safetensors"
    before = weights.stat().st_mtime_ns
    config = out / "models" / "02-no_bias" / "config.json"
    data = json.loads(config.read_text())
    del data["model"]["decoder"]["output_kernel"]  # as written before that field existed
    config.write_text(json.dumps(data))
    data["train"]["memory_format"] = "contiguous"  # the layout before auto: rounding only
    config.write_text(json.dumps(data))
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert weights.stat().st_mtime_ns == before  # reused, not retrained
    data["model"]["decoder"]["output_kernel"] = 3
    config.write_text(json.dumps(data))
    changed = run_cli(*args)
    assert changed.returncode == 2, changed.stderr
    assert "model.decoder.output_kernel = 3, this run needs 0" in changed.stderr


@pytest.mark.slow
def test_ensemble_members_are_run_folders_reused_by_a_rerun(tmp_path):
    from latentatlas import load

    out = tmp_path / "table"
    args = [
        "reproduce",
        "thesis-table-5.1",
        "--quick",
        "--set",
        "steps=30",
        "--set",
        "repetitions=1",
        "--set",
        "n=300",
        "--out",
        str(out),
    ]
    assert run_cli(*args).returncode == 0
    members = sorted((out / "models").iterdir())
    assert len(members) == 9 and members[0].name == "01-sigma0.01-sigmax0.01-seed0"
    model = load(members[4])
    assert model.latent.dim == 2
    stamp = [(m / "model.safetensors").stat().st_mtime_ns for m in members]
    first = _results(out)
    assert run_cli(*args).returncode == 0
    assert [(m / "model.safetensors").stat().st_mtime_ns for m in members] == stamp
    assert _results(out) == first


def test_a_reproduction_and_a_sweep_resume_an_interrupted_ensemble_the_same_way(
    tmp_path, monkeypatch
):
    """One run store (issue 37): SIGTERM at an ensemble's first checkpoint, in a reproduction's
    model store and in a sweep, leaves every member's folder at that step; running again
    resumes them as one ensemble from there, to the weights and per-step losses of an
    uninterrupted ensemble. (A reproduction used to keep nothing and train it all again.)"""
    from latentatlas.tools import sweep as sweep_module
    from latentatlas.train import RunConfig, ensemble, load, read_metadata

    dicts = [{**tiny_run_dict(30, checkpoint_every=10), "seed": seed} for seed in (0, 1)]
    configs = [RunConfig.from_dict(d) for d in dicts]
    whole = ensemble.train_ensemble(configs)
    train, starts = ensemble.train_ensemble, []

    def stop_the_first_attempt(cs, progress=False, on_checkpoint=None, start=None):
        starts.append(None if start is None else [state["step"] for state in start])

        def checkpoint(result):
            on_checkpoint(result)
            if start is None:
                os.kill(os.getpid(), signal.SIGTERM)

        return train(cs, progress, checkpoint, start)

    monkeypatch.setattr(ensemble, "train_ensemble", stop_the_first_attempt)
    trials = [sweep_module.Trial(f"t{k}", "vae", {}, k, d) for k, d in enumerate(dicts)]
    store = ModelStore(tmp_path / "reproduction")
    runs = {
        "reproduction": (
            lambda: store.train_ensemble(configs, ["t0", "t1"]),
            [tmp_path / "reproduction" / "models" / name for name in ("01-t0", "02-t1")],
        ),
        "sweep": (
            lambda: sweep_module._train_group_rows(
                trials, str(tmp_path / "sweep"), sweep_module.Scoring(["mig"], "fast")
            ),
            [tmp_path / "sweep" / "trials" / name for name in ("t0", "t1")],
        ),
    }
    for what, (run, folders) in runs.items():
        previous = signal.getsignal(signal.SIGTERM)
        with pytest.raises(Interrupted, match="step 10 of 30") as stopped:
            run()
        assert stopped.value.signal == "SIGTERM" and "continues it" in str(stopped.value)
        assert signal.getsignal(signal.SIGTERM) is previous
        for folder in folders:
            meta = read_metadata(folder)
            assert (meta["status"], meta["step"]) == ("interrupted", 10), what
        starts.clear()
        store.count = 0  # the rerun: a new invocation goes through the same models again
        result = run()
        assert starts == [[10, 10]], what  # one ensemble, from both members' checkpoints
        for folder, model in zip(folders, whole.models):
            assert read_metadata(folder)["status"] == "finished"
            for key, value in model.state_dict().items():
                assert torch.allclose(load(folder).state_dict()[key], value, atol=1e-5), key
        if what == "reproduction":
            assert torch.allclose(result.losses, whole.losses, atol=1e-5)
        else:
            assert [row["status"] for row in result] == ["done", "done"]


def test_callback_state_survives_an_interruption(tmp_path):
    """Weight snapshots and periodic measurements of an interrupted training are restored from
    its checkpoint, so the resumed model ends with what an uninterrupted one has."""
    config = tiny_run_dict(steps=12, log_every=1)
    data = None  # the store builds the data set from the config

    def callbacks():
        mean = PeriodicCallback(lambda m: {"w": float(next(m.parameters()).mean())}, every=4)
        return Snapshots([3, 10]), mean

    snaps, periodic = callbacks()
    whole = ModelStore(None).train(config, data, [snaps, periodic])
    store = ModelStore(tmp_path)
    with pytest.raises(Interrupted):
        store.train(config, data, [*callbacks(), StopAt(6)])
    resumed_snaps, resumed_periodic = callbacks()
    resumed = ModelStore(tmp_path).train(config, data, [resumed_snaps, resumed_periodic])
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert set(resumed_snaps.weights) == {3, 10}
    for step in (3, 10):
        for name, value in snaps.weights[step].items():
            assert torch.equal(value, resumed_snaps.weights[step][name]), (step, name)
    assert resumed_periodic.records == periodic.records
    assert [r["loss"] for r in resumed.records] == [r["loss"] for r in whole.records]
    # a third call reuses the finished run: the callbacks get their end state, no training
    again_snaps, again_periodic = callbacks()
    again = ModelStore(tmp_path).train(config, data, [again_snaps, again_periodic])
    assert again.reused and set(again_snaps.weights) == {3, 10}
    assert again_periodic.records == periodic.records


@pytest.mark.slow
def test_a_reproduction_without_its_identity_file_is_not_continued(tmp_path):
    out = tmp_path / "disk"
    args = ["reproduce", "slides-disk", *TINY_DISK, "--set", "steps=10", "--out", str(out)]
    assert run_cli(*args).returncode == 0
    (out / "experiment.json").unlink()
    proc = run_cli(*args)
    assert proc.returncode == 2 and "without experiment.json" in proc.stderr
    (out / "experiment.json").write_text("[1, 2]")
    proc = run_cli(*args)
    assert proc.returncode == 2 and "experiment.json: corrupt" in proc.stderr


@pytest.mark.slow
def test_device_is_checked_before_anything_is_written(tmp_path):
    proc = run_cli(
        "reproduce", "slides-disk", *TINY_DISK, "--device", "cuda:7", "--out", str(tmp_path / "x")
    )
    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    assert proc.returncode == 2 and "--device: 'cuda:7' is not available" in proc.stderr
    assert not (tmp_path / "x").exists()
    bad = run_cli("reproduce", "slides-disk", "--device", "gpu!", "--out", str(tmp_path / "y"))
    assert bad.returncode == 2 and "--device: expected a torch device" in bad.stderr


@pytest.mark.slow
def test_models_train_on_the_given_device_and_come_back_on_the_cpu(tmp_path):
    out = tmp_path / "disk"
    proc = run_cli(
        "reproduce",
        "slides-disk",
        *TINY_DISK,
        "--set",
        "steps=5",
        "--device",
        "cpu",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    config = json.loads((out / "models" / "01-bias" / "config.json").read_text())
    assert config["train"]["device"] == "cpu"
    assert json.loads((out / "reproduction.json").read_text())["device"] == "cpu"


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_ctrl_c_exits_130_and_continues_too(tmp_path):
    out = tmp_path / "disk"
    settings = [*TINY_DISK, "--set", "steps=300"]
    proc = start_cli("reproduce", "slides-disk", *settings, "--out", str(out))
    metrics = out / "models" / "01-bias" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.is_file() and metrics.stat().st_size) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "partial: 0 of 3 models finished" in (out / "report.html").read_text()
    again = run_cli("reproduce", "slides-disk", *settings, "--out", str(out))
    assert again.returncode == 0, again.stderr
    with pytest.raises(RunFolderError):
        from latentatlas.experiments.runner import check_continuation

        check_continuation(out, {"experiment": "other"})


def test_the_experiment_bar_counts_models_against_the_expected_number():
    from latentatlas.experiments.model_store import ExperimentProgress, ModelEvent

    with ExperimentProgress("demo") as bar:
        bar.update(ModelEvent("start", 0, "first", 3))
        bar.update(ModelEvent("done", 0, "first", 3, reused=True))
        bar.update(ModelEvent("start", 1, "second", 3))
        assert (bar.bar.n, bar.bar.total) == (1, 3)
        assert "second (training)" in str(bar.bar.postfix)
    silent = ExperimentProgress("demo", enabled=False)
    silent.update(ModelEvent("done", 0, "x", 1))
    assert silent.bar is None


def _wait_until_stopped(proc: subprocess.Popen) -> None:
    """Return once ``proc`` is stopped by SIGSTOP (or has ended): its state in /proc is T."""
    stat = Path(f"/proc/{proc.pid}/stat")
    deadline = time.monotonic() + 30
    while proc.poll() is None and stat.is_file():
        # the state is the field after the command's parenthesised name
        if stat.read_text().rsplit(")", 1)[1].split()[0] in ("T", "t"):
            return
        assert time.monotonic() < deadline, "the process did not stop"
        time.sleep(0.001)
    if not stat.parent.is_dir():  # no /proc: give the signal time to land
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_after_sigkill_one_message_names_every_stale_lock_and_the_rerun_continues(tmp_path):
    settings = [*TINY_DISK, "--set", "steps=300"]
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        _cli("reproduce", "slides-disk", *settings, "--out", str(out)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    metrics = out / "models" / "02-no_bias" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.is_file() and metrics.stat().st_size) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # freeze it while a model is in training (its lock and the folder's held), then kill it:
    # on a loaded machine the tiny 02 may finish before a plain kill lands. The locks are read
    # only once the process has stopped (a signal is delivered asynchronously: read at once,
    # a model could still finish and remove its lock after the read)
    while True:
        proc.send_signal(signal.SIGSTOP)
        _wait_until_stopped(proc)
        locks = sorted(out.glob("**/.latent-atlas.lock"))
        if len(locks) == 2 or proc.poll() is not None:
            break
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    proc.kill()
    proc.wait(timeout=60)
    assert out / ".latent-atlas.lock" in locks and len(locks) == 2
    refused = run_cli("reproduce", "slides-disk", *settings, "--out", str(out))
    assert refused.returncode == 2 and "stale lock" in refused.stderr
    assert all(str(lock) in refused.stderr for lock in locks), (locks, refused.stderr)
    for lock in locks:
        lock.unlink()
    finished = sum(
        json.loads(meta.read_text()).get("status") == "finished"
        for meta in (out / "models").glob("*/metadata.json")
    )
    # a killed reproduction wrote no report itself: `report` writes the partial one
    reported = run_cli("report", str(out))
    assert reported.returncode == 0, reported.stderr
    assert f"partial: {finished} of 3 models finished" in (out / "report.html").read_text()
    assert finished in (1, 2)
    again = run_cli("reproduce", "slides-disk", *settings, "--out", str(out))
    assert again.returncode == 0, again.stderr
    whole = run_cli("reproduce", "slides-disk", *settings, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0
    assert _results(out) == _results(tmp_path / "whole")
    finished = run_cli("report", str(out))
    assert finished.returncode == 2 and "is a finished reproduction" in finished.stderr


def test_a_reused_model_keeps_its_end_of_training_measurement(tmp_path):
    """The last checkpoint precedes the end-of-training callbacks; reuse runs them again
    (without writing), so a measurement taken only at the end is not lost — and a run killed
    in them, after its last checkpoint, is completed and marked finished."""
    config = tiny_run_dict(steps=12, log_every=1)

    def periodic():
        return PeriodicCallback(lambda m: {"w": float(next(m.parameters()).mean())}, every=5)

    first = periodic()
    ModelStore(tmp_path).train(config, None, [first])
    assert [r["step"] for r in first.records] == [5, 10, 12]
    again = periodic()
    reused = ModelStore(tmp_path).train(config, None, [again])
    assert reused.reused and again.records == first.records
    folder = reused.folder
    metrics_before = (folder / "metrics.jsonl").read_text()
    meta = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**meta, "status": "running"}))
    third = periodic()
    assert ModelStore(tmp_path).train(config, None, [third]).reused
    assert third.records == first.records
    assert json.loads((folder / "metadata.json").read_text())["status"] == "finished"
    assert (folder / "metrics.jsonl").read_text() == metrics_before  # reuse wrote nothing


def test_an_interrupted_sweep_trial_stops_the_sweep_unscored(tmp_path, monkeypatch):
    from latentatlas.tools import sweep as sweep_module
    from latentatlas.train import store as store_module
    from latentatlas.train.trainer import FitResult

    def stopped(config, run_dir, *args, **kwargs):
        Path(run_dir).mkdir(parents=True)
        return None, FitResult(7, "interrupted", {}, "SIGTERM")

    monkeypatch.setattr(store_module, "fit_config", stopped)
    trial = sweep_module.Trial("t0", "vae", {}, 0, tiny_run_dict(steps=20))
    with pytest.raises(Interrupted) as caught:
        sweep_module.run_trial(trial, str(tmp_path), sweep_module.Scoring(["mig"], "fast"))
    assert caught.value.exit_code == 143
    assert not (tmp_path / "trials" / "t0" / "disentanglement.json").exists()


def test_interrupted_survives_pickling_with_its_signal():
    import pickle

    stop = pickle.loads(pickle.dumps(Interrupted("SIGTERM", "trial t0 at step 7")))
    assert stop.signal == "SIGTERM" and stop.exit_code == 143 and "step 7" in str(stop)


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_ctrl_c_between_trainings_exits_130_with_how_to_continue(tmp_path):
    out = tmp_path / "table"
    proc = start_cli(
        "reproduce", "thesis-table-5.1", "--quick", "--set", "steps=100000", "--out", str(out)
    )
    deadline = time.monotonic() + 120
    while not (out / "experiment.json").is_file() and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)  # inside the ensemble's loop (no trainer: plain KeyboardInterrupt)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Run the same command again to continue" in stderr and "Traceback" not in stderr
    assert "partial: 0 of 18 models finished" in (out / "report.html").read_text()
