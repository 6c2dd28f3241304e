"""The whole method on one generator: trajectories → direction model → evaluation.

:func:`find_direction` runs Algorithm 1 for a transformation, fits u and g on the kept records
(eq. 9) and measures how precisely the result controls the factor (sec. 3.1). It needs only
G: z → images — no labels, no encoder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..data.transforms import get_transformation
from .direction_evaluation import DEFAULT_ALPHAS, DirectionEvaluation, evaluate_direction
from .directions import DirectionFit, fit_direction
from .image_factors import MEASURE_OF
from .inversion import latent_dim_of
from .trajectories import DEFAULT_AMOUNTS, TrajectoryDataset, trajectories


@dataclass
class DirectionSearch:
    """The result of :func:`find_direction`."""

    transformation: str
    trajectories: TrajectoryDataset
    fit: DirectionFit
    evaluation: DirectionEvaluation | None
    seconds: float

    @property
    def direction(self):
        return self.fit.model

    def to_dict(self) -> dict[str, Any]:
        return {
            "transformation": self.transformation,
            "units": self.fit.model.units,
            "trajectories": self.trajectories.to_dict(),
            "fit": self.fit.to_dict(),
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
            "seconds": self.seconds,
        }


def find_direction(
    generator: Callable[[torch.Tensor], torch.Tensor],
    transformation: str,
    *,
    n: int = 256,
    amounts: Sequence[float] = DEFAULT_AMOUNTS,
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
) -> DirectionSearch:
    """Find the direction of ``transformation`` in G's latent space and evaluate it.

    ``n`` trajectories of ``len(amounts)`` points each way (``steps`` Adam steps per point),
    the direction model fitted with ``fit_steps`` Adam steps, then ``traversals`` codes measured at
    each α with ``measure`` (default: the transformation's own, ``image_factors.MEASURE_OF``;
    ``traversals=0`` skips the evaluation).
    """
    t0 = time.perf_counter()
    transform = get_transformation(transformation)
    d = latent_dim_of(generator, latent_dim)
    data = trajectories(
        generator,
        transform,
        n=n,
        amounts=amounts,
        steps=steps,
        lr=lr,
        loss=loss,
        sigma=sigma,
        latent_dim=d,
        seed=seed,
    )
    fit = fit_direction(
        *data.records(),
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
            measure or MEASURE_OF[transform.name],
            alphas=tuple(alphas),
            n=traversals,
            latent_dim=d,
            seed=seed + 1,
        )
    return DirectionSearch(transform.name, data, fit, evaluation, time.perf_counter() - t0)
