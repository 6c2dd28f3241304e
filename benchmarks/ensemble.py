"""Ensemble speed: the thesis's 45-model grid trained one by one and as one vectorised ensemble.

5 repetitions × 3 data sets X_σ (σ = 0.01, 0.1, 1) × 3 decoder σX (0.01, 0.1, 1): the VAEs of one
table (thesis tables 5.1 / 7.1), the 25-8-8 MLPs of sec. 3.5 on the sine circle (N = 10 000,
batch 100). Both sides train every member for the same number of steps, measured in one run;
prints seconds, steps/s per model and the ratio (goal: ensemble ≥ 20× faster). Both paths are
warmed up first with a one-step run (one-time costs are not part of the ratio), then timed
``--repeat`` times, alternating; the fastest of each is reported.

    python benchmarks/ensemble.py                 # 200 steps, the Euclidean VAE
    python benchmarks/ensemble.py --model diffusion_vae
    python benchmarks/ensemble.py --quick         # a smoke run (used by the tests)
"""

from __future__ import annotations

import argparse
import time

import torch

from latentatlas.train import RunConfig, train_run
from latentatlas.train.ensemble import train_ensemble

NOISE = (0.01, 0.1, 1.0)
SIGMA_X = (0.01, 0.1, 1.0)


def grid(model: str, steps: int, repetitions: int, n: int) -> list[RunConfig]:
    return [
        RunConfig.from_dict(
            {
                "dataset": {"name": "sine_circle", "n": n, "dim": 25, "sigma": noise},
                "model": {
                    "name": model,
                    "encoder": {"name": "mlp", "hidden": [8, 8]},
                    "decoder": {"name": "mlp", "hidden": [8, 8]},
                    "likelihood": {"name": "gaussian", "sigma": sigma_x},
                },
                "train": {"steps": steps, "batch_size": 100, "lr": 1e-3, "progress": False},
                "seed": seed,
            }
        )
        for seed in range(repetitions)
        for noise in NOISE
        for sigma_x in SIGMA_X
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--model", default="vae", choices=("vae", "diffusion_vae"))
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="time each path this many times, alternating; report the fastest",
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 repetitions, 5 steps, N = 1000, timed once"
    )
    args = parser.parse_args()
    n = 10_000
    if args.quick:
        args.steps, args.repetitions, n, args.repeat = 5, 2, 1000, 1
    configs = grid(args.model, args.steps, args.repetitions, n)
    print(f"{len(configs)} {args.model} models × {args.steps} steps, batch 100, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")  # fmt: skip
    # warm-up, not timed: the first run of each path pays one-time costs (lazy imports, vmap's
    # first trace) that a grid of 45 models would pay once
    warm = grid(args.model, 1, 1, 1000)[:2]
    train_run(warm[0], None)
    train_ensemble(warm)
    sequential = ensemble = float("inf")
    for _ in range(args.repeat):  # alternating, so a slow spell of the machine hits both
        t0 = time.perf_counter()
        for config in configs:
            train_run(config, None)
        sequential = min(sequential, time.perf_counter() - t0)
        t0 = time.perf_counter()
        train_ensemble(configs)
        ensemble = min(ensemble, time.perf_counter() - t0)
    for name, seconds in (("one by one", sequential), ("ensemble  ", ensemble)):
        rate = args.steps * len(configs) / seconds
        print(f"{name}: {seconds:8.2f} s   {rate:10.0f} model-steps/s")
    print(f"ratio one-by-one / ensemble: {sequential / ensemble:.1f}x  (goal >= 20x)")


if __name__ == "__main__":
    main()
