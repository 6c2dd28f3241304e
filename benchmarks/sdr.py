"""Spectral Dependency Ratio of every (map, filter) pair of a layer: batched FFTs vs a loop.

``analysis.spectral.spectral_dependency`` computes the map spectra once (one batched FFT of all
maps), the filter spectra once (one batched FFT of all partial filters on the output grid) and
every ratio with one einsum. The reference a first version would write loops over the pairs and
computes each ratio from its own map and filter (eq. 8 as printed). Side by side in one run, for
the three transposed convolutions of the intrinsic paper's generator (table 1: 64@16→64@16 read
with stride 2, 64@16→32@32, 32@32→16@64, and the last 16@64 → 3@64), the script times both, checks
that they agree and prints the ratio.

    python benchmarks/sdr.py            # a batch of 64 maps, the table-1 layers
    python benchmarks/sdr.py --quick    # 8 maps, channels / 4 (used by the tests)
"""

from __future__ import annotations

import argparse
import time

import torch

from latentatlas.analysis.spectral import spectral_dependency


def loop_over_pairs(maps: torch.Tensor, weight: torch.Tensor, s: int) -> torch.Tensor:
    """ρ for each pair (i, o) computed on its own, as eq. 8 reads."""
    c_in, c_out = weight.shape[:2]
    h, w = maps.shape[-2:]
    ratio = torch.empty(c_in, c_out, dtype=torch.float64)
    for i in range(c_in):
        for o in range(c_out):
            x_hat = torch.fft.fft2(maps[:, i].double())  # (B, H, W)
            tiled = x_hat.abs().pow(2).mean(0).repeat(s, s)  # |x̂(su, sv)|² on the output grid
            f_power = torch.fft.fft2(weight[i, o].double(), s=(s * h, s * w)).abs().pow(2)
            num = (tiled * f_power).mean()
            ratio[i, o] = num / (f_power.mean() * x_hat.abs().pow(2).mean(0).mean())
    return ratio


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    batch, div = (8, 4) if args.quick else (64, 1)
    layers = [  # (name, C_in, C_out, map side, stride, kernel) of the table-1 generator
        ("coarse → intermediate", 64, 64, 8, 2, 4),
        ("intermediate → fine", 64, 32, 16, 2, 4),
        ("fine → image", 32, 16, 32, 2, 4),
        ("image → output", 16, 3, 64, 1, 3),
    ]
    g = torch.Generator().manual_seed(0)
    print(f"threads: {torch.get_num_threads()}, batch of {batch} maps")
    total_loop = total_batched = 0.0
    for name, c_in, c_out, side, s, k in layers:
        c_in = c_in // div
        c_out = c_out // div if c_out > 3 else c_out  # the 3 colour channels stay
        maps = torch.randn(batch, c_in, side, side, generator=g).relu()
        weight = torch.randn(c_in, c_out, k, k, generator=g)
        spectral_dependency(maps[:2], weight, s)  # warm-up
        t_loop, ref = timed(lambda m=maps, w=weight, s=s: loop_over_pairs(m, w, s))
        t_batched, got = timed(lambda m=maps, w=weight, s=s: spectral_dependency(m, w, s).ratio)
        agree = torch.allclose(got.double(), ref, rtol=1e-4)
        total_loop += t_loop
        total_batched += t_batched
        print(
            f"{name}: {c_in}×{c_out} pairs, maps {side}×{side}, stride {s}: loop {t_loop:.3f} s, "
            f"batched {t_batched:.4f} s, ratio loop/batched: {t_loop / t_batched:.1f}, "
            f"agree: {agree}"
        )
    print(
        f"all layers: loop {total_loop:.2f} s, batched {total_batched:.3f} s, "
        f"ratio loop/batched: {total_loop / total_batched:.1f}"
    )


if __name__ == "__main__":
    main()
