"""The heat kernel on the sphere Sᵈ ⊂ R^{d+1}: the posterior of the diffusion VAE on spheres
(Pérez Rey, Menkovski and Portegies 2020), exact to float64 precision for d = 2 and d = 3.

The kernel solves ∂p/∂t = Δp (Δ the Laplace-Beltrami operator; the circle's convention, where
p_t is a wrapped normal of variance 2t) from a point mass at μ; it depends on z only through
the geodesic distance θ = ∠(μ, z). With ν = (d − 1)/2, Δ's eigenvalues l(l + 2ν) and the
zonal harmonics (Gegenbauer polynomials C_l^ν), its density with respect to the volume of Sᵈ
is the series

    p_t(θ) = (1/|Sᵈ|) Σ_{l≥0} ((l + ν)/ν) e^{−l(l+2ν)t} C_l^ν(cos θ)               (1)

which converges fast for large t but, for small t, needs ~√(40/t) terms whose sum cancels to
a tiny value in the tails. For small t there are exact closed forms instead:

* d = 3 (ν = 1, C_l^1(cos θ) = sin((l+1)θ)/sin θ): Poisson summation of (1) gives the images

      p_t(θ) = e^t (4πt)^{−3/2} Σ_{k∈ℤ} ((θ + 2πk)/sin θ) e^{−(θ+2πk)²/4t}          (2)

* d = 2 (ν = ½, Legendre polynomials): the Mehler-Dirichlet integral
  P_l(cos θ) = (√2/π) ∫_θ^π sin((l+½)φ)/√(cos θ − cos φ) dφ turns (1) into

      p_t(θ) = √2 e^{t/4} (4πt)^{−3/2} ∫_θ^π Σ_{k∈ℤ} (−1)^k (φ + 2πk) e^{−(φ+2πk)²/4t}
               / √(cos θ − cos φ) dφ                                                    (3)

  evaluated with φ = √(θ² + 4tv²), so that e^{−φ²/4t} = e^{−θ²/4t} e^{−v²}, by Gauss-Legendre
  quadrature in v (the integrand is smooth; 24 nodes reach 1e-13).

Times at or above ``SERIES_FROM`` use (1) with ``SERIES_TERMS`` terms (the first omitted term is
below e^{−66}); smaller times use (2) or (3). Everything is computed in log space, so densities
far in the tails (e^{−θ²/4t} below float64's range) stay finite.

On the projective space RPᵈ = Sᵈ/± the kernel is the sphere's summed over the two lifts ±z,
p_t(θ) + p_t(π − θ); in (1) only the even degrees remain. KL(p_t ‖ uniform) is in
:mod:`.heat_kernel_kl`.

Sampling draws θ by rejection from caller-supplied standard normals and reflects it onto a
uniformly random direction around μ: for small t the proposal is the tangent-space normal of
covariance 2t·I_d (radius √(2t)·|n|), for large t the uniform distribution on Sᵈ; their
acceptance ratios are bounded by their values at θ = 0 (the kernel decreases in θ; the tests
check both bounds on a grid). Gradients reach t by implicit reparameterisation (Figurnov et al.
2018): ∂θ/∂t = −(∂F/∂t)/f for the CDF F of θ, and since ∂p/∂t = Δp, the flux through the
sphere of radius θ gives ∂θ/∂t = −∂θ log p_t(θ).
"""

from __future__ import annotations

import math

import torch

from .quadrature import gauss_legendre

SPHERE_DIMS = (2, 3)
"""Sphere dimensions d whose heat kernel is implemented exactly at every time."""
MIN_TIME = 1e-6
"""The smallest time on the unit sphere (the KL table starts here; latents keep t above it)."""
SERIES_FROM = 0.5
"""At or above this time the density is the eigenfunction series (1), below the closed forms."""
SERIES_TERMS = 12
QUADRATURE_NODES = 24
V_MAX = 6.5
"""Upper end of the v-integral of (3): the omitted weight e^{−v²} is below e^{−42}."""
CANDIDATES = 32
"""Rejection proposals per sample. The better proposal is accepted with probability above 0.5
at every time (the tests check it), so all 32 fail with probability below 2^{−32} ≈ 2e-10;
then the last proposal is used."""
PI = math.pi


def log_volume(d: int, projective: bool = False) -> float:
    """log |Sᵈ| = log(2 π^{(d+1)/2} / Γ((d+1)/2)), or log |RPᵈ| = log(|Sᵈ|/2)."""
    log_sphere = math.log(2.0) + (d + 1) / 2 * math.log(PI) - math.lgamma((d + 1) / 2)
    return log_sphere - math.log(2.0) if projective else log_sphere


def geodesic_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """∠(a, b) for unit vectors, as 2·atan2(|a − b|, |a + b|): accurate near 0 and π, where
    arccos of the dot product loses half the digits."""
    return 2.0 * torch.atan2((a - b).norm(dim=-1), (a + b).norm(dim=-1))


# -- the density ---------------------------------------------------------------------------------
def series_excess(
    theta: torch.Tensor, t: torch.Tensor, d: int, projective: bool = False
) -> torch.Tensor:
    """ε = |X| p_t − 1 from the series (1) without its constant term, for X = Sᵈ, or RPᵈ where
    only the even degrees remain (the odd zonal harmonics change sign under z → −z): exact to
    float64 relative precision even where ε is tiny (large t)."""
    nu = (d - 1) / 2
    x = torch.cos(theta)
    previous, current = torch.ones_like(x), 2 * nu * x
    total = torch.zeros_like(x)
    if not projective:
        total = total + ((1 + nu) / nu) * torch.exp(-(1 + 2 * nu) * t) * current
    for l in range(1, SERIES_TERMS):
        previous, current = (
            current,
            (2 * x * (l + nu) * current - (l + 2 * nu - 1) * previous) / (l + 1),
        )
        n = l + 1
        if projective and n % 2:
            continue
        total = total + ((n + nu) / nu) * torch.exp(-n * (n + 2 * nu) * t) * current
    return total


def _log_s2_short(theta: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """log of (3) for t < SERIES_FROM, with images k = −1, 0, 1 (the others are below e^{−39}
    of the sum)."""
    s, w = gauss_legendre(QUADRATURE_NODES, torch.float64, theta.device)
    # at the antipode itself (3) is 0/0; the kernel is flat there, so π − 1e-12 is exact
    th, tt = theta.clamp(max=PI - 1e-12)[..., None], t[..., None]
    gap = PI - th  # π − θ, kept apart: near the antipode π − φ must not come from a difference
    v_end = torch.sqrt(gap * (PI + th) / (4 * tt))
    v_max = v_end.clamp(max=V_MAX)
    v = v_max * s
    phi = torch.sqrt(th**2 + 4 * tt * v**2)
    rise = 4 * tt * v**2 / (phi + th)  # φ − θ
    gap_phi = gap * (PI + th) * (1 - (v / v_end) ** 2) / (PI + phi)  # π − φ
    # cos θ − cos φ = 2 sin((φ − θ)/2) sin((φ + θ)/2), and sin((φ + θ)/2) = sin(((π−φ)+(π−θ))/2)
    spread = 2 * torch.sin(rise / 2) * torch.sin((gap_phi + gap) / 2)
    images = torch.ones_like(phi)
    for k in (-1, 1):
        factor = (-1) ** k * (phi + 2 * PI * k) / phi
        images = images + factor * torch.exp(-PI * k * (phi + PI * k) / tt)
    integrand = 4 * tt * v * torch.exp(-(v**2)) * images / torch.sqrt(spread)
    integral = (w * v_max * integrand).sum(-1)
    return (
        0.5 * math.log(2.0)
        + t / 4
        - 1.5 * torch.log(4 * PI * t)
        - th[..., 0] ** 2 / (4 * t)
        + torch.log(integral)
    )


def _log_s3_short(theta: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """log of (2) for t < SERIES_FROM, in a form without cancellation on each half.

    θ ≤ π/2: e^{−θ²/4t}·(θ/sin θ)·[1 + Σ_{k≠0} ((θ + 2πk)/θ) e^{−πk(θ + πk)/t}] (k = ±1, ±2,
    each pair ±k summed in closed form, since apart they cancel as θ → 0).
    θ > π/2, ψ = π − θ: the pair k = 0, −1 is e^{−θ²/4t}·[θ − (2π − θ) e^{−πψ/t}], which
    vanishes with sin θ at the antipode; written as ψ·[(π + ψ)(π/t)·g(πψ/t) − 2] with
    g(x) = (1 − e^{−x})/x, it loses nothing.
    """
    low = theta <= PI / 2
    th = torch.where(low, theta, torch.full_like(theta, PI / 4)).clamp_min(1e-300)
    images = torch.ones_like(th)
    for k in (1, 2):
        # the images ±k together: e^{−π²k²/t}·2[cosh x − (2π²k²/t)·sinh(x)/x], x = πkθ/t, with
        # e^{−π²k²/t} taken into e^{±x} (x ≤ π²k/2t, so neither overflows)
        x = PI * k * th / t
        decay = PI**2 * k**2 / t
        up, down = torch.exp(x - decay), torch.exp(-x - decay)
        small = x < 1e-6
        sinhc = torch.where(
            small, torch.exp(-decay) * (1 + x * x / 6), (up - down) / (2 * x.clamp_min(1e-6))
        )
        images = images + (up + down) - 4 * decay * sinhc
    log_low = torch.log(th / torch.sin(th)) + torch.log(images) - th**2 / (4 * t)

    psi = torch.where(low, torch.full_like(theta, PI / 4), PI - theta).clamp_min(1e-300)
    x = PI * psi / t
    g = torch.where(x < 1e-8, 1 - x / 2, -torch.expm1(-x) / x)
    pair = (psi / torch.sin(psi)) * ((PI + psi) * (PI / t) * g - 2)
    # the next pairs of images (k = 1, −2): e^{−((θ+2π)² − θ²)/4t} and e^{−((θ−4π)² − θ²)/4t}
    th_high = PI - psi
    rest = (th_high + 2 * PI) * torch.exp(-PI * (th_high + PI) / t) - (
        4 * PI - th_high
    ) * torch.exp(-2 * PI * (2 * PI - th_high) / t)
    log_high = torch.log(pair + rest / torch.sin(psi)) - th_high**2 / (4 * t)
    return t - 1.5 * torch.log(4 * PI * t) + torch.where(low, log_low, log_high)


def log_heat_kernel(
    theta: torch.Tensor, time: torch.Tensor, d: int, projective: bool = False
) -> torch.Tensor:
    """log p_t(θ) on Sᵈ (density with respect to the volume) for geodesic distances ``theta``
    in [0, π] and times ``time`` ≥ MIN_TIME, broadcast together; computed in float64 and
    returned in ``theta``'s dtype. ``projective``: on RPᵈ = Sᵈ/±, whose kernel is the sphere's
    summed over the two lifts ±z, p_t(θ) + p_t(π − θ)."""
    if d not in SPHERE_DIMS:
        raise ValueError(f"the heat kernel on S^d is implemented for d in {SPHERE_DIMS}, got {d}")
    dtype = theta.dtype
    theta, t = torch.broadcast_tensors(theta.double(), torch.as_tensor(time).double())
    theta = theta.clamp(0.0, PI)
    series = t >= SERIES_FROM
    t_series = torch.where(series, t, torch.full_like(t, SERIES_FROM))
    t_short = torch.where(series, torch.full_like(t, SERIES_FROM / 2), t)
    short = _log_s2_short if d == 2 else _log_s3_short
    log_short = short(theta, t_short)
    if projective:
        log_short = torch.logaddexp(log_short, short(PI - theta, t_short))
    log_series = torch.log1p(series_excess(theta, t_series, d, projective))
    # each branch sees only safe values, so neither produces NaN gradients through the other
    out = torch.where(series, log_series - log_volume(d, projective), log_short)
    return out.to(dtype)


def log_density_slope(
    theta: torch.Tensor, time: torch.Tensor, d: int, projective: bool = False
) -> torch.Tensor:
    """∂θ log p_t(θ) by a central difference in float64 (the kernel is even about 0 and π, so
    steps beyond them reflect back); step 1e-4·min(√(2t), 1), relative error ~1e-8."""
    theta, t = torch.broadcast_tensors(theta.double(), torch.as_tensor(time).double())
    h = 1e-4 * torch.sqrt(2 * t).clamp(max=1.0)

    def reflected(a: torch.Tensor) -> torch.Tensor:
        a = a.abs()
        return torch.where(a > PI, 2 * PI - a, a)

    up = log_heat_kernel(reflected(theta + h), t, d, projective)
    down = log_heat_kernel(reflected(theta - h), t, d, projective)
    return (up - down) / (2 * h)


# -- sampling ------------------------------------------------------------------------------------
def noise_size(d: int) -> int:
    """Standard normals one sample consumes: d + 1 for the direction around μ, and per
    candidate d + 1 for the proposal and one for its acceptance test."""
    return (d + 1) + CANDIDATES * (d + 2)


def _tangent_terms(theta: torch.Tensor, t: torch.Tensor, d: int) -> torch.Tensor:
    """(d − 1) log(sin θ/θ) + θ²/4t + (d/2) log(4πt): the tangent normal's part of the ratio."""
    th = theta.clamp_min(1e-300)
    sinc = torch.where(theta < 1e-8, torch.ones_like(theta), torch.sin(th) / th)
    return (d - 1) * torch.log(sinc) + theta**2 / (4 * t) + (d / 2) * torch.log(4 * PI * t)


def _log_tangent_ratio(theta: torch.Tensor, t: torch.Tensor, d: int) -> torch.Tensor:
    """log of the kernel's angle density over the tangent normal's radius density, up to a
    constant: (d − 1) log(sin θ/θ) + log p_t(θ) + θ²/4t + (d/2) log(4πt)."""
    return _tangent_terms(theta, t, d) + log_heat_kernel(theta, t, d)


def _acceptances(
    t: torch.Tensor, d: int, log_peak: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Acceptance probabilities of one tangent-normal and one uniform proposal, from the
    kernel's log peak log p_t(0)."""
    # P(|n|² < π²/2t) for n ~ N(0, I_d): the regularised lower incomplete gamma at d/2
    inside = torch.special.gammainc(torch.full_like(t, d / 2), PI**2 / (4 * t))
    tangent = inside * torch.exp(-(_tangent_terms(torch.zeros_like(t), t, d) + log_peak))
    return tangent, torch.exp(-log_volume(d) - log_peak)


def tangent_proposal_accepts(t: torch.Tensor, d: int) -> torch.Tensor:
    """Acceptance probability of one tangent-normal proposal: P(radius < π)/ratio(0)."""
    return _acceptances(t, d, log_heat_kernel(torch.zeros_like(t), t, d))[0]


def uniform_proposal_accepts(t: torch.Tensor, d: int) -> torch.Tensor:
    """Acceptance probability of one uniform proposal: 1/(|Sᵈ| p_t(0))."""
    return _acceptances(t, d, log_heat_kernel(torch.zeros_like(t), t, d))[1]


def sample_angles(time: torch.Tensor, normals: torch.Tensor, d: int) -> torch.Tensor:
    """Geodesic distances θ ~ p_t's angle law from standard normals
    ``(..., CANDIDATES·(d + 2))`` (float64, no gradient): the first accepted candidate."""
    t = time.double().detach()
    n = normals.double().unflatten(-1, (CANDIDATES, d + 2))
    tc = t[..., None]
    tangent = torch.sqrt(2 * tc) * n[..., 1 : d + 1].norm(dim=-1)
    uniform = torch.atan2(n[..., 1 : d + 1].norm(dim=-1), n[..., 0])
    log_peak = log_heat_kernel(torch.zeros_like(t), t, d)  # both ratios are bounded by θ = 0
    accepts_tangent, accepts_uniform = _acceptances(t, d, log_peak)
    use_tangent = accepts_tangent >= accepts_uniform
    theta = torch.where(use_tangent[..., None], tangent, uniform)
    inside = theta < PI
    safe = torch.where(inside, theta, torch.zeros_like(theta))
    # one kernel evaluation per candidate serves both proposals' ratios
    log_p = log_heat_kernel(safe, tc, d) - log_peak[..., None]
    log_ratio_tangent = _tangent_terms(safe, tc, d) - _tangent_terms(torch.zeros_like(tc), tc, d)
    log_ratio = torch.where(use_tangent[..., None], log_ratio_tangent + log_p, log_p)
    log_u = torch.log(torch.special.ndtr(n[..., d + 1]).clamp_min(1e-300))
    accept = inside & (log_u < log_ratio)
    first = torch.where(
        accept.any(-1),
        accept.double().argmax(-1),
        torch.full_like(t, CANDIDATES - 1, dtype=torch.long),
    )
    return safe.gather(-1, first[..., None])[..., 0]


def _orthogonal_direction(loc: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """A uniformly random unit vector orthogonal to ``loc`` (normals projected and scaled)."""
    v = normals - (normals * loc).sum(-1, keepdim=True) * loc
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-30)
