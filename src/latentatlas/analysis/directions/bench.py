"""Analytic generators whose latent directions are known: the bench of the direction estimators.

:class:`KnownDirectionsGenerator` draws one anisotropic Gaussian blob on a flat background. Six
factor coordinates c = A·w, w = Qᵀz (Q a random rotation of the latent space, A the identity or a
fixed oblique mixing), set through a response function the blob's horizontal and vertical
position (fractions of the width, as ``translate-x``/``translate-y`` count), the image's mean
intensity (what ``brightness`` adds), the blob's log size, its angle, and the log of its amplitude
about the image mean (what ``contrast`` multiplies); the other d − 6 directions of z change
nothing. The background is set so that the image mean is the brightness factor (exactly while the
blob lies inside the frame), so brightness and contrast each act on one factor, as the
transformations define them. The latent
direction that changes one factor alone is therefore known exactly:

    u_k ∝ Q A⁻¹ e_k

(:attr:`KnownDirectionsGenerator.directions`), which for A = I is the k-th column of Q — not
aligned with the axes, so an estimator cannot profit from per-coordinate structure. ``response``
``"linear"`` maps c to the factor linearly, ``"saturating"`` through tanh (the factor stops at a
bound, as positions stop at the image's edges). ``conv=True`` smooths the image with a fixed
normalised 3×3 kernel (circular padding), a small convolutional generator with the same truth.

``entangled=κ > 0`` couples the coordinates nonlinearly, c = A(w + κ·sin(w shifted by one)): the
direction that changes factor k alone then depends on the code, δw(z) = J_c(z)⁻¹ e_k through the
Jacobian of the factor map, and the truth of a single global direction is the normalised mean of
the unit local directions over prior codes (computed with the Jacobian; :meth:`local_directions`).

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

from ...errors import DataError

FACTORS = ("translate-x", "translate-y", "brightness", "scale", "rotation", "contrast")
"""The transformations whose latent directions the bench generator knows, in coordinate order."""

RESPONSES = ("linear", "saturating")

WIDTH = 0.07
"""The blob's reference width, a fraction of the image (σ along its axis 1.6×, across 0.6×)."""

TRUTH_SAMPLES = 4096
"""Prior codes over which an entangled generator's local directions are averaged."""


@dataclass(frozen=True)
class Gains:
    """Factor change per unit of its coordinate c near c = 0."""

    position: float = 0.08
    brightness: float = 0.1
    log_size: float = 0.15
    angle: float = 0.3
    log_amplitude: float = 0.1


class KnownDirectionsGenerator(nn.Module):
    """G: z ``(n, latent_dim)`` → images ``(n, 1, size, size)`` in [0, 1] with known directions."""

    def __init__(
        self,
        latent_dim: int = 16,
        size: int = 32,
        response: str = "saturating",
        oblique: bool = False,
        conv: bool = False,
        entangled: float = 0.0,
        seed: int = 0,
        gains: Gains = Gains(),
    ):
        super().__init__()
        k = len(FACTORS)
        if latent_dim < k:
            raise DataError(f"latent_dim must be at least {k}, got {latent_dim}")
        if size < 8:
            raise DataError(f"size must be at least 8 pixels, got {size}")
        if response not in RESPONSES:
            raise DataError(f"response: expected one of {', '.join(RESPONSES)}, got {response!r}")
        if not 0 <= entangled < 1:  # κ < 1 keeps I + κ·D·S invertible at every code
            raise DataError(f"entangled: expected a coupling in [0, 1), got {entangled}")
        g = torch.Generator().manual_seed(seed)
        square = torch.randn(latent_dim, latent_dim, generator=g, dtype=torch.float64)
        q, _ = torch.linalg.qr(square)
        mixing = torch.eye(k, dtype=torch.float64)
        if oblique:  # unit diagonal, off-diagonal ±0.4: well conditioned, far from orthogonal
            mixing = mixing + 0.4 * (2 * torch.rand(k, k, generator=g, dtype=torch.float64) - 1)
            mixing.fill_diagonal_(1.0)
        self.latent_dim, self.size, self.response, self.gains = latent_dim, size, response, gains
        self.entangled = float(entangled)
        self.register_buffer("basis", q[:, :k].float())
        self.register_buffer("mixing", mixing.float())
        self.register_buffer("grid", (torch.arange(size) + 0.5) / size - 0.5)
        kernel = None
        if conv:
            kernel = torch.rand(3, 3, generator=g) + 0.5
            kernel = (kernel / kernel.sum()).reshape(1, 1, 3, 3)
        self.register_buffer("kernel", kernel)
        if self.entangled == 0:
            truth = q[:, :k] @ torch.linalg.inv(mixing)
            self._directions = {
                name: (truth[:, i] / truth[:, i].norm()).float() for i, name in enumerate(FACTORS)
            }
        else:
            z = torch.randn(TRUTH_SAMPLES, latent_dim, generator=g)
            local = self.local_directions(z)
            self._directions = {name: F.normalize(local[name].mean(0), dim=0) for name in FACTORS}

    @property
    def directions(self) -> dict[str, torch.Tensor]:
        """The true unit direction of each factor in :data:`FACTORS`."""
        return dict(self._directions)

    def coordinates(self, z: torch.Tensor) -> torch.Tensor:
        """The factor coordinates c = A(w + κ·sin(w_{i+1})), w = Qᵀz ``(n, 6)``."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise DataError(f"codes: expected shape (n, {self.latent_dim}), got {tuple(z.shape)}")
        w = z @ self.basis
        if self.entangled:
            w = w + self.entangled * torch.sin(torch.roll(w, -1, dims=1))
        return w @ self.mixing.T

    def local_directions(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per code, the unit latent direction that changes one factor alone: Q·J_c(z)⁻¹e_k with
        J_c the Jacobian of c with respect to w (the minimal move, since z changes G only
        through w). Without entanglement every row is :attr:`directions`."""
        w = (z @ self.basis).double()
        k = len(FACTORS)
        jac = self.mixing.double().expand(len(w), k, k).clone()
        if self.entangled:  # ∂c_i/∂w_{i+1} = κ·cos(w_{i+1}), before the mixing
            coupling = torch.zeros(len(w), k, k, dtype=torch.float64)
            idx = torch.arange(k)
            coupling[:, idx, (idx + 1) % k] = self.entangled * torch.cos(torch.roll(w, -1, 1))
            jac = self.mixing.double() @ (torch.eye(k, dtype=torch.float64) + coupling)
        moves = self.basis.double() @ torch.linalg.inv(jac)  # (n, d, k): column k moves c_k
        return {name: F.normalize(moves[:, :, i], dim=1).float() for i, name in enumerate(FACTORS)}

    def _respond(self, c: torch.Tensor, gain: float, bound: float) -> torch.Tensor:
        if self.response == "linear":
            return gain * c
        return bound * torch.tanh(gain * c / bound)  # slope ``gain`` at 0, saturates at ±bound

    def factors(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The factor values of each code: position (width fractions), mean intensity, log
        size, angle (radians), log amplitude about the mean (0 for the reference amplitude)."""
        c = self.coordinates(z)
        g = self.gains
        return {
            "translate-x": self._respond(c[:, 0], g.position, 0.25),
            "translate-y": self._respond(c[:, 1], g.position, 0.25),
            "brightness": 0.3 + self._respond(c[:, 2], g.brightness, 0.12),
            "scale": self._respond(c[:, 3], g.log_size, 0.5),
            "rotation": self._respond(c[:, 4], g.angle, math.pi / 3),
            "contrast": self._respond(c[:, 5], g.log_amplitude, 0.3),
        }

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        f = self.factors(z)
        x = self.grid[None, None, :] - f["translate-x"][:, None, None]
        y = self.grid[None, :, None] - f["translate-y"][:, None, None]
        cos, sin = torch.cos(f["rotation"])[:, None, None], torch.sin(f["rotation"])[:, None, None]
        along, across = x * cos - y * sin, x * sin + y * cos  # y down: + angle turns on screen
        width = WIDTH * torch.exp(f["scale"])[:, None, None]
        blob = torch.exp(-0.5 * ((along / (1.6 * width)) ** 2 + (across / (0.6 * width)) ** 2))
        # minus the blob's mean over the plane (2π·σ_along·σ_across on the unit square), so that
        # the image mean is the brightness factor while the blob lies inside the frame, and a
        # translation moves the blob alone
        blob = blob - 2 * math.pi * (1.6 * width) * (0.6 * width)
        amplitude = 0.4 * torch.exp(f["contrast"])[:, None, None]
        images = (f["brightness"][:, None, None] + amplitude * blob)[:, None]
        if self.kernel is not None:  # a normalised kernel with circular padding keeps the mean
            images = F.conv2d(F.pad(images, (1, 1, 1, 1), mode="circular"), self.kernel)
        return images
