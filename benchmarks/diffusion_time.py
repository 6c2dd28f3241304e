"""How the diffusion VAE's posterior time parameterisation (``time_param``) ends on the torus study.

Trains the diffusion VAE of ``thesis-torus`` (2500 noiseless 25×25 images of eq. 11.3-11.4, two
dense layers of 208 units, batch 100, Adam 3e-3 with cosine decay) with each ``time_param`` for
the same steps and seeds, one model at a time through the library's trainer, and prints per run
the final −ELBO (mean over the last tenth of the steps), the KL and the median posterior time of
the evaluation images. A time "at the floor" (median t = min_time, KL 2 × 6.98 nats) is the
collapse discussed in docs/circular.md.

    python benchmarks/diffusion_time.py                       # σX = 1, 1500 steps, seeds 0-3
    python benchmarks/diffusion_time.py --sigma-x 0.1 --seeds 1
    python benchmarks/diffusion_time.py --quick               # seconds (the tests)
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace

import torch

from latentatlas import train_run
from latentatlas.papers.thesis.studies import STUDIES, study_spec
from latentatlas.train.callbacks import History
from latentatlas.train.run import RunConfig, build_dataset

PARAMETERISATIONS = ("softplus", "bounded")


def run(time_param: str, sigma_x: float, steps: int, seed: int, quick: bool) -> dict[str, float]:
    """Final −ELBO, KL and log10 of the median time of one training."""
    study = STUDIES["thesis-torus"]
    scale = replace(study.quick if quick else study.full, steps=steps)
    spec = study_spec(study, "diffusion_vae", sigma_x, scale, seed)
    spec["model"]["latent"]["time_param"] = time_param
    spec["train"]["log_every"] = 1
    config = RunConfig.from_dict(spec)
    data = build_dataset(config)
    history = History()
    model, _ = train_run(config, None, [history], dataset=data, defaults=None)
    tail = history.records[-max(steps // 10, 1) :]
    model.eval()
    with torch.no_grad():
        time = model.encode(data.evaluation_set().x).base_dist.time
    return {
        "neg_elbo": statistics.fmean(r["neg_elbo"] for r in tail),
        "kl": statistics.fmean(r["kl"] for r in tail),
        "log10_time": float(time.log10().median()),
        "floor": float(time.median()) <= 1.01 * model.latent.config.min_time,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigma-x", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="20 steps on the quick data, 1 seed")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.seeds = 20, 1
    torch.set_num_threads(1)
    print(f"diffusion VAE on the torus study, σX = {args.sigma_x:g}, {args.steps} steps")
    for time_param in PARAMETERISATIONS:
        for seed in range(args.seeds):
            r = run(time_param, args.sigma_x, args.steps, seed, args.quick)
            floor = " (at the floor)" if r["floor"] else ""
            print(
                f"{time_param:9s} seed {seed}: −ELBO {r['neg_elbo']:.1f}  KL {r['kl']:.2f}  "
                f"median log10 t {r['log10_time']:.2f}{floor}",
                flush=True,
            )


if __name__ == "__main__":
    main()
