"""Estimators of a factor's direction u from Algorithm 1's records (z₀, z_δt, δt).

The paper fits t = g(⟨z_δt, u⟩) − g(⟨z₀, u⟩) (eq. 8-9) from the least-squares start of
:func:`~latentatlas.analysis.directions.linear_direction` ("paper"). On generators whose true
directions are known (:mod:`~latentatlas.analysis.direction_bench`) that estimate is pulled away
from the truth by moves that do not change the image: Adam's per-coordinate step sizes make every
inverted code drift into directions the generator ignores, in a pattern that correlates with t,
and least squares puts large weights on directions in which the displacement barely varies.

The default estimator ("minimal-move") does not read u from the inverted codes. At each starting
code z it asks which latent move makes the transformation's image change with the least motion:

    v(z) = (T_a(G(z)) − T_−a(G(z))) / 2a          the image velocity of T (a the smallest amount)
    δz(z) = (W J(z))⁺ W v(z)                       minimal-norm least squares (Gauss-Newton step)
    u ∝ mean_z δz(z)/‖δz(z)‖

where J(z) = ∂G/∂z is computed by forward-mode differentiation (``torch.func.jacfwd``, d
Jacobian-vector products per code, in chunks that bound the memory), W masks the pixels the
transformation leaves undefined and, with the paper's ``gaussian`` error, blurs by its σ (eq. 3),
and the pseudo-inverse drops singular values below ``rcond`` × the largest. δz is the first step
of a Gauss-Newton inversion of the transformed image from z: an optimiser-free version of
Algorithm 1's first point, so Adam's drift and the ball projection cannot enter it. g is then
fitted on Algorithm 1's records with u held fixed (``fit_direction(..., direction=u)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ...data.transforms import Transformation, get_transformation
from ...errors import DataError
from ..generators import check_image_batch, frozen
from .inversion import gaussian_filter

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


def _jacobians(generator: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor):
    """Yield ``(rows, J)`` with J ``(m, P, d)`` = ∂G/∂z at each code of consecutive chunks."""
    from torch.func import jacfwd, vmap

    d = z.shape[1]
    generator = getattr(generator, "_orig_mod", generator)  # compiled: differentiate the module
    with frozen(generator):
        with torch.no_grad():
            pixels = generator(z[:1]).numel()
        chunk = max(1, JACOBIAN_BUDGET // max(1, pixels * d))

        def image(v: torch.Tensor) -> torch.Tensor:
            return generator(v[None]).flatten()

        for start in range(0, len(z), chunk):
            rows = slice(start, start + chunk)
            yield rows, vmap(jacfwd(image))(z[rows].detach())


def _check_codes(z: torch.Tensor) -> None:
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or not torch.isfinite(z).all():
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise DataError(f"codes: expected finite codes of shape (n, d), got {shape}")


def latent_velocities(
    generator: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    transformation: str | Transformation,
    amount: float,
    *,
    sigma: float | None = None,
    rcond: float = DEFAULT_RCOND,
) -> torch.Tensor:
    """δz(z) ``(n, d)`` per code: the minimal latent move whose first-order image change best
    matches the transformation's image velocity at G(z) (module docstring). ``sigma``: blur the
    residual as the paper's error does (None: plain masked least squares)."""
    _check_codes(z)
    if not 0 <= rcond < 1:
        raise DataError(f"rcond must be in [0, 1), got {rcond}")
    if not amount > 0 or not math.isfinite(amount):
        raise DataError(f"amount must be a positive number, got {amount}")
    transform = get_transformation(transformation)
    with frozen(generator), torch.no_grad():
        images = check_image_batch(generator(z), len(z)).detach()
        forward, mask_f = transform(images, amount)
        backward, mask_b = transform(images, -amount)
    velocity = (forward - backward) / (2 * amount)
    mask = mask_f * mask_b
    shape = images.shape[1:]

    def weigh(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """W: mask, blur, mask (as the inversion's error, eq. 3)."""
        x = x * m
        return gaussian_filter(x, sigma) * m if sigma else x

    out = torch.zeros_like(z, dtype=torch.float64)
    for rows, jac in _jacobians(generator, z):
        m, d = jac.shape[0], jac.shape[2]
        target = weigh(velocity[rows], mask[rows]).flatten(1)  # (m, P)
        columns = jac.permute(0, 2, 1).reshape(m * d, *shape)  # each column as an image
        weighted = weigh(columns, mask[rows].repeat_interleave(d, 0))
        weighted = weighted.reshape(m, d, -1).transpose(1, 2)  # (m, P, d)
        if not torch.isfinite(weighted).all():
            raise DataError("the generator's Jacobian is not finite at these codes")
        solve = torch.linalg.pinv(weighted.double(), rtol=rcond)
        out[rows] = (solve @ target.double()[:, :, None])[:, :, 0]
    return out.to(z.dtype)


def minimal_move_direction(
    generator: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    transformation: str | Transformation,
    amount: float,
    *,
    sigma: float | None = None,
    rcond: float = DEFAULT_RCOND,
) -> torch.Tensor:
    """The unit direction u ∝ mean over codes of δz/‖δz‖ (:func:`latent_velocities`)."""
    moves = latent_velocities(generator, z, transformation, amount, sigma=sigma, rcond=rcond)
    norms = moves.norm(dim=1, keepdim=True)
    moving = norms[:, 0] > 0
    if not moving.any():
        raise DataError(
            f"no latent move reproduces {get_transformation(transformation).name} at these "
            "codes (the generator's images do not change that way)"
        )
    mean = (moves[moving] / norms[moving]).mean(0)
    if not mean.norm() > 0:
        raise DataError("the latent moves cancel out: no consistent direction")
    return mean / mean.norm()


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """|cos| of the angle between two directions (a direction and its negative are one line)."""
    a, b = a.detach().double().flatten(), b.detach().double().flatten()
    if a.shape != b.shape:
        raise DataError(f"directions of different dimensions: {len(a)} and {len(b)}")
    norm = float(a.norm() * b.norm())
    if not norm > 0 or not math.isfinite(norm):
        raise DataError("a direction is zero or not finite")
    return abs(float(a @ b)) / norm
