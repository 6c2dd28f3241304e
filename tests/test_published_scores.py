"""Published scores: disentanglement_lib's result files, in both layouts, mapped to our names."""

from __future__ import annotations

import json

import pytest

from latentatlas.analysis.metrics.published import load_published
from latentatlas.errors import DataError

EVALUATIONS = {  # evaluation function → its result keys and a value for each
    "mig": {"discrete_mig": 0.11},
    "dci": {"disentanglement": 0.22, "completeness": 0.21, "informativeness_test": 0.8},
    "beta_vae_sklearn": {"eval_accuracy": 0.83, "train_accuracy": 0.85},
    "factor_vae_score": {"eval_accuracy": 0.66, "num_active_dims": 7},
    "sap_score": {"SAP_score": 0.05},
    "modularity_explicitness": {"modularity_score": 0.81},
}


def record(
    fn: str,
    beta: float,
    seed: int,
    model="'beta_vae'",
    dataset="'dsprites_full'",
    postprocess="@mean_representation",
    shift=0.0,
) -> dict:
    """One flat evaluation.json as disentanglement_lib writes it (gin values as strings)."""
    return {
        "train_config.model.name": model,
        "train_config.dataset.name": dataset,
        "train_config.vae.beta": f"{beta}",
        "train_config.model.random_seed": f"{seed}",
        "postprocess_config.postprocess.postprocess_fn": postprocess,
        "evaluation_config.evaluation.evaluation_fn": f"@{fn}",
        "evaluation_config.dataset.name": "'auto'",
        **{f"evaluation_results.{k}": v + shift for k, v in EVALUATIONS[fn].items()},
        "evaluation_results.elapsed_time": 12.5,
    }


def write_model(root, number: int, beta: float, seed: int, **kw) -> None:
    for fn in EVALUATIONS:
        kind = "mean" if kw.get("postprocess", "@mean").startswith("@mean") else "sampled"
        folder = root / str(number) / "metrics" / kind / fn / "results" / "aggregate"
        folder.mkdir(parents=True)
        (folder / "evaluation.json").write_text(json.dumps(record(fn, beta, seed, **kw)))


def test_scores_read_from_a_folder_of_result_files(tmp_path):
    write_model(tmp_path, 0, 1.0, 0)
    write_model(tmp_path, 1, 1.0, 1, shift=0.1)
    write_model(tmp_path, 2, 4.0, 0)
    write_model(tmp_path, 3, 4.0, 0, postprocess="@sampled_representation", shift=0.5)
    write_model(tmp_path, 4, 1.0, 2, dataset="'shapes3d'", shift=0.5)
    write_model(tmp_path, 5, 1.0, 3, model="'factor_vae'", shift=0.5)
    published = load_published(tmp_path)
    assert sorted(published.models) == [(1.0, 0), (1.0, 1), (4.0, 0)]
    assert published.hypers == [1.0, 4.0]
    first = published.models[(1.0, 0)]
    assert first["mig"] == 0.11 and first["dci_disentanglement"] == 0.22
    assert first["beta_vae"] == 0.83 and first["factor_vae"] == 0.66
    assert first["sap"] == 0.05 and first["modularity"] == 0.81
    assert first["factor_vae_active_dims"] == 7 and "elapsed_time" not in first
    assert published.values(1.0, "mig") == pytest.approx([0.11, 0.21])
    sampled = load_published(tmp_path, representation="sampled")
    assert sampled.models[(4.0, 0)]["mig"] == pytest.approx(0.61)


def test_scores_read_from_an_aggregated_json(tmp_path):
    """dlib_aggregate_results writes a pandas frame column by column; a missing score is null."""
    rows = [record("mig", 2.0, s, shift=0.01 * s) for s in range(3)]
    rows.append(record("sap_score", 2.0, 0))
    columns = sorted({k for r in rows for k in r})
    frame = {c: {str(i): r.get(c) for i, r in enumerate(rows)} for c in columns}
    assert frame["evaluation_results.discrete_mig"]["3"] is None  # the SAP row: pandas' NaN
    frame["evaluation_results.discrete_mig"]["2"] = None  # a failed evaluation: NaN → null
    path = tmp_path / "results.json"
    path.write_text(json.dumps(frame))
    published = load_published(path)
    assert published.values(2.0, "mig") == pytest.approx([0.11, 0.12])
    assert (2.0, 2) not in published.models  # nothing but the missing MIG
    assert published.models[(2.0, 0)]["sap"] == 0.05
    rows[2]["evaluation_results.discrete_mig"] = None
    records = tmp_path / "records.json"  # a plain list of flat objects reads the same
    records.write_text(json.dumps(rows))
    assert load_published(records).models == published.models


def test_bad_published_paths_give_clear_errors(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_published(tmp_path / "missing")
    with pytest.raises(DataError, match="no disentanglement_lib result files"):
        load_published(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="not a readable JSON"):
        load_published(bad)
    write_model(tmp_path / "other", 0, 1.0, 0, dataset="'cars3d'")
    with pytest.raises(DataError, match=r"no scores of beta_vae on dsprites_full.*cars3d"):
        load_published(tmp_path / "other")
    with pytest.raises(DataError, match="model 'gan'"):
        load_published(tmp_path / "other", model="gan")
    unbound = record("mig", 1.0, 0)
    del unbound["train_config.vae.beta"]
    (tmp_path / "unbound.json").write_text(json.dumps([unbound]))
    with pytest.raises(DataError, match=r"left out \(no train_config.vae.beta: 1\)"):
        load_published(tmp_path / "unbound.json")
    twice = [record("mig", 1.0, 0), record("mig", 1.0, 0, shift=0.2)]
    (tmp_path / "twice.json").write_text(json.dumps(twice))
    with pytest.raises(DataError, match="two different mig scores"):
        load_published(tmp_path / "twice.json")


@pytest.mark.slow
def test_reproduce_cli_checks_the_published_files_before_training(tmp_path):
    from .conftest import run_cli

    out = tmp_path / "out"
    proc = run_cli(
        "reproduce",
        "locatello-dsprites-betavae",
        "--quick",
        "--published",
        str(tmp_path / "none"),
        "--out",
        str(out),
    )
    assert proc.returncode == 2 and "no such file or folder" in proc.stderr
    assert "Traceback" not in proc.stderr and not (out / "sweep").exists()
    proc = run_cli("reproduce", "slides-disk", "--quick", "--published", str(tmp_path))
    assert proc.returncode == 2
    assert "--published: slides-disk does not take this option" in proc.stderr
