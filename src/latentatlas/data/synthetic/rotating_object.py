"""A rotating object (thesis §10.2): grey views of one 3-D object turning about its vertical axis.

The thesis uses COIL-20 (72 photographs per object, 5° apart, 128×128 grey, fig. 10.5) and
trains on the 72 views of a single object (§10.2.1); the latent factor is the camera angle,
periodic on [0, 2π). This dataset is a synthetic stand-in that needs no download and whose
factor is known exactly; the real images are read by the ``coil20`` dataset
(:mod:`latentatlas.data.coil20`).

The object, the camera and the light are our choices (the thesis has no renderer):

* **Object** (:data:`OBJECT_BOXES`): four axis-aligned boxes of different grey albedos forming
  an L-shaped block on a base plate with a small cube at one corner. No rotation about the
  vertical axis other than a full turn maps it onto itself, and the albedos differ, so no two
  views coincide: the angle is identifiable.
* **Camera**: orthographic, looking at the origin from an elevation of ``elevation`` degrees
  (20° by default, like a turntable photographed slightly from above), the image spanning
  [−1.1, 1.1] world units, so the object (reaching at most 1.05 from the centre in any view
  with |elevation| ≤ 80°) stays inside at every angle.
* **Rendering**: one ray per sample point (``supersample``² per pixel, averaged) intersected
  with every box by the slab method; the nearest hit wins (a z-buffer per ray). Lambert shading
  from a fixed light at the camera's upper left: albedo · (0.25 + 0.75·max(0, n·l)). The
  background is black, as in COIL-20's processed images. Angle θ turns the object
  counter-clockwise seen from above (right-handed about the up axis); the light and camera do
  not move, so shading changes with the angle as it does on a turntable.

Angles are reduced modulo 2π before rendering, so θ and θ + 2π give bit-identical images; every
view is computed independently with elementwise float64 operations, so an image does not depend
on the batch it is rendered in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ...config import Config, field
from ...registry import DATASETS
from ...rotations import angles_of_matrix, matrix_of_angles, random_quaternions, rotation_matrix
from ..base import Batch, InMemoryDataset
from ..factors import Factor, FactorSpace

OBJECT_BOXES: tuple[tuple[tuple[float, float, float], tuple[float, float, float], float], ...] = (
    ((-0.70, -0.60, -0.50), (0.70, -0.40, 0.50), 0.50),  # base plate
    ((-0.70, -0.40, -0.50), (-0.30, 0.60, -0.10), 0.90),  # tall tower, back left
    ((-0.30, -0.40, -0.50), (0.70, -0.10, -0.20), 0.70),  # low arm along the back: the L
    ((0.30, -0.40, 0.15), (0.60, 0.00, 0.45), 0.35),  # small dark cube, front right
)
"""Boxes ``(low corner, high corner, albedo)`` in object coordinates (x right, y up, z front)."""

VIEW_HALF_WIDTH = 1.1
"""Half the width of the square image in world units."""

AMBIENT, DIFFUSE = 0.25, 0.75
"""Lambert shading: intensity = albedo · (AMBIENT + DIFFUSE · max(0, n·l))."""


def _camera(elevation_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Right, up and forward unit vectors of the camera, and the unit direction to the light."""
    e = math.radians(elevation_deg)
    right = np.array([1.0, 0.0, 0.0])
    up = np.array([0.0, math.cos(e), -math.sin(e)])
    forward = np.array([0.0, -math.sin(e), -math.cos(e)])  # from the camera into the scene
    light = -0.5 * right + 0.6 * up - 0.8 * forward
    return right, up, forward, light / np.linalg.norm(light)


def _render_view(
    theta: float, size: int, supersample: int, camera: tuple, boxes: tuple
) -> np.ndarray:
    """One view ``(size, size)`` float64 of the object turned by θ about the up axis."""
    c, sn = math.cos(theta), math.sin(theta)
    # R_y(θ)ᵀ maps world to object coordinates (the object is turned by θ about +y)
    rot_t = np.array([[c, 0.0, -sn], [0.0, 1.0, 0.0], [sn, 0.0, c]])
    return render_rotated(rot_t, size, supersample, camera, boxes)


def render_rotated(
    rot_t: np.ndarray, size: int, supersample: int, camera: tuple, boxes: tuple
) -> np.ndarray:
    """One view ``(size, size)`` float64 of the object under the rotation R whose transpose
    ``rot_t`` maps world to object coordinates: ray casting with a per-ray z-buffer (see the
    module doc). The camera and the light stay in the world."""
    right, up, forward, light = camera
    r_o, u_o, f_o, l_o = rot_t @ right, rot_t @ up, rot_t @ forward, rot_t @ light
    d = np.where(f_o == 0.0, 1e-12, f_o)  # ray direction in object coordinates
    s = size * supersample
    step = 2 * VIEW_HALF_WIDTH / s
    coords = -VIEW_HALF_WIDTH + (np.arange(s) + 0.5) * step  # sample centres, world units
    depth = np.full((s, s), np.inf)
    shade = np.zeros((s, s))
    for lo, hi, albedo in boxes:
        lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
        corners = np.array(
            [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
        )
        # screen extent of the box: a = p·right, b = p·up in object coordinates
        pa, pb = corners @ r_o, corners @ u_o
        j0 = max(0, math.floor((pa.min() + VIEW_HALF_WIDTH) / step) - 1)
        j1 = min(s, math.ceil((pa.max() + VIEW_HALF_WIDTH) / step) + 1)
        i0 = max(0, math.floor((VIEW_HALF_WIDTH - pb.max()) / step) - 1)
        i1 = min(s, math.ceil((VIEW_HALF_WIDTH - pb.min()) / step) + 1)
        if j0 >= j1 or i0 >= i1:
            continue
        a = coords[None, j0:j1]  # left to right
        b = -coords[i0:i1, None]  # top to bottom
        near = np.full((i1 - i0, j1 - j0), -np.inf)
        far = np.full((i1 - i0, j1 - j0), np.inf)
        axis = np.zeros((i1 - i0, j1 - j0), dtype=np.int64)
        for k in range(3):
            o_k = a * r_o[k] + b * u_o[k] - 3.0 * f_o[k]  # ray origins, behind the object
            t0, t1 = (lo[k] - o_k) / d[k], (hi[k] - o_k) / d[k]
            tmin, tmax = np.minimum(t0, t1), np.maximum(t0, t1)
            axis = np.where(tmin > near, k, axis)  # the slab entered last gives the normal
            near = np.maximum(near, tmin)
            far = np.minimum(far, tmax)
        hit = (near <= far) & (far > 0) & (near < depth[i0:i1, j0:j1])
        # outward normal along the entry axis, against the ray: n·l = -sign(d_axis)·l_axis
        cos_l = -np.sign(d[axis]) * l_o[axis]
        value = albedo * (AMBIENT + DIFFUSE * np.maximum(cos_l, 0.0))
        depth[i0:i1, j0:j1] = np.where(hit, near, depth[i0:i1, j0:j1])
        shade[i0:i1, j0:j1] = np.where(hit, value, shade[i0:i1, j0:j1])
    if supersample > 1:
        shade = shade.reshape(size, supersample, size, supersample).mean((1, 3))
    return shade


def render_views(
    angles: np.ndarray | torch.Tensor,
    size: int = 128,
    elevation: float = 20.0,
    supersample: int = 2,
    boxes: tuple = OBJECT_BOXES,
) -> np.ndarray:
    """Grey views ``(n, size, size)`` float64 in [0, 1] of the object turned by ``angles``."""
    angles = np.mod(np.asarray(angles, dtype=np.float64).reshape(-1), 2 * math.pi)
    camera = _camera(elevation)
    out = np.zeros((len(angles), size, size))
    for n, theta in enumerate(angles.tolist()):
        out[n] = _render_view(theta, size, supersample, camera, boxes)
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class RotatingObjectConfig(Config):
    n_views: int = field(72, ge=1, doc="number of views, evenly spaced over a turn (72: 5° apart)")
    size: int = field(128, ge=4, doc="image side in pixels (128 as COIL-20)")
    elevation: float = field(20.0, ge=-80.0, le=80.0, doc="camera elevation in degrees")
    supersample: int = field(2, ge=1, le=4, doc="rays per pixel side (anti-aliasing)")


@DATASETS.register("rotating_object")
class RotatingObject(InMemoryDataset):
    """Thesis §10.2 stand-in: ``n_views`` rendered views of a built-in object, factor ``angle``."""

    Config = RotatingObjectConfig

    @classmethod
    def estimated_values(cls, c: RotatingObjectConfig) -> int:
        """Values it will hold (n_views colour images), for the memory check before building."""
        return 3 * c.n_views * c.size**2

    def __init__(self, config: RotatingObjectConfig | None = None):
        self.config = config or RotatingObjectConfig()
        space = FactorSpace(
            [Factor("angle", 0.0, 2 * math.pi, size=self.config.n_views, periodic=True)]
        )
        self.factor_space = space
        angles = space.factors[0].grid()[:, None]
        super().__init__(self.render(angles), angles, space)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """Views ``(n, 1, size, size)`` float32 of any angles ``(n, 1)`` or ``(n,)`` (radians)."""
        angles = self.factor_space.check_values(factors)
        cfg = self.config
        views = render_views(angles[:, 0].numpy(), cfg.size, cfg.elevation, cfg.supersample)
        return torch.from_numpy(views).float()[:, None]

    def evaluation_set(self) -> Batch:
        """All views, in angle order (the whole dataset)."""
        return Batch(self.x, self.factors)


# -- the object under every rotation ---------------------------------------------------------------
ROTATION_FACTORS = FactorSpace(
    [
        Factor("yaw", -math.pi, math.pi, periodic=True),
        Factor("pitch", -math.pi / 2, math.pi / 2),
        Factor("roll", -math.pi, math.pi, periodic=True),
    ]
)
"""Yaw, pitch, roll of R = R_z(yaw) R_y(pitch) R_x(roll) (:mod:`latentatlas.rotations`)."""


@dataclass(frozen=True)
class TumblingObjectConfig(Config):
    n: int = field(2000, ge=1, doc="number of views, each under a uniform random rotation")
    size: int = field(32, ge=4, doc="image side in pixels")
    supersample: int = field(2, ge=1, le=4, doc="rays per pixel side (anti-aliasing)")
    n_vis: int = field(500, ge=1, doc="views of the evaluation set (other random rotations)")
    seed: int = field(0, doc="seed of the rotations")


@DATASETS.register("tumbling_object")
class TumblingObject(InMemoryDataset):
    """The rotating object's object under uniformly random 3-D rotations: latent factors on
    SO(3), stored as yaw, pitch, roll (``rotations()`` gives the matrices). The camera looks
    along the world's −z axis (elevation 0) and the light stays in the world, so the shading
    changes with the rotation; the object has no rotational symmetry and differently grey
    parts, so different rotations give different views."""

    Config = TumblingObjectConfig

    @classmethod
    def estimated_values(cls, c: TumblingObjectConfig) -> int:
        return (c.n + c.n_vis) * c.size**2

    def __init__(self, config: TumblingObjectConfig | None = None):
        self.config = config or TumblingObjectConfig()
        self.factor_space = ROTATION_FACTORS
        g = torch.Generator().manual_seed(self.config.seed)
        angles = angles_of_matrix(rotation_matrix(random_quaternions(self.config.n, g)))
        super().__init__(self.render(angles), angles, ROTATION_FACTORS)

    @staticmethod
    def rotations(factors: torch.Tensor) -> torch.Tensor:
        """Rotation matrices ``(n, 3, 3)`` of factor rows ``(n, 3)`` (yaw, pitch, roll)."""
        return matrix_of_angles(torch.as_tensor(factors, dtype=torch.float64))

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """Views ``(n, 1, size, size)`` float32 of rotations given as yaw, pitch, roll."""
        angles = self.factor_space.check_values(factors)
        cfg = self.config
        camera = _camera(0.0)
        views = [
            render_rotated(r.T, cfg.size, cfg.supersample, camera, OBJECT_BOXES)
            for r in self.rotations(angles).numpy()
        ]
        return torch.from_numpy(np.clip(np.stack(views), 0.0, 1.0)).float()[:, None]

    def evaluation_set(self) -> Batch:
        """``n_vis`` noiseless views of other random rotations (seed + 1)."""
        g = torch.Generator().manual_seed(self.config.seed + 1)
        angles = angles_of_matrix(rotation_matrix(random_quaternions(self.config.n_vis, g)))
        return Batch(self.render(angles), angles)
