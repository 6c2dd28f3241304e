"""Rotations of 3-D space: unit quaternions, rotation matrices and yaw-pitch-roll angles, and
uniform (Haar) random rotations. A leaf module: data sets and latent spaces both use it.

A unit quaternion q = (w, x, y, z) = (cos(ω/2), sin(ω/2)·axis) is the rotation by ω about the
axis; q and −q are the same rotation. Yaw-pitch-roll (ψ, θ, φ) is the intrinsic z-y-x sequence,
R = R_z(ψ) R_y(θ) R_x(φ), with ψ, φ ∈ [−π, π) and θ ∈ [−π/2, π/2].
"""

from __future__ import annotations

import torch


def rotation_matrix(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (w, x, y, z) ``(..., 4)`` → rotation matrices ``(..., 3, 3)``."""
    w, x, y, z = q.unbind(-1)
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


def quaternion_of(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` → unit quaternions ``(..., 4)`` (w ≥ 0): the top
    eigenvector of Bar-Itzhack's symmetric 4 × 4 matrix, stable for every rotation (also for
    matrices that are only nearly orthogonal, whose nearest rotation it returns)."""
    m = matrix
    k = (
        torch.stack(
            [
                torch.stack(
                    [
                        m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                        m[..., 1, 0] + m[..., 0, 1],
                        m[..., 2, 0] + m[..., 0, 2],
                        m[..., 2, 1] - m[..., 1, 2],
                    ],
                    -1,
                ),
                torch.stack(
                    [
                        m[..., 1, 0] + m[..., 0, 1],
                        m[..., 1, 1] - m[..., 0, 0] - m[..., 2, 2],
                        m[..., 2, 1] + m[..., 1, 2],
                        m[..., 0, 2] - m[..., 2, 0],
                    ],
                    -1,
                ),
                torch.stack(
                    [
                        m[..., 2, 0] + m[..., 0, 2],
                        m[..., 2, 1] + m[..., 1, 2],
                        m[..., 2, 2] - m[..., 0, 0] - m[..., 1, 1],
                        m[..., 1, 0] - m[..., 0, 1],
                    ],
                    -1,
                ),
                torch.stack(
                    [
                        m[..., 2, 1] - m[..., 1, 2],
                        m[..., 0, 2] - m[..., 2, 0],
                        m[..., 1, 0] - m[..., 0, 1],
                        m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2],
                    ],
                    -1,
                ),
            ],
            -2,
        )
        / 3.0
    )
    xyzw = torch.linalg.eigh(k).eigenvectors[..., -1]
    q = torch.cat([xyzw[..., 3:], xyzw[..., :3]], -1)
    return torch.where(q[..., :1] < 0, -q, q)


def matrix_of_angles(angles: torch.Tensor) -> torch.Tensor:
    """Yaw, pitch, roll ``(..., 3)`` → rotation matrices ``(..., 3, 3)``, R_z(ψ) R_y(θ) R_x(φ)."""
    psi, theta, phi = angles.unbind(-1)
    cz, sz, cy, sy, cx, sx = (
        torch.cos(psi),
        torch.sin(psi),
        torch.cos(theta),
        torch.sin(theta),
        torch.cos(phi),
        torch.sin(phi),
    )
    rows = [
        [cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx],
        [sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx],
        [-sy, cy * sx, cy * cx],
    ]
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


def angles_of_matrix(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` → yaw, pitch, roll ``(..., 3)`` (pitch from atan2 of
    −R₂₀ and the norm of the rest of its column, accurate near ±π/2; at exactly ±π/2 yaw and
    roll are not separate and roll is returned as 0)."""
    m = matrix
    pitch = torch.atan2(-m[..., 2, 0], torch.hypot(m[..., 0, 0], m[..., 1, 0]))
    yaw = torch.atan2(m[..., 1, 0], m[..., 0, 0])
    roll = torch.atan2(m[..., 2, 1], m[..., 2, 2])
    return torch.stack([yaw, pitch, roll], -1)


def random_quaternions(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` uniform (Haar) random rotations as unit quaternions with w ≥ 0 (float64): the
    direction of a standard normal vector in R⁴ is uniform on S³."""
    q = torch.randn(n, 4, generator=generator, dtype=torch.float64)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[:, :1] < 0, -q, q)


def rotation_angle(r0: torch.Tensor, r1: torch.Tensor) -> torch.Tensor:
    """The angle ω ∈ [0, π] of R₀ᵀR₁ for rotation matrices (the geodesic distance on SO(3)),
    from its trace, computed as atan2(|skew part|, trace − 1) for accuracy at 0 and π."""
    rel = r0.transpose(-1, -2) @ r1
    skew = torch.stack(
        [
            rel[..., 2, 1] - rel[..., 1, 2],
            rel[..., 0, 2] - rel[..., 2, 0],
            rel[..., 1, 0] - rel[..., 0, 1],
        ],
        -1,
    )
    trace = rel.diagonal(0, -2, -1).sum(-1)
    return torch.atan2(skew.norm(dim=-1), trace - 1)
