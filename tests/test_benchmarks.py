"""The benchmarks run (quick mode); their timings are printed, never asserted."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # the slow tier (make check skips it)


def run_quick(script: str, *args: str) -> str:
    """``python benchmarks/SCRIPT --quick ARGS``; fails the test on a non-zero exit, returns
    stdout."""
    proc = subprocess.run(
        [sys.executable, f"benchmarks/{script}", "--quick", *args],
        capture_output=True,
        text=True,
        timeout=900,  # generous: a loaded machine
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_engine_overhead_quick():
    out = run_quick("engine_overhead.py")
    assert "ratio trainer/bare:" in out and "images/s" in out


def test_ensemble_quick():
    out = run_quick("ensemble.py")
    assert "18 vae models" in out and "ratio one-by-one / ensemble:" in out


def test_atomic_quick():
    out = run_quick("atomic.py")
    assert out.count("outputs agree: True") == 3 and "ratio loop/batched:" in out
    assert out.count("images/s") == 5  # the atomic AE in four train variants, the baseline
    assert "speed-up over fp32" in out and "channels_last + bf16" in out


def test_inversion_quick():
    out = run_quick("inversion.py")
    assert out.count("ratio loop/this:") == 7 and "Algorithm 1" in out


def test_sdr_quick():
    out = run_quick("sdr.py")
    assert out.count("agree: True") == 4 and out.count("ratio loop/batched:") == 5


def test_metrics_quick():
    out = run_quick("metrics.py")
    assert out.count("ratio reference/ours:") == 3 and out.count("agree: True") == 1
    assert "all metrics" in out
    # DCI: LightGBM's trees and the study's scikit-learn trees give close scores
    for score in ("disentanglement", "completeness"):
        ours, study = map(float, re.search(rf"{score} ([\d.]+) / ([\d.]+)", out).groups())
        assert abs(ours - study) < 0.08, score


def test_explorer_quick():
    out = run_quick("explorer.py")
    assert out.count("round trip median") == 2


def test_training_throughput_quick():
    out = run_quick("training_throughput.py")
    for label in ("directions β-VAE", "Locatello β-VAE", "intrinsic table-1 VAE", "atomic paper"):
        assert label in out
    assert out.count("images/s") == 16 and "channels-last+bf16" in out


def test_precision_quick():
    out = run_quick("precision.py")
    for variant in ("fp32", "channels_last", "bf16", "channels_last + bf16"):
        assert variant in out
    assert "images/s (1.00×)" in out


def test_diffusion_time_quick():
    out = run_quick("diffusion_time.py")
    for time_param in ("softplus", "bounded"):
        assert f"{time_param:9s} seed 0: −ELBO" in out
    assert "median log10 t" in out


def test_direction_bench_quick():
    out = run_quick("direction_bench.py", "--cases", "all", "--factors", "contrast")
    for method in ("minimal-move", "paper"):
        assert f"| all | contrast | {method} |" in out
    assert re.search(r"minimal-move: lowest cosine \d\.\d{3}", out)


def test_threads_quick():
    out = run_quick("threads.py", "--busy", "1")
    assert "1 busy processes beside" in out and "MLP 25-8-8-2 (thesis)" in out
    assert out.count("\n") >= 7 and "ratio: default threads / one thread" in out


def test_demo_steps_quick():
    out = run_quick("demo_steps.py", "--time")
    assert "40 steps  table 5.1 (vae;" in out and "40 steps  table 7.1 (diffusion_vae;" in out
    verdicts = re.findall(r"vs \S+ ± [^:]+: (agree|disagree|inconclusive)", out)
    assert len(verdicts) == 8, out  # four metrics of each cell, each judged
    assert re.search(r"40 steps  the demo itself: \d+ s wall", out)


def test_peers_quick_names_the_peers_it_cannot_import():
    """Without pythae and disent (the test environment) the benchmark still measures the bare
    loops and latent-atlas's trainer and says which peers it skipped and how to install them."""
    out = run_quick("peers.py")
    for row in (
        "bare loop (study's net)",
        "bare loop, channels-last",
        "latent-atlas Trainer (defaults)",
        "latent-atlas Trainer, contiguous",
    ):
        assert re.search(re.escape(row) + r"\s+[\d.]+\s+[\d.]+\s+[\d.]+", out), row
    for peer in ("pythae", "disent"):
        installed = (
            subprocess.run([sys.executable, "-c", f"import {peer}"], capture_output=True).returncode
            == 0
        )
        assert (f"skipped: {peer}: not importable" in out) != installed
