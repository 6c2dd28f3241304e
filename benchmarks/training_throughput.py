"""Training throughput of the reproductions' convolutional models on this CPU: images per second
of fp32 eager, channels-last, bf16 autocast, both, and (with ``--compile``) ``torch.compile``,
measured side by side in one run, with the loss each variant reaches from the same start.

Models (64×64 unless ``--quick``): the directions paper's appendix-B β-VAE, the Locatello et al.
study's β-VAE, the intrinsic paper's table-1 VAE, and the atomic autoencoder's paper preset (at
64×64: at the paper's 128² one step takes seconds on 2 cores; ``--atomic-size 128`` for it).
Each variant trains a fresh copy from the same weights on the same batches (Adam, lr 1e-4,
random binary images); rounds alternate between variants so that machine noise hits all. The
loss printed is the mean of the last quarter of the steps: bf16 must not change it beyond the
spread between rounds.

    python benchmarks/training_throughput.py              # batch 64, 3 rounds of 12 steps
    python benchmarks/training_throughput.py --compile    # also torch.compile (minutes to compile)
    python benchmarks/training_throughput.py --quick      # 32×32, tiny: seconds (the tests)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import time

import torch

from latentatlas.models.atomic import paper_spec
from latentatlas.models.disentangling import locatello_spec
from latentatlas.models.intrinsic import intrinsic_vae_spec
from latentatlas.papers.directions.common import beta_vae_spec
from latentatlas.registry import MODELS, build


def models(size: int, atomic_size: int) -> dict[str, tuple[dict, int]]:
    """name → (model spec, image side)."""
    locatello = locatello_spec()
    if size != 64:  # the study's net is 64×64 only; at other sizes the directions net stands in
        locatello = beta_vae_spec(size, 1.0)
    return {
        "directions β-VAE (app. B)": (beta_vae_spec(size, 4.0), size),
        "Locatello β-VAE": (locatello, size),
        "intrinsic table-1 VAE": (intrinsic_vae_spec(size, 64 if size >= 64 else 32), size),
        "atomic paper preset": (paper_spec(image_size=atomic_size), atomic_size),
    }


def variant_context(name: str):
    if "bf16" in name:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare(model: torch.nn.Module, name: str) -> tuple[torch.nn.Module, torch.memory_format]:
    fmt = torch.channels_last if name.startswith("channels-last") else torch.contiguous_format
    model = model.to(memory_format=fmt)
    if name == "torch.compile":
        model = torch.compile(model)
    return model, fmt


def run(model: torch.nn.Module, name: str, data: torch.Tensor, steps: int, batch: int):
    """(seconds per step after the first, mean loss of the last quarter) of one training."""
    model, fmt = prepare(model, name)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    losses, times = [], []
    for _ in range(steps):
        x = data[torch.randint(len(data), (batch,), generator=g)].contiguous(memory_format=fmt)
        start = time.perf_counter()
        with variant_context(name):
            loss = model(x).loss
        optimizer.zero_grad(set_to_none=True)
        loss.float().backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        losses.append(float(loss.detach()))
    tail = losses[-max(steps // 4, 1) :]
    return statistics.median(times[1:]), sum(tail) / len(tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12, help="steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=64, help="image side of the VAEs")
    parser.add_argument("--atomic-size", type=int, default=64)
    parser.add_argument("--compile", action="store_true", help="also torch.compile")
    parser.add_argument("--quick", action="store_true", help="32×32, batch 8, 1 round of 3 steps")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.rounds, args.batch, args.size, args.atomic_size = 3, 1, 8, 32, 32
    variants = ["fp32 eager", "channels-last", "bf16 autocast", "channels-last+bf16"]
    variants += ["torch.compile"] if args.compile else []
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
        f"{args.rounds} rounds of {args.steps} steps"
    )
    for label, (spec, side) in models(args.size, args.atomic_size).items():
        torch.manual_seed(0)
        base = build(
            MODELS, {**spec, "input_shape": list(spec.get("input_shape") or [1, side, side])}
        )
        channels = base.input_shape[0] if hasattr(base, "input_shape") else 1
        g = torch.Generator().manual_seed(1)
        data = (torch.rand(256, channels, side, side, generator=g) > 0.7).float()
        per_step = {v: [] for v in variants}
        loss = {v: [] for v in variants}
        for _ in range(args.rounds):
            for v in variants:
                seconds, final = run(copy.deepcopy(base), v, data, args.steps, args.batch)
                per_step[v].append(seconds)
                loss[v].append(final)
        reference = statistics.median(per_step["fp32 eager"])
        params = sum(p.numel() for p in base.parameters())
        print(f"\n{label} ({side}×{side}, {params / 1e3:.0f} k parameters)")
        for v in variants:
            s = statistics.median(per_step[v])
            spread = max(loss[v]) - min(loss[v])
            print(
                f"  {v:<18} {args.batch / s:9.1f} images/s  ratio {reference / s:5.2f}  "
                f"final loss {statistics.median(loss[v]):.5g} (spread {spread:.2g})"
            )


if __name__ == "__main__":
    main()
