"""Atomic autoencoders (Newson & Traonmilin): the decoder is Σ_i g(z_i), one block g shared by
the k latent blocks z_i ∈ R^{d0}.

The atomic data model x = Σ_{i=1..k} ψ(θ_i) (eq. 3-4) induces the architecture of sec. II-B:
an encoder to k·d0 numbers and the decoder f_D(z) = Σ_i g(z_i) (:class:`~latentatlas.nets.BlockSum`,
one set of weights applied to all blocks in one call). The images g(z_i) decompose an input into
its atoms (fig. 2, 3); decoding a subset of the blocks gives the sub-model of sec. II-A
(:meth:`AtomicAutoencoder.decode_blocks`).

Registered models:

* ``atomic_ae`` — deterministic codes (the paper's model), plain squared-error loss (eq. 1);
* ``atomic_vae`` — a Gaussian posterior per coordinate and the β-weighted KL of the VAE, so that
  the VAE evaluation applies; this goes beyond the paper.

:func:`paper_spec` is the paper's 128×128 architecture (about 0.3 M parameters, numbers from the
authors' public code); :func:`baseline_spec` the ordinary autoencoder with the same encoder,
latent size and a block network reading the whole code, the comparison of every analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..config import field
from ..errors import ConfigError, DataError
from ..nets.block_sum import BlockSum, BlockSumConfig
from ..registry import LATENT_SPACES, LIKELIHOODS, MODELS, NETWORKS
from .base import Autoencoder, AutoencoderConfig
from .vae import VAE, VAEConfig


@dataclass(frozen=True)
class AtomicConfig(AutoencoderConfig):
    blocks: int = field(4, ge=1, doc="number k of latent blocks")
    block_dim: int = field(3, ge=1, doc="size d0 of each latent block")
    block_chunk: int | None = field(
        None, ge=1, doc="blocks per call of g (None: all in one batched call); see block_sum"
    )
    latent: dict = field(
        default_factory=lambda: {"name": "point"},
        spec=LATENT_SPACES,
        doc="latent space {name, ...} of dim k·d0 (filled in): point or euclidean",
    )
    decoder: dict = field(
        default_factory=lambda: {"name": "mlp"},
        spec=NETWORKS,
        doc="the shared block network g: (d0,) → observation {name, ...}",
    )
    likelihood: dict = field(
        default_factory=lambda: {"name": "squared_error"},
        spec=LIKELIHOODS,
        doc="reconstruction term {name, ...}; the paper's plain squared error by default",
    )

    def validate(self) -> None:
        """Checks the latent space is Euclidean and completes ``latent.dim`` = k·d0."""
        name = self.latent.get("name") if isinstance(self.latent, dict) else None
        if name is not None and getattr(LATENT_SPACES.get(name), "periodic", False):
            raise ConfigError(
                f"latent: an atomic model splits a Euclidean code into blocks; got the periodic "
                f"{name!r} (use point or euclidean)"
            )
        size = self.blocks * self.block_dim
        dim = self.latent.get("dim") if isinstance(self.latent, dict) else None
        if dim is not None and dim != size:
            raise ConfigError(
                f"latent.dim: {dim} does not match blocks·block_dim = {self.blocks}·"
                f"{self.block_dim} = {size}; leave it out (it is filled in)"
            )
        if isinstance(self.latent, dict) and "dim" not in self.latent:
            object.__setattr__(self, "latent", {**self.latent, "dim": size})
        super().validate()


@MODELS.register("atomic_ae")
class AtomicAutoencoder(Autoencoder):
    """Encoder → k·d0 code → Σ_i g(z_i) (eq. 3, sec. II-B); ``decoder`` configures g."""

    Config = AtomicConfig

    def build_decoder(self) -> nn.Module:
        cfg = self.config
        return BlockSum(
            BlockSumConfig(blocks=cfg.blocks, block=dict(cfg.decoder), chunk=cfg.block_chunk),
            in_shape=(self.latent.embed_dim,),
            out_shape=tuple(cfg.input_shape),
        )

    @property
    def blocks(self) -> int:
        return self.config.blocks

    @property
    def block_dim(self) -> int:
        return self.config.block_dim

    def parts(self, z: torch.Tensor) -> torch.Tensor:
        """The block images g(z_i) of codes ``(n, k·d0)``: ``(n, k, *input_shape)``; their sum
        over k is :meth:`decode` (likelihood parameters, means for the default loss)."""
        return self.decoder.parts(self.latent.embed(self._check_codes(z)))

    def decompose(self, x: torch.Tensor) -> torch.Tensor:
        """The decomposition of inputs into block images (fig. 2, 3), from their codes."""
        return self.parts(self.representation(self.check_input(x)))

    def decode_blocks(self, z: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """The sub-model of sec. II-A: Σ_{i ∈ I} g(z_i) for the blocks with ``keep[n, i]`` true
        (``keep`` of shape ``(n, k)`` or ``(k,)``)."""
        parts = self.parts(z)
        keep = torch.as_tensor(keep, dtype=torch.bool, device=parts.device)
        if keep.shape[-1] != self.blocks or keep.ndim not in (1, 2):
            raise DataError(
                f"keep: expected shape (n, {self.blocks}) or ({self.blocks},), "
                f"got {tuple(keep.shape)}"
            )
        mask = keep.expand(parts.shape[:2]).reshape(*parts.shape[:2], *[1] * (parts.ndim - 2))
        return (parts * mask.to(parts.dtype)).sum(1)

    def _check_codes(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.latent.dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise DataError(
                f"expected codes of shape (n, {self.latent.dim}) = (n, k·d0) with k = "
                f"{self.blocks}, d0 = {self.block_dim}; got {got}"
            )
        return z

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "blocks": self.blocks, "block_dim": self.block_dim}


@dataclass(frozen=True)
class AtomicVAEConfig(AtomicConfig, VAEConfig):
    latent: dict = field(
        default_factory=lambda: {"name": "euclidean"},
        spec=LATENT_SPACES,
        doc="latent space {name, ...} of dim k·d0 (filled in): euclidean (N(0, I) prior)",
    )
    likelihood: dict = field(
        default_factory=lambda: {"name": "gaussian", "sigma": 0.1},
        spec=LIKELIHOODS,
        doc="p(x|z) {name, ...}",
    )


@MODELS.register("atomic_vae")
class AtomicVAE(AtomicAutoencoder, VAE):
    """The atomic autoencoder with a Gaussian posterior on every coordinate and the VAE's
    β·KL regulariser (beyond the paper): the decomposition and the VAE evaluation both apply."""

    Config = AtomicVAEConfig


# -- presets ----------------------------------------------------------------------------------
#: the encoder's hidden dense layer (the authors' 512 → 512 → k·d0 at every image size)
PAPER_HIDDEN = 512
PAPER_CHANNELS = (32, 16, 8, 8, 8, 8, 8)
"""Channels of the authors' code, image side first: the encoder uses the first four (strided
3×3 convs), the decoder block climbs the list back from its 2×2 map."""


def paper_spec(
    image_size: int = 128, channels: int = 1, blocks: int = 16, block_dim: int = 6
) -> dict[str, Any]:
    """The paper's architecture as a model spec (``atomic_ae``) for ``image_size``² images.

    From the authors' code (papers README): encoder of 4 strided 3×3 convs with 32, 16, 8, 8
    channels, a dense layer of 512 units and a dense layer to k·d0, LeakyReLU 0.2 after
    every layer *including the code*; shared block g: dense d0 → 32 → 32 (LeakyReLU), reshape to
    8×2×2, then stages of [3×3 conv, ×2 nearest upsampling, LeakyReLU, 3×3 conv, LeakyReLU] up to
    the image (8, 8, 8, 16, 32 channels, then the image's), no output sigmoid; plain squared
    error. At 128², k = 16, d0 = 6 (the MNIST setting): 341 051 parameters. ``image_size`` must
    be a power of two ≥ 16.

    The hidden dense layer has 512 units at every size, as the authors' 512 → 512 → k·d0 (at 128²
    the flattened size is 512 too). Below 128² the flattened size is smaller (32 at 32²): a hidden
    layer of that size starved the 36-D code (mass purity 0.27 against 0.76 on strokes, see
    docs/atomic.md).
    """
    if image_size < 16 or image_size & (image_size - 1):
        raise ConfigError(f"image_size: expected a power of two ≥ 16, got {image_size}")
    stages = int(math.log2(image_size // 2))
    if stages > len(PAPER_CHANNELS):
        raise ConfigError(f"image_size: at most {2 ** (len(PAPER_CHANNELS) + 1)}, got {image_size}")
    act = "leaky_relu:0.2"
    return {
        "name": "atomic_ae",
        "blocks": blocks,
        "block_dim": block_dim,
        "encoder": {
            "name": "conv_encoder",
            "channels": list(PAPER_CHANNELS[:4]),
            "kernel": 3,
            "stride": 2,
            "activation": act,
            "dense": [PAPER_HIDDEN],
            "out_activation": act,
        },
        "decoder": {
            "name": "conv_decoder",
            "dense": [32],
            "channels": list(reversed(PAPER_CHANNELS[:stages])),
            "kernel": 3,
            "stride": 2,
            "activation": act,
            "upsampling": "conv_nearest",
            "convs_per_stage": 2,
            "out_activation": act,
        },
        "likelihood": {"name": "squared_error"},
    }


def baseline_spec(atomic: dict[str, Any]) -> dict[str, Any]:
    """The ordinary autoencoder to compare an ``atomic_ae`` spec with: the same encoder,
    latent size k·d0 and loss, and the block network g reading the whole code as its decoder
    (so the parameter counts differ only in g's first layer)."""
    config = AtomicConfig.from_dict(
        {**{k: v for k, v in atomic.items() if k != "name"}, "input_shape": [1]}
    )
    return {
        "name": "ae",
        "latent": {"name": "point", "dim": config.blocks * config.block_dim},
        "encoder": dict(config.encoder),
        "decoder": dict(config.decoder),
        "likelihood": dict(config.likelihood),
    }
