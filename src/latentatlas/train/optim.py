"""Optimisers and learning-rate schedules by name (registries, validated in the config)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from ..registry import OPTIMIZERS, SCHEDULES

OPTIMIZERS.register("adam")(torch.optim.Adam)
OPTIMIZERS.register("adamw")(torch.optim.AdamW)
OPTIMIZERS.register("rmsprop")(torch.optim.RMSprop)
OPTIMIZERS.register("sgd")(torch.optim.SGD)


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    lr: float,
    betas: tuple[float, float],
    weight_decay: float,
    momentum: float,
) -> torch.optim.Optimizer:
    """Build the optimiser ``name``; betas apply to Adam-type ones, momentum to SGD/RMSprop."""
    cls = OPTIMIZERS.get(name)
    kwargs: dict = {"lr": lr, "weight_decay": weight_decay}
    if name in ("adam", "adamw"):
        kwargs["betas"] = betas
    else:
        kwargs["momentum"] = momentum
    return cls(params, **kwargs)


@SCHEDULES.register("constant")
def constant(step: int, total: int, **_: float) -> float:
    """The same learning rate throughout (after any warm-up)."""
    return 1.0


@SCHEDULES.register("cosine")
def cosine(step: int, total: int, min_ratio: float = 0.0, **_: float) -> float:
    """Cosine decay from 1 to ``min_ratio`` over ``total`` steps."""
    t = min(step / max(total, 1), 1.0)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


@SCHEDULES.register("linear")
def linear(step: int, total: int, min_ratio: float = 0.0, **_: float) -> float:
    """Linear decay from 1 to ``min_ratio`` over ``total`` steps."""
    t = min(step / max(total, 1), 1.0)
    return 1 - (1 - min_ratio) * t


@SCHEDULES.register("step")
def step_decay(
    step: int, total: int, step_size: int = 1000, gamma: float = 0.1, **_: float
) -> float:
    """Multiply by ``gamma`` every ``step_size`` steps."""
    return gamma ** (step // max(step_size, 1))


def make_schedule(
    optimizer: torch.optim.Optimizer, name: str, total: int, warmup: int, **kwargs: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR whose factor is ``warmup ramp × schedule(step)``."""
    fn: Callable[..., float] = SCHEDULES.get(name)

    def factor(step: int) -> float:
        ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
        return ramp * fn(step, total, **kwargs)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
