"""Cars3D (Reed et al. 2015): 183 car models rendered from 4 elevations × 24 azimuths, from the
``cars/`` folder of the published archive ``nips2015-analogy-data.tar.gz``.

Each ``car_XXX_mesh.mat`` (MATLAB v5) holds ``im``, uint8 ``(128, 128, 3, 24, 4)``: height,
width, colour, azimuth, elevation. As disentanglement_lib reads them: the factors are elevation
4, azimuth 24 and object type 183, in row-major order (the object fastest), every image
resized to 64 × 64 with Lanczos (Pillow's former ``ANTIALIAS``). The object order is the
folder's ``list.txt`` when it has one (disent's order) and the sorted file names otherwise
(disentanglement_lib numbers the cars in directory-listing order, which no file system fixes).
A car's 96 images are read and resized the first time a batch needs one of them (1.2 MB each
at 64², 216 MB for all), never the 860 MB of the files at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, field
from ...errors import DataError
from ...registry import DATASETS
from .base import PublishedImages, grid_factors, row_major_classes

FACTORS = ("elevation", "azimuth", "object_type")
ELEVATIONS, AZIMUTHS = 4, 24
SIDE = 128


@dataclass(frozen=True)
class Cars3DConfig(Config):
    root: str = field(doc="the cars/ folder of nips2015-analogy-data.tar.gz (its .mat files)")
    size: int = field(64, ge=8, le=SIDE, doc="image side after resizing (the study's 64)")


def _car_files(root: Path) -> list[Path]:
    listed = root / "list.txt"
    if listed.is_file():
        names = [line.strip() for line in listed.read_text().splitlines() if line.strip()]
        files = [root / (name if name.endswith(".mat") else name + ".mat") for name in names]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise DataError(
                f"Cars3D folder {str(root)!r}: list.txt names {missing[0]}, which is not there"
            )
        return files
    return sorted(p for p in root.glob("*.mat") if p.is_file())


@DATASETS.register("cars3d")
class Cars3D(PublishedImages):
    """Cars3D from the published cars/ folder: 183 cars × 4 elevations × 24 azimuths, 64²."""

    Config = Cars3DConfig
    published_files = ("nips2015-analogy-data.tar.gz",)

    def __init__(self, config: Cars3DConfig):
        self.config = config
        self.root = Path(config.root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"Cars3D folder {str(self.root)!r} does not exist")
        self.files = _car_files(self.root)
        if not self.files:
            raise DataError(
                f"Cars3D folder {str(self.root)!r} has no .mat files (expected the cars/ folder "
                "of nips2015-analogy-data.tar.gz: car_XXX_mesh.mat)"
            )
        cars = len(self.files)
        sizes = (ELEVATIONS, AZIMUTHS, cars)
        self.values = row_major_classes(int(np.prod(sizes)), sizes)
        self.factor_space = grid_factors(FACTORS, sizes)
        self.shape = (3, config.size, config.size)
        self._cars: dict[int, np.ndarray] = {}
        self._read_car(0)  # a bad file fails here, not in the middle of a training

    def _read_car(self, car: int) -> np.ndarray:
        """Car ``car``'s images ``(4, 24, size, size, 3)`` (elevation, azimuth), cached."""
        if car not in self._cars:
            from PIL import Image
            from scipy.io import loadmat
            from scipy.io.matlab import MatReadError

            path = self.files[car]
            try:
                im = loadmat(path, variable_names=["im"]).get("im")
            except (OSError, ValueError, TypeError, NotImplementedError, MatReadError) as exc:
                raise DataError(f"Cars3D file {str(path)!r} cannot be read: {exc}") from None
            expected = (SIDE, SIDE, 3, AZIMUTHS, ELEVATIONS)
            if im is None or im.shape != expected or im.dtype != np.uint8:
                found = "no variable 'im'" if im is None else f"'im' is {im.dtype} {im.shape}"
                raise DataError(
                    f"Cars3D file {str(path)!r}: {found}; expected uint8 {expected} (height, "
                    "width, colour, azimuth, elevation)"
                )
            side = self.config.size
            out = np.empty((ELEVATIONS, AZIMUTHS, side, side, 3), dtype=np.uint8)
            for e in range(ELEVATIONS):
                for a in range(AZIMUTHS):
                    image = np.ascontiguousarray(im[:, :, :, a, e])
                    if side != SIDE:
                        resized = Image.fromarray(image).resize(
                            (side, side), Image.Resampling.LANCZOS
                        )
                        image = np.asarray(resized)
                    out[e, a] = image
            self._cars[car] = out
        return self._cars[car]

    def read_images(self, rows: np.ndarray) -> np.ndarray:
        cars = len(self.files)
        elevation, azimuth, car = np.unravel_index(rows, (ELEVATIONS, AZIMUTHS, cars))
        side = self.config.size
        out = np.empty((len(rows), side, side, 3), dtype=np.uint8)
        for c in np.unique(car):
            where = np.flatnonzero(car == c)
            out[where] = self._read_car(int(c))[elevation[where], azimuth[where]]
        return out
