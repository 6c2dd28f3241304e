"""The direction model of a factor: t = g(⟨z, u⟩) (directions paper, sec. 2.2, eq. 6-11).

u is a unit vector of the latent space and g an increasing piecewise-linear function with g(0) = 0
(eq. 8-9): K segments of equal width on [−extent, extent] (default 100 on [−5, 5], as in the
authors' code), slopes kept positive by a softplus, extended linearly beyond the ends with the end
slopes (so g is a bijection of R and g⁻¹ is exact). It is trained on the differences of Algorithm 1,
δt = g(⟨z_δt, u⟩) − g(⟨z₀, u⟩), by mean squared error with Adam (lr 1e-3, batch 32) and a small
penalty on the jumps between neighbouring slopes (smoothness). The fit starts from the least-squares
linear model δt ≈ ⟨z_δt − z₀, w⟩: u = w/‖w‖ and every slope ‖w‖.

With u and g, a code is edited to a chosen value of the factor (z − ⟨z,u⟩u + g⁻¹(t)u), the
distribution of the factor implied by the prior z ~ N(0, I) is ϕ(t) = N(g⁻¹(t); 0, 1)·(g⁻¹)'(t)
(eq. 6), and prior samples are moved along u so that the factor follows a chosen distribution:
z ← z − ⟨z,u⟩u + g⁻¹(F_φ⁻¹(Φ(⟨z,u⟩)))u (eq. 10-11 with h_φ = g⁻¹∘F_φ⁻¹, since
h_φ⁻¹(x) = ∫_{−∞}^x φ(g(τ))g'(τ)dτ = F_φ(g(x))).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import DataError, RunFolderError

FORMAT = "latent-atlas direction 1"
"""The ``format`` metadata of a saved direction file."""


def _inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    return y + torch.log(-torch.expm1(-y))


class DirectionModel(nn.Module):
    """f(z) = g(⟨z, u⟩) with ‖u‖ = 1 and g increasing, piecewise linear, g(0) = 0 (eq. 8)."""

    def __init__(
        self,
        dim: int,
        knots: int = 100,
        extent: float = 5.0,
        transformation: str = "",
        units: str = "",
    ):
        super().__init__()
        if dim < 1 or knots < 1 or not extent > 0:
            raise DataError(
                "direction model: need dim ≥ 1, knots ≥ 1, extent > 0; "
                f"got {dim}, {knots}, {extent}"
            )
        self.transformation, self.units = transformation, units
        self.w = nn.Parameter(torch.ones(dim) / math.sqrt(dim))
        self.raw_slopes = nn.Parameter(torch.zeros(knots))
        self.register_buffer("knots", torch.linspace(-extent, extent, knots + 1))

    # -- the parts ---------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.w.numel()

    @property
    def u(self) -> torch.Tensor:
        """The unit direction."""
        return self.w / self.w.norm()

    @property
    def slopes(self) -> torch.Tensor:
        """g' on each segment (positive)."""
        return F.softplus(self.raw_slopes)

    def _node_values(self) -> torch.Tensor:
        """g at the knots (g(0) = 0)."""
        s = self.slopes
        h = self.knots[1:] - self.knots[:-1]
        cumulative = torch.cat([s.new_zeros(1), torch.cumsum(s * h, 0)])
        return cumulative - self._interpolate(torch.zeros(1, dtype=s.dtype), cumulative)[0]

    def _segment(self, x: torch.Tensor) -> torch.Tensor:
        return torch.bucketize(x, self.knots[1:-1].contiguous())

    def _interpolate(self, x: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
        i = self._segment(x)
        return nodes[i] + self.slopes[i] * (x - self.knots[i])

    def g(self, x: torch.Tensor) -> torch.Tensor:
        """The calibration: factor value at coordinate x = ⟨z, u⟩."""
        return self._interpolate(x, self._node_values())

    def g_prime(self, x: torch.Tensor) -> torch.Tensor:
        return self.slopes[self._segment(x)]

    def g_inverse(self, t: torch.Tensor) -> torch.Tensor:
        """The coordinate x with g(x) = t (exact: g is a strictly increasing bijection)."""
        nodes = self._node_values()
        i = torch.bucketize(t, nodes[1:-1].contiguous())
        return self.knots[i] + (t - nodes[i]) / self.slopes[i]

    def coordinate(self, z: torch.Tensor) -> torch.Tensor:
        """⟨z, u⟩ for codes ``(n, d)``."""
        return z @ self.u

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The factor value predicted for each code."""
        return self.g(self.coordinate(z))

    def smoothness(self) -> torch.Tensor:
        """Sum of squared jumps between neighbouring slopes."""
        return (self.slopes[1:] - self.slopes[:-1]).pow(2).sum()

    # -- control (sec. 2.2, eq. 6, 10-11) ----------------------------------------------------------
    def edit(self, z: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
        """z − ⟨z,u⟩u + αu: the code with its coordinate along u set to α (sec. 3.1, step 3)."""
        u = self.u.detach()
        alpha = torch.as_tensor(alpha, dtype=z.dtype)
        return z - (z @ u)[:, None] * u + alpha.reshape(-1, 1) * u

    def set_factor(self, z: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        """Codes edited so that the predicted factor equals ``t``: α = g⁻¹(t)."""
        with torch.no_grad():
            return self.edit(z, self.g_inverse(torch.as_tensor(t, dtype=z.dtype)))

    def shift_factor(self, z: torch.Tensor, delta: float | torch.Tensor) -> torch.Tensor:
        """Codes edited so that the predicted factor moves by ``delta``."""
        with torch.no_grad():
            return self.edit(z, self.g_inverse(self(z) + torch.as_tensor(delta, dtype=z.dtype)))

    def density(self, t: torch.Tensor) -> torch.Tensor:
        """ϕ(t) = N(g⁻¹(t); 0, 1)·d/dt g⁻¹(t) (eq. 6): the factor's density under the prior."""
        with torch.no_grad():
            x = self.g_inverse(t)
            return torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) / self.g_prime(x)

    def resample(
        self, z: torch.Tensor, ppf: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor:
        """Move prior codes along u so that the factor follows the distribution whose quantile
        function is ``ppf`` (eq. 10-11): α' = g⁻¹(F_φ⁻¹(Φ(⟨z,u⟩))).

        ``ppf`` maps probabilities in (0, 1) to factor values, e.g. ``scipy.stats.uniform(a,
        b - a).ppf`` wrapped for tensors (see :func:`scipy_ppf`).
        """
        with torch.no_grad():
            p = torch.special.ndtr(self.coordinate(z)).clamp(1e-12, 1 - 1e-12)
            target = torch.as_tensor(ppf(p), dtype=z.dtype)
            if target.shape != p.shape or not torch.isfinite(target).all():
                raise DataError("ppf must map each probability to one finite factor value")
            return self.edit(z, self.g_inverse(target))

    # -- files -------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the direction as safetensors (atomically), with its transformation and units."""
        from safetensors.torch import save_file

        from ...train.checkpoint import atomic_write

        path = Path(path)
        tensors = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        meta = {"format": FORMAT, "transformation": self.transformation, "units": self.units}
        atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))
        return path

    @classmethod
    def load(cls, path: str | Path) -> DirectionModel:
        """Read a direction file written by :meth:`save`."""
        from safetensors import SafetensorError, safe_open

        path = Path(path)
        if not path.is_file():
            raise RunFolderError(f"{path}: no such direction file")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError, ValueError) as exc:
            raise RunFolderError(f"{path}: not a readable direction file ({exc})") from None
        if meta.get("format") != FORMAT or set(tensors) != {"w", "raw_slopes", "knots"}:
            raise RunFolderError(f"{path}: not a latent-atlas direction file")
        knots = tensors["knots"]
        model = cls(
            tensors["w"].numel(),
            knots=knots.numel() - 1,
            extent=float(knots[-1]),
            transformation=meta.get("transformation", ""),
            units=meta.get("units", ""),
        )
        model.load_state_dict(tensors)
        return model.eval()


def scipy_ppf(distribution: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """A tensor quantile function from a frozen ``scipy.stats`` distribution."""

    def ppf(p: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(distribution.ppf(p.double().numpy()), dtype=p.dtype)

    return ppf


# -- fitting ---------------------------------------------------------------------------------
@dataclass
class DirectionFit:
    """A fitted direction and how well it explains the training differences."""

    model: DirectionModel
    losses: list[float] = field(repr=False)
    mse: float
    r2: float
    linear_r2: float
    records: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "mse": self.mse,
            "r2": self.r2,
            "linear_r2": self.linear_r2,
            "u": self.model.u.detach().tolist(),
        }


def _r2(pred: torch.Tensor, target: torch.Tensor) -> float:
    residual = ((pred - target) ** 2).sum()
    total = ((target - target.mean()) ** 2).sum().clamp_min(1e-12)
    return float(1 - residual / total)


@dataclass
class LinearDirection:
    """The closed-form linear model δt ≈ slope·⟨z_δt − z₀, u⟩ (least squares, no intercept)."""

    u: torch.Tensor
    slope: float
    r2: float


def linear_direction(z0: torch.Tensor, zt: torch.Tensor, t: torch.Tensor) -> LinearDirection:
    """Least-squares w with δt ≈ ⟨z_δt − z₀, w⟩; u = w/‖w‖, slope ‖w‖. With an encoder, this is
    the direction found in closed form from encoded transformed images."""
    dz = (zt - z0).double()
    # minimum-norm solution (directions that never move get no weight); codes are float32, so
    # singular values below 1e-6 of the largest are rounding noise
    w = torch.linalg.lstsq(dz, t.double()[:, None], rcond=1e-6, driver="gelsd").solution[:, 0]
    norm = float(w.norm())
    if not norm > 0 or not math.isfinite(norm):
        raise DataError("the codes do not move with t (all differences are zero)")
    return LinearDirection((w / norm).float(), norm, _r2(dz @ w, t.double()))


def _along(
    direction: torch.Tensor, z0: torch.Tensor, zt: torch.Tensor, t: torch.Tensor
) -> LinearDirection:
    """The least-squares slope of δt on ⟨z_δt − z₀, u⟩ for a given direction u (u ↦ −u when
    the slope is negative, so that g increases)."""
    u = torch.as_tensor(direction, dtype=torch.float64).flatten()
    if u.shape != (z0.shape[1],) or not torch.isfinite(u).all() or not u.norm() > 0:
        raise DataError(
            f"direction: expected a finite non-zero vector of {z0.shape[1]} values, "
            f"got shape {tuple(u.shape)}"
        )
    u = u / u.norm()
    x = (zt - z0).double() @ u
    td = t.double()
    slope = float((x * td).sum() / (x * x).sum().clamp_min(1e-300))
    if not slope != 0 or not math.isfinite(slope):
        raise DataError("the codes do not move along the given direction")
    if slope < 0:
        u, x, slope = -u, -x, -slope
    return LinearDirection(u.float(), slope, _r2(x * slope, td))


def displacement_direction(z0: torch.Tensor, zt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The mean latent displacement per unit of t, Σ t·(z_δt − z₀) / Σ t², as a unit vector
    (the "vector arithmetic" direction of Radford et al.). Unlike the least-squares fit it gives
    no weight to coordinates that barely move, so the noise of an encoder's inactive latents
    (posterior means near 0 in a β-VAE) cannot dominate it."""
    dz = (zt - z0).double()
    td = t.double()
    v = (td[:, None] * dz).sum(0) / (td * td).sum().clamp_min(1e-300)
    norm = float(v.norm())
    if not norm > 0 or not math.isfinite(norm):
        raise DataError("the codes do not move with t (all differences are zero)")
    return (v / norm).float()


def fit_direction(
    z0: torch.Tensor,
    zt: torch.Tensor,
    t: torch.Tensor,
    *,
    knots: int = 100,
    extent: float = 5.0,
    steps: int = 3000,
    batch_size: int = 32,
    lr: float = 1e-3,
    smoothness: float = 1e-3,
    seed: int = 0,
    transformation: str = "",
    units: str = "",
    direction: torch.Tensor | None = None,
) -> DirectionFit:
    """Train u and g on differences δt = g(⟨z_t,u⟩) − g(⟨z₀,u⟩) (eq. 9) by MSE with Adam.

    ``direction``: a direction u found otherwise (e.g.
    :func:`~latentatlas.analysis.direction_estimators.minimal_move_direction`), held fixed: only
    g is trained, starting from the least-squares slope of δt on ⟨z_t − z₀, u⟩."""
    z0, zt, t = (torch.as_tensor(a, dtype=torch.float32) for a in (z0, zt, t))
    if z0.ndim != 2 or zt.shape != z0.shape or t.shape != (len(z0),):
        raise DataError(
            f"fit_direction: expected z0 and zt of shape (n, d) and t of shape (n,), got "
            f"{tuple(z0.shape)}, {tuple(zt.shape)}, {tuple(t.shape)}"
        )
    if len(t) < 2:
        raise DataError(f"fit_direction: need at least 2 records, got {len(t)}")
    if not all(torch.isfinite(a).all() for a in (z0, zt, t)):
        raise DataError("fit_direction: records contain NaN or inf")
    model = DirectionModel(z0.shape[1], knots, extent, transformation, units)
    linear = linear_direction(z0, zt, t) if direction is None else _along(direction, z0, zt, t)
    with torch.no_grad():
        model.w.copy_(linear.u)
        model.raw_slopes.fill_(float(_inverse_softplus(torch.tensor(linear.slope))))
    model.w.requires_grad_(direction is None)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(trained, lr=lr)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(t), (min(batch_size, len(t)),), generator=g)
        pred = model(zt[idx]) - model(z0[idx])
        loss = F.mse_loss(pred, t[idx])
        losses.append(loss.item())
        optimiser.zero_grad(set_to_none=True)
        (loss + smoothness * model.smoothness()).backward()
        optimiser.step()
    model.w.requires_grad_(True)
    model.eval()
    with torch.no_grad():
        pred = model(zt) - model(z0)
    return DirectionFit(
        model=model,
        losses=losses,
        mse=float(F.mse_loss(pred, t)),
        r2=_r2(pred, t),
        linear_r2=linear.r2,
        records=len(t),
    )
