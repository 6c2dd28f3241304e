"""The dSprites variants of Locatello et al.'s study (disentanglement_lib): colour, noisy and
scream dSprites, each a colour image ``(3, 64, 64)`` made from a dSprites sprite.

With ``s`` the 0/1 sprite repeated on three channels (as disentanglement_lib makes them):

- ``color_dsprites``: ``s · c``, one colour ``c`` per image with each channel uniform in
  [0.5, 1] (the background stays black);
- ``noisy_dsprites``: ``min(s + n, 1)``, ``n`` uniform in [0, 1) per pixel and channel (a white
  sprite on noise);
- ``scream_dsprites``: a random 64 × 64 patch ``p`` of Munch's *The Scream* (the image fitted in
  350 × 274 keeping its aspect, as the study does), recoloured ``(p + u) / 2`` with one colour
  ``u`` uniform in [0, 1) per image, and inverted (``1 − v``) where the sprite is.

The sprites are the procedural ``dsprites`` (all 737 280, rendered on demand) or, with
``path``, the official file (``dsprites_npz``). The factors are dSprites'. **Deviation:**
disentanglement_lib draws a new colour, noise or patch each time it samples an image; here
each image index has its own, drawn from a generator seeded by (``seed``, index), so an image
is the same whenever it is read (runs resume and data fingerprints hold) — over 737 280 images
the draws cover the same distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from ...config import Config, field
from ...errors import DataError
from ...registry import DATASETS
from ..base import Batch, FactorDataset
from .dsprites import IMAGE_SIZE, DSprites, DSpritesNpz, DSpritesNpzConfig

SCREAM_BOX = (350, 274)
"""the box the Scream image is fitted in (width, height), as disentanglement_lib's thumbnail"""


@dataclass(frozen=True)
class DSpritesVariantConfig(Config):
    path: str | None = field(
        None, doc="the official dSprites .npz (unset: the procedural dsprites, rendered on demand)"
    )
    seed: int = field(0, ge=0, doc="seed of each image's colour, noise or patch")


@dataclass(frozen=True)
class ScreamDSpritesConfig(DSpritesVariantConfig):
    scream: str = field(
        "",
        doc="a local copy of The Scream (disentanglement_lib reads scream.jpg, from "
        "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg)",
    )


class DSpritesVariant(FactorDataset):
    """A dSprites variant (see the module doc); subclasses implement :meth:`colour`."""

    Config: ClassVar[type[Config]] = DSpritesVariantConfig

    def __init__(self, config: DSpritesVariantConfig | None = None):
        self.config = config or self.Config()
        if self.config.path is None:
            self.sprites: FactorDataset = DSprites()
        else:
            self.sprites = DSpritesNpz(DSpritesNpzConfig(path=self.config.path))
        self.factor_space = self.sprites.factor_space

    def colour(self, sprites: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        """Colour images ``(n, 3, 64, 64)`` of 0/1 ``sprites`` ``(n, 1, 64, 64)``, image k's
        randomness drawn from ``generators[k]``."""
        raise NotImplementedError

    def _generators(self, index: torch.Tensor) -> list[torch.Generator]:
        base = self.config.seed * 1_000_003
        return [torch.Generator().manual_seed(base + int(i)) for i in index]

    def __len__(self) -> int:
        return len(self.sprites)

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (3, IMAGE_SIZE, IMAGE_SIZE)

    def get_batch(self, indices: torch.Tensor) -> Batch:
        idx = self.check_indices(indices)
        batch = self.sprites.get_batch(idx)
        return Batch(self.colour(batch.x, self._generators(idx)), batch.factors)

    def factors_of(self, indices: torch.Tensor) -> torch.Tensor | None:
        return self.sprites.factors_of(indices)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """The images of factor values ``(n, 6)``: each the image of its grid index."""
        space = self.factor_space
        index = space.classes_to_index(space.values_to_classes(factors))
        return self.colour(self.sprites.render(factors), self._generators(index))

    def check_finite(self, chunk: int = 4096) -> None:
        """Nothing to scan: colours, noise and patches are in [0, 1] by construction."""


@DATASETS.register("color_dsprites")
class ColorDSprites(DSpritesVariant):
    """dSprites in one random colour per image (each channel in [0.5, 1]) on black."""

    def colour(self, sprites: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        colours = torch.stack([torch.rand(3, generator=g) * 0.5 + 0.5 for g in generators])
        return sprites * colours[:, :, None, None]


@DATASETS.register("noisy_dsprites")
class NoisyDSprites(DSpritesVariant):
    """White dSprites on uniform noise in [0, 1) per pixel and channel."""

    def colour(self, sprites: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        side = sprites.shape[-1]
        noise = torch.stack([torch.rand(3, side, side, generator=g) for g in generators])
        return torch.clamp(sprites + noise, max=1.0)


@DATASETS.register("scream_dsprites")
class ScreamDSprites(DSpritesVariant):
    """dSprites cut out of a recoloured patch of The Scream (inverted where the sprite is)."""

    Config = ScreamDSpritesConfig

    def __init__(self, config: ScreamDSpritesConfig | None = None):
        super().__init__(config)
        self.scream = self._read_scream(Path(self.config.scream).expanduser())

    @staticmethod
    def _read_scream(path: Path) -> torch.Tensor:
        from PIL import Image, UnidentifiedImageError

        if not str(path) or not path.is_file():
            raise DataError(
                f"scream_dsprites needs a local copy of The Scream (scream: {str(path)!r} is "
                "not a file)"
            )
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGB")
                image.thumbnail(SCREAM_BOX, Image.Resampling.LANCZOS)
        except (OSError, UnidentifiedImageError) as exc:
            raise DataError(f"scream image {str(path)!r} cannot be read: {exc}") from None
        if min(image.size) <= IMAGE_SIZE:
            raise DataError(
                f"scream image {str(path)!r} is {image.size[0]}×{image.size[1]} once fitted in "
                f"{SCREAM_BOX[0]}×{SCREAM_BOX[1]}; random 64×64 patches need more than 64 "
                "pixels on each side"
            )
        return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)

    def colour(self, sprites: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        _, height, width = self.scream.shape
        side = sprites.shape[-1]
        out = torch.empty(len(sprites), 3, side, side)
        for k, g in enumerate(generators):
            # offsets in [0, H − 64) and [0, W − 64), as disentanglement_lib draws them
            top = int(torch.randint(height - side, (1,), generator=g))
            left = int(torch.randint(width - side, (1,), generator=g))
            u = torch.rand(3, 1, 1, generator=g)
            patch = (self.scream[:, top : top + side, left : left + side] + u) / 2
            out[k] = torch.where(sprites[k] > 0.5, 1 - patch, patch)
        return out
