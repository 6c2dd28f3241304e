"""The benchmarks run (quick mode); their timings are printed, never asserted."""

from __future__ import annotations

import subprocess
import sys


def test_engine_overhead_quick():
    proc = subprocess.run(
        [sys.executable, "benchmarks/engine_overhead.py", "--quick"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "ratio trainer/bare:" in proc.stdout and "images/s" in proc.stdout


def test_ensemble_quick():
    proc = subprocess.run(
        [sys.executable, "benchmarks/ensemble.py", "--quick"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "18 vae models" in proc.stdout and "ratio one-by-one / ensemble:" in proc.stdout


def test_atomic_quick():
    proc = subprocess.run(
        [sys.executable, "benchmarks/atomic.py", "--quick"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("outputs agree: True") == 3 and "ratio loop/batched:" in proc.stdout
    assert proc.stdout.count("images/s") == 2
