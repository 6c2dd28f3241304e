"""The study of a factor on S² (thesis ch. 12, further work): every kind trains, is evaluated
and summarised by the degree of its map, Δ is fitted between every pair, the outputs are
written and judged."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from latentatlas.experiments.claims import judge
from latentatlas.papers.thesis import spheres
from latentatlas.registry import EXPERIMENTS

TINY = replace(
    spheres.SPHERE.scales["quick"],
    dataset={"name": "lit_sphere", "n": 200, "size": 8, "n_vis": 120},
    hidden=16,
    steps=60,
    reduction_steps=8,
    eval_samples=300,
)


@pytest.mark.slow
def test_the_study_runs_writes_and_is_judged(tmp_path):
    result = spheres.reproduce_geometry_study("thesis-sphere", TINY)
    data = result.to_dict()
    kinds = {m["model"] for m in data["models"]}
    assert kinds == set(spheres.SPHERE.kinds) and all(m["kept"] for m in data["models"])
    for m in data["models"]:
        assert set(m["sphere_map"]) == {"degree", "covers", "folded", "aligned_error", "reflected"}
        assert set(m["ours"]) == {"neg_elbo", "kl", "reconstruction", "mse"}
    pairs = {(r["source"], r["target"]): r["family"] for r in data["delta"]}
    assert len(pairs) == 12
    assert pairs[("R³", "S² heat kernel")] == "normalise"
    assert pairs[("S² heat kernel", "R³")] == "matrix"
    assert pairs[("S² vMF", "S² Power Spherical")] == "orthogonal"
    report = spheres.write_geometry_study(result, tmp_path)
    assert report.exists() and (tmp_path / "figures" / "codes.png").exists()
    written = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    verdicts = judge("thesis-sphere", written)
    assert [v.claim for v in verdicts] == ["sphere-one-to-one", "baseline-harder"]
    assert "| S² heat kernel |" in (tmp_path / "table.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_rotation_study_runs_writes_and_is_judged(tmp_path):
    tiny = replace(
        spheres.ROTATION.scales["quick"],
        dataset={"name": "tumbling_object", "n": 150, "size": 8, "supersample": 1, "n_vis": 80},
        hidden=16,
        steps=40,
        reduction_steps=8,
        eval_samples=300,
    )
    result = spheres.reproduce_geometry_study("thesis-rotation", tiny)
    data = result.to_dict()
    assert {m["model"] for m in data["models"]} == {"euclidean", "heat"}
    for m in data["models"]:
        assert set(m["rotation_map"]) == {"aligned_error", "median_error", "inverse"}
    pairs = {(r["source"], r["target"]): r["family"] for r in data["delta"]}
    assert pairs == {
        ("R⁴", "SO(3) heat kernel"): "normalise",
        ("SO(3) heat kernel", "R⁴"): "matrix",
    }
    spheres.write_geometry_study(result, tmp_path)
    assert (tmp_path / "figures" / "aligned-error.png").exists()
    written = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [v.claim for v in judge("thesis-rotation", written)] == [
        "rotation-recovered",
        "baseline-harder",
    ]


@pytest.mark.parametrize("name", ["thesis-sphere", "thesis-rotation"])
def test_the_scales_and_the_protocol_are_declared(name):
    experiment = EXPERIMENTS.get(name)
    assert set(experiment.scales) == {"quick", "full"}
    assert isinstance(experiment.protocol, str) and "runs none" in experiment.protocol
    full = experiment.scales["full"]
    assert full.restarts == 3 and full.steps > experiment.scales["quick"].steps
