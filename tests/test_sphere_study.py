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
    spheres.SCALES["quick"],
    dataset={"name": "lit_sphere", "n": 200, "size": 8, "n_vis": 120},
    hidden=16,
    steps=60,
    reduction_steps=8,
    eval_samples=300,
)


@pytest.mark.slow
def test_the_study_runs_writes_and_is_judged(tmp_path):
    result = spheres.reproduce_sphere_study(TINY)
    data = result.to_dict()
    kinds = {m["model"] for m in data["models"]}
    assert kinds == set(spheres.KINDS) and all(m["kept"] for m in data["models"])
    for m in data["models"]:
        assert set(m["sphere_map"]) == {"degree", "covers", "folded", "aligned_error", "reflected"}
        assert set(m["ours"]) == {"neg_elbo", "kl", "reconstruction", "mse"}
    pairs = {(r["source"], r["target"]): r["family"] for r in data["delta"]}
    assert len(pairs) == 12
    assert pairs[("R³", "S² heat kernel")] == "normalise"
    assert pairs[("S² heat kernel", "R³")] == "matrix"
    assert pairs[("S² vMF", "S² Power Spherical")] == "orthogonal"
    report = spheres.write_sphere_study(result, tmp_path)
    assert report.exists() and (tmp_path / "figures" / "codes.png").exists()
    written = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    verdicts = judge("thesis-sphere", written)
    assert [v.claim for v in verdicts] == ["sphere-one-to-one", "baseline-harder"]
    assert "| S² heat kernel |" in (tmp_path / "table.md").read_text(encoding="utf-8")


def test_the_scales_and_the_protocol_are_declared():
    experiment = EXPERIMENTS.get("thesis-sphere")
    assert set(experiment.scales) == {"quick", "full"}
    assert isinstance(experiment.protocol, str) and "runs none" in experiment.protocol
    full = experiment.scales["full"]
    assert full.restarts == 3 and full.steps > experiment.scales["quick"].steps
