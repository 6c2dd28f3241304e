"""What the intrinsic reproductions share: the table-1 VAE, the scenes data and its levels.

The generator of the intrinsic paper (table 1, fig. 2b): a dense layer from the latent code to
64 maps of 8×8 (the *coarse* level), transposed convolutions to 64 maps of 16×16 (*intermediate*),
32 of 32×32 (*fine*) and 16 of 64×64 (*image* level), and a last size-keeping transposed
convolution to the 3 colour channels. Least-squares reconstruction with a KL weight of 5e-4,
Adam with β1 = 0.5, batch 64. The encoder mirrors it (four stride-2 convs). Kernels are 4×4 for
the stride-2 stages and 3×3 for the last layer (the paper does not give them).

CelebA cannot be downloaded here: the reproductions train on the built-in multi-scale scenes
(``data.synthetic.scenes``), whose layout and texture live at different scales; point
``dataset`` at ``{"name": "celeba", "path": ...}`` to use real faces. Quick scales use 32×32
images (maps 4, 8, 16, 32) and fewer steps.

The codes analysed are the posterior means of held-out images: with a KL weight of 5e-4 the
aggregate posterior is far from the prior, so prior samples would decode to images unlike the
data ("generated original images" in the paper come from its trained VAE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..data.base import FactorDataset
from ..registry import DATASETS, build
from ..train.callbacks import Callback
from .training import train_in_memory

LEVELS = ("coarse", "intermediate", "fine", "image")
"""The four levels of fig. 2b, from the latent side to the image side."""

STRETCH = 1.5
"""The paper's horizontal stretch factor (sec. 5.1)."""


@dataclass(frozen=True)
class IntrinsicScale:
    """Size of a reproduction: image side, training images, steps, codes analysed."""

    size: int
    images: int
    steps: int
    samples: int = 64
    latent_dim: int = 64
    batch_size: int = 64
    lr: float = 5e-4


def intrinsic_vae_spec(size: int, latent_dim: int, kl_weight: float = 5e-4) -> dict:
    """The table-1 VAE as a model spec (maps size/8 … size)."""
    return {
        "name": "vae",
        "beta": kl_weight,
        "latent": {"name": "euclidean", "dim": latent_dim},
        "encoder": {"name": "conv_encoder", "channels": [16, 32, 64, 64], "dense": [256]},
        "decoder": {
            "name": "conv_decoder",
            "channels": [64, 64, 32, 16],
            "dense": [],
            "output_kernel": 3,
        },
        "likelihood": {"name": "squared_error"},
    }


def level_layers(model: torch.nn.Module) -> dict[str, str]:
    """{level: module name inside the model} for the four levels of fig. 2b."""
    names = model.decoder.level_names()
    return {level: f"decoder.{name}" for level, name in zip(LEVELS, names)}


def sdr_layers(model: torch.nn.Module) -> dict[str, str]:
    """{level: the transposed conv that reads that level's maps} for the levels whose filters
    sec. 5.2 optimises (intermediate, fine, image)."""
    convs = [
        n for n, m in model.decoder.conv.named_children() if isinstance(m, torch.nn.ConvTranspose2d)
    ]
    # conv i reads the maps of level i (level 0 = coarse, read by the first transposed conv)
    return {level: f"decoder.conv.{convs[i]}" for i, level in enumerate(LEVELS) if i > 0}


def scenes_data(scale: IntrinsicScale, seed: int, dataset: dict | None = None) -> FactorDataset:
    """Training images: the built-in scenes at ``scale.size`` or the given dataset spec."""
    spec = dataset or {"name": "scenes", "n": scale.images, "size": scale.size, "seed": seed}
    return build(DATASETS, spec, "dataset")


def analysis_images(
    scale: IntrinsicScale, seed: int, data: FactorDataset, dataset: dict | None = None
) -> torch.Tensor:
    """The images whose codes are analysed: ``scale.samples`` fresh scenes not in the training
    set, or with a user ``dataset`` its first images."""
    if dataset is not None:
        return data.get_batch(torch.arange(min(scale.samples, len(data)))).x
    spec = {"name": "scenes", "n": scale.samples, "size": scale.size, "seed": seed + 10_000}
    return build(DATASETS, spec).x


def encoded(images: torch.Tensor):
    """``codes(model)``: the posterior means of ``images`` under the model as it is now."""

    def codes(model: torch.nn.Module) -> torch.Tensor:
        with torch.no_grad():
            return model.latent.mean(model.encode(images))

    return codes


def train_intrinsic_vae(
    data: FactorDataset,
    scale: IntrinsicScale,
    seed: int,
    callbacks: Sequence[Callback] = (),
    steps: int | None = None,
    progress: bool = False,
) -> tuple[torch.nn.Module, list[dict[str, float]], float]:
    """Train the table-1 VAE on ``data`` (Adam β1 = 0.5); model, training records, seconds."""
    return train_in_memory(
        intrinsic_vae_spec(scale.size, scale.latent_dim),
        {"name": "scenes"},
        data,
        {
            "steps": steps or scale.steps,
            "batch_size": scale.batch_size,
            "lr": scale.lr,
            "betas": [0.5, 0.999],
            "progress": progress,
            "log_every": 10,
        },
        seed,
        callbacks=callbacks,
    )
