"""Thread settings for small tensor work.

Torch splits an operation over its intra-op threads once the tensor is large enough; on a busy
machine (other processes on every core, e.g. a sweep's workers) each split waits for threads
that the scheduler runs late, and a loop of small operations — drawing factors, indexing, stacking
a batch of 64 — ran up to 18× slower with torch's default threads than with one (the BetaVAE
score at the study's sizes: 16.8 s against 0.9 s on a loaded 2-core machine). Such work runs
under :func:`single_threaded`; large operations (encoding with a convolutional model, training)
keep every thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block with one intra-op thread, then restore the previous number."""
    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def small_work(fn: F) -> F:
    """Decorate a function whose tensors are small: it runs :func:`single_threaded`
    (the undecorated function stays reachable as ``fn.__wrapped__``, for benchmarks)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with single_threaded():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
