"""How an autoencoder decodes a disk (slides 14-18): positive homogeneity of a bias-free decoder,
the decoded profile f, the optimal profile of the variational problem, and Airy's equation.

Without biases the decoder is positively homogeneous, D(λz) = λD(z) for λ ≥ 0 (eq. 2), so every
output is y = h(r)·f with f = D(±1) fixed by training. Training then maximises (eq. 3, 7)

    J(f) = ∫_0^R ⟨f, 1_{B_r}⟩² dr   subject to ‖f‖₂ = 1,

with the optimal scale ĥ(r) = ⟨f, 1_{B_r}⟩ / ‖f‖² (eq. 5). For a radially symmetric f,
⟨f, 1_{B_r}⟩ = 2π ∫_0^r f(ρ) ρ dρ and ‖f‖² = 2π ∫_0^R f(ρ)² ρ dρ. Its first variation gives
Airy's equation (eq. 8)

    f''(ρ) = −k ρ f(ρ),   f(0) = 1,   f'(0) = 0,

and the natural boundary condition f(R) = 0 fixes k: with s = k^(1/3) ρ,
f(ρ) = [Ai(−s) + Bi(−s)/√3] / (2 Ai(0)) (the combination with f'(0) = 0), and k^(1/3) R is its
first positive zero s₁ ≈ 1.986. The discretised J is a quadratic form, so its maximiser is the top
generalised eigenvector of (A, W) with A_ij = w_i w_j (R − max(ρ_i, ρ_j)) and W = diag(w),
w_i = 2πρ_i Δρ (:func:`optimal_profile`).

Profiles are compared in the ρ-weighted norm of the disk, ‖f‖² = ∫_0^R f² ρ dρ, after scaling
each to unit norm (the slides' normalisation ‖f‖ = 1); :func:`profile_distance` is the distance
between the unit profiles, 0 for identical shapes and at most 2.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy import linalg, optimize, special

from ..errors import DataError


def _even_airy(s: np.ndarray) -> np.ndarray:
    """Ai(−s) + Bi(−s)/√3: the solution of y''(s) = −s·y with y'(0) = 0, y(0) = 2Ai(0)."""
    ai, _, bi, _ = special.airy(-np.asarray(s, dtype=np.float64))
    return ai + bi / math.sqrt(3.0)


@functools.cache
def airy_first_zero() -> float:
    """s₁ ≈ 1.98635, the first positive zero of the even Airy combination (brentq on [1, 3])."""
    return float(optimize.brentq(_even_airy, 1.0, 3.0, xtol=1e-14))


def airy_k(radius: float) -> float:
    """The k of eq. 8 for which f(R) = 0 at R = ``radius``: k = (s₁ / R)³."""
    if not radius > 0:
        raise DataError(f"radius: expected R > 0, got {radius}")
    return (airy_first_zero() / radius) ** 3


def airy_profile(rho: np.ndarray, k: float) -> np.ndarray:
    """f(ρ) solving f'' = −kρf, f(0) = 1, f'(0) = 0 (eq. 8), via scipy's Airy functions."""
    if not k > 0:
        raise DataError(f"k: expected k > 0, got {k}")
    s = np.cbrt(k) * np.asarray(rho, dtype=np.float64)
    return _even_airy(s) / (2 * special.airy(0.0)[0])


def optimal_profile(radius: float, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """The maximiser of the discretised J(f) (eq. 3) on ``points`` midpoints of [0, R]:
    ``(rho, f)`` with f(ρ₀) > 0 and unit ρ-weighted norm."""
    if not radius > 0 or points < 2:
        raise DataError(f"expected radius > 0 and points ≥ 2, got {radius}, {points}")
    step = radius / points
    rho = (np.arange(points) + 0.5) * step
    w = 2 * math.pi * rho * step
    # inner products with 1_{B_r} count the cells inside r; the cell of ρ_i is inside once r
    # passes its midpoint, so ∫_0^R [ρ_i ≤ r][ρ_j ≤ r] dr = R − max(ρ_i, ρ_j)
    overlap = radius - np.maximum(rho[:, None], rho[None, :])
    sw = np.sqrt(w)
    m = sw[:, None] * sw[None, :] * overlap  # W^(-1/2) A W^(-1/2)
    _, vectors = linalg.eigh(m, subset_by_index=[points - 1, points - 1])
    f = vectors[:, 0] / sw
    f = f if f[0] > 0 else -f
    return rho, unit_profile(rho, f)


def unit_profile(rho: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``f`` scaled to unit ρ-weighted norm ∫ f² ρ dρ = 1 (trapezoid rule on ``rho``)."""
    norm = math.sqrt(float(np.trapezoid(np.asarray(f) ** 2 * rho, rho)))
    if not norm > 0:
        raise DataError("the profile is zero everywhere; it cannot be normalised")
    return np.asarray(f, dtype=np.float64) / norm


def profile_distance(rho: np.ndarray, f: np.ndarray, g: np.ndarray) -> float:
    """Distance between the unit-norm versions of two profiles on the same ``rho`` grid."""
    d = unit_profile(rho, f) - unit_profile(rho, g)
    return math.sqrt(float(np.trapezoid(d**2 * rho, rho)))


def radial_profile(image: torch.Tensor, rho: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """Ring means of a 2-D ``image`` at radii ``rho`` around ``centre`` (x, y), by linear
    interpolation of the per-pixel (distance, value) pairs sorted by distance; radii past the
    farthest pixel get NaN."""
    img = torch.as_tensor(image, dtype=torch.float64).squeeze()
    if img.ndim != 2:
        raise DataError(f"radial_profile: expected one 2-D image, got shape {tuple(image.shape)}")
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w]
    dist = np.hypot(xx - centre[0], yy - centre[1]).ravel()
    values = img.numpy().ravel()
    # ring means over unit-width bins, then interpolation between bin centres
    edges = np.arange(0.0, dist.max() + 1.0, 1.0)
    which = np.digitize(dist, edges) - 1
    sums = np.bincount(which, values, minlength=len(edges))
    counts = np.bincount(which, minlength=len(edges))
    centres = np.bincount(which, dist, minlength=len(edges))
    filled = counts > 0
    ring_r = centres[filled] / counts[filled]
    ring_v = sums[filled] / counts[filled]
    return np.interp(rho, ring_r, ring_v, left=ring_v[0], right=np.nan)


@dataclass
class HomogeneityCheck:
    """D(λz) against λD(z) over λ ≥ 0 and codes z: the largest deviation, absolute and relative
    to the largest output."""

    lambdas: list[float]
    max_abs_error: float
    max_rel_error: float

    def to_dict(self) -> dict:
        return asdict(self)


def check_homogeneity(
    decode: Callable[[torch.Tensor], torch.Tensor],
    codes: torch.Tensor,
    lambdas: tuple[float, ...] = (0.0, 0.25, 0.5, 2.0, 3.7, 10.0),
) -> HomogeneityCheck:
    """Measure positive homogeneity D(λz) = λD(z) (slide 15, eq. 2) of ``decode`` on ``codes``.

    Negative λ are refused: a LeakyReLU network is homogeneous for λ ≥ 0 only.
    """
    if any(not lam >= 0 for lam in lambdas):
        raise DataError(f"lambdas: positive homogeneity holds for λ ≥ 0 only, got {lambdas}")
    codes = torch.as_tensor(codes)
    with torch.no_grad():
        base = decode(codes)
        scale = float(base.abs().max().clamp_min(1e-30))
        worst = 0.0
        for lam in lambdas:
            worst = max(worst, float((decode(lam * codes) - lam * base).abs().max()) / max(lam, 1))
    return HomogeneityCheck(list(map(float, lambdas)), worst, worst / scale)


@dataclass
class ProfileComparison:
    """The learned, numerically optimal and Airy profiles on one grid (slide 18)."""

    rho: list[float]
    learned: list[float]
    numerical: list[float]
    airy: list[float]
    radius: float
    k: float
    learned_vs_numerical: float
    learned_vs_airy: float
    numerical_vs_airy: float

    def to_dict(self) -> dict:
        return asdict(self)


def compare_profiles(
    learned_image: torch.Tensor, centre: tuple[float, float], radius: float, points: int = 200
) -> ProfileComparison:
    """Radial profile of a decoded image D(±1) against the optimum of eq. 3 and Airy (eq. 8),
    each scaled to unit ρ-weighted norm on [0, R]."""
    rho, numerical = optimal_profile(radius, points)
    k = airy_k(radius)
    airy = unit_profile(rho, airy_profile(rho, k))
    learned = radial_profile(learned_image, rho, centre)
    if np.isnan(learned).any():
        raise DataError(f"radius {radius} reaches past the image; use at most the image half-side")
    if learned[0] < 0:  # D(−1) of a code sign the data never use: compare shapes
        learned = -learned
    learned = unit_profile(rho, learned)
    return ProfileComparison(
        rho=rho.tolist(),
        learned=learned.tolist(),
        numerical=numerical.tolist(),
        airy=airy.tolist(),
        radius=float(radius),
        k=k,
        learned_vs_numerical=profile_distance(rho, learned, numerical),
        learned_vs_airy=profile_distance(rho, learned, airy),
        numerical_vs_airy=profile_distance(rho, numerical, airy),
    )
