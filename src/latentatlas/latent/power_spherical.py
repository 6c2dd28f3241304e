"""The Power Spherical distribution on the sphere S^{m−1} ⊂ R^m (De Cao and Aziz 2020, "The Power
Spherical distribution", eq. 1-4), with a reparameterised sampler driven by given noise.

Density, for a unit location μ and a concentration κ ≥ 0 (eq. 1-2):

    p(z; μ, κ) = (1 + μᵀz)^κ / N(κ, m),   N(κ, m) = 2^{α+β} π^β Γ(α) / Γ(α + β)

with α = (m − 1)/2 + κ and β = (m − 1)/2. The cosine t = μᵀz is 2u − 1 for u ~ Beta(α, β), and
z is t e₁ + √(1 − t²) v, v uniform on the sphere of the other m − 1 coordinates, reflected onto
μ by the Householder reflection that maps e₁ to μ (sec. 3, algorithm 1). Closed forms (sec. 3):

    E[z] = μ κ / (κ + m − 1)
    H = log N(κ, m) − κ (log 2 + ψ(α) − ψ(α + β))
    KL(p ‖ uniform) = −H + log |S^{m−1}|,   |S^{m−1}| = 2 π^{m/2} / Γ(m/2)

Unlike the von Mises-Fisher distribution, nothing here needs a Bessel function or a rejection
step in κ's gradient, which is why its authors propose it where vMF VAEs met NaNs at high κ.

The Beta variable is drawn from two Gamma variables by Marsaglia and Tsang's method (2000),
reparameterised through its acceptance step (Naesseth et al. 2017): from the same noise, the
accepted value is a smooth function of the shape, so gradients reach κ. All the noise comes from
:func:`noise` (standard normals, so a caller can draw it with its own generator): ``CANDIDATES``
proposals per Gamma variable, of which the first accepted is used (each is accepted with
probability > 0.95, so all ``CANDIDATES`` fail with probability < 1e-20).
"""

from __future__ import annotations

import math

import torch

CANDIDATES = 16
"""Marsaglia-Tsang proposals per Gamma variable (each accepted with probability > 0.95)."""


def noise_size(m: int) -> int:
    """Standard normal numbers one sample on S^{m−1} consumes: m − 1 for the direction, and per
    Gamma variable (two) ``CANDIDATES`` pairs (a proposal and its acceptance test) and one for
    the boost of a shape below 1."""
    return (m - 1) + 2 * (2 * CANDIDATES + 1)


def _gamma(shape: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """Gamma(shape) samples from standard normals ``(..., 2·CANDIDATES + 1)``, differentiable in
    ``shape``: Marsaglia-Tsang on shape + 1 (always ≥ 1), then the boost U^{1/shape}."""
    boosted = shape + 1.0
    d = boosted - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    x = normals[..., :CANDIDATES]
    # the acceptance tests' uniforms, from normals through the normal CDF
    log_u = torch.log(
        torch.special.ndtr(normals[..., CANDIDATES : 2 * CANDIDATES]).clamp_min(1e-300)
    )
    v = (1.0 + c[..., None] * x) ** 3
    positive = v > 0
    safe_v = torch.where(positive, v, torch.ones_like(v))
    accept = positive & (log_u < 0.5 * x**2 + d[..., None] * (1.0 - safe_v + torch.log(safe_v)))
    # the first accepted proposal (the last one if, against all odds, none is)
    first = torch.where(
        accept.any(-1),
        accept.float().argmax(-1),
        torch.full_like(shape, CANDIDATES - 1, dtype=torch.long),
    )
    chosen = safe_v.gather(-1, first[..., None])[..., 0]
    boost_u = torch.special.ndtr(normals[..., 2 * CANDIDATES]).clamp_min(1e-300)
    return d * chosen * boost_u ** (1.0 / shape)


def _householder(loc: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Reflect ``y`` by the reflection that maps e₁ to ``loc`` (both unit vectors)."""
    e1 = torch.zeros_like(loc)
    e1[..., 0] = 1.0
    w = e1 - loc
    norm = w.norm(dim=-1, keepdim=True)
    w = torch.where(norm > 1e-12, w / norm.clamp_min(1e-12), torch.zeros_like(w))  # loc = e₁
    return y - 2.0 * (y * w).sum(-1, keepdim=True) * w


class PowerSpherical:
    """Power Spherical distributions with locations ``loc`` ``(..., m)`` (unit vectors) and
    concentrations ``concentration`` ``(...)`` (≥ 0)."""

    def __init__(self, loc: torch.Tensor, concentration: torch.Tensor):
        self.loc = loc
        self.concentration = concentration
        self.m = loc.shape[-1]
        if self.m < 2:
            raise ValueError(
                f"Power Spherical: the ambient dimension must be at least 2, got {self.m}"
            )
        self.alpha = (self.m - 1) / 2 + concentration
        self.beta = torch.full_like(concentration, (self.m - 1) / 2)

    def _log_normalizer_without_kappa(self) -> torch.Tensor:
        """log N(κ, m) − κ log 2 = (m − 1) log 2 + β log π + log Γ(α) − log Γ(α + β), the log
        Gammas subtracted in float64: at κ = 1e8 each is ~1.7e9, whose float32 spacing is 128."""
        a = self.alpha.double()
        ratio = (torch.lgamma(a) - torch.lgamma(a + self.beta.double())).to(self.alpha.dtype)
        return (self.m - 1) * math.log(2) + self.beta * math.log(math.pi) + ratio

    def log_normalizer(self) -> torch.Tensor:
        """log N(κ, m) (eq. 2)."""
        return self.concentration * math.log(2) + self._log_normalizer_without_kappa()

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) for unit vectors ``z`` ``(..., m)`` (broadcast against the batch), as
        κ log((1 + μᵀz)/2) − (log N − κ log 2): no two large terms cancel at high κ."""
        t = (self.loc * z).sum(-1).clamp(-1.0, 1.0)
        return (
            self.concentration * torch.log1p((t - 1.0) / 2) - self._log_normalizer_without_kappa()
        )

    def entropy(self) -> torch.Tensor:
        """H(p) in nats (sec. 3): log N − κ (log 2 + ψ(α) − ψ(α + β)), with the κ log 2 terms
        cancelled by hand and the digammas subtracted in float64."""
        a = self.alpha.double()
        gap = (torch.digamma(a) - torch.digamma(a + self.beta.double())).to(self.alpha.dtype)
        return self._log_normalizer_without_kappa() - self.concentration * gap

    def kl_to_uniform(self) -> torch.Tensor:
        """KL(p ‖ uniform on S^{m−1})."""
        log_area = math.log(2) + (self.m / 2) * math.log(math.pi) - math.lgamma(self.m / 2)
        return log_area - self.entropy()

    @property
    def mean(self) -> torch.Tensor:
        """E[z] = μ κ / (κ + m − 1)."""
        return self.loc * (self.concentration / (self.concentration + self.m - 1))[..., None]

    def rsample_from(self, normals: torch.Tensor) -> torch.Tensor:
        """Samples ``(n, ..., m)`` from standard normals ``(n, ..., noise_size(m))``,
        differentiable in ``loc`` and ``concentration``."""
        m = self.m
        direction = normals[..., : m - 1]
        per_gamma = 2 * CANDIDATES + 1
        first = normals[..., m - 1 : m - 1 + per_gamma]
        second = normals[..., m - 1 + per_gamma :]
        ga = _gamma(self.alpha.expand(normals.shape[:-1]), first)
        gb = _gamma(self.beta.expand(normals.shape[:-1]), second)
        # u ~ Beta(α, β) and 1 − u, each from its own Gamma (1 − u would round to 0 at high κ)
        u, rest = ga / (ga + gb), gb / (ga + gb)
        t = u - rest
        # √(1 − t²) = 2√(u(1 − u)); the floor keeps sqrt's gradient finite where u(1 − u) is 0
        sine = 2.0 * torch.sqrt((u * rest).clamp_min(1e-30))
        v = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-30)
        y = torch.cat([t[..., None], sine[..., None] * v], -1)
        return _householder(self.loc.expand(y.shape), y)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The standard normals of ``n`` samples: ``(n, *batch, noise_size(m))``."""
        shape = (n, *self.concentration.shape, noise_size(self.m))
        return torch.randn(shape, generator=generator, dtype=self.loc.dtype).to(self.loc.device)
