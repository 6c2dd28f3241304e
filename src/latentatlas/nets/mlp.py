"""Multi-layer perceptron: flatten, dense layers with an activation, reshape to ``out_shape``.

The thesis networks (sec. 3.5, 5.3) are MLPs of two dense layers of ⌊D/3⌋ units.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import Config, field
from ..registry import NETWORKS
from .base import Network
from .blocks import activation, check_activation, numel


@dataclass(frozen=True)
class MLPConfig(Config):
    hidden: tuple[int, ...] = field((8, 8), ge=1, doc="units of each hidden layer")
    activation: str = field("relu", doc="activation name, e.g. relu, tanh, leaky_relu:0.2")
    bias: bool = field(True, doc="use biases")
    out_activation: str = field("identity", doc="activation after the last layer")

    def validate(self) -> None:
        check_activation("activation", self.activation)
        check_activation("out_activation", self.out_activation)


@NETWORKS.register("mlp")
class MLP(Network):
    """Fully connected layers: flatten → hidden layers with an activation → reshape to output."""

    Config = MLPConfig

    def __init__(self, config: MLPConfig, in_shape: tuple[int, ...], out_shape: tuple[int, ...]):
        super().__init__(config, in_shape, out_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        width = numel(self.in_shape)
        for units in config.hidden:
            layers += [nn.Linear(width, units, bias=config.bias), activation(config.activation)]
            width = units
        layers += [nn.Linear(width, numel(self.out_shape), bias=config.bias)]
        layers += [activation(config.out_activation)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0], *self.out_shape)
