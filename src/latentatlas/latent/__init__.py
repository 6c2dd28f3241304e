"""Latent spaces: prior, posterior family, KL, embedding, geodesics, traversals."""

from .base import LatentSpace
from .circle import CircleConfig, CircleLatent, TorusConfig, TorusLatent
from .euclidean import EuclideanConfig, EuclideanLatent
from .heat_kernel import HeatKernel, ThesisHeatKernel
from .point import PointConfig, PointLatent, PointMass
from .projective import ProjectiveConfig, ProjectiveLatent, RotationConfig, RotationLatent
from .sphere import SphereConfig, SphereLatent

__all__ = [
    "CircleConfig",
    "CircleLatent",
    "EuclideanConfig",
    "EuclideanLatent",
    "HeatKernel",
    "LatentSpace",
    "PointConfig",
    "PointLatent",
    "PointMass",
    "ProjectiveConfig",
    "ProjectiveLatent",
    "RotationConfig",
    "RotationLatent",
    "SphereConfig",
    "SphereLatent",
    "ThesisHeatKernel",
    "TorusConfig",
    "TorusLatent",
]
