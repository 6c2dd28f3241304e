"""Small building blocks shared by the networks: activations by name, shape helpers."""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn

from ..errors import ConfigError
from ..registry import ACTIVATIONS

ACTIVATIONS.register("relu")(lambda arg=None: nn.ReLU())
ACTIVATIONS.register("leaky_relu")(lambda arg=None: nn.LeakyReLU(0.01 if arg is None else arg))
ACTIVATIONS.register("elu")(lambda arg=None: nn.ELU())
ACTIVATIONS.register("gelu")(lambda arg=None: nn.GELU())
ACTIVATIONS.register("silu")(lambda arg=None: nn.SiLU())
ACTIVATIONS.register("tanh")(lambda arg=None: nn.Tanh())
ACTIVATIONS.register("sigmoid")(lambda arg=None: nn.Sigmoid())
ACTIVATIONS.register("softplus")(lambda arg=None: nn.Softplus())
ACTIVATIONS.register("identity")(lambda arg=None: nn.Identity())


def parse_activation(spec: str) -> tuple[Callable[..., nn.Module], float | None]:
    """Split ``"leaky_relu:0.2"`` into the registered factory and its numeric argument."""
    name, _, arg = spec.partition(":")
    factory = ACTIVATIONS.get(name)
    if not arg:
        return factory, None
    try:
        return factory, float(arg)
    except ValueError:
        raise ConfigError(f"activation {spec!r}: expected name or name:number") from None


def activation(spec: str) -> nn.Module:
    """A fresh activation module from a spec such as ``"relu"`` or ``"leaky_relu:0.2"``."""
    factory, arg = parse_activation(spec)
    return factory(arg)


def check_activation(field_name: str, spec: str) -> None:
    """Config-time check that ``spec`` names a registered activation."""
    try:
        parse_activation(spec)
    except ConfigError as exc:
        raise ConfigError(f"{field_name}: {exc}") from None


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)
