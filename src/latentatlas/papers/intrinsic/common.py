"""What the intrinsic reproductions share: the table-1 VAE, the scenes data and its levels.

The generator of the intrinsic paper (table 1, fig. 2b) is ``models.intrinsic``'s preset: trained
with Adam β1 = 0.5, batch 64.

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

from ...data.base import FactorDataset
from ...experiments.model_store import ModelStore, TrainedModel
from ...models.intrinsic import intrinsic_vae_spec
from ...registry import DATASETS, build
from ...train.callbacks import Callback

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
        device = next(model.parameters()).device  # the trainer's, when tracking on a GPU
        with torch.no_grad():
            return model.latent.mean(model.encode(images.to(device)))

    return codes


def train_intrinsic_vae(
    data: FactorDataset,
    scale: IntrinsicScale,
    seed: int,
    store: ModelStore,
    callbacks: Sequence[Callback] = (),
    steps: int | None = None,
    label: str = "vae",
) -> TrainedModel:
    """Train the table-1 VAE on ``data`` (Adam β1 = 0.5) in ``store`` (``label`` names its run
    folder in a reproduction)."""
    return store.train_spec(
        intrinsic_vae_spec(scale.size, scale.latent_dim),
        {"name": "scenes"},
        data,
        {
            "steps": steps or scale.steps,
            "batch_size": scale.batch_size,
            "lr": scale.lr,
            "betas": [0.5, 0.999],
            "log_every": 10,
        },
        seed,
        callbacks=callbacks,
        label=label,
    )
