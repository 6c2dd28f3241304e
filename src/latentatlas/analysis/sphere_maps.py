"""How codes on a sphere follow a factor on a sphere: the degree of the map and the best
alignment — the S² counterparts of the circle's winding number (thesis ch. 10).

A model that recovers a factor on S² (a light direction, say) maps the factor's sphere onto its
codes' sphere continuously and one-to-one: a map of degree ±1. The degree of a map f: S² → S²
is the number of times f covers the sphere counted with orientation, (1/4π) Σ of the signed
solid angles of the images of a fine triangulation of the domain. Here the triangulation is the
convex hull of the factor points (a Delaunay triangulation of the sphere), and each image
triangle's signed solid angle comes from Van Oosterom and Strackee's formula
tan(Ω/2) = a·(b × c) / (1 + a·b + b·c + c·a). A map that folds over itself has triangles of
both orientations (``folded``); one that misses part of the sphere has a degree of 0.

The alignment is the orthogonal matrix Q (a rotation, or a rotation with a reflection when the
degree is −1) that brings the factor's directions closest to the codes (orthogonal Procrustes),
and the mean angle left between Q·factor and code: 0 for codes that are the factor up to a
rotation of the sphere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..errors import DataError


@dataclass(frozen=True)
class SphereMapSummary:
    """``degree``: the rounded number of signed covers; ``covers``: the unrounded sum;
    ``folded``: the fraction of triangles against the degree's orientation; ``aligned_error``:
    the mean angle (radians) between Q·factor and code for the best orthogonal Q;
    ``reflected``: whether that Q includes a reflection."""

    degree: int
    covers: float
    folded: float
    aligned_error: float
    reflected: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _unit_rows(points: torch.Tensor, what: str) -> torch.Tensor:
    points = torch.as_tensor(points).detach().double()
    if points.ndim != 2 or points.shape[1] != 3:
        raise DataError(f"{what}: expected points of shape (n, 3) on S², got {tuple(points.shape)}")
    if not torch.isfinite(points).all():
        raise DataError(f"{what}: contains NaN or inf")
    norms = points.norm(dim=-1, keepdim=True)
    if bool((norms == 0).any()):
        raise DataError(f"{what}: a point at the origin has no direction")
    return points / norms


def _outward_triangles(points: torch.Tensor) -> torch.Tensor:
    """The convex hull's triangles ``(m, 3)`` of indices, each ordered counter-clockwise seen
    from outside the sphere."""
    from scipy.spatial import ConvexHull

    simplices = torch.as_tensor(ConvexHull(points.numpy()).simplices, dtype=torch.long)
    a, b, c = (points[simplices[:, k]] for k in range(3))
    outward = (torch.linalg.cross(b - a, c - a) * (a + b + c)).sum(-1) > 0
    return torch.where(outward[:, None], simplices, simplices[:, [0, 2, 1]])


def signed_solid_angles(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Signed solid angles of the spherical triangles (a, b, c) of unit vectors (Van Oosterom and
    Strackee 1983): positive when a, b, c turn counter-clockwise seen from outside."""
    numerator = (a * torch.linalg.cross(b, c)).sum(-1)
    denominator = 1 + (a * b).sum(-1) + (b * c).sum(-1) + (c * a).sum(-1)
    return 2 * torch.atan2(numerator, denominator)


def sphere_map_summary(factor_directions: torch.Tensor, codes: torch.Tensor) -> SphereMapSummary:
    """Degree and alignment of the map factor → code, from ``(n, 3)`` factor directions (spread
    over S², n ≥ 4) and the ``(n, 3)`` codes of the same points (any length; their direction is
    used)."""
    factor = _unit_rows(factor_directions, "factor directions")
    code = _unit_rows(codes, "codes")
    if len(factor) != len(code):
        raise DataError(f"{len(factor)} factor directions but {len(code)} codes")
    if len(factor) < 4:
        raise DataError(f"need at least 4 points to triangulate the sphere, got {len(factor)}")
    triangles = _outward_triangles(factor)
    omega = signed_solid_angles(*(code[triangles[:, k]] for k in range(3)))
    covers = float(omega.sum() / (4 * torch.pi))
    degree = round(covers)
    sign = 1.0 if degree >= 0 else -1.0
    folded = float((omega * sign < 0).double().mean())
    # orthogonal Procrustes: Q = U Vᵀ from the SVD of Σ code·factorᵀ
    u, _, vh = torch.linalg.svd(code.T @ factor)
    q = u @ vh
    error = torch.arccos(((factor @ q.T) * code).sum(-1).clamp(-1.0, 1.0)).mean()
    return SphereMapSummary(
        degree=degree,
        covers=covers,
        folded=folded,
        aligned_error=float(error),
        reflected=bool(torch.linalg.det(q) < 0),
    )
