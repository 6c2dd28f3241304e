"""Threads by the size of the work: one intra-op thread against torch's default, per model size.

Trains VAEs of growing size (the thesis's MLP 25-8-2 up to the 64×64 conv β-VAE) for a few
steps with one intra-op thread and with torch's default, rounds alternating so that machine
noise hits both alike, and prints the multiply-adds of one forward pass
(``latentatlas.threads.forward_macs``), the seconds per step of each and their ratio. The
crossover (the smallest work where the default threads win) is what
``latentatlas.threads.CROSSOVER_MACS`` is set from. ``--busy N`` starts N processes that keep
the cores busy meanwhile (a shared workstation, a cluster node); run it idle and busy.

    python benchmarks/threads.py              # idle: 3 rounds of 30 steps per size
    python benchmarks/threads.py --busy 4     # with four busy processes beside it
    python benchmarks/threads.py --quick      # a smoke run (used by the tests)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from busy import busy_neighbours
from latentatlas.registry import MODELS, build
from latentatlas.threads import forward_macs, thread_count

CASES = {
    "MLP 25-8-8-2 (thesis)": ([25], {"name": "mlp", "hidden": [8, 8]}, 100),
    "MLP 25-64-64-2": ([25], {"name": "mlp", "hidden": [64, 64]}, 100),
    "MLP 625-208-208-4 (torus)": ([625], {"name": "mlp", "hidden": [208, 208]}, 100),
    "MLP 4096-256×3-2 (pixel shift)": ([4096], {"name": "mlp", "hidden": [256] * 3}, 100),
    "conv 32×32 β-VAE": ([1, 32, 32], {"name": "conv_encoder"}, 64),
    "conv 64×64 β-VAE": ([1, 64, 64], {"name": "conv_encoder"}, 64),
}


def _model(shape: list[int], net: dict) -> torch.nn.Module:
    decoder = dict(net, name="conv_decoder") if net["name"] == "conv_encoder" else net
    torch.manual_seed(0)
    return build(
        MODELS,
        {
            "name": "vae",
            "input_shape": shape,
            "latent": {"name": "euclidean", "dim": 2},
            "encoder": net,
            "decoder": decoder,
            "likelihood": {"name": "gaussian", "sigma": 0.1},
        },
    )


def seconds_per_step(model: torch.nn.Module, x: torch.Tensor, steps: int, threads: int) -> float:
    optimiser = torch.optim.Adam(model.parameters(), 1e-3)
    with thread_count(threads):
        model(x).loss.backward()  # warm-up
        t0 = time.perf_counter()
        for _ in range(steps):
            optimiser.zero_grad()
            model(x).loss.backward()
            optimiser.step()
        return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--busy", type=int, default=0, help="busy processes beside the benchmark")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, steps = (1, 2) if args.quick else (args.rounds, args.steps)
    default = torch.get_num_threads()
    print(f"{torch.get_num_threads()} default threads, {args.busy} busy processes beside")
    print(
        f"{'model':<32}{'MACs/forward':>14}{'1 thread s':>12}{f'{default} threads s':>13}"
        f"{'ratio':>8}"
    )
    with busy_neighbours(args.busy):
        for name, (shape, net, batch) in CASES.items():
            if args.quick and name.startswith("conv 64"):
                continue
            model = _model(shape, net)
            x = torch.rand(batch, *shape)
            macs = forward_macs(model, x)
            one, many = [], []
            for _ in range(rounds):  # alternate: noise hits both alike
                one.append(seconds_per_step(model, x, steps, 1))
                many.append(seconds_per_step(model, x, steps, default))
            a, b = statistics.median(one), statistics.median(many)
            print(f"{name:<32}{macs:>14,}{a:>12.5f}{b:>13.5f}{b / a:>8.2f}")
    print("ratio: default threads / one thread, seconds per step (> 1: one thread is faster)")


if __name__ == "__main__":
    main()
