"""The atomic decoder: one shared block network g summed over the blocks of the code.

f_D(z) = Σ_{i=1..k} g(z_i) with z = (z_1, …, z_k), z_i ∈ R^{d0} (atomic paper eq. 3 and
sec. II-B). There is one set of weights: g is applied to all k blocks of all n codes in one batched
call on an ``(n·k, d0)`` tensor, then the ``(n, k, …)`` parts are summed over k. The parts
themselves are the decomposition images g(z_i) of the paper's fig. 2 and 3 (:meth:`BlockSum.parts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import Config, field
from ..errors import ConfigError, DataError
from ..registry import NETWORKS, build, check_spec
from .base import Network
from .blocks import numel


@dataclass(frozen=True)
class BlockSumConfig(Config):
    blocks: int = field(4, ge=1, doc="number k of latent blocks")
    block: dict = field(
        default_factory=lambda: {"name": "mlp"},
        spec=NETWORKS,
        doc="the shared block network g: (d0,) → output shape {name, ...}",
    )

    def validate(self) -> None:
        check_spec(NETWORKS, self.block, "block")


@NETWORKS.register("block_sum")
class BlockSum(Network):
    """``(n, k·d0)`` codes → Σ_i g(z_i) of shape ``(n, *out_shape)``; g shared by all blocks."""

    Config = BlockSumConfig

    def __init__(self, config: BlockSumConfig, in_shape, out_shape):
        super().__init__(config, in_shape, out_shape)
        size, k = numel(self.in_shape), config.blocks
        if len(self.in_shape) != 1 or size % k:
            raise ConfigError(
                f"block_sum: the code has shape {self.in_shape}, which does not split into "
                f"{k} blocks; expected (k·d0,) = ({k}·d0,)"
            )
        self.blocks, self.block_dim = k, size // k
        self.block = build(
            NETWORKS, dict(config.block), "block", in_shape=(self.block_dim,), out_shape=out_shape
        )
        with torch.no_grad():  # a block network that ignores out_shape is refused here, not later
            probe = self.block(torch.zeros(2, self.block_dim))
        if tuple(probe.shape) != (2, *self.out_shape):
            raise ConfigError(
                f"block_sum: the block network {config.block.get('name')!r} maps (2, "
                f"{self.block_dim}) to {tuple(probe.shape)}, expected (2, "
                f"{', '.join(map(str, self.out_shape))})"
            )

    def split(self, z: torch.Tensor) -> torch.Tensor:
        """``(n, k·d0)`` → ``(n, k, d0)``: block i is coordinates i·d0 … (i+1)·d0 − 1."""
        if z.ndim != 2 or z.shape[1] != self.blocks * self.block_dim:
            raise DataError(
                f"expected codes of shape (n, {self.blocks * self.block_dim}) "
                f"= (n, k·d0) with k = {self.blocks}, d0 = {self.block_dim}; got {tuple(z.shape)}"
            )
        return z.reshape(z.shape[0], self.blocks, self.block_dim)

    def parts(self, z: torch.Tensor) -> torch.Tensor:
        """The block images g(z_i), ``(n, k, *out_shape)``, from one batched call of g."""
        blocks = self.split(z)
        n = blocks.shape[0]
        out = self.block(blocks.reshape(n * self.blocks, self.block_dim))
        return out.reshape(n, self.blocks, *self.out_shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.parts(z).sum(1)
