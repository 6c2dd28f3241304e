"""How codes in SO(3) follow a factor in SO(3): the best alignment up to fixed rotations.

A model that recovers a rotation factor maps it to its codes by an isometry of SO(3): R ↦ A R B
or R ↦ A Rᵀ B for fixed rotations A and B (the isometries of the bi-invariant metric). The
summary finds the best such map by alternating orthogonal Procrustes steps — with B fixed, A is
the rotation closest to Σ Yᵢ (Xᵢ B)ᵀ; with A fixed, B the one closest to Σ Xᵢᵀ Aᵀ Yᵢ — from
several starts, for both variants, and reports the mean and median rotation angle left between
A Xᵢ B and the code Yᵢ: 0 for codes that are the factor up to fixed rotations, about 126° (the
Haar mean) for codes that do not depend on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..errors import DataError
from ..rotations import random_quaternions, rotation_angle, rotation_matrix

ITERATIONS = 60
STARTS = 6


@dataclass(frozen=True)
class RotationMapSummary:
    """``aligned_error`` / ``median_error``: mean and median angle (radians) between the aligned
    factor and the code; ``inverse``: whether the best map is R ↦ A Rᵀ B."""

    aligned_error: float
    median_error: float
    inverse: bool

    def to_dict(self) -> dict:
        return asdict(self)


def nearest_rotation(m: torch.Tensor) -> torch.Tensor:
    """The rotation R maximising tr(Rᵀ M) for a 3 × 3 matrix M (Procrustes with det R = 1)."""
    u, _, vh = torch.linalg.svd(m)
    d = torch.ones(3, dtype=m.dtype)
    d[2] = torch.sign(torch.linalg.det(u @ vh))
    return u @ torch.diag(d) @ vh


def _rotations(values: torch.Tensor, what: str) -> torch.Tensor:
    r = torch.as_tensor(values).detach().double()
    if r.ndim != 3 or r.shape[1:] != (3, 3):
        raise DataError(
            f"{what}: expected rotation matrices of shape (n, 3, 3), got {tuple(r.shape)}"
        )
    if not torch.isfinite(r).all():
        raise DataError(f"{what}: contains NaN or inf")
    return r


def _align(x: torch.Tensor, y: torch.Tensor, start: torch.Tensor) -> tuple[float, torch.Tensor]:
    a, b = torch.eye(3, dtype=x.dtype), start
    for _ in range(ITERATIONS):
        a = nearest_rotation((y @ (x @ b).transpose(1, 2)).sum(0))
        b = nearest_rotation((x.transpose(1, 2) @ a.T @ y).sum(0))
    angles = rotation_angle(a @ x @ b, y)
    return float(angles.mean()), angles


def rotation_map_summary(
    factor_rotations: torch.Tensor, code_rotations: torch.Tensor
) -> RotationMapSummary:
    """The best alignment R ↦ A R B or A Rᵀ B of ``(n, 3, 3)`` factor rotations to the ``(n, 3,
    3)`` rotations of the codes (a quaternion code's R(q)), from several starts."""
    x = _rotations(factor_rotations, "factor rotations")
    y = _rotations(code_rotations, "code rotations")
    if len(x) != len(y):
        raise DataError(f"{len(x)} factor rotations but {len(y)} codes")
    if len(x) < 3:
        raise DataError(f"need at least 3 rotations to align, got {len(x)}")
    others = rotation_matrix(random_quaternions(STARTS - 1, torch.Generator().manual_seed(0)))
    starts = [torch.eye(3, dtype=torch.float64), *others]
    best = None
    for inverse in (False, True):
        source = x.transpose(1, 2) if inverse else x
        for start in starts:
            error, angles = _align(source, y, start)
            if best is None or error < best[0]:
                best = (error, angles, inverse)
    error, angles, inverse = best
    return RotationMapSummary(error, float(angles.median()), inverse)
