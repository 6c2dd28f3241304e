"""Data: factor spaces, datasets with ground-truth factors, loaders for files on local disk."""

from . import celeba, coil20, files, mnist, published, recorded, synthetic  # noqa: F401  (registers the built-in datasets)
from .base import Batch, FactorDataset, InMemoryDataset, check_observations
from .factors import Factor, FactorSpace

__all__ = [
    "Batch",
    "Factor",
    "FactorDataset",
    "FactorSpace",
    "InMemoryDataset",
    "check_observations",
]
