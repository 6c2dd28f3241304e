"""Ensemble speed: the thesis's 45-model grid trained one by one and as one vectorised ensemble.

5 repetitions × 3 data sets X_σ (σ = 0.01, 0.1, 1) × 3 decoder σX (0.01, 0.1, 1): the VAEs of one
table (thesis tables 5.1 / 7.1), the 25-8-8 MLPs of sec. 3.5 on the sine circle (N = 10 000,
batch 100). Both sides train every member for the same number of steps, measured in one run;
prints seconds, steps/s per model and the ratio (goal: ensemble ≥ 20× faster). The ensemble is
timed as it trains by default (its step traced once and replayed) and eagerly (``trace=False``).
Every path is warmed up first with a one-step run (one-time costs of the process, such as
loading torch's tracer, are not part of the ratio), then timed ``--repeat`` times, alternating;
the fastest of each is reported. 2000 steps by default, a tenth of the thesis tables' 20 000:
at 200 the ensemble's costs per grid (building, tracing, the members' states: ~0.3 s) weigh
as much as its steps.

For the Euclidean VAE it also times a *floor*: the same grid's training step written by hand as
batched tensor operations (one ``baddbmm`` per layer, the Gaussian NLL and closed-form KL inline,
the same batch size, noise streams and flat Adam; no vmap, no modules, no trainer). No
implementation that runs the same eager PyTorch operations can be much faster than it, so its
ratio is what the 20× goal can reach on the machine at hand.

    python benchmarks/ensemble.py                 # 2000 steps, the Euclidean VAE (~4 min)
    python benchmarks/ensemble.py --model diffusion_vae
    python benchmarks/ensemble.py --quick         # a smoke run (used by the tests)
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import func

from latentatlas import train_run
from latentatlas.train import RunConfig
from latentatlas.train.ensemble import train_ensemble
from latentatlas.train.run import build_dataset, build_model, complete_config

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


def hand_written_floor(configs: list[RunConfig]) -> float:
    """Seconds to train the grid's Euclidean VAEs with a hand-written batched step (the floor
    described in the module doc); the members start from their configs' initialisations."""
    datasets = [build_dataset(c) for c in configs]
    models = []
    for c, d in zip(configs, datasets):
        c = complete_config(c, d)
        torch.manual_seed(c.seed)
        models.append(build_model(c, d))
    stacked, buffers = func.stack_module_state(models)
    names = list(stacked)
    sizes = [v.numel() for v in stacked.values()]
    shapes = [tuple(v.shape) for v in stacked.values()]
    flat = torch.cat([stacked[k].detach().reshape(-1) for k in names]).requires_grad_(True)
    train = configs[0].train
    optimizer = torch.optim.Adam([flat], lr=train.lr)
    data = torch.stack([d.x.reshape(len(d), -1) for d in datasets])  # (E, N, D)
    e, n, dim = data.shape
    latent = models[0].latent.dim
    var = buffers["likelihood.sigma"].pow(2)[:, None]  # (E, 1)
    gens = [torch.Generator().manual_seed(c.seed) for c in configs]
    offsets = (torch.arange(e) * n)[:, None]

    def mlp(h: torch.Tensor, p: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
        for i, layer in enumerate((1, 3, 5)):
            w, b = p[f"{prefix}.net.{layer}.weight"], p[f"{prefix}.net.{layer}.bias"]
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            h = h.relu() if i < 2 else h
        return h

    t0 = time.perf_counter()
    for _ in range(train.steps):
        rows = torch.randint(0, n, (e, train.batch_size)) + offsets
        x = data.reshape(e * n, dim).index_select(0, rows.reshape(-1)).reshape(e, -1, dim)
        eps = torch.stack([torch.randn((train.batch_size, latent), generator=g) for g in gens])
        p = {k: v.view(s) for k, v, s in zip(names, torch.split(flat, sizes), shapes)}
        mu, raw = mlp(x, p, "encoder").split(latent, dim=-1)
        scale = torch.exp(0.5 * raw)  # the default log-variance parameterisation
        out = mlp(mu + scale * eps, p, "decoder")
        nll = 0.5 * (x - out).pow(2).sum(-1) / var + 0.5 * dim * torch.log(2 * math.pi * var)
        zvar = scale.pow(2)
        kl = 0.5 * (zvar + mu.pow(2) - torch.log(zvar) - 1.0).sum(-1)
        losses = (nll + kl).mean(1)
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimizer.step()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--model", default="vae", choices=("vae", "diffusion_vae"))
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
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
    print(
        f"{len(configs)} {args.model} models × {args.steps} steps, batch 100, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    # warm-up, not timed: the first run of each path pays one-time costs (lazy imports, vmap's
    # first trace) that a grid of 45 models would pay once
    warm = grid(args.model, 1, 1, 1000)[:2]
    train_run(warm[0], None, defaults=None)
    train_ensemble(warm)
    train_ensemble(warm, trace=True)  # the first trace in a process loads torch's tracer
    with_floor = args.model == "vae"
    if with_floor:
        hand_written_floor(warm)
    sequential = ensemble = eager = floor = float("inf")
    for _ in range(args.repeat):  # alternating, so a slow spell of the machine hits all
        t0 = time.perf_counter()
        for config in configs:
            train_run(config, None, defaults=None)
        sequential = min(sequential, time.perf_counter() - t0)
        t0 = time.perf_counter()
        train_ensemble(configs)
        ensemble = min(ensemble, time.perf_counter() - t0)
        t0 = time.perf_counter()
        train_ensemble(configs, trace=False)
        eager = min(eager, time.perf_counter() - t0)
        if with_floor:
            floor = min(floor, hand_written_floor(configs))
    timings = [
        ("one by one     ", sequential),
        ("ensemble       ", ensemble),
        ("ensemble, eager", eager),
    ]
    if with_floor:
        timings.append(("hand floor     ", floor))
    for name, seconds in timings:
        rate = args.steps * len(configs) / seconds
        print(f"{name}: {seconds:8.2f} s   {rate:10.0f} model-steps/s")
    print(f"ratio one-by-one / ensemble: {sequential / ensemble:.1f}x  (goal >= 20x)")
    print(f"ratio one-by-one / ensemble without tracing: {sequential / eager:.1f}x")
    if with_floor:
        print(
            f"ratio one-by-one / hand-written floor: {sequential / floor:.1f}x  "
            f"(ensemble / floor: {ensemble / floor:.2f})"
        )


if __name__ == "__main__":
    main()
