"""Engine overhead: the Trainer's step against a bare PyTorch loop, measured side by side.

Both train the same 64×64 β-VAE (the directions paper's appendix B network, Bernoulli decoder,
10 latents) with Adam at batch 64 on the same in-memory images; rounds alternate between the two
loops so that machine noise hits both alike. Prints seconds per step, images/s, and the ratio
Trainer / bare (goal: ≤ 1.05).

    python benchmarks/engine_overhead.py            # 5 rounds of 50 steps
    python benchmarks/engine_overhead.py --quick    # a smoke run (used by the tests)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from latentatlas.data import InMemoryDataset
from latentatlas.registry import MODELS, build
from latentatlas.train import Trainer, TrainerConfig

MODEL = {
    "name": "beta_vae",
    "input_shape": [1, 64, 64],
    "latent": {"name": "euclidean", "dim": 10},
    "encoder": {"name": "conv_encoder"},
    "decoder": {"name": "conv_decoder"},
    "likelihood": {"name": "bernoulli"},
}


def make_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build(MODELS, MODEL)


def bare_loop(model: torch.nn.Module, data: torch.Tensor, steps: int, batch: int) -> float:
    """Seconds per step of the plainest possible loop (random batches, Adam)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        x = data[torch.randint(len(data), (batch,), generator=g)]
        loss = model(x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - t0) / steps


def trainer_loop(model: torch.nn.Module, data: torch.Tensor, steps: int, batch: int) -> float:
    """Seconds per step of :class:`Trainer.fit` (no run folder, no progress bar)."""
    cfg = TrainerConfig(
        steps=steps, batch_size=batch, lr=1e-4, progress=False, log_every=10, checkpoint_every=0
    )
    trainer = Trainer(model, InMemoryDataset(data), cfg)
    t0 = time.perf_counter()
    trainer.fit()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 steps at batch 8")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.rounds, args.batch = 3, 2, 8
    g = torch.Generator().manual_seed(1)
    data = (torch.rand(1024, 1, 64, 64, generator=g) > 0.8).float()
    n_params = sum(p.numel() for p in make_model().parameters())
    print(
        f"64x64 beta-VAE, {n_params / 1e3:.0f} k parameters, batch {args.batch}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    bare_loop(make_model(), data, 2, args.batch)  # warm-up
    trainer_loop(make_model(), data, 2, args.batch)
    bare, engine = [], []
    for _ in range(args.rounds):
        bare.append(bare_loop(make_model(), data, args.steps, args.batch))
        engine.append(trainer_loop(make_model(), data, args.steps, args.batch))
    b, e = statistics.median(bare), statistics.median(engine)
    print(f"bare PyTorch loop : {b * 1e3:8.2f} ms/step  {args.batch / b:8.1f} images/s")
    print(f"latent-atlas      : {e * 1e3:8.2f} ms/step  {args.batch / e:8.1f} images/s")
    print(f"ratio trainer/bare: {e / b:.3f}  (goal <= 1.05)")


if __name__ == "__main__":
    main()
