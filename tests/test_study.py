"""The study of Locatello et al. as one sweep: its grid, on a local Ray instance (resumable per
trial), and beside the study's published scores."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from latentatlas.errors import ConfigError
from latentatlas.papers.locatello.study import METHODS, study_sweep
from latentatlas.registry import MODELS
from latentatlas.tools.published_comparison import compare_with_published
from latentatlas.tools.sweep import SweepConfig, expand

from .conftest import run_cli
from .test_published_scores import record


def test_the_study_grid_is_six_methods_by_six_values_on_the_studys_training():
    config = SweepConfig.from_dict(study_sweep("dsprites", seeds=2, steps=10))
    trials = expand(config)
    assert len(trials) == 6 * 6 * 2
    per_method = {}
    for t in trials:
        method = t.model + (f"_{t.hyper['dip_type']}" if t.model == "dip_vae" else "")
        per_method.setdefault(method, set()).add(t.hyper.get("lambda_od", t.hyper.get("c_max")))
    assert {k: len(v) for k, v in per_method.items()}["dip_vae_ii"] == 6
    assert config.models["beta_vae"] == {"beta": [1, 2, 4, 6, 8, 16]}
    assert config.models["factor_vae"] == {"gamma": [10, 20, 30, 40, 50, 100]}
    assert config.base["train"] == {"batch_size": 64, "lr": 1e-4, "optimizer": "adam", "steps": 10}
    assert config.defaults == "locatello" and config.published_dataset == "dsprites_full"
    assert config.base["model"]["latent"] == {"name": "euclidean", "dim": 10}
    # what the grid leaves to the models' defaults is the study's setting
    annealed = MODELS.get("annealed_vae").Config()
    assert (annealed.gamma, annealed.iteration_threshold) == (1000.0, 100_000)
    dip = MODELS.get("dip_vae")
    for dip_type, factor in (("i", 10), ("ii", 1)):  # λ_d = 10 λ_od (I), λ_od (II)
        config = SimpleNamespace(config=dip.Config(dip_type=dip_type, lambda_od=5))
        assert dip.term_weights(config)["dip_diagonal"] == factor * 5
    one = study_sweep("shapes3d", seeds=1, steps=1, methods=["dip_vae_ii"])
    assert one["models"] == {"dip_vae": {"dip_type": "ii", "lambda_od": [1, 2, 5, 10, 20, 50]}}
    assert set(METHODS) == {
        "beta_vae",
        "annealed_vae",
        "factor_vae",
        "dip_vae_i",
        "dip_vae_ii",
        "beta_tcvae",
    }
    with pytest.raises(ConfigError, match="unknown 'betavae'"):
        study_sweep("dsprites", methods=["betavae"])


def test_sweep_resources_and_published_settings_are_checked():
    base = study_sweep("dsprites", seeds=1, steps=1, methods=["beta_vae"])
    for resources in ({"cpus": 0}, {"gpus": -1}, {"cpus": 1, "tpus": 1}, {"gpus": "one"}):
        with pytest.raises(ConfigError, match="resources"):
            SweepConfig.from_dict({**base, "resources": resources})
    with pytest.raises(ConfigError, match="published_dataset"):
        SweepConfig.from_dict({**base, "published": "x", "published_dataset": None})


def _write_published(root, model: str, binding: str, hyper: float, seed: int, mig: float):
    """One model's MIG result file as disentanglement_lib writes it."""
    flat = record("mig", 0.0, seed, model=f"'{model}'")
    flat.pop("train_config.vae.beta")
    flat[f"train_config.{binding}"] = f"{hyper}"
    flat["evaluation_results.discrete_mig"] = mig
    folder = root / f"{model}-{hyper}-{seed}" / "metrics" / "mean" / "mig" / "results" / "aggregate"
    folder.mkdir(parents=True)
    (folder / "evaluation.json").write_text(json.dumps(flat))


def test_a_sweeps_scores_beside_the_published_ones(tmp_path):
    for seed, mig in enumerate([0.10, 0.20, 0.30]):
        _write_published(tmp_path, "factor_vae", "factor_vae.gamma", 10.0, seed, mig)
        _write_published(tmp_path, "dip_vae_ii", "dip_vae.lambda_od", 5.0, seed, mig + 0.5)
    rows = [
        {"model": "factor_vae", "hyper": {"gamma": 10}, "scores": {"mig": 0.22}},
        {"model": "factor_vae", "hyper": {"gamma": 10}, "scores": {"mig": 0.26}},
        {"model": "dip_vae", "hyper": {"dip_type": "ii", "lambda_od": 5}, "scores": {"mig": 0.1}},
        {"model": "dip_vae", "hyper": {"dip_type": "i", "lambda_od": 5}, "scores": {"mig": 0.1}},
        {"model": "vae", "hyper": {}, "scores": {"mig": 0.5}},  # not one of the study's
        {"model": "factor_vae", "hyper": {"gamma": 20}, "scores": {}},  # not scored yet
    ]
    out, notes = compare_with_published(rows, str(tmp_path), "dsprites_full")
    by_method = {r["method"]: r for r in out}
    assert set(by_method) == {"factor_vae", "dip_vae_ii", "dip_vae_i"}
    factor = by_method["factor_vae"]
    assert factor["ours"] == pytest.approx([0.23, 0.24, 0.25]) and factor["seeds"] == 2
    assert factor["published"] == pytest.approx([0.15, 0.2, 0.25]) and factor["within"] is True
    assert by_method["dip_vae_ii"]["within"] is False  # 0.1 against [0.65, 0.8]
    assert by_method["dip_vae_i"]["published"] is None and by_method["dip_vae_i"]["within"] is None
    assert any(n.startswith("dip_vae_i:") and "no scores of dip_vae_i" in n for n in notes)


@pytest.mark.slow
def test_the_study_runs_on_a_local_ray_instance_resumes_and_sits_beside_published_scores(
    tmp_path,
):
    pytest.importorskip("ray")  # installed with the test extra
    for seed, mig in enumerate([0.0, 0.5, 1.0]):
        _write_published(tmp_path / "dlib", "beta_vae", "vae.beta", 1.0, seed, mig)
    out = tmp_path / "study"
    args = [
        "sweep",
        "--study",
        "dsprites",
        "--methods",
        "beta_vae",
        "--seeds",
        "2",
        "--steps",
        "2",
        "--set",
        "models.beta_vae.beta=[1, 4]",
        "--set",
        "preset=fast",
        "--set",
        "metrics=[mig]",
        "--set",
        "sizes={num_train: 500}",
        "--set",
        f"published={tmp_path / 'dlib'}",
        "--executor",
        "ray",
        "--out",
        str(out),
    ]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    rows = json.loads((out / "results.json").read_text())["trials"]
    assert [r["status"] for r in rows] == ["done"] * 4
    assert {r["hyper"]["beta"] for r in rows} == {1, 4}
    compared = json.loads((out / "published.json").read_text())
    beta_1 = [r for r in compared["rows"] if r["value"] == 1.0]
    assert beta_1[0]["published"] == pytest.approx([0.25, 0.5, 0.75])
    assert beta_1[0]["within"] is not None and beta_1[0]["seeds"] == 2
    assert "beta_vae with beta = 4: not in the published files" in compared["notes"]
    report = (out / "report.html").read_text()
    assert "0.500 [0.250, 0.750] (3)" in report
    # resumable per trial: a rerun keeps every finished trial
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    rows = json.loads((out / "results.json").read_text())["trials"]
    assert [r["status"] for r in rows] == ["done (earlier)"] * 4
    # a trial asking for more than the cluster has is refused, not left waiting
    gpu = run_cli(*args[:-2], "--set", "resources.gpus=1", "--out", str(tmp_path / "gpu"))
    assert gpu.returncode == 2 and "resources.gpus: each trial asks 1" in gpu.stderr


@pytest.mark.slow
def test_the_sweep_command_refuses_a_study_and_a_file_together_and_study_options_alone(
    tmp_path,
):
    both = run_cli("sweep", str(tmp_path / "s.yaml"), "--study", "dsprites")
    assert both.returncode == 2 and "one of them" in both.stderr
    alone = run_cli("sweep", str(tmp_path / "s.yaml"), "--seeds", "3")
    assert alone.returncode == 2 and "go with --study" in alone.stderr
    unknown = run_cli("sweep", "--study", "dsprites", "--methods", "vae")
    assert unknown.returncode == 2 and "the study's methods" in unknown.stderr
