"""How many training steps the demo needs, and how long the demo takes: measured, not assumed.

The demo (``latent-atlas demo``) trains two models on the sine circle X_0.1 with σX = 0.1: the
baseline VAE in R² (thesis table 5.1's cell) and the diffusion VAE on S¹ (table 7.1's cell). For
each step count this benchmark trains each cell over five seeds as one vectorised ensemble (every
member ends as if trained alone, with the demo's own settings), evaluates with L = 100 on X_Vis
(eq. 5.7-5.10) and judges −ELBO, KL, reconstruction and MSE against the printed cell by the
reproductions' one agreement rule (``experiments/claims/agreement.py``: standard errors, a
precision requirement, 5 % slack; a cell still moving by more than 1 % over its last tenth is
inconclusive). ``--time`` also runs the demo itself at each step count and prints its wall time;
``--busy N`` keeps N processes busy beside it (a shared workstation, a cluster node).

    python benchmarks/demo_steps.py                         # 2500 5000 10000 20000 steps
    python benchmarks/demo_steps.py --time --busy 4         # the demo's wall time, busy machine
    python benchmarks/demo_steps.py --quick                 # a smoke run (used by the tests)

Table 7.1's KL differs from the thesis's by the eq. 7.5 erratum at every step count (about twice:
docs/circular.md); it is printed for completeness.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from busy import busy_neighbours
from latentatlas.analysis.evaluation import evaluate
from latentatlas.papers.thesis.claims import cell_comparison
from latentatlas.papers.thesis.demo import demo_config, run_demo
from latentatlas.papers.thesis.tables import METRICS, THESIS_TABLES, loss_change_last_tenth
from latentatlas.threads import thread_count
from latentatlas.train import build_dataset
from latentatlas.train.ensemble import train_ensemble

CELLS = {"5.1": "vae", "7.1": "diffusion_vae"}
SEEDS = 5


def judged_cell(table: str, steps: int, seeds: int) -> tuple[dict[str, str], float]:
    """The demo's cell of ``table`` at ``steps`` over ``seeds`` seeds: each metric's
    "ours vs thesis: outcome", and the seconds the ensemble took."""
    configs = []
    for seed in range(seeds):
        config = demo_config(steps, seed)
        configs.append(
            config.replace(
                model={**config.model, "name": CELLS[table]},
                train=config.train.replace(progress=False),
            )
        )
    x_vis = build_dataset(configs[0]).evaluation_set().x
    t0 = time.perf_counter()
    with thread_count(1):
        trained = train_ensemble(configs)
    seconds = time.perf_counter() - t0
    values = [
        evaluate(m, x_vis, n_samples=100, seed=c.seed).to_dict()
        for m, c in zip(trained.models, configs)
    ]
    moved = max(loss_change_last_tenth(trained.losses[:, k]) for k in range(seeds))
    row = {
        "ours": {
            m: {
                "mean": statistics.fmean(float(v[m]) for v in values),
                "std": statistics.stdev(float(v[m]) for v in values),
            }
            for m in METRICS
        },
        "loss_change_last_tenth": moved,
    }
    printed = THESIS_TABLES[table][(0.1, 0.1)]
    out = {}
    for metric in METRICS:
        outcome = cell_comparison(row, metric, seeds, printed[metric]).outcome
        ours = row["ours"][metric]
        out[metric] = f"{ours['mean']:.4g} ± {ours['std']:.2g} vs {printed[metric]}: {outcome}"
    return out, seconds


def demo_seconds(steps: int) -> float:
    """Wall seconds of the demo itself (both trainings, the evaluations, the Δ-reductions and
    the report) at ``steps`` steps, into a fresh folder."""
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        run_demo(folder, steps=steps, progress=False)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[2500, 5000, 10_000, 20_000])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--time", action="store_true", help="also time the demo itself")
    parser.add_argument("--busy", type=int, default=0, help="busy processes beside the benchmark")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    steps, seeds = ([40], 2) if args.quick else (args.steps, args.seeds)
    print(f"the demo's cells (X_0.1, σX = 0.1) over {seeds} seeds; {args.busy} busy processes")
    with busy_neighbours(args.busy):
        for n in steps:
            for table, model in CELLS.items():
                judged, seconds = judged_cell(table, n, seeds)
                print(f"{n:>6} steps  table {table} ({model}; ensemble {seconds:.0f} s)")
                for metric, line in judged.items():
                    print(f"{'':>14}{metric:<16}{line}")
            if args.time:
                print(f"{n:>6} steps  the demo itself: {demo_seconds(n):.0f} s wall")


if __name__ == "__main__":
    main()
