"""Networks map a tensor of shape ``in_shape`` to one of ``out_shape`` (batch axis first).

Every registered network class has a nested ``Config`` and is built with
``from_config(config, in_shape, out_shape)``; models build their encoder and decoder this way,
so any registered network fits either role where the shapes allow it.
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from ..config import Config


class Network(nn.Module):
    Config: ClassVar[type[Config]]
    registry_name: ClassVar[str] = ""

    def __init__(self, config: Config, in_shape: tuple[int, ...], out_shape: tuple[int, ...]):
        super().__init__()
        self.config = config
        self.in_shape = tuple(in_shape)
        self.out_shape = tuple(out_shape)

    @classmethod
    def from_config(
        cls, config: Config, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
    ) -> Network:
        return cls(config, in_shape, out_shape)
