"""Generators G: z → image batch, from a model of this library or from a user's own module.

Methods that work on "any generator" (inversion, directions, organisation) call
:func:`as_generator` once and :func:`check_image_batch` on what it returns, so a decoder of this
library, a GAN written elsewhere (any ``torch.nn.Module``) and a plain callable are treated alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from ..errors import DataError


class DecoderGenerator(nn.Module):
    """A trained autoencoder's decoder as a generator: z → mean image μX(z)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    @property
    def latent_dim(self) -> int:
        return int(self.model.latent.dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.likelihood.mean(self.model.decode(z))


def as_generator(model: nn.Module | Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    """``model`` as G: an autoencoder of this library becomes its decoder's mean image; any other
    module or callable is used as it is."""
    if hasattr(model, "decode") and hasattr(model, "likelihood") and hasattr(model, "latent"):
        return DecoderGenerator(model)
    if not callable(model):
        raise DataError(f"a generator must be callable (z → images), got {type(model).__name__}")
    return model


def check_image_batch(images: object, n: int, what: str = "the generator") -> torch.Tensor:
    """Refuse an output that is not a finite image batch ``(n, C, H, W)``."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[0] != n:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise DataError(
            f"{what} must return an image batch of shape ({n}, C, H, W) for {n} codes, got {got}"
        )
    return images


@contextmanager
def frozen(generator: object) -> Iterator[None]:
    """A module generator in eval mode with parameter gradients off for the duration, restored
    afterwards. Inversion only needs gradients with respect to z (this saves the weight-gradient
    work), and eval mode makes each image depend on its own code only (no batch statistics), so a
    batched inversion equals one inversion per target. A plain callable is left alone."""
    if not isinstance(generator, nn.Module):
        yield
        return
    params = list(generator.parameters())
    flags = [p.requires_grad for p in params]
    modes = [(m, m.training) for m in generator.modules()]
    generator.eval()
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
        for m, mode in modes:
            m.train(mode)
