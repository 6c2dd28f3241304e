"""Latent trajectories of an image transformation (directions paper, eq. 4-5 and Algorithm 1).

For S starting codes z₀ ~ N(0, I) and the image I₀ = G(z₀), each trajectory follows the amounts
δt₁ < … < δt_N of a transformation T: z_n = argmin L(G(z), T_{δt_n}(I₀)) starting from z_{n−1}
(eq. 5, the recursive estimate; ``recursive=False`` restarts every point from z₀, eq. 4). As in the
authors' code, both signs are followed (each from z₀), the original image is always the one
transformed, each point gets the same number of Adam steps with a fresh optimiser state, and the
records whose error is at or above the 90th percentile are dropped (the transformed image left
the generator's range: an object pushed out of the positions it can draw).

All trajectories advance together: one batched inversion per amount over the 2S codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ...data.transforms import Transformation, get_transformation
from ...errors import DataError
from ..generators import check_image_batch
from .inversion import invert, latent_dim_of

DEFAULT_AMOUNTS = (0.1, 0.2, 0.3, 0.4, 0.5)
"""Magnitudes of δt along one trajectory (the authors' ±{0.1, …, 0.5})."""


@dataclass
class TrajectoryDataset:
    """The records (z₀, z_δt, δt) of Algorithm 1 with each record's reconstruction error."""

    transformation: str
    z0: torch.Tensor
    zt: torch.Tensor
    t: torch.Tensor
    errors: torch.Tensor
    kept: torch.Tensor
    threshold: float
    seconds: float = 0.0
    history: torch.Tensor | None = field(default=None, repr=False)
    """(N, steps + 1, 2S) error curves of every point (``record=True``)."""

    def __len__(self) -> int:
        return int(self.kept.sum())

    def records(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The kept (z₀, z_δt, δt), the training set of the direction model."""
        k = self.kept
        return self.z0[k], self.zt[k], self.t[k]

    def to_dict(self) -> dict[str, Any]:
        return {
            "transformation": self.transformation,
            "records": int(self.t.numel()),
            "kept": len(self),
            "error_threshold": self.threshold,
            "error_median": float(self.errors.median()),
            "amounts": sorted({round(float(v), 6) for v in self.t.unique()}),
            "seconds": self.seconds,
        }


def trajectories(
    generator: Callable[[torch.Tensor], torch.Tensor],
    transformation: str | Transformation,
    codes: torch.Tensor | None = None,
    *,
    n: int = 256,
    amounts: Sequence[float] = DEFAULT_AMOUNTS,
    both_signs: bool = True,
    recursive: bool = True,
    steps: int = 50,
    lr: float = 0.01,
    loss: str = "gaussian",
    sigma: float = 3.0,
    constrain: bool = True,
    drop_quantile: float = 0.9,
    latent_dim: int | None = None,
    seed: int = 0,
    record: bool = False,
) -> TrajectoryDataset:
    """Algorithm 1 for ``n`` prior codes (or the given ``codes``), all in parallel.

    ``amounts``: increasing magnitudes δt₁ … δt_N in the transformation's units (negated as well
    when ``both_signs``). ``drop_quantile``: records whose error is at or above this quantile of
    all errors are dropped (1 keeps everything).
    """
    t0 = time.perf_counter()
    transform = get_transformation(transformation)
    magnitudes = [float(a) for a in amounts]
    if not magnitudes or any(a <= 0 for a in magnitudes) or magnitudes != sorted(magnitudes):
        raise DataError(f"amounts: expected increasing positive numbers, got {list(amounts)}")
    if not 0 < drop_quantile <= 1:
        raise DataError(f"drop_quantile must be in (0, 1], got {drop_quantile}")
    if codes is None:
        d = latent_dim_of(generator, latent_dim)
        codes = torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    if codes.ndim != 2 or not torch.isfinite(codes).all():
        raise DataError(f"codes: expected finite codes of shape (S, d), got {tuple(codes.shape)}")
    signs = (1.0, -1.0) if both_signs else (1.0,)
    z0 = torch.cat([codes] * len(signs))
    sign = torch.cat([torch.full((len(codes),), s) for s in signs])
    with torch.no_grad():
        images = check_image_batch(generator(z0), len(z0)).detach()
    z = z0
    out_zt, out_t, out_err, histories = [], [], [], []
    for i, a in enumerate(magnitudes):
        t = sign * a
        targets, masks = transform(images, t)
        result = invert(
            generator,
            targets,
            masks,
            init=z if recursive else z0,
            loss=loss,
            sigma=sigma,
            steps=steps,
            lr=lr,
            constrain=constrain,
            seed=seed + i,
            record=record,
        )
        z = result.z
        out_zt.append(z)
        out_t.append(t)
        out_err.append(result.errors)
        if record:
            histories.append(result.history)
    errors = torch.cat(out_err)
    threshold = float(torch.quantile(errors, drop_quantile)) if drop_quantile < 1 else float("inf")
    kept = errors < threshold if drop_quantile < 1 else torch.ones_like(errors, dtype=torch.bool)
    return TrajectoryDataset(
        transformation=transform.name,
        z0=z0.repeat(len(magnitudes), 1),
        zt=torch.cat(out_zt),
        t=torch.cat(out_t),
        errors=errors,
        kept=kept,
        threshold=threshold,
        seconds=time.perf_counter() - t0,
        history=torch.stack(histories) if record else None,
    )
