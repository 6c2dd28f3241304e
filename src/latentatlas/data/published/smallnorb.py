"""smallNORB (LeCun et al. 2004): toys photographed under controlled angles and lighting, from
the binary files its authors publish (unpacked from their ``.mat.gz``):
``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and
``smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat``.

Each file is one matrix: an int32 magic number giving the element type (0x1E3D4C55 bytes,
0x1E3D4C54 int32, ...), an int32 number of dimensions, at least three int32 sizes (unused
ones 1), then the elements, little-endian, last index fastest. ``dat`` holds stereo pairs
(24 300, 2, 96, 96) of bytes, ``cat`` the category of each pair (0 animal, 1 human, 2 plane,
3 truck, 4 car), ``info`` four int32 columns: instance 0-9, elevation 0-8 (30° to 70°),
azimuth 0, 2, …, 34 (× 10°) and lighting 0-5.

As disentanglement_lib's study reads it: both splits (48 600 images), the first image of each
pair, resized to 64 × 64 (Lanczos, Pillow's former ANTIALIAS), the azimuth halved to 0-17;
the factors are category 5, elevation 9, azimuth 18 and lighting 6, and the instance is noise
(``instance_factor: true`` makes it a fifth factor, as disent does). The byte matrices are
memory-mapped: a batch reads only its images.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, field
from ...errors import ConfigError, DataError
from ...registry import DATASETS
from .base import PublishedImages, grid_factors
from .checksums import verify

SPLITS = {
    "training": "smallnorb-5x46789x9x18x6x2x96x96-training-{}.mat",
    "testing": "smallnorb-5x01235x9x18x6x2x96x96-testing-{}.mat",
}
MAGIC = {
    0x1E3D4C51: np.dtype("<f4"),
    0x1E3D4C53: np.dtype("<f8"),
    0x1E3D4C54: np.dtype("<i4"),
    0x1E3D4C55: np.dtype("u1"),
    0x1E3D4C56: np.dtype("<i2"),
}
FACTORS = ("category", "elevation", "azimuth", "lighting")
SIZES = (5, 9, 18, 6)
INSTANCES = 10
SIDE = 96


@dataclass(frozen=True)
class SmallNorbConfig(Config):
    root: str = field(doc="folder with the six unpacked smallnorb-…-{dat,cat,info}.mat files")
    size: int = field(64, ge=8, le=SIDE, doc="image side after resizing (the study's 64)")
    splits: tuple[str, ...] = field(
        ("training", "testing"), doc="which splits to read (the study reads both)"
    )
    instance_factor: bool = field(
        False, doc="make the instance a factor (disent) instead of noise (disentanglement_lib)"
    )
    verify: bool = field(True, doc="check each file's MD5 against the published one")

    def validate(self) -> None:
        unknown = [s for s in self.splits if s not in SPLITS]
        if unknown or not self.splits:
            raise ConfigError(
                f"splits: expected one or both of {', '.join(SPLITS)}, got {list(self.splits)}"
            )


def read_matrix(path: Path, what: str, memory_map: bool = False) -> np.ndarray:
    """The matrix in the NORB binary file at ``path`` (see the module doc)."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise DataError(f"{what} {str(path)!r} is truncated: no header")
            magic, ndim = struct.unpack("<ii", head)
            if magic not in MAGIC:
                raise DataError(
                    f"{what} {str(path)!r} is not a NORB matrix file (magic {magic:#x}; "
                    "expected 0x1E3D4C55 for bytes or 0x1E3D4C54 for integers)"
                )
            if not 1 <= ndim <= 8:
                raise DataError(f"{what} {str(path)!r}: {ndim} dimensions in its header")
            dims_bytes = f.read(4 * max(3, ndim))
            if len(dims_bytes) < 4 * max(3, ndim):
                raise DataError(f"{what} {str(path)!r} is truncated in its header")
            shape = struct.unpack(f"<{max(3, ndim)}i", dims_bytes)[:ndim]
            offset = f.tell()
    except OSError as exc:
        raise DataError(f"{what} {str(path)!r} cannot be read: {exc}") from None
    dtype = MAGIC[magic]
    count = int(np.prod(shape))
    needed = offset + count * dtype.itemsize
    if min(shape) < 1 or path.stat().st_size < needed:
        raise DataError(
            f"{what} {str(path)!r} is truncated: its header announces {tuple(shape)} "
            f"({needed} bytes), the file has {path.stat().st_size}"
        )
    if memory_map:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=tuple(shape))
    return np.fromfile(path, dtype=dtype, count=count, offset=offset).reshape(shape)


@DATASETS.register("smallnorb")
class SmallNorb(PublishedImages):
    """smallNORB from its published binary files, as the study reads it: 48 600 images 64²."""

    Config = SmallNorbConfig
    published_files = tuple(
        name.format(part) for name in SPLITS.values() for part in ("dat", "cat", "info")
    )

    def __init__(self, config: SmallNorbConfig):
        self.config = config
        self.root = Path(config.root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"smallNORB folder {str(self.root)!r} does not exist")
        pairs, labels = [], []
        for split in config.splits:
            files = {
                part: self.root / SPLITS[split].format(part) for part in ("dat", "cat", "info")
            }
            missing = [p.name for p in files.values() if not p.is_file()]
            if missing:
                raise DataError(
                    f"smallNORB folder {str(self.root)!r} has no {missing[0]} (the {split} split "
                    "needs its dat, cat and info files, unpacked from the published .mat.gz)"
                )
            what = f"smallNORB {split} file"
            dat = read_matrix(files["dat"], what, memory_map=True)
            cat = read_matrix(files["cat"], what)
            info = read_matrix(files["info"], what)
            n = dat.shape[0]
            if dat.ndim != 4 or dat.shape[1:] != (2, SIDE, SIDE) or dat.dtype != np.uint8:
                raise DataError(
                    f"{what} {files['dat'].name}: {dat.dtype} {dat.shape}; expected bytes "
                    "(n, 2, 96, 96)"
                )
            if cat.shape != (n,) or info.shape != (n, 4):
                raise DataError(
                    f"{what}s: cat {cat.shape} and info {info.shape} do not match {n} images "
                    "(expected (n,) and (n, 4))"
                )
            row = np.column_stack([cat, info[:, 1], info[:, 2] // 2, info[:, 3], info[:, 0]])
            bounds = (*SIZES, INSTANCES)
            bad = np.flatnonzero(((row < 0) | (row >= np.array(bounds))).any(axis=1))
            if bad.size or (info[:, 2] % 2).any():
                first = int(bad[0]) if bad.size else int(np.flatnonzero(info[:, 2] % 2)[0])
                raise DataError(
                    f"{what}s: image {first} has category, elevation, azimuth, lighting, "
                    f"instance {cat[first]}, {info[first, 1]}, {info[first, 2]}, "
                    f"{info[first, 3]}, {info[first, 0]}: outside smallNORB's values"
                )
            if config.verify:
                for path in files.values():
                    verify(path, f"smallNORB {split}")
            pairs.append(dat)
            labels.append(row.astype(np.float64))
        self.pairs = pairs
        self.offsets = np.cumsum([0] + [len(p) for p in pairs])
        values = np.concatenate(labels)
        names, sizes = FACTORS, SIZES
        if config.instance_factor:
            names, sizes = (*FACTORS, "instance"), (*SIZES, INSTANCES)
        self.values = values[:, : len(names)]
        self.instances = values[:, -1].astype(np.int64)
        self.factor_space = grid_factors(names, sizes)
        self.shape = (1, config.size, config.size)

    def read_images(self, rows: np.ndarray) -> np.ndarray:
        from PIL import Image

        side = self.config.size
        out = np.empty((len(rows), side, side), dtype=np.uint8)
        split = np.searchsorted(self.offsets, rows, side="right") - 1
        for k, (s, row) in enumerate(zip(split, rows)):
            image = np.asarray(self.pairs[s][row - self.offsets[s], 0])  # the first camera
            if side != SIDE:
                resized = Image.fromarray(image).resize((side, side), Image.Resampling.LANCZOS)
                image = np.asarray(resized)
            out[k] = image
        return out
