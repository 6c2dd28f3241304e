"""Atomic decoder speed: k blocks in one batched call of g against a Python loop over the blocks,
and training throughput at the paper's size.

The atomic decoder Σ_i g(z_i) can run g once on an (n·k, d0) tensor (latent-atlas's BlockSum) or
k times on (n, d0) slices (a loop, as the authors' code does). Both give the same output (checked
here); the script times the forward and the forward + backward pass of each, side by side in one
run, and prints the ratio loop / batched — for the paper's conv block and for a small MLP block
(vectors), where per-call overhead matters more. Then it times training steps of the paper's model
(128×128 images, k = 16 blocks of d0 = 6, batch 64, Adam) and of the baseline autoencoder, and
prints images/s.

    python benchmarks/atomic.py            # the paper's size
    python benchmarks/atomic.py --quick    # 32×32, k = 4, a smoke run (used by the tests)
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from latentatlas.models.atomic import baseline_spec, paper_spec
from latentatlas.nets.block_sum import BlockSum, BlockSumConfig
from latentatlas.registry import MODELS, build


def best_of(fn, repeats: int) -> float:
    """The fastest of ``repeats`` timed calls (after one warm-up), in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def looped(decoder, z: torch.Tensor) -> torch.Tensor:
    """Σ_i g(z_i) by a Python loop over the blocks (the reference the batched call replaces)."""
    d0 = decoder.block_dim
    out = decoder.block(z[:, :d0])
    for i in range(1, decoder.blocks):
        out = out + decoder.block(z[:, i * d0 : (i + 1) * d0])
    return out


def time_decoders(decoder, z: torch.Tensor, repeats: int, what: str) -> None:
    """Print forward and forward + backward times of the batched and the looped block sum."""
    with torch.no_grad():
        same = torch.allclose(decoder(z), looped(decoder, z), rtol=1e-4, atol=1e-5)
    print(f"{what}: batched and looped outputs agree: {same}")
    if not same:
        raise SystemExit("the batched decoder differs from the loop over blocks")

    def forward(fn):
        def run():
            with torch.no_grad():
                fn(z)

        return run

    def backward(fn):
        def run():
            decoder.zero_grad(set_to_none=True)
            fn(z).square().mean().backward()

        return run

    for label, wrap in (("forward", forward), ("forward+backward", backward)):
        t_batched = best_of(wrap(decoder), repeats)
        t_loop = best_of(wrap(lambda v: looped(decoder, v)), repeats)
        print(
            f"  {label:<17} batched {1e3 * t_batched:9.2f} ms   loop {1e3 * t_loop:9.2f} ms   "
            f"ratio loop/batched: {t_loop / t_batched:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--blocks", type=int, default=16)
    parser.add_argument("--block-dim", type=int, default=6)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="32×32, k = 4, batch 16, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.size, args.blocks, args.batch, args.repeats = 32, 4, 16, 1
    torch.manual_seed(0)
    shape = [1, args.size, args.size]
    spec = {**paper_spec(args.size, 1, args.blocks, args.block_dim), "input_shape": shape}
    model = build(MODELS, spec, "model")
    base = build(MODELS, {**baseline_spec(spec), "input_shape": shape}, "model")
    z = torch.randn(args.batch, args.blocks * args.block_dim)
    threads = torch.get_num_threads()
    print(
        f"{args.size}×{args.size} images, k = {args.blocks}, d0 = {args.block_dim}, "
        f"batch {args.batch}, {threads} threads, torch {torch.__version__}"
    )
    time_decoders(model.decoder, z, args.repeats, "paper conv block g")
    # the option between the two: ``block_chunk`` blocks per call
    half = max(args.blocks // 4, 1)
    chunked = build(MODELS, {**spec, "block_chunk": half}, "model")
    chunked.load_state_dict(model.state_dict())
    time_decoders(chunked.decoder, z, args.repeats, f"paper conv block g, {half} blocks per call")
    mlp = BlockSum(
        BlockSumConfig(blocks=args.blocks, block={"name": "mlp", "hidden": [64, 64]}),
        in_shape=(args.blocks * args.block_dim,),
        out_shape=(256,),
    )
    time_decoders(mlp, z, args.repeats, "MLP block g (d0 → 64 → 64 → 256)")

    x = torch.rand(args.batch, *shape)
    times = {}
    for name, net in (("atomic AE", model), ("baseline AE", base)):
        for variant in VARIANTS if name == "atomic AE" else ("fp32",):
            times[(name, variant)] = time_training(net, x, variant, args.repeats)
            params = sum(p.numel() for p in net.parameters())
            t = times[(name, variant)]
            print(
                f"training {name:<12} {variant:<20} {params:>9,} parameters   {t:7.3f} s/step"
                f"   {args.batch / t:8.1f} images/s"
            )
    fp32 = times[("atomic AE", "fp32")]
    print(
        "atomic AE speed-up over fp32 (train.memory_format / train.precision): "
        + ", ".join(f"{v} {fp32 / times[('atomic AE', v)]:.2f}x" for v in VARIANTS[1:])
    )


#: the train settings compared: fp32 contiguous, channels-last, bf16 autocast, both
VARIANTS = ("fp32", "channels_last", "bf16", "channels_last + bf16")


def time_training(net: torch.nn.Module, x: torch.Tensor, variant: str, repeats: int) -> float:
    """Seconds per Adam step of a copy of ``net`` in ``variant`` (best of ``repeats``)."""
    net = copy.deepcopy(net)
    if "channels_last" in variant:
        net, x = (
            net.to(memory_format=torch.channels_last),
            x.contiguous(memory_format=torch.channels_last),
        )
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    bf16 = "bf16" in variant

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = net(x).loss
        loss.backward()
        opt.step()

    return best_of(step, repeats)


if __name__ == "__main__":
    main()
