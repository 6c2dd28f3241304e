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
  quadrature in v (the integrand is smooth; 48 nodes reach 1e-14).

Times at or above ``SERIES_FROM`` use (1) with ``SERIES_TERMS`` terms (the first omitted term is
below e^{−66}); smaller times use (2) or (3). Everything is computed in log space, so densities
far in the tails (e^{−θ²/4t} below float64's range) stay finite.

KL(p_t ‖ uniform) does not depend on μ. It is read from a cubic Hermite table of log KL in
log t (built once per d by quadrature, slopes from de Bruijn's identity dKL/dt = −E[(∂θ log p)²])
between ``MIN_TIME`` and ``TABLE_TIMES[1]``, and above from its first eigenfunction terms,
KL ≈ ½ Σ_{l=1,2} N_l e^{−2l(l+d−1)t} (N_l the multiplicity of degree l).

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
"""The smallest time: the KL table starts here (the posterior of a latent keeps t above it)."""
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
TABLE_TIMES = (MIN_TIME, 4.0)
"""Between these times KL is read from a table; above, from the series of its eigenfunctions
(quadrature above 4 would subtract numbers equal to ~1e-11 for d = 3)."""
TABLE_NODES = 512
PI = math.pi


def log_volume(d: int) -> float:
    """log |Sᵈ| = log(2 π^{(d+1)/2} / Γ((d+1)/2))."""
    return math.log(2.0) + (d + 1) / 2 * math.log(PI) - math.lgamma((d + 1) / 2)


def geodesic_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """∠(a, b) for unit vectors, as 2·atan2(|a − b|, |a + b|): accurate near 0 and π, where
    arccos of the dot product loses half the digits."""
    return 2.0 * torch.atan2((a - b).norm(dim=-1), (a + b).norm(dim=-1))


# -- the density ---------------------------------------------------------------------------------
def _log_series(theta: torch.Tensor, t: torch.Tensor, d: int) -> torch.Tensor:
    """log of (1) by the Gegenbauer recurrence (t ≥ SERIES_FROM: all terms positive-dominated)."""
    nu = (d - 1) / 2
    x = torch.cos(theta)
    previous, current = torch.ones_like(x), 2 * nu * x
    total = torch.ones_like(x) + ((1 + nu) / nu) * torch.exp(-(1 + 2 * nu) * t) * current
    for l in range(1, SERIES_TERMS):
        previous, current = (
            current,
            (2 * x * (l + nu) * current - (l + 2 * nu - 1) * previous) / (l + 1),
        )
        n = l + 1
        total = total + ((n + nu) / nu) * torch.exp(-n * (n + 2 * nu) * t) * current
    return torch.log(total) - log_volume(d)


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


def log_heat_kernel(theta: torch.Tensor, time: torch.Tensor, d: int) -> torch.Tensor:
    """log p_t(θ) on Sᵈ (density with respect to the volume) for geodesic distances ``theta``
    in [0, π] and times ``time`` ≥ MIN_TIME, broadcast together; computed in float64 and
    returned in ``theta``'s dtype."""
    if d not in SPHERE_DIMS:
        raise ValueError(f"the heat kernel on S^d is implemented for d in {SPHERE_DIMS}, got {d}")
    dtype = theta.dtype
    theta, t = torch.broadcast_tensors(theta.double(), torch.as_tensor(time).double())
    theta = theta.clamp(0.0, PI)
    series = t >= SERIES_FROM
    t_series = torch.where(series, t, torch.full_like(t, SERIES_FROM))
    t_short = torch.where(series, torch.full_like(t, SERIES_FROM / 2), t)
    short = _log_s2_short if d == 2 else _log_s3_short
    # each branch sees only safe values, so neither produces NaN gradients through the other
    out = torch.where(series, _log_series(theta, t_series, d), short(theta, t_short))
    return out.to(dtype)


def log_density_slope(theta: torch.Tensor, time: torch.Tensor, d: int) -> torch.Tensor:
    """∂θ log p_t(θ) by a central difference in float64 (the kernel is even about 0 and π, so
    steps beyond them reflect back); step 1e-4·min(√(2t), 1), relative error ~1e-8."""
    theta, t = torch.broadcast_tensors(theta.double(), torch.as_tensor(time).double())
    h = 1e-4 * torch.sqrt(2 * t).clamp(max=1.0)

    def reflected(a: torch.Tensor) -> torch.Tensor:
        a = a.abs()
        return torch.where(a > PI, 2 * PI - a, a)

    up = log_heat_kernel(reflected(theta + h), t, d)
    down = log_heat_kernel(reflected(theta - h), t, d)
    return (up - down) / (2 * h)


# -- KL to the uniform distribution --------------------------------------------------------------
def _angle_quadrature(t: torch.Tensor, d: int, nodes: int = 96):
    """Gauss-Legendre nodes θ and weights for ∫₀^π · |S^{d−1}| sin^{d−1}θ dθ at each time,
    over [0, min(π, 14√t)] (beyond, the kernel is below e^{−49} of its peak), and whether the
    rule spans all of [0, π]."""
    x, w = gauss_legendre(nodes, torch.float64, t.device)
    end = (14 * torch.sqrt(t)).clamp(max=PI)[..., None]
    theta = end * x
    shell = math.exp(log_volume(d - 1)) * torch.sin(theta) ** (d - 1)
    return theta, end * w * shell, end == PI


def kl_by_quadrature(time: torch.Tensor, d: int) -> torch.Tensor:
    """KL(p_t ‖ uniform) by quadrature in θ (float64), as ∫ [(1 + ε) log(1 + ε) − ε] dV/|Sᵈ|
    with ε = |Sᵈ| p_t − 1: over the whole sphere the subtracted ε integrates to 0, and without
    it the integrand's terms of order ε would cancel to the KL's order ε² (1e-11 against 1e-16
    at t = 4, d = 3). Where the rule stops short of π (small t) nothing is subtracted."""
    t = torch.as_tensor(time, dtype=torch.float64)
    theta, weight, whole = _angle_quadrature(t, d)
    log_ratio = log_heat_kernel(theta, t[..., None], d) + log_volume(d)
    eps = torch.expm1(log_ratio)
    near = eps.abs() < 0.5  # elsewhere no cancellation, and |Sᵈ| p may underflow to 0
    integrand = torch.where(
        near, (1 + eps) * torch.log1p(eps.clamp(-0.5, 0.5)), log_ratio.exp() * log_ratio
    )
    integrand = torch.where(whole, integrand - eps, integrand)  # whole: ∫ ε dV = 0
    return (weight * integrand).sum(-1) / math.exp(log_volume(d))


def _kl_slope_by_quadrature(time: torch.Tensor, d: int) -> torch.Tensor:
    """dKL/dt = −E[(∂θ log p_t)²] (de Bruijn's identity, from ∂p/∂t = Δp)."""
    t = torch.as_tensor(time, dtype=torch.float64)
    theta, weight, _ = _angle_quadrature(t, d)
    log_p = log_heat_kernel(theta, t[..., None], d)
    slope = log_density_slope(theta, t[..., None], d)
    return -(weight * log_p.exp() * slope**2).sum(-1)


_tables: dict[int, dict[str, torch.Tensor]] = {}


def _kl_table(d: int) -> dict[str, torch.Tensor]:
    """log KL + 2dt and its derivative in u = log t at evenly spaced u (built once per d);
    adding 2dt takes out the decay e^{−2dt} of large times, whose growing curvature in u would
    otherwise dominate the interpolation error."""
    if d not in _tables:
        with torch.no_grad():
            u = torch.linspace(
                *(math.log(v) for v in TABLE_TIMES), TABLE_NODES, dtype=torch.float64
            )
            t = u.exp()
            kl = kl_by_quadrature(t, d)
            slope = t * _kl_slope_by_quadrature(t, d) / kl  # d log KL / d log t
        _tables[d] = {
            "u0": u[0],
            "h": u[1] - u[0],
            "value": kl.log() + 2 * d * t,
            "slope": slope + 2 * d * t,
        }
    return _tables[d]


def kl_to_uniform(time: torch.Tensor, d: int) -> torch.Tensor:
    """KL(p_t ‖ uniform on Sᵈ) per element of ``time`` (≥ MIN_TIME), differentiable in t."""
    t = torch.as_tensor(time)
    dtype = t.dtype
    t = t.double()
    table = _kl_table(d)
    value, slope = table["value"].to(t.device), table["slope"].to(t.device)
    h = float(table["h"])
    huge = t > TABLE_TIMES[1]
    t_table = torch.where(huge, torch.full_like(t, TABLE_TIMES[0]), t)
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
    log_kl = log_kl - 2 * d * t_table
    t_tail = torch.where(huge, t, torch.full_like(t, TABLE_TIMES[1]))
    # (1 + ε) log(1 + ε) − ε = ε²/2 − ε³/6 + ε⁴/12 …, ε = Σ_l ((l+ν)/ν) e^{−l(l+d−1)t} C_l^ν:
    # E[ε²] = Σ_l N_l e^{−2l(l+d−1)t} (N_l the multiplicities; l = 1, 2 here), E[ε⁴] of the
    # l = 1 term (d + 1)x e^{−dt} is 3(d + 1)³ e^{−4dt}/(d + 3); the next terms are a relative
    # e^{−(2d+2)t} or e^{−2dt·2} below e^{−24} above t = 4
    tail = 0.5 * (
        (d + 1) * torch.exp(-2 * d * t_tail) + d * (d + 3) / 2 * torch.exp(-4 * (d + 1) * t_tail)
    ) + (d + 1) ** 3 / (4 * (d + 3)) * torch.exp(-4 * d * t_tail)
    return torch.where(huge, tail, torch.exp(log_kl)).to(dtype)


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


def tangent_proposal_accepts(t: torch.Tensor, d: int) -> torch.Tensor:
    """Acceptance probability of one tangent-normal proposal: P(radius < π)/ratio(0)."""
    # P(|n|² < π²/2t) for n ~ N(0, I_d): the regularised lower incomplete gamma at d/2
    inside = torch.special.gammainc(torch.full_like(t, d / 2), PI**2 / (4 * t))
    return inside * torch.exp(-_log_tangent_ratio(torch.zeros_like(t), t, d))


def uniform_proposal_accepts(t: torch.Tensor, d: int) -> torch.Tensor:
    """Acceptance probability of one uniform proposal: 1/(|Sᵈ| p_t(0))."""
    return torch.exp(-log_volume(d) - log_heat_kernel(torch.zeros_like(t), t, d))


def sample_angles(time: torch.Tensor, normals: torch.Tensor, d: int) -> torch.Tensor:
    """Geodesic distances θ ~ p_t's angle law from standard normals
    ``(..., CANDIDATES·(d + 2))`` (float64, no gradient): the first accepted candidate."""
    t = time.double().detach()
    n = normals.double().unflatten(-1, (CANDIDATES, d + 2))
    tc = t[..., None]
    tangent = torch.sqrt(2 * tc) * n[..., 1 : d + 1].norm(dim=-1)
    uniform = torch.atan2(n[..., 1 : d + 1].norm(dim=-1), n[..., 0])
    use_tangent = tangent_proposal_accepts(t, d) >= uniform_proposal_accepts(t, d)
    theta = torch.where(use_tangent[..., None], tangent, uniform)
    inside = theta < PI
    safe = torch.where(inside, theta, torch.zeros_like(theta))
    zero = torch.zeros_like(tc)
    # one kernel evaluation per candidate serves both proposals' ratios
    log_p = log_heat_kernel(safe, tc, d)
    log_ratio_uniform = log_p - log_heat_kernel(zero, tc, d)
    log_ratio_tangent = _tangent_terms(safe, tc, d) + log_p - _log_tangent_ratio(zero, tc, d)
    log_ratio = torch.where(use_tangent[..., None], log_ratio_tangent, log_ratio_uniform)
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


class SphereHeatKernel:
    """Heat kernels on Sᵈ with unit locations ``loc`` ``(..., d + 1)`` and times ``time``
    ``(...)`` (≥ MIN_TIME); d = loc's last size − 1, one of SPHERE_DIMS."""

    def __init__(self, loc: torch.Tensor, time: torch.Tensor):
        self.d = loc.shape[-1] - 1
        if self.d not in SPHERE_DIMS:
            raise ValueError(
                f"the heat kernel on S^d is implemented for d in {SPHERE_DIMS}: locations of "
                f"size 3 or 4, got size {loc.shape[-1]}"
            )
        self.loc, self.time = loc, time

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p_t(z) for unit vectors ``z`` ``(..., d + 1)`` (broadcast against the batch)."""
        return log_heat_kernel(geodesic_angle(self.loc, z), self.time, self.d)

    def kl_to_uniform(self) -> torch.Tensor:
        return kl_to_uniform(self.time, self.d)

    def entropy(self) -> torch.Tensor:
        return log_volume(self.d) - self.kl_to_uniform()

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The standard normals of ``n`` samples: ``(n, *batch, noise_size(d))``."""
        shape = (n, *self.time.shape, noise_size(self.d))
        return torch.randn(shape, generator=generator, dtype=self.loc.dtype).to(self.loc.device)

    def rsample_from(self, normals: torch.Tensor) -> torch.Tensor:
        """Samples ``(n, ..., d + 1)`` from standard normals ``(n, ..., noise_size(d))``,
        differentiable in ``loc`` and (implicitly) in ``time``."""
        d = self.d
        time = self.time.expand(normals.shape[:-1])
        theta = sample_angles(time, normals[..., d + 1 :], d)
        slope = log_density_slope(theta, time.detach(), d)
        # implicit reparameterisation: the value is θ, the derivative in t is −∂θ log p_t(θ)
        theta = (theta - (time - time.detach()) * slope).to(self.loc.dtype)
        loc = self.loc.expand((*normals.shape[:-1], d + 1))
        v = _orthogonal_direction(loc, normals[..., : d + 1])
        return torch.cos(theta)[..., None] * loc + torch.sin(theta)[..., None] * v

    @property
    def mean(self) -> torch.Tensor:
        """The location μ (the point the kernel spreads from)."""
        return self.loc
