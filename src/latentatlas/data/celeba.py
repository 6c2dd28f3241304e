"""CelebA (Liu et al. 2015) from the standard aligned-and-cropped files on local disk.

The intrinsic paper trains its VAE on CelebA faces at 64×64. The data cannot be downloaded here:
point ``path`` at the folder of the official release that holds ``img_align_celeba/`` (178×218
JPEG files ``000001.jpg`` …) or at ``img_align_celeba/`` itself. Each image is centre-cropped to a
``crop`` × ``crop`` square (148 by default, the face region most CelebA VAEs use) and resized to
``size`` × ``size`` with Pillow's antialiased bilinear filter.

Optional files next to the image folder are used when present:

* ``list_eval_partition.txt`` (``000001.jpg 0`` per line; 0 train, 1 valid, 2 test) for ``split``;
* ``list_attr_celeba.txt`` (the count, the 40 attribute names, then ``000001.jpg -1 1 …``): with
  ``attributes: true`` the 40 binary attributes become the factors (0 absent, 1 present).

Images are kept as 8-bit in memory (12 KB per 64×64 image; the 202,599 images take 2.5 GB) and
converted to float32 in [0, 1] per batch. ``limit`` keeps the first images in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import Config, field
from ..errors import DataError
from ..registry import DATASETS
from .base import Batch, FactorDataset
from .factors import Factor, FactorSpace

IMAGE_FOLDER = "img_align_celeba"
PARTITION_FILE = "list_eval_partition.txt"
ATTRIBUTE_FILE = "list_attr_celeba.txt"
SPLITS = {"train": 0, "valid": 1, "test": 2}


@dataclass(frozen=True)
class CelebAConfig(Config):
    path: str = field(doc=f"the CelebA folder holding {IMAGE_FOLDER}/ (or that folder itself)")
    size: int = field(64, ge=4, doc="side of the square images after resizing")
    crop: int = field(148, ge=4, doc="side of the centred square crop before resizing")
    split: str = field(
        "all", choices=("all", "train", "valid", "test"), doc="partition (needs the partition file)"
    )
    limit: int | None = field(None, ge=1, doc="keep only the first images (in file order)")
    attributes: bool = field(False, doc="the 40 binary attributes as factors (needs the file)")


def _image_folder(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"CelebA folder {str(path)!r} does not exist")
    if (path / IMAGE_FOLDER).is_dir():
        return path / IMAGE_FOLDER
    if path.is_dir() and path.name == IMAGE_FOLDER:
        return path
    raise DataError(
        f"CelebA folder {str(path)!r} holds no {IMAGE_FOLDER}/ folder; point path at the folder "
        f"of the official release (the one with {IMAGE_FOLDER}/ and the .txt lists)"
    )


def read_partition(path: Path) -> dict[str, int]:
    """``list_eval_partition.txt`` as {file name: 0 train / 1 valid / 2 test}."""
    out = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise DataError(f"{path}:{number}: expected 'name.jpg 0|1|2', got {line!r}")
        out[parts[0]] = int(parts[1])
    return out


def read_attributes(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """``list_attr_celeba.txt`` as (attribute names, {file name: 0/1 vector})."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if len(lines) < 2:
        raise DataError(f"{path}: expected a count line and a line of attribute names")
    names = lines[1].split()
    rows = {}
    for number, line in enumerate(lines[2:], 3):
        parts = line.split()
        if len(parts) != len(names) + 1 or any(v not in ("1", "-1") for v in parts[1:]):
            raise DataError(
                f"{path}:{number}: expected a file name and {len(names)} values of 1 or -1"
            )
        rows[parts[0]] = (np.array(parts[1:], dtype=np.int8) > 0).astype(np.float64)
    return names, rows


def read_face(path: Path, crop: int, size: int) -> np.ndarray:
    """One image, centre-cropped to ``crop`` and resized to ``size``: uint8 ``(3, size, size)``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            w, h = img.size
            if crop > min(w, h):
                raise DataError(f"image {str(path)!r} is {w}×{h}, smaller than the {crop} crop")
            left, top = (w - crop) // 2, (h - crop) // 2
            img = img.crop((left, top, left + crop, top + crop))
            img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
            return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"image {str(path)!r} cannot be read: {exc}") from None


@DATASETS.register("celeba")
class CelebA(FactorDataset):
    """Aligned CelebA faces ``(n, 3, size, size)`` in [0, 1] (see the module docstring)."""

    Config = CelebAConfig

    def __init__(self, config: CelebAConfig):
        self.config = config
        folder = _image_folder(Path(config.path).expanduser())
        root = folder.parent
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".jpg")
        if config.split != "all":
            if not (root / PARTITION_FILE).is_file():
                raise DataError(
                    f"split {config.split!r} needs {PARTITION_FILE} next to {IMAGE_FOLDER}/ in "
                    f"{str(root)!r}; use split: all without it"
                )
            parts = read_partition(root / PARTITION_FILE)
            files = [p for p in files if parts.get(p.name) == SPLITS[config.split]]
        if config.limit is not None:
            files = files[: config.limit]
        if not files:
            raise DataError(f"CelebA folder {str(folder)!r} has no .jpg images for this split")
        self.files = files
        self.images = torch.from_numpy(
            np.stack([read_face(p, config.crop, config.size) for p in files])
        )
        self.factors: torch.Tensor | None = None
        if config.attributes:
            if not (root / ATTRIBUTE_FILE).is_file():
                raise DataError(f"attributes: true needs {ATTRIBUTE_FILE} in {str(root)!r}")
            names, rows = read_attributes(root / ATTRIBUTE_FILE)
            missing = [p.name for p in files if p.name not in rows]
            if missing:
                raise DataError(f"{ATTRIBUTE_FILE} has no attributes for {missing[0]}")
            self.factors = torch.from_numpy(np.stack([rows[p.name] for p in files]))
            self.factor_space = FactorSpace([Factor(n, 0.0, 1.0, size=2) for n in names])

    def __len__(self) -> int:
        return len(self.images)

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    def get_batch(self, indices: torch.Tensor) -> Batch:
        idx = self.check_indices(indices)
        factors = None if self.factors is None else self.factors[idx]
        return Batch(self.images[idx].float() / 255.0, factors)

    def check_finite(self, chunk: int = 4096) -> None:
        """8-bit images are always finite."""
