"""``latentatlas.train_run`` / ``resume_run`` from Python evaluate as the CLI does (issue 22)."""

from __future__ import annotations

import json

import latentatlas
from latentatlas.train.run import RunConfig

SPEC = {
    "dataset": {"name": "sine_circle", "n": 64},
    "model": {
        "name": "vae",
        "latent": {"name": "euclidean", "dim": 2},
        "encoder": {"name": "mlp", "hidden": [8]},
        "decoder": {"name": "mlp", "hidden": [8]},
    },
    "train": {"steps": 6, "batch_size": 16, "progress": False, "eval_every": 3},
}


def _eval_steps(run_dir) -> list[int]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r["step"] for r in map(json.loads, lines) if r.get("split") == "eval"]


def test_train_run_from_python_honours_eval_every(tmp_path):
    _, fit = latentatlas.train_run(RunConfig.from_dict(SPEC), tmp_path / "a", eval_samples=2)
    assert fit.status == "finished"
    assert _eval_steps(tmp_path / "a") == [3, 6]
    # resumed with a new eval_every, the evaluation follows the new value
    _, more = latentatlas.resume_run(
        tmp_path / "a", {"train": {"steps": 10, "eval_every": 2}}, eval_samples=2
    )
    assert more.step == 10 and _eval_steps(tmp_path / "a") == [3, 6, 8, 10]


def test_train_run_evaluates_only_when_asked(tmp_path):
    never = {**SPEC, "train": {**SPEC["train"], "eval_every": 0}}
    latentatlas.train_run(RunConfig.from_dict(never), tmp_path / "none")
    assert _eval_steps(tmp_path / "none") == []
    latentatlas.train_run(
        RunConfig.from_dict(never), tmp_path / "end", evaluate=True, eval_samples=2
    )
    assert _eval_steps(tmp_path / "end") == [6]  # at the end, as the CLI
    latentatlas.train_run(RunConfig.from_dict(SPEC), tmp_path / "off", evaluate=False)
    assert _eval_steps(tmp_path / "off") == []
