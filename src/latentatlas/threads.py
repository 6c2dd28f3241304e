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

    return wrapper


#: multiply-adds of one forward pass (the whole batch) below which training runs on one
#: intra-op thread. Measured with benchmarks/threads.py on the project's 2-core machine: up to
#: 35 M (the torus MLP) one thread is as fast idle (0.95-1.0×) and 2.6-30× faster with the cores
#: busy; from 205 M (a 32×32 conv VAE, the pixel-shift MLP) two threads are 1.25-1.4× faster
#: idle (and one thread still 1.2-4× faster busy: set ``train.threads=1`` on a shared machine)
CROSSOVER_MACS = 100_000_000


def forward_macs(model: torch.nn.Module, batch: torch.Tensor) -> int:
    """Multiply-adds of ``model(batch)``'s linear and convolution layers (what dominates a
    step's arithmetic), counted with forward hooks on one pass without gradients."""
    return call_macs([model], lambda: model(batch))


def call_macs(modules: list[torch.nn.Module], call: Callable[[], object]) -> int:
    """Multiply-adds of the linear and convolution layers of ``modules`` during ``call()``
    (run once without gradients): the work of an analysis step that is not one forward pass,
    e.g. decoding a few prior samples through two models."""
    total = 0

    def count(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if not isinstance(output, torch.Tensor):
            return
        if isinstance(module, torch.nn.Linear):
            total += output.numel() * module.in_features
        elif isinstance(module, torch.nn.modules.conv._ConvNd):
            kernel = 1
            for k in module.kernel_size:
                kernel *= k
            if isinstance(module, torch.nn.modules.conv._ConvTransposeNd):  # per input value
                total += inputs[0].numel() * kernel * module.out_channels // module.groups
            else:  # per output value
                total += output.numel() * kernel * module.in_channels // module.groups

    layers = (torch.nn.Linear, torch.nn.modules.conv._ConvNd)
    handles = [
        m.register_forward_hook(count)
        for module in modules
        for m in module.modules()
        if isinstance(m, layers)
    ]
    try:
        with torch.no_grad():
            call()
    finally:
        for handle in handles:
            handle.remove()
    return total


def threads_for(macs: int, threads: int = 0) -> int:
    """The intra-op threads for work of ``macs`` multiply-adds per step: ``threads`` when given
    (> 0), else one below :data:`CROSSOVER_MACS` and torch's default above."""
    if threads > 0:
        return threads
    return 1 if macs < CROSSOVER_MACS else torch.get_num_threads()


@contextmanager
def thread_count(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads, then restore the previous number."""
    previous = torch.get_num_threads()
    if n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def training_threads(
    model: torch.nn.Module, x: torch.Tensor, configured: int = 0, members: int = 1
) -> int:
    """The intra-op threads to train ``model`` on batches like ``x`` (``members`` models at
    once in an ensemble): ``configured`` when > 0; off the CPU torch's default; else by
    :func:`threads_for` the multiply-adds of one forward pass, counted in eval mode with the
    RNG untouched (a pure function of model and batch: a resumed run gets the same threads).
    A model that cannot run a plain forward keeps torch's default."""
    if configured > 0:
        return configured
    if x.device.type != "cpu":
        return torch.get_num_threads()
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[]):
            macs = forward_macs(model, x)
    except Exception:  # counting is advisory
        return torch.get_num_threads()
    finally:
        model.train(was_training)
    return threads_for(macs * members)
