"""Circular and toroidal latent spaces: S¹ and the n-torus Tⁿ = S¹ × … × S¹ (thesis ch. 7, 11).

Intrinsic coordinates are n angles in [−π, π); the decoder reads the embedding in R^{2n},
(r cos θ₁, r sin θ₁, …, r cos θₙ, r sin θₙ) (eq. 7.3 for one unit circle). The thesis scales
both circles of its torus by r = 1/√2 (the Clifford torus, on the unit sphere of R⁴); the later
published diffusion-VAE code uses unit circles, so r is a parameter (``radius``).

Prior: uniform on each circle (eq. 7.2). Posterior: a product of heat kernels
(:class:`~latentatlas.latent.heat_kernel.HeatKernel`, eq. 7.5 corrected), one per circle, with a
location from a 2-D encoder output through atan2 and a time t > 0 from a third output. KL: per
circle, exact to quadrature (eq. 7.8), or the Monte-Carlo estimate of eq. 7.9 as an option.
``thesis_compatible`` switches to the printed eq. 7.5 density and eq. 7.10 sampler (and so to the
Monte-Carlo KL) for comparison with tables 7.1 and 9.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import distributions as D
from torch.nn import functional as F

from ..config import Config, ConfigError, field
from ..registry import LATENT_SPACES
from .base import LatentSpace
from .heat_kernel import LOG_2PI, PI, HeatKernel, ThesisHeatKernel, wrap
from .scales import bounded_log_scale

CLIFFORD_RADIUS = 1 / math.sqrt(2)


@dataclass(frozen=True)
class TorusConfig(Config):
    dim: int = field(2, ge=1, doc="number of circles n (the torus Tⁿ)")
    radius: float = field(
        CLIFFORD_RADIUS, gt=0.0, doc="radius of each embedded circle (1/√2: the thesis's torus)"
    )
    time_param: str = field(
        "bounded",
        choices=("bounded", "softplus", "exp"),
        doc="how the encoder's third output o becomes t: bounded (default): log t = log "
        "min_time + (log max_time − log min_time)·sigmoid(o), a log-time inside [min_time, "
        "max_time]; softplus(o) or exp(o), plus min_time (softplus was the default before)",
    )
    min_time: float = field(1e-6, ge=0.0, doc="smallest posterior time t (keeps t > 0)")
    max_time: float = field(
        10.0, gt=0.0, doc="largest posterior time of time_param bounded (t = 10: uniform to 1e-8)"
    )
    kl: str = field(
        "auto",
        choices=("auto", "quadrature", "monte_carlo"),
        doc="KL to the uniform prior: exact quadrature, or the Monte-Carlo estimate of eq. 7.9 "
        "(auto: quadrature, or Monte Carlo when thesis_compatible)",
    )
    kl_samples: int = field(1, ge=1, doc="samples of the Monte-Carlo KL estimate (eq. 7.9)")
    thesis_compatible: bool = field(
        False, doc="use the density (eq. 7.5) and sampler (eq. 7.10) exactly as printed"
    )

    def validate(self) -> None:
        if self.time_param == "bounded" and not 0 < self.min_time < self.max_time:
            raise ConfigError(
                "min_time, max_time: time_param bounded needs 0 < min_time < max_time, got "
                f"{self.min_time:g} and {self.max_time:g}"
            )
        if self.thesis_compatible and self.kl == "quadrature":
            raise ConfigError(
                "kl: the thesis-compatible density has no exact KL; use monte_carlo (or auto)"
            )


@LATENT_SPACES.register("torus")
class TorusLatent(LatentSpace):
    """The n-torus Tⁿ ⊂ R^{2n} with a uniform prior and heat-kernel posteriors per circle."""

    Config = TorusConfig
    periodic = True

    def __init__(self, config: TorusConfig | None = None):
        super().__init__()
        self.config = config or self.Config()
        self.dim = self.config.dim
        self.embed_dim = 2 * self.dim
        self.param_size = 3 * self.dim  # (a, b) → μ = atan2(b, a), and s → t per circle
        self.family = ThesisHeatKernel if self.config.thesis_compatible else HeatKernel
        self.monte_carlo_kl = self.config.kl == "monte_carlo" or (
            self.config.kl == "auto" and self.config.thesis_compatible
        )
        self.register_buffer("_pi", torch.full((self.dim,), PI), persistent=False)

    @classmethod
    def heat_kernel_posterior(cls, spec: dict) -> bool:
        return True

    # -- distributions -------------------------------------------------------------------------
    def prior(self) -> D.Distribution:
        return D.Independent(D.Uniform(-self._pi, self._pi, validate_args=False), 1)

    def posterior(self, params: torch.Tensor) -> D.Distribution:
        a, b, s = params.split(self.dim, dim=-1)
        loc = torch.atan2(b, a)
        time = self.time_of(s)
        # no argument validation: a NaN must reach the loss, where the trainer reports it clearly
        return D.Independent(self.family(loc, time, validate_args=False), 1, validate_args=False)

    def time_of(self, s: torch.Tensor) -> torch.Tensor:
        """The posterior time t from the encoder's time output (``time_param``).

        ``bounded`` (the default) moves log t between log min_time and log max_time by a
        sigmoid, as the published ΔVAE code bounds log t = 1.25·tanh(h) − 6.25: no underflow to
        t = 0 (where exp without a floor gives KL = inf and NaN gradients), and inside the range
        the KL pulls log t up by ½ per circle whatever t; its gradient too vanishes once the
        output saturates far beyond a bound. softplus and exp add ``min_time``: once the output
        runs far below the floor their gradient dt/ds (sigmoid(s), e^s) vanishes and t stays at
        the floor even where the optimum is above it: on the torus study at σX = 1 softplus
        ended there (or part way) for 3 of 4 seeds, bounded for none (docs/circular.md)."""
        c = self.config
        if c.time_param == "bounded":
            return bounded_log_scale(s, c.min_time, c.max_time)
        raw = F.softplus(s) if c.time_param == "softplus" else torch.exp(s)
        return raw + c.min_time

    def sample(
        self, dist: D.Distribution, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        base = dist.base_dist
        if isinstance(base, D.Uniform):  # the prior: uniform angles
            u = torch.rand((n, *base.low.shape), generator=generator, dtype=base.low.dtype)
            return base.low + (base.high - base.low) * u.to(base.low.device)
        return super().sample(dist, n, generator)

    def reparameterize(self, posterior: D.Distribution, eps: torch.Tensor) -> torch.Tensor:
        """wrap(μ + √(2t)·ε) per circle (eq. 7.10 corrected; t·ε when thesis-compatible)."""
        return posterior.base_dist._from_noise(eps)

    def kl_per_dim(
        self, posterior: D.Distribution, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """KL(q(θ_i|x) ‖ U) per circle ``(n, dim)`` (eq. 7.8, or its estimate eq. 7.9)."""
        base = posterior.base_dist
        if not self.monte_carlo_kl:
            return base.kl_to_uniform()
        theta = (
            base.rsample((self.config.kl_samples,))
            if generator is None
            else base.sample_with(self.config.kl_samples, generator)
        )
        # eq. 7.9 as an estimator of E_q[log q/p]; the density factor printed in front of the log
        # would make it an estimate of ∫ q² log(q/p) instead, so it is left out
        return (base.log_prob(theta) + LOG_2PI).mean(0)

    def kl(
        self, posterior: D.Distribution, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return self.kl_per_dim(posterior, generator).sum(-1)

    def mean(self, posterior: D.Distribution) -> torch.Tensor:
        return posterior.base_dist.loc

    def posterior_std(self, posterior: D.Distribution) -> torch.Tensor | None:
        """The standard deviation of the sampler's normal before wrapping: √(2t) (t as printed in
        eq. 7.10 when thesis-compatible); eq. 7.11 draws arcs of half-width t."""
        time = posterior.base_dist.time
        return time if self.config.thesis_compatible else torch.sqrt(2 * time)

    # -- geometry ------------------------------------------------------------------------------
    def embed(self, z: torch.Tensor) -> torch.Tensor:
        """Angles ``(..., n)`` → ``(..., 2n)``: (r cos θ₁, r sin θ₁, …) (eq. 7.3, 11.x)."""
        r = self.config.radius
        return torch.stack((r * torch.cos(z), r * torch.sin(z)), dim=-1).flatten(-2)

    def chart(self, e: torch.Tensor) -> torch.Tensor:
        """Ambient points ``(..., 2n)`` → angles ``(..., n)`` (any radius: only the direction)."""
        pairs = e.unflatten(-1, (self.dim, 2))
        return torch.atan2(pairs[..., 1], pairs[..., 0])

    def geodesic(self, z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
        """The shortest path on each circle (angles wrap): ``(steps, *z0.shape)``."""
        t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
        delta = wrap(z1 - z0)
        return wrap(z0[None] + t.reshape(-1, *([1] * z0.ndim)) * delta[None])

    def traversal_values(self, steps: int, center: float = 0.0, scale: float = 1.0) -> torch.Tensor:
        """A full turn: ``steps`` angles from ``center − π`` on, evenly spaced, no repeat."""
        return wrap(center - PI + 2 * PI * torch.arange(steps, dtype=torch.float64) / steps)


@dataclass(frozen=True)
class CircleConfig(TorusConfig):
    dim: int = field(1, ge=1, le=1, doc="one circle (use the torus latent for more)")
    radius: float = field(1.0, gt=0.0, doc="radius of the embedded circle (eq. 7.1: 1)")


@LATENT_SPACES.register("circle")
class CircleLatent(TorusLatent):
    """The unit circle S¹ ⊂ R² (thesis ch. 7): the one-circle torus."""

    Config = CircleConfig
