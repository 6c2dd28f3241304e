"""MNIST from the standard IDX files on local disk (the atomic paper's strokes, sec. III-A).

Reads ``{train,t10k}-images-idx3-ubyte`` and ``{train,t10k}-labels-idx1-ubyte`` from ``root``,
gzipped (``.gz``) or not, also under the common ``train-images.idx3-ubyte`` spelling. The IDX
format: a big-endian header — two zero bytes, the type code 0x08 (unsigned bytes), the number of
dimensions — then one big-endian uint32 per dimension and the values in row-major order.

Images are kept as uint8 at their stored size and scaled to [0, 1] and resized on demand
(``size``; the paper downscales 500×500 scans to 128×128, so ``size: 128`` upsamples the 28×28
digits to the paper's input size). The factor is the digit label. Nothing is downloaded: a missing,
truncated or mislabelled file is a :class:`~latentatlas.errors.DataError` naming it.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..config import Config, field
from ..errors import DataError
from ..registry import DATASETS
from .base import Batch, FactorDataset
from .factors import Factor, FactorSpace

IDX_UBYTE = 0x08
SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not) as a uint8 array of its stored shape."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"IDX file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise DataError(f"IDX file {str(path)!r} cannot be read: {exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"IDX file {str(path)!r} is a corrupt gzip file: {exc}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0":
        raise DataError(f"{str(path)!r} is not an IDX file (it must start with two zero bytes)")
    if raw[2] != IDX_UBYTE:
        raise DataError(
            f"IDX file {str(path)!r} holds type 0x{raw[2]:02x}; only unsigned bytes (0x08) are read"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"IDX file {str(path)!r} is truncated inside its header")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    size = int(np.prod(shape)) if shape else 1
    if len(raw) - header != size:
        raise DataError(
            f"IDX file {str(path)!r} declares shape {shape} ({size} bytes) but holds "
            f"{len(raw) - header} bytes of data; the file is truncated or corrupt"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _find(root: Path, stem: str) -> Path:
    """``stem`` under ``root``, trying the usual spellings (``-idx`` / ``.idx``, ``.gz``)."""
    names = [stem, stem.replace("-idx", ".idx")]
    for name in names:
        for candidate in (root / name, root / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise DataError(
        f"MNIST: no {stem}[.gz] in {str(root)!r}; put the four IDX files of the MNIST "
        "distribution there (nothing is downloaded)"
    )


@dataclass(frozen=True)
class MnistConfig(Config):
    root: str = field(doc="folder with the MNIST IDX files")
    split: str = field("train", choices=("train", "test"), doc="train (60 000) or test (10 000)")
    size: int | None = field(
        None, ge=4, doc="resize the images to size×size (bilinear, antialiased); None: as stored"
    )
    limit: int | None = field(None, ge=1, doc="keep only the first images")


@DATASETS.register("mnist")
class Mnist(FactorDataset):
    """MNIST digits in [0, 1], shape ``(1, size, size)``; factor ``digit`` (0-9)."""

    Config = MnistConfig

    def __init__(self, config: MnistConfig):
        self.config = config
        root = Path(config.root).expanduser()
        if not root.is_dir():
            raise DataError(f"MNIST: {str(root)!r} is not a folder")
        prefix = SPLIT_PREFIX[config.split]
        images = read_idx(_find(root, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find(root, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3:
            raise DataError(f"MNIST images: expected 3 dimensions (n, H, W), got {images.shape}")
        if labels.shape != images.shape[:1]:
            raise DataError(f"MNIST: {images.shape[0]} images but labels of shape {labels.shape}")
        if labels.size and labels.max() > 9:
            raise DataError(f"MNIST labels must be digits 0-9, found {int(labels.max())}")
        keep = slice(None, config.limit)
        self.images = torch.from_numpy(images[keep].copy())
        self.labels = torch.from_numpy(labels[keep].astype(np.float64))
        self.factor_space = FactorSpace([Factor("digit", 0, 9, size=10)])

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def observation_shape(self) -> tuple[int, ...]:
        side = self.config.size
        return (1, side, side) if side else (1, *self.images.shape[1:])

    def get_batch(self, indices: torch.Tensor) -> Batch:
        idx = self.check_indices(indices)
        x = self.images[idx, None].float() / 255.0
        if self.config.size and tuple(x.shape[2:]) != (self.config.size,) * 2:
            x = F.interpolate(
                x,
                size=(self.config.size,) * 2,
                mode="bilinear",
                antialias=True,
                align_corners=False,
            ).clamp_(0.0, 1.0)
        return Batch(x, self.labels[idx, None])
