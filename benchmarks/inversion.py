"""Generator inversion speed: many targets in one batched optimisation against one at a time.

``analysis.directions.inversion.invert`` optimises the codes of all targets in one Adam run over
an (n, d) tensor. Adam is elementwise and the generator runs in eval mode, so every target
follows exactly the path it would follow alone (the script checks that the final errors agree)
and only the generator's passes are shared. Side by side in one run, for the 64×64 conv decoder
of the directions paper (appendix B) and for an MLP decoder with the same output, the script
times:

* one target at a time (a Python loop over ``invert`` calls, same steps),
* a bare batched loop that leaves the decoder's parameter gradients on (what a first version does),
* ``invert`` (batched, parameter gradients off),
* ``invert`` on a channels-last copy of the conv decoder,
* ``invert`` through ``torch.compile``, also of the channels-last copy (``--compile``;
  compilation time is reported apart),

and prints each ratio against the loop. Last, the wall time of Algorithm 1 for 256 trajectories of
10 points (50 steps per point).

    python benchmarks/inversion.py            # 256 targets, 50 steps
    python benchmarks/inversion.py --quick    # 16 targets, 5 steps (used by the tests)
"""

from __future__ import annotations

import argparse
import time

import torch

from latentatlas.analysis.directions.inversion import invert, project_to_ball, reconstruction_loss
from latentatlas.analysis.directions.trajectories import trajectories
from latentatlas.analysis.generators import DecoderGenerator
from latentatlas.registry import MODELS, build

LATENT = 10


def decoder(kind: str, seed: int = 0) -> DecoderGenerator:
    """An untrained 64×64 VAE with this decoder as a generator (timing needs no training)."""
    torch.manual_seed(seed)
    nets = {
        "conv": ({"name": "conv_encoder"}, {"name": "conv_decoder"}),
        "mlp": ({"name": "mlp", "hidden": [256]}, {"name": "mlp", "hidden": [256, 256]}),
    }[kind]
    model = build(
        MODELS,
        {
            "name": "vae",
            "input_shape": [1, 64, 64],
            "latent": {"name": "euclidean", "dim": LATENT},
            "encoder": nets[0],
            "decoder": nets[1],
            "likelihood": {"name": "bernoulli"},
        },
    )
    return DecoderGenerator(model.eval())


def bare_batched(gen, targets, init, steps) -> torch.Tensor:
    """A first batched version: Adam over all codes, but the decoder's parameters still require
    gradients (autograd computes weight gradients nobody reads)."""
    loss_fn = reconstruction_loss("gaussian", 3.0)
    masks = torch.ones_like(targets[:, :1])
    z = project_to_ball(init.clone(), LATENT**0.5).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.01)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss_fn(gen(z), targets, masks).sum().backward()
        opt.step()
        project_to_ball(z, LATENT**0.5)
    with torch.no_grad():
        return loss_fn(gen(z), targets, masks)


def step_flops(gen, targets: torch.Tensor, init: torch.Tensor) -> int:
    """Floating-point operations of one inversion step (generator forward, backward to z, loss)
    on these targets, counted by ``torch.utils.flop_counter`` (matrix products and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    loss_fn = reconstruction_loss("gaussian", 3.0)
    masks = torch.ones_like(targets[:, :1])
    z = init.clone().requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        loss_fn(gen(z), targets, masks).sum().backward()
    return counter.get_total_flops()


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def compare(kind: str, n: int, steps: int, compile_it: bool) -> None:
    gen = decoder(kind)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        targets = gen(torch.randn(n, LATENT, generator=g)).detach()
    init = torch.randn(n, LATENT, generator=g)
    invert(gen, targets[:2], init=init[:2], steps=2)  # warm-up

    def loop():
        return torch.cat(
            [
                invert(gen, targets[i : i + 1], init=init[i : i + 1], steps=steps).errors
                for i in range(n)
            ]
        )

    t_loop, e_loop = timed(loop)
    rows = [("one target at a time", t_loop, e_loop)]
    rows.append(
        ("bare batched (param grads on)", *timed(lambda: bare_batched(gen, targets, init, steps)))
    )
    rows.append(
        ("invert, batched", *timed(lambda: invert(gen, targets, init=init, steps=steps).errors))
    )
    if kind == "conv":
        cl = decoder(kind).to(memory_format=torch.channels_last)
        rows.append(
            (
                "invert, channels-last",
                *timed(lambda: invert(cl, targets, init=init, steps=steps).errors),
            )
        )
    if compile_it:
        variants = [("torch.compile", gen)]
        if kind == "conv":
            variants.append(("channels-last + torch.compile", cl))
        for label, module in variants:
            compiled = torch.compile(module)
            t_compile, _ = timed(lambda c=compiled: invert(c, targets, init=init, steps=1))
            print(f"{kind}: {label} warm-up (compilation) {t_compile:.1f} s")
            rows.append(
                (
                    f"invert, {label}",
                    *timed(lambda c=compiled: invert(c, targets, init=init, steps=steps).errors),
                )
            )
    print(f"\n{kind} decoder, {n} targets, {steps} Adam steps each")
    flops = step_flops(gen, targets, init) * steps  # the same arithmetic batched or not
    for name, seconds, errors in rows:
        gap = float(((errors - e_loop).abs() / e_loop.abs().clamp_min(1e-12)).max())
        print(
            f"  {name:<32}{seconds:8.2f} s   ratio loop/this: {t_loop / seconds:6.1f}x   "
            f"{flops / seconds / 1e9:6.1f} GFLOP/s   "
            f"largest relative error difference to the loop: {gap:.1e}"
        )


def algorithm_one(n: int, points: int, steps: int) -> None:
    gen = decoder("conv")
    amounts = tuple(0.05 * (i + 1) for i in range(points))
    t, data = timed(
        lambda: trajectories(
            gen, "translate-x", n=n, amounts=amounts, both_signs=False, steps=steps, seed=0
        )
    )
    print(
        f"\nAlgorithm 1, conv decoder: {n} trajectories of {points} points, "
        f"{steps} steps per point: {t:.1f} s ({len(data)} of {data.t.numel()} records kept)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run in seconds")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    n, steps = (16, 5) if args.quick else (256, 50)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for kind in ("conv", "mlp"):
        compare(kind, n, steps, args.compile)
    algorithm_one(n, 10 if not args.quick else 2, steps)


if __name__ == "__main__":
    main()
