"""3dshapes (Burgess & Kim 2018): 480 000 renderings of an object in a room, from the file
its authors publish, ``3dshapes.h5``.

The file holds ``images`` (uint8 ``(480000, 64, 64, 3)``) and ``labels`` (float64
``(480000, 6)``), one image per combination of six factors in row-major order (orientation
fastest): floor hue 10, wall hue 10, object hue 10, scale 8, shape 4, orientation 15. The
factor values are the file's own labels; each factor's grid is the sorted distinct values of
its column (the authors' README gives [0, 1] for the scale, while the file's scales are
0.75 … 1.25, so no value is assumed). Images are read per batch from the HDF5 file (h5py, the
``h5`` extra), never the whole 5.9 GB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, field
from ...errors import DataError
from ...registry import DATASETS
from ..factors import Factor, FactorSpace
from .base import PublishedImages
from .checksums import verify

FACTORS = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
SIZES = (10, 10, 10, 8, 4, 15)
IMAGE = (64, 64, 3)


@dataclass(frozen=True)
class Shapes3DConfig(Config):
    path: str = field(doc="local path of 3dshapes.h5 (or a file in its layout)")
    verify: bool = field(True, doc="check the file's MD5 against the published one")


def _h5py():
    try:
        import h5py
    except ImportError:
        raise DataError("reading 3dshapes.h5 needs h5py: pip install 'latent-atlas[h5]'") from None
    return h5py


@DATASETS.register("shapes3d")
class Shapes3D(PublishedImages):
    """3dshapes from the published 3dshapes.h5: 480 000 images, 6 factors, read per batch."""

    Config = Shapes3DConfig
    published_files = ("3dshapes.h5",)

    def __init__(self, config: Shapes3DConfig):
        self.config = config
        self.path = Path(config.path).expanduser()
        where = f"3dshapes file {str(self.path)!r}"
        if not self.path.is_file():
            raise DataError(f"{where} does not exist or is not a file")
        h5py = _h5py()
        try:
            with h5py.File(self.path, "r") as f:
                missing = [k for k in ("images", "labels") if k not in f]
                if missing:
                    raise DataError(
                        f"{where} has no dataset {missing[0]!r} (it holds: "
                        f"{', '.join(f) or 'nothing'}); expected images and labels"
                    )
                images, labels = f["images"], f["labels"]
                if images.ndim != 4 or images.shape[1:] != IMAGE or images.dtype != np.uint8:
                    raise DataError(
                        f"{where}: images are {images.dtype} {images.shape}; expected uint8 "
                        "(n, 64, 64, 3)"
                    )
                if labels.shape != (images.shape[0], len(FACTORS)) or images.shape[0] < 1:
                    raise DataError(
                        f"{where}: labels have shape {labels.shape}; expected one row of "
                        f"{len(FACTORS)} factors per image ({images.shape[0]}, {len(FACTORS)})"
                    )
                values = np.asarray(labels[:], dtype=np.float64)
        except OSError as exc:  # not an HDF5 file, truncated, unreadable
            raise DataError(f"{where} is not a readable HDF5 file: {exc}") from None
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
            raise DataError(f"{where}: the labels of image {row} are not finite")
        factors = []
        for name, size, column in zip(FACTORS, SIZES, values.T):
            grid = np.unique(column)
            if len(grid) > size:
                raise DataError(
                    f"{where}: factor {name!r} takes {len(grid)} values; 3dshapes has {size}"
                )
            # discrete classes, as the benchmark's metrics read them (hues not wrapped)
            factors.append(Factor(name, float(grid[0]), float(grid[-1]), values=tuple(grid)))
        if config.verify:
            verify(self.path, "3dshapes")
        self.values = values
        self.factor_space = FactorSpace(factors)
        self.shape = (IMAGE[2], IMAGE[0], IMAGE[1])
        self._file = None

    def read_images(self, rows: np.ndarray) -> np.ndarray:
        if self._file is None:  # opened on first use: a data set crosses process boundaries
            self._file = _h5py().File(self.path, "r")
        try:
            return self._file["images"][rows]
        except (OSError, ValueError) as exc:
            raise DataError(
                f"3dshapes file {str(self.path)!r} is corrupt: images {rows[:3].tolist()}…: {exc}"
            ) from None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_file"] = None  # an open HDF5 handle does not cross processes
        return state
