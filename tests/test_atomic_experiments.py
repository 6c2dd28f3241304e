"""The atomic reproductions run end to end (on tiny data and few steps) and fail cleanly."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from latentatlas.errors import UnknownNameError
from latentatlas.papers.atomic.experiments import (
    STUDIES,
    experiment,
    reproduce_atomic,
    write_atomic_outputs,
)

from .conftest import assert_judged, run_cli

TINY = {
    "atomic-spikes": {"name": "spikes", "n": 300, "size": 16, "sigma": 1.0, "max_spikes": 3},
    "atomic-strokes": {"name": "strokes", "n": 300, "size": 16, "max_strokes": 2},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STUDIES))
def test_reproduction_writes_results_table_figures_and_report(name, tmp_path):
    result = reproduce_atomic(name, replace(STUDIES[name].quick, steps=15), dataset=TINY[name])
    assert_judged(name, result)
    report = write_atomic_outputs(result, tmp_path)
    data = json.loads((tmp_path / "results.json").read_text(), parse_constant=pytest.fail)
    atomic, baseline = data["models"]["atomic"], data["models"]["baseline"]
    assert atomic["decomposition"]["exact_sum"] and not baseline["decomposition"]["exact_sum"]
    assert atomic["decomposition"]["sum_error"] < 1e-4
    assert abs(atomic["parameters"] - baseline["parameters"]) / atomic["parameters"] < 0.1
    figures = {p.stem for p in (tmp_path / "figures").iterdir()}
    assert {
        "training",
        "decomposition_atomic",
        "decomposition_baseline",
        "navigation",
        "interpolation",
    } <= figures
    html = report.read_text()
    assert "Atomic autoencoders" in html and "baseline AE" in html
    table = (tmp_path / "table.md").read_text()
    if name == "atomic-spikes":
        assert "purity" in atomic["spike_purity"] and len(atomic["submodel"]["rows"]) == 4
        # a looser matching radius can only pair more single-peak blocks
        assert atomic["spike_purity_loose"]["purity"] >= atomic["spike_purity"]["purity"]
        assert "submodel" in figures and "spans" in data["navigation"]
        assert "spikes held alone by a block" in table
    else:
        assert "mass" in atomic and "mass purity" in table
    assert len(data["navigation"]["values"]) == experiment(name).quick.block_dim


def test_unknown_atomic_experiment_is_named():
    with pytest.raises(UnknownNameError, match="atomic-spikes"):
        experiment("atomic-disks")


@pytest.mark.slow
def test_cli_mnist_option_is_checked_before_training(tmp_path):
    proc = run_cli(
        "reproduce",
        "atomic-spikes",
        "--quick",
        "--mnist",
        str(tmp_path),
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 2
    assert "--mnist: atomic-spikes does not take this option (it takes: --seed)" in proc.stderr
    proc = run_cli(
        "reproduce",
        "atomic-strokes",
        "--quick",
        "--mnist",
        str(tmp_path / "none"),
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode != 0 and "is not a folder" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()
