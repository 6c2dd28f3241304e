"""Treating periodic codes (angles of circle and torus latents) and periodic factors correctly.

The standard metrics read every code as a number on a line. For an angle that is wrong near the
cut at ±π: two codes 0.1 rad apart on either side of the cut look 2π − 0.1 apart, a batch whose
angle is fixed near the cut looks spread over the whole range, and a code equal to a periodic
factor up to a rotation is not linearly related to it. With ``periodic`` (a boolean per code, see
:func:`periodic_codes_of`) the metrics change as follows; linear codes are unchanged:

* BetaVAE: |z₁ − z₂| becomes the wrapped distance min(|Δ|, 2π − |Δ|);
* FactorVAE: a code's global scale is its circular standard deviation √(−2 ln R̄) and a batch's
  spread its circular variance 1 − R̄ relative to the global one (R̄ the mean resultant length);
* MIG, modularity, the unsupervised mutual information: a periodic code is cut into 20 bins of
  the full turn (not of its observed range);
* DCI and explicitness: a periodic code enters the classifiers as (cos z, sin z), and DCI's
  importance of the code is the sum over the two;
* SAP: the score of a (code, factor) pair is a circular correlation when either is periodic —
  for two angles the squared mean resultant length of θ − sφ maximised over the orientation
  s = ±1 (1 when the code is the factor up to a rotation or reflection); for an angle and a line
  the circular–linear R² (the fraction of the line's variance explained by cos and sin of the
  angle).
"""

from __future__ import annotations

import numpy as np
import torch

TURN = 2 * np.pi


def periodic_codes_of(model: torch.nn.Module) -> np.ndarray | None:
    """Which codes of ``model``'s representation are angles: all of them for circle and torus
    latents, none otherwise (None)."""
    from ...latent.circle import TorusLatent

    latent = getattr(model, "latent", None)
    if isinstance(latent, TorusLatent):
        return np.ones(latent.dim, dtype=bool)
    return None


def mask(periodic: np.ndarray | None, d: int) -> np.ndarray:
    """``periodic`` as a boolean vector of length d (None: no periodic code)."""
    if periodic is None:
        return np.zeros(d, dtype=bool)
    periodic = np.asarray(periodic, dtype=bool)
    if periodic.shape != (d,):
        from ...errors import DataError

        raise DataError(f"periodic codes: expected {d} flags, got {periodic.shape}")
    return periodic


def wrap(delta: np.ndarray) -> np.ndarray:
    """Angles into [−π, π)."""
    return np.remainder(delta + np.pi, TURN) - np.pi


def difference(a: np.ndarray, b: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """|a − b| per code, wrapped for the periodic ones."""
    delta = np.abs(a - b)
    return np.where(periodic, np.abs(wrap(a - b)), delta)


def resultant(angles: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean resultant length R̄ of angles along ``axis``."""
    return np.hypot(np.cos(angles).mean(axis), np.sin(angles).mean(axis))


def features(codes: np.ndarray, periodic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classifier inputs: linear codes as they are, periodic ones as (cos, sin); and the code
    index of each input column."""
    columns, owner = [], []
    for i in range(codes.shape[1]):
        if periodic[i]:
            columns += [np.cos(codes[:, i]), np.sin(codes[:, i])]
            owner += [i, i]
        else:
            columns.append(codes[:, i])
            owner.append(i)
    return np.stack(columns, 1), np.array(owner)


def circular_circular_r2(theta: np.ndarray, phi: np.ndarray) -> float:
    """max over s = ±1 of R̄(θ − sφ)²: 1 when θ = ±φ + constant."""
    return float(max(resultant(theta - phi), resultant(theta + phi)) ** 2)


def circular_linear_r2(theta: np.ndarray, x: np.ndarray) -> float:
    """Fraction of the variance of x explained by a linear fit on (cos θ, sin θ)."""
    design = np.stack([np.ones_like(theta), np.cos(theta), np.sin(theta)], 1)
    coef, *_ = np.linalg.lstsq(design, x, rcond=None)
    residual = x - design @ coef
    var = x.var()
    return float(1 - residual.var() / var) if var > 0 else 0.0
