"""Sweeps: a 2×2 grid end to end locally (ensemble and processes), on a local Ray instance, and
bad input."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch
import yaml

from latentatlas import train_run
from latentatlas.errors import ConfigError, RunFolderError
from latentatlas.tools.sweep import SweepConfig, expand, run_sweep, with_model_defaults
from latentatlas.train.run import RunConfig, load
from latentatlas.train.store import check_same_config

from .conftest import assert_judged, run_cli

BASE = {
    "dataset": {
        "name": "disks",
        "n": 200,
        "size": 16,
        "position_range": 4,
        "radius_min": 2,
        "radius_max": 4,
    },
    "model": {"latent": {"name": "euclidean", "dim": 3}, "likelihood": {"name": "bernoulli"}},
    "train": {"steps": 15, "batch_size": 32},
}


def sweep_dict(**changes) -> dict:
    return {
        "base": BASE,
        "models": {
            "beta_vae": {"beta": 4},
            "factor_vae": {"discriminator_units": 16, "discriminator_layers": 2},
        },
        "seeds": [0, 1],
        "metrics": ["mig", "sap", "unsupervised"],
        "preset": "fast",
        **changes,
    }


@pytest.mark.slow
def test_a_2x2_sweep_runs_end_to_end_and_continues(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep_dict()))
    out = tmp_path / "out"
    proc = run_cli("sweep", str(path), "--out", str(out), "--jobs", "2", timeout=400)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["trial"] for r in rows] == [
        "beta_vae-beta=4-seed0",
        "beta_vae-beta=4-seed1",
        "factor_vae-discriminator_layers=2-discriminator_units=16-seed0",
        "factor_vae-discriminator_layers=2-discriminator_units=16-seed1",
    ]
    assert all(r["status"] == "done" and float(r["mig"]) >= 0 for r in rows)
    # one column per hyper-parameter, empty where the model has none of that name
    assert [r["beta"] for r in rows] == ["4", "4", "", ""]
    assert [r["discriminator_units"] for r in rows] == ["", "", "16", "16"]
    progress = [ln for ln in proc.stderr.splitlines() if ln.startswith("[")]
    assert len(progress) == 4 and progress[-1].startswith("[4/4 done, 0 running, 0 failed]")
    for r in rows:
        scores = json.loads((out / "trials" / r["trial"] / "disentanglement.json").read_text())
        assert {"mig", "sap", "gaussian_total_correlation"} <= set(scores["scores"])
    assert (out / "report.html").is_file() and (out / "figures" / "scores.png").is_file()
    # the β-VAE seeds trained as one ensemble: each equals the run trained alone (the same
    # model: the networks the config leaves out chosen from the data in both)
    alone, _ = train_run(
        RunConfig.from_dict(expand(SweepConfig.from_dict(sweep_dict()))[1].config), None
    )
    member = load(out / "trials" / "beta_vae-beta=4-seed1")
    # up to float32 rounding: the ensemble sums in another order, and Adam's g/√v lifts a
    # rounding difference in a near-zero gradient (measured: 1.5e-5 in one weight after 15
    # steps on an AMD EPYC, under 1e-6 elsewhere)
    for (k, a), b in zip(alone.state_dict().items(), member.state_dict().values()):
        assert torch.allclose(a, b, atol=5e-5), k
    # every trial is a full run folder: an ensemble member resumes and reports like any run
    # (a copy: the sweep itself refuses a trial trained longer than its settings say)
    trial = out / "trials" / "beta_vae-beta=4-seed1"
    assert {"metrics.jsonl", "trainer_state.pt", "metadata.json"} <= {
        p.name for p in trial.iterdir()
    }
    longer = tmp_path / "longer"
    shutil.copytree(trial, longer)
    resumed = run_cli("train", "--resume", "--out", str(longer), "--set", "train.steps=20")
    assert resumed.returncode == 0, resumed.stderr
    assert run_cli("report", str(longer)).returncode == 0 and (longer / "report.html").is_file()
    assert json.loads((longer / "metadata.json").read_text())["step"] == 20
    # the sweep's report is written again from its folder, also for an interrupted sweep
    (out / "report.html").unlink()
    page = run_cli("report", str(out))
    assert page.returncode == 0, page.stderr
    assert (out / "report.html").is_file()
    results = (out / "results.json").read_bytes()
    (out / "results.json").unlink()
    (trial / "disentanglement.json").unlink()
    partial = run_cli("report", str(out))
    assert partial.returncode == 0, partial.stderr
    assert "3 of 4 trials scored" in (out / "report.html").read_text()
    (out / "results.json").write_bytes(results)
    again = run_cli("sweep", str(path), "--out", str(out))
    assert again.returncode == 0, again.stderr
    rows = list(csv.DictReader((out / "results.csv").open()))
    # the trial whose scores were removed above is scored again (not retrained)
    assert [r["status"] for r in rows] == ["done (earlier)", "done", *["done (earlier)"] * 2]
    # other metrics: every trial is scored again, none trained again
    weights = {
        r["trial"]: (out / "trials" / r["trial"] / "model.safetensors").read_bytes() for r in rows
    }
    path.write_text(yaml.safe_dump(sweep_dict(metrics=["mig"])))
    rescored = run_cli("sweep", str(path), "--out", str(out))
    assert rescored.returncode == 0, rescored.stderr
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert all(r["status"] == "done" for r in rows)
    for r in rows:
        trial = out / "trials" / r["trial"]
        record = json.loads((trial / "disentanglement.json").read_text())
        assert record["metrics"] == ["mig"] and "sap" not in record["scores"]
        assert (trial / "model.safetensors").read_bytes() == weights[r["trial"]]


@pytest.mark.slow
def test_a_sweep_on_a_local_ray_instance(tmp_path):
    ray = pytest.importorskip("ray")  # installed with the test extra
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        sweep = SweepConfig.from_dict(sweep_dict(models={"beta_vae": {"beta": [1, 4]}}, seeds=[0]))
        result = run_sweep(sweep, tmp_path / "ray", executor="ray")
    finally:
        ray.shutdown()
    assert [r["status"] for r in result.rows] == ["done", "done"]
    assert result.executor == "ray" and "mig" in result.score_names


@pytest.mark.slow
def test_a_sweep_trains_the_model_train_run_trains_from_the_same_config(tmp_path):
    """One config, one model: a trial's left-out model settings are chosen from the data as
    latentatlas.train_run (and latent-atlas train) chooses them; ``defaults`` names the step."""
    sweep = SweepConfig.from_dict(sweep_dict(models={"beta_vae": {"beta": 4}}, seeds=[0]))
    assert sweep.defaults == "data"
    (trial,) = with_model_defaults(expand(sweep), sweep.defaults)
    alone = tmp_path / "alone"
    train_run(RunConfig.from_dict(expand(sweep)[0].config), alone)
    # the run store would reuse the folder for the trial: the same model, every setting
    check_same_config(alone, RunConfig.from_dict(trial.config), what="sweep")
    assert trial.config["model"]["encoder"]["name"] == "conv_encoder"  # chosen for the images
    as_written = SweepConfig.from_dict(
        sweep_dict(models={"beta_vae": {"beta": 4}}, seeds=[0], defaults=None)
    )
    (plain,) = with_model_defaults(expand(as_written), as_written.defaults)
    assert "encoder" not in plain.config["model"]
    with pytest.raises(RunFolderError, match="model.encoder"):
        check_same_config(alone, RunConfig.from_dict(plain.config), what="sweep")
    with pytest.raises(ConfigError, match="defaults: expected 'data', a preset"):
        SweepConfig.from_dict(sweep_dict(defaults="bogus"))


@pytest.mark.slow
def test_a_sweep_scores_with_the_sizes_it_names_and_rescores_when_they_change(tmp_path):
    one = {"models": {"beta_vae": {"beta": 4}}, "seeds": [0], "metrics": ["mig"]}
    sweep = SweepConfig.from_dict(sweep_dict(**one, sizes={"num_train": 50}))
    out = tmp_path / "out"
    (row,) = run_sweep(sweep, out).rows
    record = json.loads((out / "trials" / row["trial"] / "disentanglement.json").read_text())
    assert (
        record["sizes"] == {"num_train": 50} and record["drawn"]["mig"]["sizes"]["num_train"] == 50
    )
    assert run_sweep(sweep, out).rows[0]["status"] == "done (earlier)"  # same scoring: reused
    other = SweepConfig.from_dict(sweep_dict(**one, sizes={"num_train": 60}))
    assert run_sweep(other, out).rows[0]["status"] == "done"  # scored again, not retrained
    with pytest.raises(ConfigError, match="sizes: expected positive integers"):
        SweepConfig.from_dict(sweep_dict(**one, sizes={"num_train": 0}))


@pytest.mark.slow
def test_bad_sweeps_fail_clearly_and_failing_trials_are_recorded(tmp_path):
    with pytest.raises(Exception, match="unknown model 'betavae'"):
        SweepConfig.from_dict(sweep_dict(models={"betavae": {}}))
    with pytest.raises(ConfigError, match="base.seed"):
        SweepConfig.from_dict(sweep_dict(base={**BASE, "seed": 3}))
    with pytest.raises(Exception, match="unknown metric"):
        SweepConfig.from_dict(sweep_dict(metrics=["mgi"]))
    with pytest.raises(ConfigError, match="beta"):
        expand(SweepConfig.from_dict(sweep_dict(models={"beta_vae": {"beta": [-1]}})))
    path = tmp_path / "bad.yaml"
    diverging = {**BASE, "train": {"steps": 15, "batch_size": 32, "lr": 1e12}}
    bad = sweep_dict(models={"beta_vae": {"beta": 1}}, seeds=[0], base=diverging)
    path.write_text(yaml.safe_dump(bad))
    proc = run_cli("sweep", str(path), "--out", str(tmp_path / "bad"))
    assert proc.returncode == 1 and "1 trial(s) failed" in proc.stderr
    assert "Traceback" not in proc.stderr
    rows = list(csv.DictReader((tmp_path / "bad" / "results.csv").open()))
    assert rows[0]["status"] == "failed" and rows[0]["error"]
    missing = run_cli("sweep", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


@pytest.mark.slow
def test_locatello_reproduction_runs_and_summarises_per_beta(tmp_path):
    from latentatlas.experiments.model_store import ModelStore
    from latentatlas.papers.locatello.experiments import (
        SCALES,
        LocatelloScale,
        reproduce_locatello,
        sweep_config,
        write_locatello_outputs,
    )

    full = sweep_config(SCALES["full"])
    assert full.models == {"beta_vae": {"beta": [1.0, 2.0, 4.0, 6.0, 8.0, 16.0]}}
    assert full.base["train"]["lr"] == 1e-4 and full.base["train"]["steps"] == 300_000
    tiny = LocatelloScale((1.0, 4.0), (0, 1), 3, 5e-4, "fast", ("mig", "sap"))
    result = reproduce_locatello(tiny, ModelStore(tmp_path))
    assert_judged("locatello-dsprites-betavae", result)  # too few metrics: judged as such
    assert [r["status"] for r in result.sweep.rows] == ["done"] * 4
    summary = result.summary()
    assert set(summary) == {"1", "4"} and set(summary["1"]) == {"mig", "sap"}
    low, median, high = summary["4"]["mig"]
    assert low <= median <= high
    write_locatello_outputs(result, tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["published"] is None and (tmp_path / "report.html").is_file()
    assert "none was given" in (tmp_path / "report.html").read_text()

    # the study's own scores (disentanglement_lib result files) beside ours
    from dataclasses import replace

    from latentatlas.analysis.metrics.published import load_published

    from .test_published_scores import write_model

    for number, (beta, seed) in enumerate([(1.0, 0), (1.0, 1), (1.0, 2), (4.0, 0), (8.0, 0)]):
        write_model(tmp_path / "dlib", number, beta, seed, shift=0.01 * number)
    with_published = replace(result, published=load_published(tmp_path / "dlib"))
    published = with_published.published_summary()
    assert set(published) == {"1", "4"}  # β = 8 is not in this run
    assert published["1"]["seeds"] == 3  # MIG 0.11, 0.12, 0.13: quartiles 0.115, 0.12, 0.125
    assert published["1"]["mig"] == pytest.approx([0.115, 0.12, 0.125])
    table = with_published.to_markdown()
    assert "| 1 (ours, 2 seeds) |" in table
    assert "| 1 (published, 3 seeds) | 0.120 [0.115, 0.125] |" in table
    out = tmp_path / "with-published"
    write_locatello_outputs(with_published, out)
    data = json.loads((out / "results.json").read_text())
    assert data["published"]["per_beta"]["4"]["sap"] == pytest.approx([0.08] * 3)  # shift 0.03
    assert "dlib" in (out / "report.html").read_text()


def test_scores_are_plotted_per_grid_point_and_against_each_hyper_parameter():
    from latentatlas.viz.sweep_plots import (
        group_label,
        plot_score_distributions,
        plot_scores_against,
        swept_values,
    )

    rows = [
        {"model": "beta_vae", "hyper": {"beta": b}, "seed": s, "scores": {"mig": b / 10 + s}}
        for b in (1, 4, 16)
        for s in (0, 1)
    ]
    rows.append({"model": "vae", "hyper": {}, "seed": 0, "scores": {"mig": 0.5}})
    assert group_label(rows[2]) == "beta_vae\nbeta=4" and group_label(rows[-1]) == "vae"
    fig = plot_score_distributions(rows, ["mig"])
    assert len(fig.axes[0].get_xticklabels()) == 4  # three β values and the plain VAE
    assert swept_values(rows, "beta") == [1, 4, 16]
    fig = plot_scores_against(rows, ["mig"], "beta")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"  # 1 to 16
    mean_line = next(ln for ln in ax.get_lines() if ln.get_linestyle() == "-")
    assert list(mean_line.get_xdata()) == [1, 4, 16]
    assert list(mean_line.get_ydata()) == pytest.approx([0.6, 0.9, 2.1])  # mean over seeds 0, 1
    with pytest.raises(Exception, match="fewer than two"):
        plot_scores_against(rows[:2], ["mig"], "beta")


def test_an_interrupted_trial_resumes_and_changed_settings_are_refused(tmp_path):
    import dataclasses

    from latentatlas.tools.sweep import Scoring, run_trial
    from latentatlas.train import StopAt, read_metadata
    from latentatlas.train import checkpoint as ckpt
    from latentatlas.train.store import check_same_config

    sweep = SweepConfig.from_dict(sweep_dict(models={"beta_vae": {"beta": 4}}, seeds=[0]))
    (trial,) = expand(sweep)
    run_dir = tmp_path / "trials" / trial.name
    config = RunConfig.from_dict(trial.config)
    _, fit = train_run(
        config.replace(train={**config.train.to_dict(), "checkpoint_every": 5}),
        run_dir,
        [StopAt(10)],
        defaults=None,
    )
    assert fit.status == "interrupted" and read_metadata(run_dir)["step"] == 10
    row = run_trial(trial, str(tmp_path), Scoring(["mig"], "fast"))
    assert row["status"] == "done" and read_metadata(run_dir)["step"] == 15  # continued
    assert [r["step"] for r in ckpt.read_metrics(run_dir) if r["split"] == "train"] == [10, 15]
    train = {**trial.config["train"], "steps": 30}
    longer = dataclasses.replace(trial, config={**trial.config, "train": train})
    with pytest.raises(RunFolderError, match="train.steps = 15, this run needs 30"):
        check_same_config(run_dir, RunConfig.from_dict(longer.config), what="sweep")
    refused = run_trial(longer, str(tmp_path), Scoring(["mig"], "fast"))
    assert (
        refused["status"] == "failed" and "train.steps = 15, this run needs 30" in refused["error"]
    )
    check_same_config(run_dir, config, what="sweep")  # the defaults saved beside are no conflict


def test_an_ensemble_stopped_by_sigterm_resumes_each_member_where_it_stopped(tmp_path, monkeypatch):
    """SIGTERM while trials train as one ensemble: the step finishes, every member's folder is
    left at its last checkpoint (status interrupted) and the sweep raises Interrupted; rerunning
    it resumes the members as one ensemble, to the weights of an uninterrupted sweep."""
    import os
    import signal

    from latentatlas.errors import Interrupted
    from latentatlas.train import ensemble as ensemble_module
    from latentatlas.train import read_metadata

    base = {**BASE, "train": {**BASE["train"], "checkpoint_every": 5}}
    sweep = SweepConfig.from_dict(
        sweep_dict(base=base, models={"beta_vae": {"beta": 4}}, metrics=["mig"])
    )
    written = ensemble_module.write_member_run
    calls = []

    def write_then_stop(folder, *args):
        written(folder, *args)
        calls.append(read_metadata(folder)["step"])
        if len(calls) == 2:  # both members at the first checkpoint: ask the sweep to stop
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(ensemble_module, "write_member_run", write_then_stop)
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as stopped:
        run_sweep(sweep, tmp_path / "stopped")
    # the signal came during step 5 (at its checkpoint): no step after it was taken
    assert stopped.value.signal == "SIGTERM" and "step 5 of 15" in str(stopped.value)
    assert signal.getsignal(signal.SIGTERM) is previous  # the ensemble's handler is gone
    assert calls == [5, 5, 5, 5]
    trials = tmp_path / "stopped" / "trials"
    for name in ("beta_vae-beta=4-seed0", "beta_vae-beta=4-seed1"):
        meta = read_metadata(trials / name)
        assert (meta["status"], meta["step"], meta["total_steps"]) == ("interrupted", 5, 15)
    monkeypatch.setattr(ensemble_module, "write_member_run", written)
    train, starts = ensemble_module.train_ensemble, []

    def spy(configs, progress=False, on_checkpoint=None, start=None):
        starts.append(None if start is None else [state["step"] for state in start])
        return train(configs, progress, on_checkpoint, start)

    monkeypatch.setattr(ensemble_module, "train_ensemble", spy)
    resumed = run_sweep(sweep, tmp_path / "stopped")
    assert starts == [[5, 5]]  # one ensemble, from both checkpoints (not one by one)
    assert [r["status"] for r in resumed.rows] == ["done", "done"]
    whole = run_sweep(sweep, tmp_path / "whole")
    for name in ("beta_vae-beta=4-seed0", "beta_vae-beta=4-seed1"):
        assert read_metadata(trials / name)["status"] == "finished"
        a = load(trials / name).state_dict()
        b = load(tmp_path / "whole" / "trials" / name).state_dict()
        for key in a:
            assert torch.allclose(a[key], b[key], atol=1e-5), (name, key)
    assert [r["scores"]["mig"] for r in resumed.rows] == pytest.approx(
        [r["scores"]["mig"] for r in whole.rows], abs=1e-4
    )


@pytest.mark.slow
def test_a_sweep_ranks_each_grid_points_seeds_by_udr(tmp_path, caplog):
    base = {**BASE, "train": {"steps": 300, "batch_size": 32, "lr": 1e-3}}
    sweep = SweepConfig.from_dict(
        sweep_dict(base=base, models={"beta_vae": {"beta": 1}}, seeds=[0, 1, 2], udr="spearman")
    )
    result = run_sweep(sweep, tmp_path / "udr")
    values = [r["scores"]["udr"] for r in result.rows]
    assert len(values) == 3 and all(0.0 <= v <= 1.0 for v in values)
    assert "udr" in result.score_names
    # one seed alone has nothing to be compared with: no UDR, nothing else changes
    alone = SweepConfig.from_dict(
        sweep_dict(base=base, models={"beta_vae": {"beta": 1}}, seeds=[0], udr="lasso")
    )
    rows = run_sweep(alone, tmp_path / "udr").rows
    assert rows[0]["status"] == "done (earlier)" and "udr" not in rows[0]["scores"]


def test_a_ray_task_trains_on_the_device_ray_assigned_it(monkeypatch):
    """Inside a Ray task with GPUs the trial gets index 0 of the machine's accelerator (the one
    device Ray leaves visible), as a torch.device; without, the config's own device."""
    from latentatlas.tools import sweep as sweep_module

    seen = []
    monkeypatch.setattr(sweep_module, "run_trial", lambda *args: seen.append(args[4]) or {})
    sweep_module._ray_trial(None, "root", None, 1, False)
    assert seen == [None]
    if torch.accelerator.is_available():
        sweep_module._ray_trial(None, "root", None, 1, True)
        assert isinstance(seen[-1], torch.device) and seen[-1].index == 0
    else:  # no accelerator here: asking for one fails loudly instead of training on the CPU
        with pytest.raises(RuntimeError):
            sweep_module._ray_trial(None, "root", None, 1, True)
