"""The heat kernel on the circle: the posterior family of the diffusion VAE (thesis ch. 7, app. A).

The solution of the diffusion equation ∂p/∂t = ∂²p/∂θ² on Θ = [−π, π) with periodic boundary
conditions, started from a point mass at μ, is

    p_t(θ) = (1/2π) [1 + 2 Σ_{m≥1} e^{−m²t} cos(m(θ − μ))]                  (Fourier series)
           = Σ_{k∈ℤ} N(θ − μ + 2πk; 0, 2t)                 (wrapped normal of variance 2t)

(the two agree by Poisson summation). The thesis prints the series without the factor 2 on the
m ≥ 1 terms (eq. 7.5, A.19; the erratum is in docs/circular.md) and samples with standard deviation
t instead of √(2t) (eq. 7.10); :class:`HeatKernel` is the true kernel with a sampler that matches
its density, :class:`ThesisHeatKernel` reproduces both printed formulas for comparison with the
thesis's tables.

Numerics: the density is the wrapped sum (k = −3…3, in log space) for t ≤ 1 and the Fourier
series (m ≤ 10) for t > 1; at t = 1 both truncations are below e^{−120}, so the switch is seamless
in float32 and float64. KL(p_t ‖ uniform) does not depend on μ: the closed form of a normal of
variance 2t below t = 0.05 (where wrapping changes nothing), a table of log KL in log t built once
by the trapezoid rule on a periodic grid (spectrally accurate for this smooth periodic integrand)
up to t = 8, and its series in q = e^{−t} above.
"""

from __future__ import annotations

import math

import torch
from torch import distributions as D
from torch.distributions import constraints

PI = math.pi
TWO_PI = 2 * math.pi
LOG_2PI = math.log(TWO_PI)
SWITCH_TIME = 1.0
"""Below (or at) this time the density is a wrapped sum of Gaussians, above a Fourier series."""
WRAP_TERMS = 3
FOURIER_TERMS = 10
GAUSSIAN_KL_BELOW = 0.05
"""Below this time KL(p_t ‖ uniform) is that of a normal of variance 2t: the mass the normal
puts beyond ±π, erfc(π/(2√t)) < 10⁻²², is all that wrapping changes."""
QUADRATURE_NODES = 64


def wrap(theta: torch.Tensor) -> torch.Tensor:
    """Angles mapped to [−π, π) (gradients pass through unchanged)."""
    return torch.remainder(theta + PI, TWO_PI) - PI


def heat_kernel_log_density(delta: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
    """log p_t(μ + δ) for angle differences ``delta`` and times ``time`` (broadcast together)."""
    delta, time = torch.broadcast_tensors(wrap(delta), torch.as_tensor(time, dtype=delta.dtype))
    small = time <= SWITCH_TIME
    one = torch.ones_like(time)
    t_small = torch.where(small, time, one)  # each branch sees only safe values, so neither
    t_large = torch.where(small, one, time)  # produces NaN gradients through the other's mask
    k = torch.arange(-WRAP_TERMS, WRAP_TERMS + 1, dtype=delta.dtype, device=delta.device)
    d = delta.unsqueeze(-1) + TWO_PI * k
    log_small = torch.logsumexp(-d.pow(2) / (4 * t_small.unsqueeze(-1)), -1) - 0.5 * torch.log(
        4 * PI * t_small
    )
    m = torch.arange(1, FOURIER_TERMS + 1, dtype=delta.dtype, device=delta.device)
    series = (
        torch.exp(-m.pow(2) * t_large.unsqueeze(-1)) * torch.cos(m * delta.unsqueeze(-1))
    ).sum(-1)
    log_large = torch.log1p(2 * series) - LOG_2PI
    return torch.where(small, log_small, log_large)


def kl_by_quadrature(time: torch.Tensor) -> torch.Tensor:
    """KL(p_t ‖ U[−π, π)) = ∫ p_t log(2π p_t) dθ by the trapezoid rule (float64, t ≥ 0.05).

    Even in δ, so the rule runs over [0, π] with half-weights at both ends; the integrand is
    smooth and periodic, so the error falls exponentially with the number of nodes.
    """
    t = torch.as_tensor(time, dtype=torch.float64)
    n = QUADRATURE_NODES // 2
    grid = torch.linspace(0.0, PI, n + 1, dtype=torch.float64, device=t.device)
    weights = torch.full_like(grid, 2 * PI / n)  # 2 × the step π/n: both halves of the circle
    weights[0] = weights[-1] = PI / n
    log_p = heat_kernel_log_density(grid, t.unsqueeze(-1))
    return (weights * log_p.exp() * (log_p + LOG_2PI)).sum(-1)


TABLE_RANGE = (GAUSSIAN_KL_BELOW, 8.0)
"""Between these times KL is read from a table; above, from its series in q = e^{−t}."""
TABLE_NODES = 2048
_table: dict[str, torch.Tensor] = {}


def _kl_table() -> dict[str, torch.Tensor]:
    """log KL and its derivative in u = log t at evenly spaced u (built once, by quadrature)."""
    if not _table:
        # plain tensors only (no autograd), so the table can be built inside torch.func transforms
        with torch.no_grad():
            u = torch.linspace(
                *(math.log(v) for v in TABLE_RANGE), TABLE_NODES, dtype=torch.float64
            )
            log_kl = torch.log(kl_by_quadrature(u.exp()))
            d = 1e-4  # central differences: slope error ~ d² (1e-8), value error ~ 1e-10
            slope = (
                torch.log(kl_by_quadrature((u + d).exp()))
                - torch.log(kl_by_quadrature((u - d).exp()))
            ) / (2 * d)
        _table.update(u0=u[0], h=u[1] - u[0], value=log_kl, slope=slope)
    return _table


def _interpolate_log_kl(u: torch.Tensor) -> torch.Tensor:
    """Cubic Hermite interpolation of log KL at u = log t (C¹, differentiable in u)."""
    table = _kl_table()
    value, slope = table["value"].to(u.device), table["slope"].to(u.device)
    h = float(table["h"])
    pos = (u - float(table["u0"])) / h
    # a NaN time (a diverging encoder) indexes node 0 and stays NaN through s, so the loss
    # becomes NaN and the trainer reports it, instead of an out-of-range index
    i = torch.nan_to_num(pos.detach(), nan=0.0).floor().clamp(0, TABLE_NODES - 2).long()
    s = pos - i
    s2, s3 = s * s, s * s * s
    return (
        (2 * s3 - 3 * s2 + 1) * value[i]
        + (s3 - 2 * s2 + s) * h * slope[i]
        + (-2 * s3 + 3 * s2) * value[i + 1]
        + (s3 - s2) * h * slope[i + 1]
    )


def heat_kernel_kl_to_uniform(time: torch.Tensor) -> torch.Tensor:
    """KL(p_t ‖ U[−π, π)) per element of ``time``, computed in float64, in three regimes:

    * t < 0.05: log 2π − H(N(0, 2t)), exact to the wrapped mass erfc(π/(2√t)) < 10⁻²²;
    * 0.05 ≤ t ≤ 8: a cubic Hermite table of log KL in log t, built once by
      :func:`kl_by_quadrature` with central-difference derivatives (relative error
      ~10⁻¹⁰, cheap in a training loop);
    * t > 8: q² + q⁴/2 − q⁶/3 with q = e^{−t} — expanding (1 + ε) log(1 + ε) for the Fourier
      series ε of the kernel and integrating term by term; the next term is O(q⁸), a relative
      e^{−48}.
    """
    t = torch.as_tensor(time).to(torch.float64)
    low, high = TABLE_RANGE
    tiny, huge = t < low, t > high
    t_gauss = torch.where(tiny, t, torch.full_like(t, low))
    t_table = torch.where(tiny | huge, torch.full_like(t, low), t)
    t_tail = torch.where(huge, t, torch.full_like(t, high))
    kl_gauss = LOG_2PI - 0.5 * torch.log(4 * PI * math.e * t_gauss)  # H = ½ log(2πe · 2t)
    kl_table = torch.exp(_interpolate_log_kl(torch.log(t_table)))
    q2 = torch.exp(-2 * t_tail)
    kl_tail = q2 * (1 + q2 / 2 - q2 * q2 / 3)
    kl = torch.where(tiny, kl_gauss, torch.where(huge, kl_tail, kl_table)).clamp_min(0.0)
    return kl.to(torch.as_tensor(time).dtype)


class HeatKernel(D.Distribution):
    """The heat kernel on the circle with location ``loc`` (μ) and time ``time`` (t > 0).

    Batch shape: the broadcast shape of ``loc`` and ``time``; values are angles in [−π, π).
    ``rsample`` draws θ = wrap(μ + √(2t)·ε), ε ~ N(0, 1), exactly the density's distribution and
    differentiable in μ and t. Locations outside [−π, π) are wrapped; a time that is not
    positive raises ``ValueError``.
    """

    arg_constraints = {"loc": constraints.real, "time": constraints.positive}  # noqa: RUF012
    support = constraints.interval(-PI, PI)
    has_rsample = True

    def __init__(self, loc: torch.Tensor, time: torch.Tensor, validate_args: bool | None = None):
        loc, time = torch.broadcast_tensors(torch.as_tensor(loc), torch.as_tensor(time))
        if not loc.is_floating_point():
            loc = loc.to(torch.get_default_dtype())
        time = time.to(loc.dtype)
        if validate_args is not False and bool((time <= 0).any()):
            bad = time[time <= 0].flatten()[0].item()
            raise ValueError(f"time: expected t > 0 for every posterior, got {bad}")
        self.loc, self.time = wrap(loc), time
        super().__init__(loc.shape, validate_args=False)

    # -- sampling ------------------------------------------------------------------------------
    def _from_noise(self, eps: torch.Tensor) -> torch.Tensor:
        """The reparameterisation: angles from standard-normal noise of shape (*, *batch)."""
        return wrap(self.loc + torch.sqrt(2 * self.time) * eps)

    def rsample(self, sample_shape: torch.Size | tuple = ()) -> torch.Tensor:
        shape = torch.Size(sample_shape) + self.batch_shape
        return self._from_noise(torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device))

    def sample_with(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` reparameterised samples drawn with ``generator`` (the global RNG is untouched)."""
        eps = torch.randn(
            (n, *self.batch_shape),
            generator=generator,
            dtype=self.loc.dtype,
            device=self.loc.device,
        )
        return self._from_noise(eps)

    # -- density -------------------------------------------------------------------------------
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return heat_kernel_log_density(torch.as_tensor(value) - self.loc, self.time)

    def kl_to_uniform(self) -> torch.Tensor:
        """KL to the uniform distribution on the circle (thesis eq. 7.8), exact to quadrature."""
        return heat_kernel_kl_to_uniform(self.time)

    def entropy(self) -> torch.Tensor:
        return LOG_2PI - self.kl_to_uniform()

    @property
    def mean(self) -> torch.Tensor:
        """The circular mean direction μ (the arithmetic mean of angles is meaningless)."""
        return self.loc

    def expand(self, batch_shape: torch.Size, _instance=None) -> HeatKernel:
        shape = torch.Size(batch_shape)
        return type(self)(self.loc.expand(shape), self.time.expand(shape), validate_args=False)


class ThesisHeatKernel(HeatKernel):
    """The formulas as printed in the thesis, for comparison with tables 7.1 and 9.2.

    Density eq. 7.5: (1/2π) Σ_{m≥0} e^{−m²t} cos(m(θ − μ)), which equals ½ uniform + ½ the true
    heat kernel (the printed series lacks the factor 2), evaluated through that identity so it is
    exact for every t. Sampler eq. 7.10: θ = wrap(μ + t·ε), a wrapped normal of standard deviation
    t, which is not the distribution of this density. There is no closed-form KL: the thesis
    estimates it by Monte Carlo (eq. 7.9).
    """

    def _from_noise(self, eps: torch.Tensor) -> torch.Tensor:
        return wrap(self.loc + self.time * eps)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        true = super().log_prob(value)
        return torch.logaddexp(true, torch.full_like(true, -LOG_2PI)) - math.log(2.0)

    def kl_to_uniform(self) -> torch.Tensor:
        raise NotImplementedError(
            "the thesis-compatible density has no closed-form KL; estimate it by Monte Carlo "
            "(thesis eq. 7.9)"
        )

    def entropy(self) -> torch.Tensor:
        raise NotImplementedError("no closed-form entropy for the thesis-compatible density")
