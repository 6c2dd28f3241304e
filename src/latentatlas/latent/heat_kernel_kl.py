"""KL(p_t ‖ uniform) for the heat kernels on Sᵈ and RPᵈ (:mod:`.sphere_heat_kernel`).

The KL does not depend on the location, only on t. With ε = |X| p_t − 1 (X the space, |X| its
volume) it is ∫ [(1 + ε) log(1 + ε) − ε] dV/|X| (the subtracted ε integrates to 0 over X), a
one-dimensional integral over the geodesic distance θ with the shell |S^{d−1}| sin^{d−1}θ, taken
by Gauss-Legendre quadrature:

* t ≥ SERIES_FROM: ε comes from the eigenfunction series without its constant term, and
  (1 + ε) log(1 + ε) − ε from its Taylor series where |ε| < 1e-3, so the KL keeps float64's
  relative precision however small it is (it falls as e^{−2dt} on Sᵈ, e^{−4(d+1)t} on RPᵈ).
  This is cheap (96 nodes × 12 terms) and is computed directly, differentiable in t.
* MIN_TIME ≤ t < SERIES_FROM: a cubic Hermite table of log KL in log t, built once per space
  from the same quadrature of the closed-form kernels, with slopes from de Bruijn's identity
  dKL/dt = −E[(∂θ log p_t)²] (from ∂p/∂t = Δp); the rule covers [0, min(θ_max, 14√t)], beyond
  which the kernel is below e^{−49} of its peak.
"""

from __future__ import annotations

import math

import torch

from .quadrature import gauss_legendre
from .sphere_heat_kernel import (
    MIN_TIME,
    PI,
    SERIES_FROM,
    log_density_slope,
    log_heat_kernel,
    log_volume,
    series_excess,
)

ANGLE_NODES = 96
TABLE_NODES = 512


def _angle_quadrature(t: torch.Tensor, d: int, projective: bool, nodes: int = ANGLE_NODES):
    """Nodes θ and weights of ∫ · dV as ∫₀^{θ_max} · |S^{d−1}| sin^{d−1}θ dθ (θ_max = π on Sᵈ,
    π/2 on RPᵈ, whose ball of radius θ < π/2 is one of the sphere's), over
    [0, min(θ_max, 14√t)], and whether the rule spans all of [0, θ_max]."""
    x, w = gauss_legendre(nodes, torch.float64, t.device)
    top = PI / 2 if projective else PI
    end = (14 * torch.sqrt(t)).clamp(max=top)[..., None]
    theta = end * x
    shell = math.exp(log_volume(d - 1)) * torch.sin(theta) ** (d - 1)
    return theta, end * w * shell, end == top


def _excess_entropy(eps: torch.Tensor) -> torch.Tensor:
    """(1 + ε) log(1 + ε) − ε, by its Taylor series ε²/2 − ε³/6 + ε⁴/12 − ε⁵/20 + ε⁶/30 where
    |ε| < 1e-3 (the next term is a relative 1e-15), else directly."""
    small = eps.abs() < 1e-3
    e = torch.where(small, eps, torch.zeros_like(eps))
    taylor = e * e * (0.5 - e / 6 + e * e / 12 - e**3 / 20 + e**4 / 30)
    big = torch.where(small, torch.ones_like(eps), eps)
    return torch.where(small, taylor, (1 + big) * torch.log1p(big) - big)


def kl_by_quadrature(time: torch.Tensor, d: int, projective: bool = False) -> torch.Tensor:
    """KL(p_t ‖ uniform on Sᵈ or RPᵈ) by quadrature in θ (float64), at any t ≥ MIN_TIME."""
    t = torch.as_tensor(time).double()
    theta, weight, whole = _angle_quadrature(t, d, projective)
    tt = t[..., None]
    series = tt >= SERIES_FROM
    log_volume_x = log_volume(d, projective)
    # large t: ε from the series (exact even where tiny); the other branch sees safe times
    eps_series = series_excess(theta, torch.where(series, tt, torch.ones_like(tt)), d, projective)
    t_short = torch.where(series, torch.full_like(tt, MIN_TIME), tt)
    log_ratio = log_heat_kernel(theta, t_short, d, projective) + log_volume_x
    eps_short = torch.expm1(log_ratio)
    # where |X| p underflows to 0 (small t, far out) the plain p log p form has no cancellation
    plain = log_ratio.exp() * log_ratio - eps_short
    short = torch.where(eps_short.abs() < 0.5, _excess_entropy(eps_short), plain)
    integrand = torch.where(series, _excess_entropy(eps_series), short)
    # where the rule stops short of θ_max the subtracted ε does not integrate to 0: add it back
    integrand = torch.where(
        whole, integrand, integrand + torch.where(series, eps_series, eps_short)
    )
    return (weight * integrand).sum(-1) / math.exp(log_volume_x)


def _kl_slope_by_quadrature(time: torch.Tensor, d: int, projective: bool) -> torch.Tensor:
    """dKL/dt = −E[(∂θ log p_t)²] (de Bruijn's identity)."""
    t = torch.as_tensor(time, dtype=torch.float64)
    theta, weight, _ = _angle_quadrature(t, d, projective)
    log_p = log_heat_kernel(theta, t[..., None], d, projective)
    slope = log_density_slope(theta, t[..., None], d, projective)
    return -(weight * log_p.exp() * slope**2).sum(-1)


_tables: dict[tuple[int, bool], dict[str, torch.Tensor]] = {}


def _kl_table(d: int, projective: bool) -> dict[str, torch.Tensor]:
    """log KL and its derivative in u = log t at evenly spaced u in [MIN_TIME, SERIES_FROM]."""
    key = (d, projective)
    if key not in _tables:
        with torch.no_grad():
            u = torch.linspace(
                math.log(MIN_TIME), math.log(SERIES_FROM), TABLE_NODES, dtype=torch.float64
            )
            t = u.exp()
            kl = kl_by_quadrature(t, d, projective)
            slope = t * _kl_slope_by_quadrature(t, d, projective) / kl  # d log KL / d log t
        _tables[key] = {"u0": u[0], "h": u[1] - u[0], "value": kl.log(), "slope": slope}
    return _tables[key]


def kl_to_uniform(time: torch.Tensor, d: int, projective: bool = False) -> torch.Tensor:
    """KL(p_t ‖ uniform on Sᵈ or RPᵈ) per element of ``time`` (≥ MIN_TIME), differentiable
    in t, in ``time``'s dtype."""
    t = torch.as_tensor(time)
    dtype = t.dtype
    t = t.double()
    table = _kl_table(d, projective)
    value, slope = table["value"].to(t.device), table["slope"].to(t.device)
    h = float(table["h"])
    series = t >= SERIES_FROM
    t_table = torch.where(series, torch.full_like(t, MIN_TIME), t)
    pos = (torch.log(t_table) - float(table["u0"])) / h
    # a NaN time indexes node 0 and stays NaN, so the loss reports it instead of an index error
    i = torch.nan_to_num(pos.detach(), nan=0.0).floor().clamp(0, TABLE_NODES - 2).long()
    s = pos - i
    s2, s3 = s * s, s * s * s
    log_kl = (
        (2 * s3 - 3 * s2 + 1) * value[i]
        + (s3 - 2 * s2 + s) * h * slope[i]
        + (-2 * s3 + 3 * s2) * value[i + 1]
        + (s3 - s2) * h * slope[i + 1]
    )
    t_series = torch.where(series, t, torch.full_like(t, SERIES_FROM))
    return torch.where(series, kl_by_quadrature(t_series, d, projective), log_kl.exp()).to(dtype)
