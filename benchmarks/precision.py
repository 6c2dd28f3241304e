"""Does ``train.precision: bf16`` / ``train.memory_format: channels_last`` change what a short
training reaches? Final losses and images/s of real runs through the library's trainer.

Trains the directions paper's β-VAE (appendix B; 32×32 dSprites unless ``--size 64``) with each
variant for the same steps from the same seeds, and prints per variant the mean and spread over
seeds of the final loss (mean over the last tenth of the steps) and the training images/s. bf16
"does not change results beyond noise" when its mean final loss lies within the spread between
seeds of the fp32 runs; the ratio of images/s is measured side by side in one run (variants
alternate within each seed).

    python benchmarks/precision.py                 # 32×32, 600 steps, seeds 0-2
    python benchmarks/precision.py --size 64 --steps 1000
    python benchmarks/precision.py --quick         # seconds (the tests)
"""

from __future__ import annotations

import argparse
import statistics
import time

from latentatlas import train_run
from latentatlas.papers.directions.common import beta_vae_spec, dsprites_images
from latentatlas.train.callbacks import History
from latentatlas.train.run import RunConfig

VARIANTS = {
    "fp32": {},
    "channels_last": {"memory_format": "channels_last"},
    "bf16": {"precision": "bf16"},
    "channels_last + bf16": {"memory_format": "channels_last", "precision": "bf16"},
}


def run(size: int, steps: int, seed: int, train: dict, data) -> tuple[float, float]:
    """(final loss, images/s) of one training."""
    config = RunConfig.from_dict(
        {
            "dataset": {"name": "dsprites"},
            "model": beta_vae_spec(size, 4.0),
            "train": {
                "steps": steps,
                "batch_size": 64,
                "lr": 5e-4,
                "log_every": 1,
                "progress": False,
                **train,
            },
            "seed": seed,
        }
    )
    history = History()
    t0 = time.perf_counter()
    train_run(config, None, [history], dataset=data, defaults=None)
    seconds = time.perf_counter() - t0
    tail = [r["loss"] for r in history.records[-max(steps // 10, 1) :]]
    return statistics.fmean(tail), steps * 64 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="16 steps, 2 seeds")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.seeds = 16, 2
    data = dsprites_images(2000 if args.quick else 20_000, args.size, seed=0)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for train in VARIANTS.values():  # warm-up: first calls of each kernel are not timed
        run(args.size, 4, 0, train, data)
    for seed in range(args.seeds):
        for name, train in VARIANTS.items():
            results[name].append(run(args.size, args.steps, seed, train, data))
    print(
        f"directions β-VAE, {args.size}×{args.size}, {args.steps} steps of batch 64, "
        f"seeds 0-{args.seeds - 1}"
    )
    base = statistics.fmean(r for _, r in results["fp32"])
    for name, rows in results.items():
        losses = [loss for loss, _ in rows]
        spread = statistics.stdev(losses) if len(losses) > 1 else 0.0
        rate = statistics.fmean(r for _, r in rows)
        print(
            f"{name:<22} final loss {statistics.fmean(losses):10.3f} ± {spread:7.3f}   "
            f"{rate:8.1f} images/s ({rate / base:.2f}×)"
        )


if __name__ == "__main__":
    main()
