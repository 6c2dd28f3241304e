"""Images that are sums of atoms, x = Σ_{i=1..c} ψ(θ_i), with every atom's parameters known.

The atomic model of the atomic-autoencoder paper (eq. 2-4): an image is the sum of c ≤ K atoms
ψ(θ_i) of one parametric family. :class:`AtomDataset` holds the atoms of every image as a
``(n, K, p)`` float64 tensor (absent atoms are rows of NaN) and renders images on demand, so a
data set of 128×128 images costs only its parameters in memory. Subclasses say how one atom
looks (:meth:`AtomDataset.render_atoms`) and how atoms are drawn (:meth:`AtomDataset.draw`).

The ground truth the analyses use: :meth:`AtomDataset.atoms_of` (the parameters), and
:meth:`AtomDataset.atom_images` (each atom rendered alone, ``(n, K, 1, H, W)``). The factor of
the :class:`~latentatlas.data.FactorSpace` is the number of atoms, ``count``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ...errors import ConfigError, DataError
from ..base import Batch, FactorDataset
from ..factors import Factor, FactorSpace


def check_count_range(min_count: int, max_count: int, what: str) -> None:
    """Config-time check of a (min, max) number of atoms per image."""
    if min_count > max_count:
        raise ConfigError(f"min_{what}: {min_count} is larger than max_{what} = {max_count}")


class AtomDataset(FactorDataset):
    """``n`` images of ``size``×``size`` pixels, each the sum of ``count`` atoms (1 channel)."""

    #: names of the p parameters of one atom, in order (the last axis of :attr:`atoms`)
    parameters: ClassVar[tuple[str, ...]] = ()

    def __init__(self, n: int, size: int, min_count: int, max_count: int, seed: int):
        self.size = size
        self.max_count = max_count
        rng = np.random.default_rng(seed)
        counts = rng.integers(min_count, max_count + 1, size=n)
        atoms = np.full((n, max_count, len(self.parameters)), np.nan)
        mask = np.arange(max_count)[None, :] < counts[:, None]
        atoms[mask] = self.draw(rng, counts)[mask]
        self.atoms = torch.from_numpy(atoms)
        self.counts = torch.from_numpy(counts)
        self.factor_space = FactorSpace(
            [
                Factor(
                    "count",
                    float(min_count),
                    float(max_count),
                    size=max_count - min_count + 1,
                    values=tuple(float(c) for c in range(min_count, max_count + 1)),
                )
            ]
        )

    # -- to implement ------------------------------------------------------------------------
    def draw(self, rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
        """Parameters ``(n, K, p)`` for images with ``counts`` atoms (slots ≥ count unused)."""
        raise NotImplementedError

    def render_atoms(self, params: torch.Tensor) -> torch.Tensor:
        """Images ``(m, H, W)`` float64 of ``m`` single atoms with parameters ``(m, p)``."""
        raise NotImplementedError

    # -- provided ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.atoms.shape[0]

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (1, self.size, self.size)

    def atoms_of(self, indices: torch.Tensor) -> torch.Tensor:
        """Atom parameters ``(n, K, p)`` float64 of the images at ``indices``; NaN rows: absent."""
        return self.atoms[self.check_indices(indices)]

    def atom_images(self, indices: torch.Tensor) -> torch.Tensor:
        """Each atom of the images at ``indices`` rendered alone: ``(n, K, 1, H, W)`` float32,
        zero where an image has fewer than K atoms. Their sum over K is the image."""
        params = self.atoms_of(indices)
        present = ~torch.isnan(params[..., 0])
        out = torch.zeros(*params.shape[:2], self.size, self.size, dtype=torch.float64)
        if present.any():
            out[present] = self.render_atoms(params[present])
        return out[:, :, None].float()

    def get_batch(self, indices: torch.Tensor) -> Batch:
        idx = self.check_indices(indices)
        x = self.atom_images(idx).sum(1)
        return Batch(x, self.counts[idx, None].double())

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        raise DataError(
            f"{type(self).__name__} images are not a function of their atom count; "
            "use atom_images(indices) or get_batch(indices)"
        )

    def evaluation_set(self) -> Batch:
        """The images at :meth:`evaluation_indices` (their atoms: ``atoms_of`` of those)."""
        return self.get_batch(self.evaluation_indices())

    def evaluation_indices(self) -> torch.Tensor:
        """The first ``min(n, 512)`` images: the set on which analyses report numbers."""
        return torch.arange(min(len(self), 512))
