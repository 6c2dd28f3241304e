"""Latent codes of an evaluation set, and decoded traversals along latent coordinates.

:func:`summarise_latents` encodes a set of observations once and keeps what the plots of a
latent space need (thesis fig. 5.4): the posterior means μZ(x), the posterior standard deviations
σZ(x) (the semi-axes of the ellipses of eq. 5.6), the mean KL per latent coordinate (the terms of
eq. 4.5, averaged over the set, as in eq. 5.10) and an order of the coordinates by activity, with
the ground-truth factors alongside.

:func:`traverse` and :func:`traversal_grid` decode mean observations μX(z) along one coordinate
at a time. Two ways to choose the values (:func:`prior_traversal_values`,
:func:`posterior_traversal_values`):

* a fixed interval, ±3 for the standard normal prior of eq. 4.1 (the latent space's own
  ``traversal_values``), the same for every model, so traversals of different runs compare;
* ±2σ of the *fitted* codes: the mean ± 2·std of the posterior means μZ(x) along that coordinate
  over the evaluation set (the spread of the aggregate posterior's locations), so a traversal
  stays where the encoder actually puts data. The per-point σZ(x) is not used: for a
  well-trained model it is much smaller than the spread of the codes (≈ 0.05 against ≈ 1 on the
  sine circle) and a ±2σZ traversal would show almost nothing.

Nothing here plots (see :mod:`latentatlas.viz`); results are tensors or a dataclass with
``to_dict()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..data.base import check_observations
from ..data.factors import FactorSpace
from ..errors import DataError


@dataclass
class LatentSummary:
    """Posterior statistics of an evaluation set, shapes ``n`` points × ``d`` latent coordinates.

    Attributes:
        means: posterior means μZ(x), ``(n, d)`` (the latent representation, thesis sec. 5.4).
        stds: posterior spreads ``(n, d)``: σZ(x) for Gaussian posteriors, the angular standard
            deviation for heat-kernel ones (``latent.posterior_std``), None for point latents.
        kl_per_dim: mean KL(q(z_j|x) ‖ p(z_j)) per coordinate ``(d,)`` (eq. 4.5 term by term,
            averaged over the set as in eq. 5.10), or None without a prior.
        order: coordinates sorted by activity, most active first ``(d,)`` (long).
        activity: the activity score per coordinate ``(d,)``: ``kl_per_dim`` where there is one,
            else the variance of the means across the set.
        activity_measure: ``"kl"`` or ``"variance"``, which score ``activity`` holds.
        factors: ground-truth factor values ``(n, k)`` or None.
        factor_names: names of the ``k`` factors.
        factor_periodic: whether each factor wraps around (hue with a cyclic colour map).
        factor_ranges: ``(low, high)`` of each factor (from the FactorSpace, else the data range).
        latent: the latent space's registry name (e.g. ``"euclidean"``).
        latent_periodic: whether the latent coordinates are angles (circle, torus).
    """

    means: torch.Tensor
    stds: torch.Tensor | None = None
    kl_per_dim: torch.Tensor | None = None
    order: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    activity: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    activity_measure: str = "variance"
    factors: torch.Tensor | None = None
    factor_names: list[str] = field(default_factory=list)
    factor_periodic: list[bool] = field(default_factory=list)
    factor_ranges: list[tuple[float, float]] = field(default_factory=list)
    latent: str = ""
    latent_periodic: bool = False

    @property
    def n(self) -> int:
        """Number of points."""
        return int(self.means.shape[0])

    @property
    def dim(self) -> int:
        """Number of latent coordinates d."""
        return int(self.means.shape[1])

    def factor_index(self, factor: str | int) -> int:
        """Column of ``factor`` (a name or an index) in :attr:`factors`."""
        if self.factors is None:
            raise DataError("this summary has no factors")
        if isinstance(factor, str):
            if factor not in self.factor_names:
                raise DataError(
                    f"unknown factor {factor!r}; factors: {', '.join(self.factor_names)}"
                )
            return self.factor_names.index(factor)
        j = int(factor)
        if not 0 <= j < self.factors.shape[1]:
            raise DataError(f"factor index {j} out of range [0, {self.factors.shape[1]})")
        return j

    def base_point(self) -> torch.Tensor:
        """A representative code ``(d,)`` to traverse from: the mean μZ(x) of the evaluation point
        nearest (in the coordinates scaled by their spread) to the coordinate-wise median of the
        means. A real code, so traversals start on the data rather than at a possibly empty
        centre (on the sine circle the codes form a ring around the origin)."""
        median = self.means.median(0).values
        spread = self.means.std(0, unbiased=False).clamp_min(1e-12) if self.n > 1 else 1.0
        i = int(((self.means - median) / spread).pow(2).sum(1).argmin())
        return self.means[i].clone()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready lists (``None`` where absent)."""

        def lst(t: torch.Tensor | None) -> list | None:
            return None if t is None else t.tolist()

        return {
            "n": self.n,
            "dim": self.dim,
            "latent": self.latent,
            "latent_periodic": self.latent_periodic,
            "means": lst(self.means),
            "stds": lst(self.stds),
            "kl_per_dim": lst(self.kl_per_dim),
            "order": lst(self.order),
            "activity": lst(self.activity),
            "activity_measure": self.activity_measure,
            "factors": lst(self.factors),
            "factor_names": list(self.factor_names),
            "factor_periodic": list(self.factor_periodic),
            "factor_ranges": [list(r) for r in self.factor_ranges],
        }


def _kl_per_dim(latent: Any, posterior: Any) -> torch.Tensor | None:
    if not getattr(latent, "has_prior", False):
        return None
    try:
        return latent.kl_per_dim(posterior)
    except (NotImplementedError, TypeError):  # the KL does not split over coordinates
        return None


def summarise_latents(
    model: torch.nn.Module,
    x: torch.Tensor,
    factors: torch.Tensor | None = None,
    factor_space: FactorSpace | None = None,
    batch_size: int = 1000,
) -> LatentSummary:
    """Encode ``x`` and collect posterior means, stds, KL per coordinate and activity order.

    Activity is the mean KL per coordinate when the latent space has a prior whose KL splits over
    coordinates (eq. 4.5: a coordinate with KL ≈ 0 has posteriors equal to the prior and carries
    no information), else the variance of the posterior means across ``x``. ``order`` sorts the
    coordinates by it, descending (ties keep the coordinate order).

    Args:
        model: an :class:`~latentatlas.models.Autoencoder` (evaluated in eval mode, no grad).
        x: observations ``(n, *input_shape)``.
        factors: optional ground-truth factor values ``(n, k)`` (e.g. ``Batch.factors``).
        factor_space: optional :class:`FactorSpace` giving factor names, periodicity and ranges.
        batch_size: points encoded at a time.
    """
    x = check_observations(x, "observations")
    if factors is not None:
        factors = torch.as_tensor(factors, dtype=torch.float64)
        if factors.ndim == 1:
            factors = factors[:, None]
        if factors.ndim != 2 or factors.shape[0] != x.shape[0]:
            raise DataError(
                f"factors: expected shape ({x.shape[0]}, k), got {tuple(factors.shape)}"
            )
        if factor_space is not None and factors.shape[1] != len(factor_space):
            raise DataError(
                f"factors have {factors.shape[1]} columns but the factor space has "
                f"{len(factor_space)} factors ({', '.join(factor_space.names)})"
            )
    latent = model.latent
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    means, stds, kls = [], [], []
    try:
        with torch.no_grad():
            for start in range(0, x.shape[0], batch_size):
                posterior = model.encode(x[start : start + batch_size].to(device))
                mu = latent.mean(posterior)
                means.append(mu.detach().cpu().float())
                std = latent.posterior_std(posterior)
                stds.append(None if std is None else std.detach().cpu().float())
                kl = _kl_per_dim(latent, posterior)
                kls.append(None if kl is None else kl.detach().cpu().double())
    finally:
        model.train(was_training)
    mean_t = torch.cat(means)
    std_t = None if any(s is None for s in stds) else torch.cat(stds)
    kl_t = None if any(k is None for k in kls) else torch.cat(kls).mean(0).float()
    if kl_t is not None:
        activity, measure = kl_t, "kl"
    else:
        activity, measure = mean_t.double().var(0, unbiased=False).float(), "variance"
    order = torch.sort(activity, descending=True, stable=True).indices

    names: list[str] = []
    periodic: list[bool] = []
    ranges: list[tuple[float, float]] = []
    if factors is not None:
        k = factors.shape[1]
        if factor_space is not None:
            names = list(factor_space.names)
            periodic = list(factor_space.periodic)
            ranges = [(float(f.low), float(f.high)) for f in factor_space.factors]
        else:
            names = [f"factor {j}" for j in range(k)]
            periodic = [False] * k
            ranges = [(float(factors[:, j].min()), float(factors[:, j].max())) for j in range(k)]
    return LatentSummary(
        means=mean_t,
        stds=std_t,
        kl_per_dim=kl_t,
        order=order,
        activity=activity,
        activity_measure=measure,
        factors=factors,
        factor_names=names,
        factor_periodic=periodic,
        factor_ranges=ranges,
        latent=getattr(latent, "registry_name", "") or type(latent).__name__,
        latent_periodic=bool(getattr(latent, "periodic", False)),
    )


# -- traversals ---------------------------------------------------------------------------------
def _check_base(model: torch.nn.Module, base_z: torch.Tensor) -> torch.Tensor:
    d = int(model.latent.dim)
    base_z = torch.as_tensor(base_z, dtype=torch.float32)
    if base_z.shape != (d,):
        raise DataError(
            f"base_z: expected a latent code of shape ({d},), got {tuple(base_z.shape)}"
        )
    return base_z


def _check_dim(dim: int, d: int) -> int:
    dim = int(dim)
    if not 0 <= dim < d:
        raise DataError(f"latent coordinate {dim} out of range [0, {d})")
    return dim


def traverse(
    model: torch.nn.Module, base_z: torch.Tensor, dim: int, values: torch.Tensor
) -> torch.Tensor:
    """Mean observations μX(z) for codes equal to ``base_z`` except coordinate ``dim``.

    Returns ``(m, *observation_shape)``: row ``i`` decodes ``base_z`` with ``z[dim] = values[i]``
    (``likelihood.mean(decode(z))``, the reconstruction of eq. 5.7 at an arbitrary code); on a
    sphere the other coordinates follow, so the code stays on it (``latent.set_coordinate``).
    """
    base_z = _check_base(model, base_z)
    dim = _check_dim(dim, base_z.shape[0])
    values = torch.as_tensor(values, dtype=base_z.dtype).reshape(-1)
    device = next(model.parameters()).device
    z = model.latent.set_coordinate(base_z.repeat(values.shape[0], 1), dim, values)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model.likelihood.mean(model.decode(z.to(device)))
    finally:
        model.train(was_training)
    return out.detach().cpu()


def traversal_grid(
    model: torch.nn.Module,
    base_z: torch.Tensor,
    dims: Sequence[int],
    values: torch.Tensor,
) -> torch.Tensor:
    """:func:`traverse` for each coordinate of ``dims``: ``(len(dims), m, *observation_shape)``.

    ``values`` is ``(m,)`` (the same values for every coordinate) or ``(len(dims), m)`` (one row
    per coordinate, e.g. from :func:`posterior_traversal_values`).
    """
    dims = [int(j) for j in dims]
    values = torch.as_tensor(values, dtype=torch.float32)
    if values.ndim == 1:
        values = values.expand(len(dims), -1)
    if values.ndim != 2 or values.shape[0] != len(dims):
        raise DataError(
            f"values: expected shape (m,) or ({len(dims)}, m), got {tuple(values.shape)}"
        )
    return torch.stack([traverse(model, base_z, j, v) for j, v in zip(dims, values)])


def prior_traversal_values(
    model: torch.nn.Module, steps: int = 9, half_width: float = 3.0
) -> torch.Tensor:
    """A fixed interval for every coordinate, ``(steps,)``: ±``half_width`` around 0.

    Uses the latent space's ``traversal_values(steps, center, scale)``, which spans
    center ± 2·scale in R^d, so ``scale = half_width / 2`` gives ±3 for the N(0, I) prior
    (eq. 4.1) by default — 99.7 % of the prior's mass per coordinate.
    """
    if steps < 1:
        raise DataError(f"steps: expected at least 1, got {steps}")
    latent = model.latent
    return latent.traversal_values(steps, center=0.0, scale=half_width / 2.0).float()


def posterior_traversal_values(
    summary: LatentSummary, dims: Sequence[int], steps: int = 9, k: float = 2.0
) -> torch.Tensor:
    """Per-coordinate values ``(len(dims), steps)``: mean ± ``k``·std of the posterior means.

    For coordinate j: m_j ± k·s_j with m_j, s_j the mean and standard deviation of μZ(x)_j over
    the summarised set — "±2σ of the fitted posterior" (the spread of the codes the encoder
    produces; see the module docstring for why not the per-point σZ(x)).
    """
    if steps < 1:
        raise DataError(f"steps: expected at least 1, got {steps}")
    rows = []
    t = torch.linspace(-1.0, 1.0, steps)
    for j in dims:
        j = _check_dim(j, summary.dim)
        col = summary.means[:, j].double()
        center = float(col.mean())
        spread = float(col.std(unbiased=False)) if summary.n > 1 else 0.0
        rows.append(center + k * spread * t)
    return torch.stack(rows).float()


def circle_winding(factor_angle: torch.Tensor, codes: torch.Tensor) -> dict[str, float]:
    """How the codes of a circular factor go around: walk the data in the order of the factor's
    angle (one full turn) and count the turns the codes' angle makes (thesis ch. 10: a model
    that "recovers the periodic latent variable" maps the factor's circle onto a loop around
    its codes once: winding ±1).

    ``codes`` are (N, 2) points (a code in R², or the S¹ embedding), whose angle is taken about
    their mean, or (N, 1) angles. Returns ``winding`` (the signed number of turns, an integer
    when no step jumps by more than half a turn) and ``forward`` (the fraction of steps that go
    in the direction of the winding: 1.0 for a clean, monotone loop; for codes that do not wind,
    in the direction most steps take — the sign of a sum near 0 would flip with rounding).
    """
    codes = codes.detach().double().reshape(len(codes), -1)
    order = torch.argsort(factor_angle.detach().double().reshape(-1))
    codes = codes[order]
    if codes.shape[1] == 1:
        angle = codes[:, 0]
    elif codes.shape[1] == 2:
        centred = codes - codes.mean(0)
        angle = torch.atan2(centred[:, 1], centred[:, 0])
    else:
        raise ValueError(f"circle_winding: codes must have 1 or 2 columns, got {codes.shape[1]}")
    steps = torch.diff(torch.cat([angle, angle[:1]]))
    steps = torch.remainder(steps + torch.pi, 2 * torch.pi) - torch.pi  # into [−π, π)
    turns = float(steps.sum() / (2 * torch.pi))
    ahead = float((steps > 0).double().mean())
    behind = float((steps < 0).double().mean())
    if round(turns) != 0:
        forward = ahead if turns > 0 else behind
    else:
        forward = max(ahead, behind)
    return {"winding": round(turns), "forward": forward}
