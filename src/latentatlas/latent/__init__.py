"""Latent spaces: prior, posterior family, KL, embedding, geodesics, traversals."""

from .base import LatentSpace
from .euclidean import EuclideanConfig, EuclideanLatent
from .point import PointConfig, PointLatent, PointMass

__all__ = [
    "EuclideanConfig",
    "EuclideanLatent",
    "LatentSpace",
    "PointConfig",
    "PointLatent",
    "PointMass",
]
