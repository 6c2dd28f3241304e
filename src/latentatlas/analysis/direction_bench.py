"""Analytic generators whose latent directions are known: the bench of the direction estimators.

:class:`KnownDirectionsGenerator` draws one anisotropic Gaussian blob on a background. Five
factor coordinates c = A·Qᵀz (Q a random rotation of the latent space, A the identity or a fixed
oblique mixing) set, through a response function, the blob's horizontal and vertical position
(fractions of the width, as ``translate-x``/``translate-y`` count), the background level (what
``brightness`` adds), the blob's log size and its angle; the other d − 5 directions of z change
nothing. The latent direction that changes one factor alone is therefore known exactly:

    u_k ∝ Q[:, :5] A⁻¹ e_k

(:attr:`KnownDirectionsGenerator.directions`), which for A = I is the k-th column of Q — not
aligned with the axes, so an estimator cannot profit from per-coordinate structure. ``response``
``"linear"`` maps c to the factor linearly, ``"saturating"`` through tanh (the factor stops at a
bound, as positions stop at the image's edges). ``conv=True`` smooths the image with a fixed
normalised 3×3 kernel (circular padding), a small convolutional generator with the same truth.

The scale and rotation transformations act about the image centre, so on an off-centre blob they
also move it; over prior codes those moves average out (the blob's position is symmetric about
the centre), so u_k is still the direction they are expected to find, but not to cosine 1 for a
single code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DataError

FACTORS = ("translate-x", "translate-y", "brightness", "scale", "rotation")
"""The transformations whose latent directions the bench generator knows, in coordinate order."""

RESPONSES = ("linear", "saturating")


@dataclass(frozen=True)
class Gains:
    """Factor change per unit of its coordinate c near c = 0."""

    position: float = 0.08
    brightness: float = 0.1
    log_size: float = 0.15
    angle: float = 0.3


class KnownDirectionsGenerator(nn.Module):
    """G: z ``(n, latent_dim)`` → images ``(n, 1, size, size)`` in [0, 1] with known directions."""

    def __init__(
        self,
        latent_dim: int = 16,
        size: int = 32,
        response: str = "saturating",
        oblique: bool = False,
        conv: bool = False,
        seed: int = 0,
        gains: Gains = Gains(),
    ):
        super().__init__()
        if latent_dim < len(FACTORS):
            raise DataError(f"latent_dim must be at least {len(FACTORS)}, got {latent_dim}")
        if size < 8:
            raise DataError(f"size must be at least 8 pixels, got {size}")
        if response not in RESPONSES:
            raise DataError(f"response: expected one of {', '.join(RESPONSES)}, got {response!r}")
        g = torch.Generator().manual_seed(seed)
        square = torch.randn(latent_dim, latent_dim, generator=g, dtype=torch.float64)
        q, _ = torch.linalg.qr(square)
        k = len(FACTORS)
        mixing = torch.eye(k, dtype=torch.float64)
        if oblique:  # unit diagonal, off-diagonal ±0.4: well conditioned, far from orthogonal
            mixing = mixing + 0.4 * (2 * torch.rand(k, k, generator=g, dtype=torch.float64) - 1)
            mixing.fill_diagonal_(1.0)
        self.latent_dim, self.size, self.response, self.gains = latent_dim, size, response, gains
        self.register_buffer("basis", q[:, :k].float())
        self.register_buffer("mixing", mixing.float())
        inverse = torch.linalg.inv(mixing)
        truth = q[:, :k] @ inverse
        self._directions = {
            name: (truth[:, i] / truth[:, i].norm()).float() for i, name in enumerate(FACTORS)
        }
        self.register_buffer("grid", (torch.arange(size) + 0.5) / size - 0.5)
        kernel = None
        if conv:
            kernel = torch.rand(3, 3, generator=g) + 0.5
            kernel = (kernel / kernel.sum()).reshape(1, 1, 3, 3)
        self.register_buffer("kernel", kernel)

    @property
    def directions(self) -> dict[str, torch.Tensor]:
        """The true unit direction of each factor in :data:`FACTORS`."""
        return dict(self._directions)

    def coordinates(self, z: torch.Tensor) -> torch.Tensor:
        """The factor coordinates c = A·Qᵀz ``(n, 5)``."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise DataError(f"codes: expected shape (n, {self.latent_dim}), got {tuple(z.shape)}")
        return (z @ self.basis) @ self.mixing.T

    def _respond(self, c: torch.Tensor, gain: float, bound: float) -> torch.Tensor:
        if self.response == "linear":
            return gain * c
        return bound * torch.tanh(gain * c / bound)  # slope ``gain`` at 0, saturates at ±bound

    def factors(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The factor values of each code: position (width fractions), background level, log
        size, angle (radians)."""
        c = self.coordinates(z)
        g = self.gains
        return {
            "translate-x": self._respond(c[:, 0], g.position, 0.25),
            "translate-y": self._respond(c[:, 1], g.position, 0.25),
            "brightness": 0.25 + self._respond(c[:, 2], g.brightness, 0.2),
            "scale": self._respond(c[:, 3], g.log_size, 0.5),
            "rotation": self._respond(c[:, 4], g.angle, math.pi / 3),
        }

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        f = self.factors(z)
        x = self.grid[None, None, :] - f["translate-x"][:, None, None]
        y = self.grid[None, :, None] - f["translate-y"][:, None, None]
        cos, sin = torch.cos(f["rotation"])[:, None, None], torch.sin(f["rotation"])[:, None, None]
        along, across = x * cos - y * sin, x * sin + y * cos  # y down: + angle turns on screen
        width = 0.07 * torch.exp(f["scale"])[:, None, None]
        blob = torch.exp(-0.5 * ((along / (1.6 * width)) ** 2 + (across / (0.6 * width)) ** 2))
        images = (f["brightness"][:, None, None] + 0.55 * blob)[:, None]
        if self.kernel is not None:
            images = F.conv2d(F.pad(images, (1, 1, 1, 1), mode="circular"), self.kernel)
        return images
