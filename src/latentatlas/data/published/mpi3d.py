"""MPI3D (Gondal et al. 2019): a robot arm's object under seven factors, from the files its
authors publish: ``mpi3d_toy.npz``, ``mpi3d_realistic.npz``, ``mpi3d_real.npz`` and
MPI3D-complex (``real3d_complicated_shapes_ordered.npz``).

Each file holds one array ``images`` (uint8 ``(n, 64, 64, 3)``) in row-major order of the
factors (the last, the vertical axis, fastest): object colour, object shape, object size 2,
camera height 3, background colour 3, horizontal axis 40, vertical axis 40. Colour and shape
take 6 values in toy, realistic and real (1 036 800 images) and 4 in MPI3D-complex (460 800
images) — and in the older toy file disentanglement_lib downloads, which held out values —
so the sizes are read from the number of images (or given as ``factor_sizes``). The files have
no factor values: the factors are class indices, as disentanglement_lib reads them.

The arrays are stored uncompressed in the zip archive (``numpy.savez``), so the images are
memory-mapped in place: a batch reads only its images of the 12.7 GB. A compressed archive
cannot be mapped: unzip its ``images.npy`` and give that path.
"""

from __future__ import annotations

import math
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, ConfigError, field
from ...errors import DataError
from ...registry import DATASETS
from .base import PublishedImages, grid_factors, row_major_classes
from .checksums import verify

FACTORS = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
)
SIZES = {
    1_036_800: (6, 6, 2, 3, 3, 40, 40),  # toy, realistic, real
    460_800: (4, 4, 2, 3, 3, 40, 40),  # complex; disentanglement_lib's toy and realistic
}
IMAGE = (64, 64, 3)


@dataclass(frozen=True)
class Mpi3DConfig(Config):
    path: str = field(doc="local path of an MPI3D .npz file (or its images.npy)")
    factor_sizes: tuple[int, ...] | None = field(
        None,
        doc="the seven factors' sizes; unset: read from the number of images (1 036 800: "
        "6, 6, 2, 3, 3, 40, 40; 460 800: 4, 4, 2, 3, 3, 40, 40)",
    )
    verify: bool = field(True, doc="check the file's MD5 against the published one")

    def validate(self) -> None:
        sizes = self.factor_sizes
        if sizes is not None and (len(sizes) != len(FACTORS) or min(sizes) < 1):
            raise ConfigError(
                f"factor_sizes: expected {len(FACTORS)} positive sizes ({', '.join(FACTORS)}), "
                f"got {list(sizes)}"
            )


def npz_member(path: Path, key: str, what: str) -> np.ndarray:
    """The array ``key`` of the .npz archive at ``path``, memory-mapped in place (it must be
    stored uncompressed), or of the .npy file at ``path``; read-only, never unpickled."""
    try:
        if not zipfile.is_zipfile(path):
            return np.load(path, mmap_mode="r", allow_pickle=False)
        with zipfile.ZipFile(path) as zf:
            names = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
            if key not in names:
                raise DataError(
                    f"{what} has no array {key!r} (it holds: {', '.join(names) or 'nothing'})"
                )
            info = zf.getinfo(key + ".npy")
        if info.compress_type != zipfile.ZIP_STORED:
            raise DataError(
                f"{what} stores {key!r} compressed, which cannot be memory-mapped: unzip "
                f"{key}.npy from it and give that file's path"
            )
        with path.open("rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)
            if local[:4] != b"PK\x03\x04":
                raise ValueError("no local file header where the archive's directory says")
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            f.seek(info.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(f)
            offset = f.tell()
        if dtype.hasobject:
            raise DataError(f"{what}: {key!r} holds Python objects, which are never loaded")
        needed = offset + dtype.itemsize * math.prod(shape)
        if path.stat().st_size < needed:
            raise DataError(
                f"{what} is truncated: {key!r} needs {needed} bytes, the file has "
                f"{path.stat().st_size}"
            )
        order = "F" if fortran else "C"
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, struct.error, EOFError) as exc:
        raise DataError(f"{what} is corrupt or not a numpy file: {exc}") from None


@DATASETS.register("mpi3d")
class Mpi3D(PublishedImages):
    """MPI3D toy/realistic/real/complex from the published .npz, memory-mapped; 7 factors."""

    Config = Mpi3DConfig
    published_files = (
        "mpi3d_toy.npz",
        "mpi3d_realistic.npz",
        "mpi3d_real.npz",
        "real3d_complicated_shapes_ordered.npz",
    )

    def __init__(self, config: Mpi3DConfig):
        self.config = config
        self.path = Path(config.path).expanduser()
        where = f"MPI3D file {str(self.path)!r}"
        if not self.path.is_file():
            raise DataError(f"{where} does not exist or is not a file")
        images = npz_member(self.path, "images", where)
        if images.ndim != 4 or images.shape[1:] != IMAGE or images.dtype != np.uint8:
            raise DataError(
                f"{where}: images are {images.dtype} {images.shape}; expected uint8 (n, 64, 64, 3)"
            )
        n = images.shape[0]
        sizes = tuple(config.factor_sizes) if config.factor_sizes is not None else SIZES.get(n)
        if sizes is None or math.prod(sizes) != n:
            known = "; ".join(f"{k:,} images: {', '.join(map(str, v))}" for k, v in SIZES.items())
            raise DataError(
                f"{where} holds {n:,} images, which is not one per combination of "
                + (f"the factor_sizes {list(sizes)}" if sizes else f"MPI3D's factors ({known})")
                + "; set factor_sizes to the file's"
            )
        if config.verify:
            verify(self.path, "MPI3D")
        self.images = images
        self.values = row_major_classes(n, sizes)
        self.factor_space = grid_factors(FACTORS, sizes)
        self.shape = (IMAGE[2], IMAGE[0], IMAGE[1])

    def read_images(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.images[rows])
