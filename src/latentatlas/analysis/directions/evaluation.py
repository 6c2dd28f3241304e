"""How precisely a latent direction controls a factor (directions paper, sec. 3.1, fig. 2 and 5).

1. a direction u (with or without a calibration g); 2. codes z ~ N(0, I); 3. images of
z − ⟨z,u⟩u + αu for α over [−T, T]; 4. the factor measured on each image; 5. the spread (standard
deviation) of the measured values at each α. A small spread means that the coordinate along u
alone fixes the factor, whatever the other coordinates are: precise control.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ...errors import DataError
from ..generators import check_image_batch, frozen
from .fit import DirectionModel
from .image_factors import get_measure
from .inversion import latent_dim_of

DEFAULT_ALPHAS = tuple(torch.linspace(-5, 5, 11).tolist())
"""α ∈ linspace(−5, 5, 11), as in the authors' evaluation."""

CENTRAL_ALPHA = 2.0
"""|α| range of the "central" calibration error: where prior codes lie (95 % within ±2), so where
Algorithm 1's records constrain g; beyond it g is extrapolated."""


def unit_direction(direction: DirectionModel | torch.Tensor) -> torch.Tensor:
    """The unit vector of a direction model or of a plain vector."""
    if isinstance(direction, DirectionModel):
        return direction.u.detach()
    u = torch.as_tensor(direction, dtype=torch.float32)
    if u.ndim != 1 or not torch.isfinite(u).all() or not u.norm() > 0:
        raise DataError(f"a direction must be a finite non-zero vector (d,), got {tuple(u.shape)}")
    return u / u.norm()


@dataclass
class DirectionEvaluation:
    """Measured factor values ``(A, n)`` along a direction for α values ``(A,)``."""

    measure: str
    alphas: torch.Tensor
    values: torch.Tensor
    predicted: torch.Tensor | None = None
    """g(α) when the direction is calibrated."""

    @property
    def mean(self) -> torch.Tensor:
        return self.values.mean(1)

    @property
    def std(self) -> torch.Tensor:
        return self.values.std(1)

    def calibration_error(self, max_alpha: float | None = None) -> float | None:
        """Largest |measured mean − (g(α) + offset)| with the offset fitted (g(0) = 0 while the
        measure has the generator's own mean), over |α| ≤ ``max_alpha`` (all α by default);
        ``None`` without a calibration."""
        if self.predicted is None:
            return None
        keep = torch.ones_like(self.alphas, dtype=torch.bool)
        if max_alpha is not None:
            keep = self.alphas.abs() <= max_alpha
        if not keep.any():
            raise DataError(f"no α within ±{max_alpha}")
        gap = (self.mean - self.predicted.double())[keep]
        return float((gap - gap.mean()).abs().max())

    def to_dict(self) -> dict[str, Any]:
        out = {
            "measure": self.measure,
            "alphas": self.alphas.tolist(),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "mean_std": float(self.std.mean()),
            "traversals": self.values.shape[1],
        }
        if self.predicted is not None:
            out["predicted"] = self.predicted.tolist()
            out["calibration_error"] = self.calibration_error()
            if (self.alphas.abs() <= CENTRAL_ALPHA).any():
                out["calibration_error_central"] = self.calibration_error(CENTRAL_ALPHA)
        return out


def evaluate_direction(
    generator: Callable[[torch.Tensor], torch.Tensor],
    direction: DirectionModel | torch.Tensor,
    measure: str,
    *,
    alphas: tuple[float, ...] | torch.Tensor = DEFAULT_ALPHAS,
    n: int = 50,
    codes: torch.Tensor | None = None,
    latent_dim: int | None = None,
    seed: int = 0,
) -> DirectionEvaluation:
    """Measure ``measure`` on images of z − ⟨z,u⟩u + αu for ``n`` prior codes and each α."""
    measure_fn = get_measure(measure)
    u = unit_direction(direction)
    alphas = torch.as_tensor(alphas, dtype=torch.float32)
    if codes is None:
        d = latent_dim_of(generator, latent_dim or len(u))
        codes = torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    if codes.shape[1] != len(u):
        raise DataError(f"codes have {codes.shape[1]} dimensions, the direction {len(u)}")
    base = codes - (codes @ u)[:, None] * u
    z = (base[None] + alphas[:, None, None] * u).reshape(-1, len(u))
    with torch.no_grad():
        images = check_image_batch(generator(z), len(z))
    values = measure_fn(images).reshape(len(alphas), len(codes))
    predicted = None
    if isinstance(direction, DirectionModel):
        with torch.no_grad():
            predicted = direction.g(alphas)
    return DirectionEvaluation(measure, alphas, values, predicted)


def most_precise_direction(
    generator: Callable[[torch.Tensor], torch.Tensor],
    measure: str,
    start: torch.Tensor,
    *,
    steps: int = 150,
    n: int = 32,
    lr: float = 0.02,
    alphas: tuple[float, ...] | torch.Tensor = DEFAULT_ALPHAS,
    seed: int = 0,
) -> torch.Tensor:
    """The unit direction whose traversals spread ``measure`` least: gradient descent from
    ``start`` on the mean over α of the standard deviation that :func:`evaluate_direction`
    reports (fresh prior codes each step, Adam), with the measure as supervision.

    Not a method to find directions (it needs the factor's measure): a floor for the control
    spread any single linear direction reaches on this generator (local, from ``start``), to
    tell an estimator's error from the generator's entanglement. The measure must be
    differentiable in the images (positions, orientation, mean intensity and contrast are; the
    thresholded ``log-size`` is not)."""
    if steps < 1 or n < 2:
        raise DataError(f"steps must be ≥ 1 and n ≥ 2, got {steps} and {n}")
    measure_fn = get_measure(measure)
    w = unit_direction(start).detach().clone().requires_grad_(True)
    alphas = torch.as_tensor(alphas, dtype=torch.float32)
    optimiser = torch.optim.Adam([w], lr=lr)
    g = torch.Generator().manual_seed(seed)
    with frozen(generator):
        for _ in range(steps):
            z = torch.randn(n, len(w), generator=g)
            u = w / w.norm()
            base = z - (z @ u)[:, None] * u
            images = generator((base[None] + alphas[:, None, None] * u).reshape(-1, len(w)))
            values = measure_fn(check_image_batch(images, len(alphas) * n))
            spread = values.reshape(len(alphas), n).std(1).mean()
            if not spread.requires_grad:
                raise DataError(f"{measure} is not differentiable in the images")
            optimiser.zero_grad()
            spread.backward()
            optimiser.step()
    u = w.detach()
    return u / u.norm()
