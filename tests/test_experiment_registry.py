"""Reproductions are registered experiments, looked up by name (no dispatch on prefixes)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from latentatlas.errors import ConfigError, UnknownNameError
from latentatlas.experiments.catalogue import PAPERS, SCALES, _function, measured_times
from latentatlas.registry import EXPERIMENTS

from .conftest import run_cli


def test_every_experiment_names_its_paper_and_code_that_exists():
    assert len(EXPERIMENTS.names()) == 20
    for name, experiment in EXPERIMENTS.items():
        assert experiment.name == name and experiment.paper in PAPERS and experiment.reference
        assert callable(_function(experiment.run)) and callable(_function(experiment.write))
    with pytest.raises(UnknownNameError, match="valid experiment names"):
        EXPERIMENTS.get("thesis-table-6.1")


def test_options_and_scales_are_checked_before_anything_runs(tmp_path):
    curvature = EXPERIMENTS.get("directions-curvature")
    with pytest.raises(ConfigError, match="does not take"):
        curvature.check("quick", seed=3)
    with pytest.raises(ConfigError, match="scale"):
        curvature.check("huge")
    EXPERIMENTS.get("slides-disk").check("full", seed=3)
    proc = run_cli("reproduce", "directions-curvature", "--seed", "3", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "does not take" in proc.stderr
    assert not (tmp_path / "x").exists()
    both = run_cli("reproduce", "slides-disk", "--quick", "--scale", "full")
    assert both.returncode == 2 and "--quick is --scale quick" in both.stderr


def test_reproduce_list_shows_every_experiment_with_its_reference():
    proc = run_cli("reproduce", "--list")
    assert proc.returncode == 0, proc.stderr
    for name, experiment in EXPERIMENTS.items():
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(name + " "))
        assert experiment.reference in line


def test_the_cli_offers_exactly_the_named_scales():
    from latentatlas.cli import reproduce

    option = next(p for p in reproduce.params if p.name == "scale")
    assert tuple(option.type.choices) == SCALES


def test_recorded_times_belong_to_registered_experiments_and_scales():
    for name, seconds in measured_times().items():
        assert name in EXPERIMENTS and set(seconds) <= set(SCALES)
        assert all(value > 0 for value in seconds.values())


def test_timing_script_lists_what_it_would_run():
    proc = subprocess.run([sys.executable, "benchmarks/reproduce_times.py", "--dry-run"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == EXPERIMENTS.names()
