"""The atomic decoder: one shared block network g summed over the blocks of the code.

f_D(z) = Σ_{i=1..k} g(z_i) with z = (z_1, …, z_k), z_i ∈ R^{d0} (atomic paper eq. 3 and
sec. II-B). There is one set of weights: g is applied to all k blocks of all n codes in one batched
call on an ``(n·k, d0)`` tensor, then the ``(n, k, …)`` parts are summed over k. ``chunk`` splits
that call into groups of blocks (measured: for the paper's conv block at 128² on two CPU cores, a
call per block trains faster than one call for all; for small blocks one call is twice as fast).
The parts themselves are the decomposition images g(z_i) of the paper's fig. 2 and 3
(:meth:`BlockSum.parts`).
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
    chunk: int | None = field(
        None,
        ge=1,
        doc="blocks per call of g (None: all k in one call); for large conv blocks on a CPU, "
        "smaller calls can be faster (benchmarks/atomic.py)",
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

    def _chunks(self, z: torch.Tensor):
        """g over the blocks, ``chunk`` blocks of every code per call: ``(n, c, *out_shape)``."""
        blocks = self.split(z)
        n, k = blocks.shape[:2]
        step = self.config.chunk or k
        for start in range(0, k, step):
            part = blocks[:, start : start + step]
            out = self.block(part.reshape(-1, self.block_dim))
            yield out.reshape(n, part.shape[1], *self.out_shape)

    def parts(self, z: torch.Tensor) -> torch.Tensor:
        """The block images g(z_i), ``(n, k, *out_shape)`` (one batched call of g by default)."""
        return torch.cat(list(self._chunks(z)), 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return sum(c.sum(1) for c in self._chunks(z))
