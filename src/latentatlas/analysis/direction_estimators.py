"""Estimators of a factor's direction u from Algorithm 1's records (z₀, z_δt, δt).

The paper fits t = g(⟨z_δt, u⟩) − g(⟨z₀, u⟩) (eq. 8-9) from the least-squares start of
:func:`~latentatlas.analysis.directions.linear_direction` ("paper"). On generators whose true
directions are known (:mod:`~latentatlas.analysis.direction_bench`) that estimate is pulled away
from the truth by moves that do not change the image: Adam's per-coordinate step sizes make every
inverted code drift into directions the generator ignores, in a pattern that correlates with t,
and least squares puts large weights on directions in which the displacement barely varies.

The default estimator ("minimal-move") keeps of each displacement only the part that changes the
image, then averages displacements per unit of t:

1. δz' = V_k V_kᵀ (z_δt − z₀), where V_k holds the right singular vectors of the generator's
   Jacobian J(z₀) = ∂G/∂z whose singular values exceed ``rcond`` × the largest: the minimal latent
   move J⁺J δz that makes the same first-order image change as δz;
2. u ∝ Σ δt·δz' / Σ δt² (the mean displacement per unit of t, which gives no weight to
   coordinates that barely move and cancels moves made alike for +δt and −δt, such as the
   projection of a starting code onto the ball).

g is then fitted with u held fixed (:func:`~latentatlas.analysis.directions.fit_direction` with
``direction=u``). J is computed by forward-mode differentiation (``torch.func.jacfwd``), d
Jacobian-vector products per distinct starting code, in chunks that bound the memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..errors import DataError
from .directions import displacement_direction
from .generators import frozen

METHODS = ("minimal-move", "paper")
"""Direction estimators of :func:`~latentatlas.analysis.direction_search.find_direction`:
``minimal-move`` (this module, the default) and ``paper`` (eq. 8-9 from the least-squares
start, the authors' procedure)."""

DEFAULT_RCOND = 1e-2
"""Singular values of J below this fraction of the largest count as directions G ignores."""

JACOBIAN_BUDGET = 2**24
"""Largest number of Jacobian entries held at once (64 MiB of float32)."""


def check_method(method: str) -> str:
    if method not in METHODS:
        raise DataError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    return method


def jacobian_row_space(
    generator: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    rcond: float = DEFAULT_RCOND,
) -> torch.Tensor:
    """Orthogonal projectors ``(n, d, d)`` onto the row space of J(z) = ∂G(z)/∂z for codes
    ``(n, d)``: the span of the right singular vectors whose singular values are at least
    ``rcond`` times the code's largest (all of them with ``rcond = 0``)."""
    from torch.func import jacfwd, vmap

    if z.ndim != 2 or not torch.isfinite(z).all():
        raise DataError(f"codes: expected finite codes of shape (n, d), got {tuple(z.shape)}")
    if not 0 <= rcond < 1:
        raise DataError(f"rcond must be in [0, 1), got {rcond}")
    d = z.shape[1]
    generator = getattr(generator, "_orig_mod", generator)  # compiled: differentiate the module
    with frozen(generator), torch.no_grad():
        pixels = generator(z[:1]).numel()
    chunk = max(1, JACOBIAN_BUDGET // max(1, pixels * d))

    def image(v: torch.Tensor) -> torch.Tensor:
        return generator(v[None]).flatten()

    projectors = []
    with frozen(generator):
        for start in range(0, len(z), chunk):
            jac = vmap(jacfwd(image))(z[start : start + chunk].detach())  # (m, P, d)
            _, s, vh = torch.linalg.svd(jac.double(), full_matrices=False)
            if not torch.isfinite(s).all():
                raise DataError("the generator's Jacobian is not finite at these codes")
            keep = (s >= rcond * s[:, :1]) & (s > 0)
            v = vh.transpose(1, 2) * keep[:, None, :]
            projectors.append((v @ v.transpose(1, 2)).to(z.dtype))
    return torch.cat(projectors)


def minimal_move_direction(
    generator: Callable[[torch.Tensor], torch.Tensor],
    z0: torch.Tensor,
    zt: torch.Tensor,
    t: torch.Tensor,
    rcond: float = DEFAULT_RCOND,
) -> torch.Tensor:
    """The unit direction of the mean image-changing displacement per unit of t (steps 1-2 of
    the module docstring). Records sharing a starting code share its Jacobian."""
    if z0.ndim != 2 or zt.shape != z0.shape or t.shape != (len(z0),):
        raise DataError(
            f"expected z0 and zt of shape (n, d) and t of shape (n,), got {tuple(z0.shape)}, "
            f"{tuple(zt.shape)}, {tuple(t.shape)}"
        )
    starts, which = torch.unique(z0, dim=0, return_inverse=True)
    projector = jacobian_row_space(generator, starts, rcond)
    moved = torch.einsum("nij,nj->ni", projector[which], zt - z0)
    return displacement_direction(z0, z0 + moved, t)


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """|cos| of the angle between two directions (a direction and its negative are one line)."""
    a, b = a.detach().double().flatten(), b.detach().double().flatten()
    if a.shape != b.shape:
        raise DataError(f"directions of different dimensions: {len(a)} and {len(b)}")
    norm = float(a.norm() * b.norm())
    if not norm > 0 or not math.isfinite(norm):
        raise DataError("a direction is zero or not finite")
    return abs(float(a @ b)) / norm
