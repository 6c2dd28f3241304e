"""What the benchmark's published data sets share: images read from a file on demand, factor
values held in memory.

A :class:`PublishedImages` keeps only the factor values of every image (a few MB) and reads the
images a batch asks for from the file (memory-mapped or by chunked HDF5 reads), as uint8, so
that data sets of hundreds of thousands of images fit: 3dshapes is 5.9 GB as uint8 and 23.6 GB
as float32. Observations are float32 in [0, 1], channels first.
"""

from __future__ import annotations

import numpy as np
import torch

from ..base import Batch, FactorDataset
from ..factors import Factor, FactorSpace


class PublishedImages(FactorDataset):
    """A data set whose images are read from a file per batch (see the module doc).

    Subclasses set ``self.values`` (float64 ``(n, k)``: every image's factor values),
    ``self.factor_space``, ``self.shape`` (one observation, channels first) and implement
    :meth:`read_images` (uint8 images for sorted, unique row indices)."""

    values: np.ndarray
    shape: tuple[int, ...]
    published_files: tuple[str, ...] = ()
    """the names of the files as published (:data:`.checksums.PUBLISHED`), for ``list``"""

    def read_images(self, rows: np.ndarray) -> np.ndarray:
        """uint8 images ``(m, H, W, C)`` or ``(m, H, W)`` of the sorted, unique ``rows``."""
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.values)

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return self.shape

    def get_batch(self, indices: torch.Tensor) -> Batch:
        idx = self.check_indices(indices).numpy()
        rows, inverse = np.unique(idx, return_inverse=True)
        images = self.read_images(rows)[inverse]
        if images.ndim == 3:
            images = images[:, None]
        else:
            images = np.moveaxis(images, -1, 1)
        x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
        return Batch(x, torch.from_numpy(self.values[idx]))

    def factors_of(self, indices: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.values[self.check_indices(indices).numpy()])

    def check_finite(self, chunk: int = 4096) -> None:
        """Nothing to scan: uint8 pixels are finite."""


def grid_factors(names: tuple[str, ...], sizes: tuple[int, ...]) -> FactorSpace:
    """Discrete factors with the class indices 0 … size − 1 as values (how the benchmark's
    files without factor values are read: disentanglement_lib's factor classes)."""
    return FactorSpace(
        [Factor(name, 0.0, float(size - 1), size=size) for name, size in zip(names, sizes)]
    )


def row_major_classes(n: int, sizes: tuple[int, ...]) -> np.ndarray:
    """The class indices ``(n, k)`` of images stored in row-major order of factors with
    ``sizes`` (the last factor varies fastest)."""
    return np.stack(np.unravel_index(np.arange(n), sizes), axis=1).astype(np.float64)
