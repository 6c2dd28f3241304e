"""Reductor families: simple parametric maps M⁽λ⁾ from one latent space into another (thesis
table 9.1, eq. 9.3-9.5, 11.11-11.13).

A reductor maps *intrinsic* coordinates of the source latent space (vectors for R^d, angles for
circles and tori) to intrinsic coordinates of the target, so that ``target_model.decode(M(z))``
can be compared with ``source_model.decode(z)`` (Algorithm 2). Families:

* ``matrix``     y = C·e(z) (+ b): into R^d. e(z) = z for a Euclidean source and the unit-circle
  embedding (cos θ, sin θ, …) of the angles for a circle/torus source (table 9.1: M_{S¹;R²},
  M_{Φ;R²}; eq. 11.13: M_{T²;R⁴}). The bias is an option (errata: circle-to-plane maps
  benefit from one).
* ``rotation``   θ' = s·θ + φ per circle, s = ±1 (the reflection is an option, orientations can
  flip): between circles/tori with the same number of circles (M_{S¹;Φ}, M_{Φ;S¹}).
* ``atan2``      θ' = s·atan2(z_{2i}, z_{2i−1}) + φ: from R^{2n} into n circles (M_{R²;S¹},
  M_{R²;Φ}, eq. 9.5).
* ``projection`` θ' = angles of the pairs of y = C·z (+ b): from R^{2n} into n circles; for n = 2
  the projection onto the Clifford torus of eq. 11.12 (the radius does not change the angles).

Users add a family with ``@REDUCTORS.register("name")`` on a :class:`Reductor` subclass that
implements :meth:`Reductor.check` and ``forward``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..config import Config, ConfigError, field
from ..latent.heat_kernel import wrap
from ..latent.sphere import SphereLatent
from ..registry import REDUCTORS


@dataclass(frozen=True)
class SpaceInfo:
    """What a reductor needs to know of a latent space: periodic or not, its number of
    coordinates, and whether its points are unit vectors (a sphere, or a projective space or
    SO(3), whose points are unit representatives)."""

    name: str
    periodic: bool
    dim: int
    sphere: bool = False

    @classmethod
    def of(cls, latent: nn.Module, name: str = "") -> SpaceInfo:
        label = name or getattr(latent, "registry_name", "") or type(latent).__name__
        return cls(
            label,
            bool(getattr(latent, "periodic", False)),
            int(latent.dim),
            isinstance(latent, SphereLatent),
        )

    def __str__(self) -> str:
        if self.sphere:
            return f"{self.name} (unit vectors in R^{self.dim})"
        kind = f"T^{self.dim}" if self.periodic and self.dim > 1 else "S¹" if self.periodic else ""
        return f"{self.name} ({kind or f'R^{self.dim}'})"


def unit_embedding(theta: torch.Tensor) -> torch.Tensor:
    """(cos θ₁, sin θ₁, …, cos θₙ, sin θₙ) of angles ``(..., n)`` (eq. 9.3 per circle)."""
    return torch.stack((torch.cos(theta), torch.sin(theta)), dim=-1).flatten(-2)


class Reductor(nn.Module):
    """Base class: a map between the intrinsic coordinates of two latent spaces."""

    Config: type[Config]
    registry_name = ""

    def __init__(self, config: Config, source: SpaceInfo, target: SpaceInfo):
        super().__init__()
        self.config, self.source, self.target = config, source, target
        self.check(source, target)

    @classmethod
    def from_config(cls, config: Config, source: SpaceInfo, target: SpaceInfo) -> Reductor:
        return cls(config, source, target)

    @classmethod
    def check(cls, source: SpaceInfo, target: SpaceInfo) -> None:
        """Raise :class:`ConfigError` when this family cannot map ``source`` into ``target``."""
        raise NotImplementedError

    @classmethod
    def refuse(cls, source: SpaceInfo, target: SpaceInfo, needs: str) -> ConfigError:
        return ConfigError(
            f"reductor {cls.registry_name!r} cannot map {source} into {target}: it needs {needs}"
        )

    def orientations(self) -> list[float]:
        """Values of a discrete choice fitted by trying each (the reflection sign s), or [1]."""
        return [1.0]

    def set_orientation(self, sign: float) -> None:
        """Fix the discrete choice (see :meth:`orientations`)."""

    def starts(self) -> list:
        """Starting points tried by a short fit each, where the loss has several minima (an
        angle's offset, a rotation), or [None] for one start."""
        return [None]

    def set_start(self, start: object) -> None:
        """Start from one of :meth:`starts`."""

    def parameters_dict(self) -> dict[str, list]:
        """The fitted parameters as plain lists (for results files)."""
        out = {k: v.detach().cpu().tolist() for k, v in self.named_parameters()}
        out.update({k: v.detach().cpu().tolist() for k, v in self.named_buffers()})
        return out


@dataclass(frozen=True)
class MatrixConfig(Config):
    bias: bool = field(False, doc="add a bias b to C·e(z)")


@REDUCTORS.register("matrix")
class MatrixReductor(Reductor):
    """y = C·e(z) (+ b) into R^d; e embeds angles on unit circles (table 9.1, eq. 11.13)."""

    Config = MatrixConfig

    def __init__(self, config: MatrixConfig, source: SpaceInfo, target: SpaceInfo):
        super().__init__(config, source, target)
        width = 2 * source.dim if source.periodic else source.dim
        self.linear = nn.Linear(width, target.dim, bias=config.bias)
        with torch.no_grad():  # start from a (padded) identity: a sensible first guess
            self.linear.weight.copy_(torch.eye(target.dim, width))
            if config.bias:
                self.linear.bias.zero_()

    @classmethod
    def check(cls, source: SpaceInfo, target: SpaceInfo) -> None:
        if target.periodic or target.sphere:
            raise cls.refuse(
                source,
                target,
                "a Euclidean target (use rotation, atan2 or projection for circles, normalise "
                "or orthogonal for spheres)",
            )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.linear(unit_embedding(z) if self.source.periodic else z)


@dataclass(frozen=True)
class AngleConfig(Config):
    reflection: bool = field(True, doc="also try the reflected orientation s = −1, keep the best")


class _AngleShift(Reductor):
    """θ' = s·f(z) + φ per circle, with a fitted offset φ and a tried sign s."""

    Config = AngleConfig

    def __init__(self, config: AngleConfig, source: SpaceInfo, target: SpaceInfo):
        super().__init__(config, source, target)
        self.offset = nn.Parameter(torch.zeros(target.dim))
        self.register_buffer("sign", torch.ones(()))

    def orientations(self) -> list[float]:
        return [1.0, -1.0] if self.config.reflection else [1.0]

    def set_orientation(self, sign: float) -> None:
        self.sign.fill_(sign)

    def starts(self) -> list:
        return ANGLE_STARTS

    def set_start(self, start: object) -> None:
        with torch.no_grad():
            self.offset.fill_(float(start))

    def angles(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return wrap(self.sign * self.angles(z) + self.offset)


@REDUCTORS.register("rotation")
class RotationReductor(_AngleShift):
    """θ' = s·θ + φ per circle (M_{S¹;Φ}, M_{Φ;S¹} of table 9.1), reflection optional."""

    @classmethod
    def check(cls, source: SpaceInfo, target: SpaceInfo) -> None:
        if not (source.periodic and target.periodic and source.dim == target.dim):
            raise cls.refuse(source, target, "circles on both sides, as many in each")

    def angles(self, z: torch.Tensor) -> torch.Tensor:
        return z


@REDUCTORS.register("atan2")
class Atan2Reductor(_AngleShift):
    """θ' = s·atan2(z_{2i}, z_{2i−1}) + φ from R^{2n} into n circles (eq. 9.5)."""

    @classmethod
    def check(cls, source: SpaceInfo, target: SpaceInfo) -> None:
        if source.periodic or not target.periodic or source.dim != 2 * target.dim:
            raise cls.refuse(source, target, "a Euclidean R^{2n} source and n target circles")

    def angles(self, z: torch.Tensor) -> torch.Tensor:
        pairs = z.unflatten(-1, (self.target.dim, 2))
        return torch.atan2(pairs[..., 1], pairs[..., 0])


@REDUCTORS.register("projection")
class ProjectionReductor(Reductor):
    """θ' = angles of the pairs of C·z (+ b) from R^{2n} into n circles (eq. 11.11-11.12)."""

    Config = MatrixConfig

    def __init__(self, config: MatrixConfig, source: SpaceInfo, target: SpaceInfo):
        super().__init__(config, source, target)
        self.linear = nn.Linear(source.dim, source.dim, bias=config.bias)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(source.dim))
            if config.bias:
                self.linear.bias.zero_()

    @classmethod
    def check(cls, source: SpaceInfo, target: SpaceInfo) -> None:
        if source.periodic or not target.periodic or source.dim != 2 * target.dim:
            raise cls.refuse(source, target, "a Euclidean R^{2n} source and n target circles")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        pairs = self.linear(z).unflatten(-1, (self.target.dim, 2))
        return torch.atan2(pairs[..., 1], pairs[..., 0])


@REDUCTORS.register("normalise")
class NormaliseReductor(Reductor):
    """z' = (C·e(z) + b)/|C·e(z) + b| into a sphere (or a projective space or SO(3), whose
    decoders read ±z' alike); e embeds angles on unit circles, as for ``matrix``."""

    Config = MatrixConfig

    def __init__(self, config: MatrixConfig, source: SpaceInfo, target: SpaceInfo):
        super().__init__(config, source, target)
        width = 2 * source.dim if source.periodic else source.dim
        self.linear = nn.Linear(width, target.dim, bias=config.bias)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(target.dim, width))
            if config.bias:
                self.linear.bias.zero_()

    @classmethod
    def check(cls, source: SpaceInfo, target: SpaceInfo) -> None:
        if not target.sphere:
            raise cls.refuse(source, target, "a sphere-like target (sphere, projective, rotation)")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = self.linear(unit_embedding(z) if self.source.periodic else z)
        return torch.nn.functional.normalize(y, dim=-1, eps=1e-12)


@dataclass(frozen=True)
class OrthogonalConfig(Config):
    reflection: bool = field(True, doc="also try maps with a reflection (det −1), keep the best")


@REDUCTORS.register("orthogonal")
class OrthogonalReductor(Reductor):
    """z' = Q z with Q orthogonal (a rotation, times a reflection when that fits better):
    between spheres of the same dimension, the analogue of ``rotation`` between circles; on the
    unit quaternions of SO(3), Q ranges over q ↦ a q b, fixed rotations composed on both sides.
    Q = R₀ exp(A − Aᵀ), started from the identity and the half-turns about each axis."""

    Config = OrthogonalConfig

    def __init__(self, config: OrthogonalConfig, source: SpaceInfo, target: SpaceInfo):
        super().__init__(config, source, target)
        m = source.dim
        self.generator = nn.Parameter(torch.zeros(m, m))
        self.register_buffer("start", torch.eye(m))
        self.register_buffer("mirror", torch.eye(m))

    @classmethod
    def check(cls, source: SpaceInfo, target: SpaceInfo) -> None:
        if not (source.sphere and target.sphere and source.dim == target.dim):
            raise cls.refuse(source, target, "spheres on both sides, of the same dimension")

    def orientations(self) -> list[float]:
        return [1.0, -1.0] if self.config.reflection else [1.0]

    def set_orientation(self, sign: float) -> None:
        self.mirror[0, 0] = sign

    def starts(self) -> list:
        m = self.source.dim
        turns = [torch.eye(m)]
        for k in range(min(m, 3)):  # a half-turn that keeps axis k: two other axes flip
            flips = torch.ones(m)
            flips[[j for j in range(m) if j != k][:2]] = -1.0
            turns.append(torch.diag(flips))
        return turns

    def set_start(self, start: object) -> None:
        self.start.copy_(torch.as_tensor(start))

    def matrix(self) -> torch.Tensor:
        skew = self.generator - self.generator.T
        return self.mirror @ self.start @ torch.linalg.matrix_exp(skew)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.matrix().T


def default_family(source: SpaceInfo, target: SpaceInfo) -> str:
    """The thesis's family for a pair of spaces (table 9.1; eq. 11.12-11.13 for the torus);
    into a sphere-like space, ``orthogonal`` from one of its dimension, else ``normalise``."""
    if target.sphere:
        return "orthogonal" if source.sphere and source.dim == target.dim else "normalise"
    if not target.periodic:
        return "matrix"
    if source.periodic:
        return "rotation"
    return "atan2" if target.dim == 1 else "projection"


#: offsets tried as starting points of an angle fit (the loss is multimodal in φ)
ANGLE_STARTS = [2 * math.pi * k / 8 - math.pi for k in range(8)]
