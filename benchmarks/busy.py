"""Busy neighbours for the benchmarks that measure a busy machine (``--busy N``).

A shared workstation or a cluster node has other processes on every core; ``busy_neighbours(n)``
starts ``n`` processes that keep one core each busy with single-threaded matrix products until
the block ends, so that a benchmark can print its numbers idle and busy from the same script.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager

import torch


def _spin(stop: multiprocessing.Event) -> None:  # a busy neighbour
    torch.set_num_threads(1)
    a = torch.randn(256, 256)
    while not stop.is_set():
        a = torch.tanh(a @ a)


@contextmanager
def busy_neighbours(n: int) -> Iterator[None]:
    """Run the block with ``n`` busy processes beside it (none for ``n`` = 0)."""
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(n)]
    for p in spinners:
        p.start()
    try:
        yield
    finally:
        stop.set()
        for p in spinners:
            p.join(timeout=5)
