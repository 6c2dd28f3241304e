"""Reproductions are registered experiments, looked up by name (no dispatch on prefixes)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from latentatlas.errors import ConfigError, UnknownNameError
from latentatlas.experiments.experiment import SCALES, Experiment
from latentatlas.experiments.runner import measured_times
from latentatlas.experiments.scales import settings_of
from latentatlas.registry import EXPERIMENTS

from .conftest import run_cli


def test_every_experiment_is_a_declared_object_with_its_paper_code_and_claims():
    assert len(EXPERIMENTS.names()) == 23
    papers = set()
    for name, experiment in EXPERIMENTS.items():
        assert isinstance(experiment, Experiment) and experiment.name == name
        assert experiment.paper and experiment.reference
        assert callable(experiment.run) and callable(experiment.write)
        # the claims travel with the experiment: every paper's experiment has its judge
        assert experiment.claims and callable(experiment.judge), name
        papers.add(experiment.paper)
    assert len(papers) == 6
    with pytest.raises(UnknownNameError, match="valid experiment names"):
        EXPERIMENTS.get("thesis-table-6.1")


def test_an_experiment_module_outside_its_papers_catalogue_registers_nothing():
    """The experiments are registered in one place: importing a paper's code registers none
    (no registration as a side effect of importing an experiment's module)."""
    code = (
        "import latentatlas.papers.thesis.tables, latentatlas.papers.slides.disk\n"
        "from latentatlas.registry import EXPERIMENTS\n"
        "print(len(EXPERIMENTS._items))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


@pytest.mark.slow
def test_options_and_scales_are_checked_before_anything_runs(tmp_path):
    curvature = EXPERIMENTS.get("directions-curvature")
    settings = curvature.settings("quick")
    with pytest.raises(ConfigError, match="--seed: directions-curvature does not take"):
        curvature.read_options({"seed": 3}, settings)
    with pytest.raises(ConfigError, match="scale"):
        curvature.check("huge")
    disk = EXPERIMENTS.get("slides-disk")
    assert disk.read_options({"seed": 3}, None) == {"seed": 3}
    assert disk.read_options({"seed": None}, None) == {"seed": 0}  # the default, as --seed 0
    with pytest.raises(ConfigError, match=r"--mnist: slides-disk does not take .*takes: --seed"):
        disk.read_options({"mnist": "digits"}, None)
    proc = run_cli("reproduce", "directions-curvature", "--seed", "3", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "does not take" in proc.stderr
    assert not (tmp_path / "x").exists()
    both = run_cli("reproduce", "slides-disk", "--quick", "--scale", "full")
    assert both.returncode == 2 and "--quick is --scale quick" in both.stderr


@pytest.mark.slow
def test_reproduce_list_shows_every_experiment_with_its_reference():
    proc = run_cli("reproduce", "--list")
    assert proc.returncode == 0, proc.stderr
    for name, experiment in EXPERIMENTS.items():
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(name + " "))
        assert experiment.reference in line


def test_every_experiment_has_the_required_scales_as_json_settings():
    import json

    for name, experiment in EXPERIMENTS.items():
        scales = experiment.scales
        assert tuple(scales) == (*SCALES, *experiment.reduced), name
        for scale in scales:
            settings = settings_of(experiment.settings(scale))
            assert json.loads(json.dumps(settings)) == settings
            # an empty change list and a no-op change rebuild the very same settings
            key = next(iter(settings))
            value = json.dumps(settings[key])
            assert experiment.settings(scale, [f"{key}={value}"]) == scales[scale]


def test_recorded_times_belong_to_registered_experiments_and_scales():
    for name, seconds in measured_times().items():
        assert name in EXPERIMENTS and set(seconds) <= set(EXPERIMENTS.get(name).scales)
        assert all(value > 0 for value in seconds.values())


def test_set_changes_single_settings_with_their_kind_checked():
    disk = EXPERIMENTS.get("slides-disk")
    changed = disk.settings("full", ["steps=20", "lr=1", "size=32.0"])
    assert (changed.steps, changed.lr, changed.size) == (20, 1.0, 32)
    assert isinstance(changed.lr, float) and isinstance(changed.size, int)
    beta = EXPERIMENTS.get("directions-dsprites-beta").settings(
        "quick", ["vae.steps=10", "betas=[1, 4]"]
    )
    assert beta.vae.steps == 10 and beta.betas == (1.0, 4.0)
    torus = EXPERIMENTS.get("thesis-torus").settings("quick", ["dataset.n=100"])
    assert torus.dataset["n"] == 100 and torus.dataset["name"] == "torus_sines"
    bad = {
        "stepz=3": "stepz: no such setting of slides-disk at scale 'full'; settings: size",
        "steps=-1": "steps: expected a positive value",
        "steps=0": "steps: expected a positive value",
        "steps=1.5": "steps: expected an integer",
        "steps=1e30": "steps: expected an integer",
        "lr=.nan": "lr: expected a finite number",
        "lr=abc": "lr: expected a finite number",
        "lr=true": "lr: expected a finite number",
        "steps.x=1": "'steps' is not a section",
        "steps": "expected key=value",
    }
    for override, message in bad.items():
        with pytest.raises(ConfigError, match=re.escape(message)):
            disk.settings("full", [override])
    with pytest.raises(ConfigError, match="betas: expected a non-empty list"):
        EXPERIMENTS.get("directions-dsprites-beta").settings("quick", ["betas=[]"])
    with pytest.raises(ConfigError, match=re.escape("betas[1]: expected a finite number")):
        EXPERIMENTS.get("directions-dsprites-beta").settings("quick", ["betas=[1, x]"])
    with pytest.raises(ConfigError, match="vae: expected a mapping"):
        EXPERIMENTS.get("directions-dsprites-beta").settings("quick", ["vae=3"])


@pytest.mark.slow
def test_cli_settings_and_set_errors(tmp_path):
    shown = run_cli("reproduce", "slides-disk", "--settings", "--set", "steps=7")
    assert shown.returncode == 0, shown.stderr
    assert "steps: 7\n" in shown.stdout and "size: 64\n" in shown.stdout
    bad = run_cli("reproduce", "slides-disk", "--set", "steps=-3", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "steps: expected a positive value" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "x").exists()
    scale = run_cli("reproduce", "slides-disk", "--scale", "huge")
    assert scale.returncode == 2 and "has the scales quick, full" in scale.stderr


@pytest.mark.slow
def test_a_reproduction_records_what_ran_on_what(tmp_path):
    out = tmp_path / "r"
    proc = run_cli(
        "reproduce", "directions-curvature", "--quick", "--set", "points=8", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads((out / "reproduction.json").read_text())
    assert record["experiment"] == "directions-curvature" and record["scale"] == "quick"
    assert record["settings"] == {"points": 8} and record["overrides"] == ["points=8"]
    assert "reproduce directions-curvature --quick --set points=8" in record["command"]
    assert record["machine"]["cores"] >= 1 and record["seconds"] > 0
    assert json.loads((out / "results.json").read_text())["points"] == 8


@pytest.mark.slow
def test_timing_script_lists_what_it_would_run():
    proc = subprocess.run(
        [sys.executable, "benchmarks/reproduce_times.py", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == EXPERIMENTS.names()


@pytest.mark.slow
def test_timing_script_takes_the_times_of_the_records(tmp_path):
    timings = tmp_path / "timings.json"
    proc = subprocess.run(
        [
            sys.executable,
            "benchmarks/reproduce_times.py",
            "--from-records",
            "reproductions",
            "--timings",
            str(timings),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    seconds = json.loads(timings.read_text())["seconds"]
    root = Path(__file__).resolve().parents[1]
    record = json.loads((root / "reproductions/thesis-table-5.1/record.json").read_text())
    assert seconds["thesis-table-5.1"]["full"] == round(record["seconds"], 1)


def test_settings_recorded_before_a_setting_existed_take_its_default():
    """A record made before a scale gained a setting ran with what is now its default: it still
    matches while the scale keeps the default, and stops matching when the scale changes it."""
    import dataclasses

    from latentatlas.experiments.scales import settings_of, with_later_defaults

    @dataclasses.dataclass(frozen=True)
    class Later:
        steps: int
        warmup: int = 0

    old = {"steps": 10}
    assert (
        with_later_defaults(old, Later(10)) == settings_of(Later(10)) == {"steps": 10, "warmup": 0}
    )
    assert with_later_defaults(old, Later(10, warmup=5)) != settings_of(Later(10, warmup=5))
    assert with_later_defaults({"steps": 10, "warmup": 3}, Later(10))["warmup"] == 3


def test_a_folder_started_before_a_setting_existed_continues_while_it_keeps_its_default(tmp_path):
    import dataclasses

    from latentatlas.errors import RunFolderError
    from latentatlas.experiments.runner import STARTED, check_continuation
    from latentatlas.experiments.scales import settings_of

    @dataclasses.dataclass(frozen=True)
    class Later:
        steps: int
        warmup: int = 0

    def identity(scale):
        return {"experiment": "x", "scale": "full", "settings": settings_of(scale), "options": {}}

    old = {"experiment": "x", "scale": "full", "settings": {"steps": 10}, "options": {}}
    (tmp_path / STARTED).write_text(json.dumps({"identity": old, "seconds": 1.0}))
    assert check_continuation(tmp_path, identity(Later(10)), Later(10))["seconds"] == 1.0
    with pytest.raises(RunFolderError, match="warmup"):
        check_continuation(tmp_path, identity(Later(10, warmup=5)), Later(10, warmup=5))
    with pytest.raises(RunFolderError, match="warmup"):  # without the settings: exact
        check_continuation(tmp_path, identity(Later(10)))
