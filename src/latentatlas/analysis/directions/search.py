"""The whole method on one generator: trajectories → direction model → evaluation.

:func:`find_direction` runs Algorithm 1 for a transformation, fits u and g on the kept records
(eq. 9) and measures how precisely the result controls the factor (sec. 3.1). It needs only
G: z → images — no labels, no encoder.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ...data.transforms import get_transformation
from ...errors import DataError
from .estimators import DEFAULT_RCOND, check_method, minimal_move_direction
from .evaluation import DEFAULT_ALPHAS, DirectionEvaluation, evaluate_direction
from .fit import DirectionFit, fit_direction
from .image_factors import MEASURE_OF
from .inversion import latent_dim_of, project_to_ball
from .reach import AUTO, auto_amounts, reach, warn_out_of_reach
from .trajectories import TrajectoryDataset, trajectories


@dataclass
class DirectionSearch:
    """The result of :func:`find_direction`."""

    transformation: str
    trajectories: TrajectoryDataset
    fit: DirectionFit
    evaluation: DirectionEvaluation | None
    seconds: float
    method: str = "minimal-move"
    reach: dict[float, float] | None = None
    """Per amount, the median fraction of the target the inversions achieved (:mod:`.reach`)."""
    amounts_chosen: bool = False
    """Whether the amounts were taken from the generator's range (``amounts="auto"``)."""

    @property
    def direction(self):
        return self.fit.model

    def to_dict(self) -> dict[str, Any]:
        return {
            "transformation": self.transformation,
            "method": self.method,
            "units": self.fit.model.units,
            "trajectories": self.trajectories.to_dict(),
            "amounts_from_range": self.amounts_chosen,
            "reach": None if self.reach is None else {str(a): f for a, f in self.reach.items()},
            "fit": self.fit.to_dict(),
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
            "seconds": self.seconds,
        }


def find_direction(
    generator: Callable[[torch.Tensor], torch.Tensor],
    transformation: str,
    *,
    n: int = 256,
    amounts: Sequence[float] | str = AUTO,
    steps: int = 50,
    lr: float = 0.01,
    loss: str = "gaussian",
    sigma: float = 3.0,
    fit_steps: int = 3000,
    traversals: int = 50,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    measure: str | None = None,
    latent_dim: int | None = None,
    seed: int = 0,
    method: str = "minimal-move",
    rcond: float = DEFAULT_RCOND,
    sampler: Callable[[int], torch.Tensor] | None = None,
) -> DirectionSearch:
    """Find the direction of ``transformation`` in G's latent space and evaluate it.

    ``n`` trajectories of ``len(amounts)`` points each way (``steps`` Adam steps per point),
    the direction model fitted with ``fit_steps`` Adam steps, then ``traversals`` codes measured at
    each α with ``measure`` (default: the transformation's own, ``image_factors.MEASURE_OF``;
    ``traversals=0`` skips the evaluation).

    ``amounts``: the magnitudes δt of a trajectory, or ``"auto"`` (default): five amounts up to
    the standard deviation of the measure over the generator's images (:func:`.reach.auto_amounts`).
    After the trajectories, :func:`.reach.reach` measures which fraction of each target amount the
    inversions achieved (``DirectionSearch.reach``) and an :class:`.reach.OutOfReachWarning` says
    when targets were out of the generator's range.

    ``method``: ``"minimal-move"`` (default) takes u as the mean direction of the minimal latent
    moves that make the transformation's image change at the starting codes (a Gauss-Newton step
    through the generator's Jacobian, singular values below ``rcond`` × the largest dropped, the
    smallest amount as the step; :mod:`.estimators`), starts the trajectories inside
    the ball ‖z‖ ≤ √d and fits g on them with u fixed; ``"paper"`` is the authors' procedure:
    prior codes as they are and u fitted with g from the least-squares start (eq. 8-9).

    ``sampler``: the latent distribution, a callable ``k ↦ codes (k, d)`` that draws the starting
    codes of the trajectories and of the evaluation (default N(0, I) with ``seed``; seed the
    sampler yourself for repeatable results). The inversion still keeps codes in ‖z‖ ≤ √d.
    """
    t0 = time.perf_counter()
    check_method(method)
    transform = get_transformation(transformation)
    d = latent_dim_of(generator, latent_dim)
    measure = measure or MEASURE_OF.get(transform.name)
    if measure is None and traversals > 0:
        raise DataError(
            f"{transform.name} has no built-in measure: pass measure= (a name of "
            "image_factors.MEASURES) or traversals=0"
        )
    if sampler is not None:
        codes = sampled_codes(sampler, n, d)
    else:  # the codes ``trajectories`` itself would draw
        codes = torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    if method == "minimal-move":
        project_to_ball(codes, math.sqrt(d))  # start where the inversion keeps its codes
    chosen = isinstance(amounts, str)
    if chosen:
        if amounts != AUTO:
            raise DataError(f"amounts: expected increasing numbers or {AUTO!r}, got {amounts!r}")
        if measure is None:
            raise DataError(
                f"amounts='auto' reads the generator's range of {transform.name} with its "
                "measure: pass measure= (a name of image_factors.MEASURES) or the amounts"
            )
        amounts = auto_amounts(generator, codes, measure)
    data = trajectories(
        generator,
        transform,
        codes,
        n=n,
        amounts=amounts,
        steps=steps,
        lr=lr,
        loss=loss,
        sigma=sigma,
        latent_dim=d,
        seed=seed,
    )
    reached = None
    if measure is not None:
        reached = reach(generator, data.z0, data.zt, data.t, measure)
        warn_out_of_reach(transform.name, reached)
    u = None
    if method == "minimal-move":
        u = minimal_move_direction(
            generator,
            codes,
            transform,
            min(float(a) for a in amounts),
            sigma=None,  # plain masked least squares: the blur hides what tells factors apart
            rcond=rcond,
        )
    fit = fit_direction(
        *data.records(),
        direction=u,
        steps=fit_steps,
        seed=seed,
        transformation=transform.name,
        units=transform.units,
    )
    evaluation = None
    if traversals > 0:
        evaluation = evaluate_direction(
            generator,
            fit.model,
            measure,
            alphas=tuple(alphas),
            n=traversals,
            codes=None if sampler is None else sampled_codes(sampler, traversals, d),
            latent_dim=d,
            seed=seed + 1,
        )
    seconds = time.perf_counter() - t0
    return DirectionSearch(transform.name, data, fit, evaluation, seconds, method, reached, chosen)


def sampled_codes(sampler: Callable[[int], torch.Tensor], k: int, d: int) -> torch.Tensor:
    """``k`` codes from a user's latent ``sampler``, checked: finite, shape ``(k, d)``."""
    codes = sampler(k)
    if not isinstance(codes, torch.Tensor) or codes.shape != (k, d):
        got = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
        raise DataError(f"sampler({k}) must return codes of shape ({k}, {d}), got {got}")
    if not torch.isfinite(codes).all():
        raise DataError(f"sampler({k}) returned codes with NaN or inf")
    return codes.detach().float().clone()
