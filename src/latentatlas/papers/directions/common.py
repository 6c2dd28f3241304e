"""What the directions reproductions share: dSprites images and the β-VAE of appendix B.

The β-VAE is the conv encoder/decoder of the directions paper (appendix B, with the 512-unit dense
layer that makes its decoder table consistent, see ``nets.conv``), 10 latents, a Bernoulli
likelihood, Adam 5e-4 (sec. 3). At 32×32 (quick scales) one conv layer fewer on each side.
Images are procedural dSprites (``data.synthetic.dsprites``) drawn uniformly over all factors and
rendered once into memory, so every β trains on the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...analysis.generators import DecoderGenerator
from ...data.base import InMemoryDataset
from ...data.synthetic.dsprites import dsprites_factor_space, render_dsprites
from ...experiments.model_store import ModelStore, TrainedModel


@dataclass(frozen=True)
class VAEScale:
    """Size of the trained generator: image side, training images, steps, batch."""

    size: int
    images: int
    steps: int
    batch_size: int = 64
    lr: float = 5e-4
    latent_dim: int = 10


def dsprites_images(n: int, size: int, seed: int) -> InMemoryDataset:
    """``n`` dSprites images ``(n, 1, size, size)`` with uniformly drawn factors."""
    space = dsprites_factor_space()
    factors = space.sample(n, torch.Generator().manual_seed(seed))
    return InMemoryDataset(render_dsprites(factors, size=size), factors, space)


def beta_vae_spec(size: int, beta: float, latent_dim: int = 10) -> dict:
    """The appendix-B β-VAE as a model spec (four stride-2 convs at 64×64, three at 32×32)."""
    layers = 4 if size >= 64 else 3
    return {
        "name": "vae",
        "beta": beta,
        "latent": {"name": "euclidean", "dim": latent_dim},
        "encoder": {"name": "conv_encoder", "channels": [32] * layers},
        "decoder": {"name": "conv_decoder", "channels": [32] * layers},
        "likelihood": {"name": "bernoulli"},
    }


def train_beta_vae(
    data: InMemoryDataset, scale: VAEScale, beta: float, seed: int, store: ModelStore
) -> TrainedModel:
    """Train the β-VAE on ``data`` in ``store`` (its run folder, in a reproduction, is
    labelled ``beta-<β>``)."""
    return store.train_spec(
        beta_vae_spec(scale.size, beta, scale.latent_dim),
        {"name": "dsprites"},  # the family, for the record: the images are ``data``
        data,
        {"steps": scale.steps, "batch_size": scale.batch_size, "lr": scale.lr},
        seed,
        label=f"beta-{beta:g}",
    )


def generator_of(model: torch.nn.Module) -> DecoderGenerator:
    """The decoder's mean image as G, its weights switched to the channels-last layout (faster
    convolutions on CPU, see benchmarks/inversion.py; the numbers are unchanged)."""
    return DecoderGenerator(model).to(memory_format=torch.channels_last)


def trained_generator(
    scale: VAEScale, beta: float, seed: int, store: ModelStore
) -> DecoderGenerator:
    """A β-VAE trained on fresh dSprites at ``scale`` in ``store``, as the generator G."""
    data = dsprites_images(scale.images, scale.size, seed)
    return generator_of(train_beta_vae(data, scale, beta, seed, store).model)
