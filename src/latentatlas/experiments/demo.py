"""The main job: a VAE on the sine circle (thesis ch. 5), evaluated and reported.

Trains the thesis's baseline VAE (2-D Euclidean latent, two dense layers of ⌊D/3⌋ = 8 units,
Gaussian decoder with σX = 0.1) on X_0.1 (N = 10 000, σ = 0.1), evaluates it on X_Vis with L = 100
samples (eq. 5.7-5.10), and writes a report that puts our numbers beside table 5.1's row
(X_0.1, σX = 0.1). The thesis trains for 10^5 epochs at lr 1e-4; the demo trains for a couple of
minutes at a larger learning rate, so its numbers approach but need not reach the table's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..analysis.evaluation import EvaluationResult, evaluate, evaluation_metrics
from ..train import PeriodicCallback, RunConfig, build_dataset, train_run
from ..train.checkpoint import atomic_write_json
from .thesis_tables import THESIS_TABLES, sine_benchmark_spec

REFERENCE_NAME = "thesis table 5.1 (X_0.1, σX = 0.1)"


def demo_config(steps: int = 20_000, seed: int = 0) -> RunConfig:
    """The demo's run config: table 5.1's cell X_0.1, σX = 0.1 (thesis ch. 5) with the
    reproduction's schedule, plus periodic evaluation and checkpoints."""
    spec = sine_benchmark_spec("vae", 0.1, 0.1, steps, seed=seed, data_seed=seed)
    spec["train"].update(
        log_every=50,
        eval_every=max(steps // 10, 1),
        checkpoint_every=max(steps // 4, 1),
        progress=True,
    )
    return RunConfig.from_dict(spec)


#: Thesis table 5.1, row X_0.1 with σX = 0.1 (mean ± std over five trainings), as printed.
THESIS_TABLE_5_1_X01_SX01_TEXT = THESIS_TABLES["5.1"][(0.1, 0.1)]


def reference_rows() -> dict[str, dict[str, str]]:
    """Table 5.1's row for the report, quoted as the thesis prints it."""
    return {REFERENCE_NAME: dict(THESIS_TABLE_5_1_X01_SX01_TEXT)}


@dataclass
class DemoResult:
    """What the demo wrote; ``report`` and ``evaluation`` are None when training did not finish
    (e.g. Ctrl-C: the checkpoint is kept, nothing is evaluated)."""

    run_dir: Path
    report: Path | None
    evaluation: EvaluationResult | None
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "report": None if self.report is None else str(self.report),
            "evaluation": None if self.evaluation is None else self.evaluation.to_dict(),
            "status": self.status,
        }


def run_demo(
    out: str | Path, steps: int = 20_000, seed: int = 0, progress: bool = True
) -> DemoResult:
    """Train, evaluate (L = 100 on X_Vis) and write ``report.html`` into ``out``."""
    from ..viz.report import EVALUATION, REFERENCES, write_report

    config = demo_config(steps, seed)
    config = config.replace(train=config.train.replace(progress=progress))
    dataset = build_dataset(config)
    x_vis = dataset.evaluation_set().x
    callbacks = [PeriodicCallback(evaluation_metrics(x_vis, 10), config.train.eval_every)]
    model, fit = train_run(config, out, callbacks, dataset=dataset)
    if fit.status != "finished":
        return DemoResult(Path(out), None, None, fit.status)
    result = evaluate(model, x_vis, n_samples=100, seed=seed)
    atomic_write_json(Path(out) / EVALUATION, result.to_dict())
    atomic_write_json(Path(out) / REFERENCES, reference_rows())  # `latent-atlas report` reuses it
    report = write_report(out, evaluation=result.to_dict())
    return DemoResult(Path(out), Path(report), result, fit.status)
