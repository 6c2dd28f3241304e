"""dSprites (Matthey et al. 2017): 64×64 binary sprites from 6 factors, rendered procedurally.

Two registered datasets share the factor layout of the official file
``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (factors in this order, flat index row-major
with the last factor fastest, 3·6·40·32·32 = 737 280 combinations):

========== ======================================================================
color      1 value (1.0), constant
shape      3 values 1, 2, 3 = square, ellipse, heart (labels)
scale      6 values, linspace(0.5, 1)
orientation 40 angles in radians (see below), periodic
pos_x      32 values, linspace(0, 1); 0 = left, 1 = right
pos_y      32 values, linspace(0, 1); 0 = top, 1 = bottom
========== ======================================================================

``dsprites`` renders any index (or any factor values) on the fly, vectorised in torch; nothing is
materialised. ``dsprites_npz`` reads the official file (or a smaller file in its layout) from local
disk.

What is known about the official generation, and what this module does:

* The official file was drawn with the LÖVE (Love2D) framework from vector shapes: square with
  ``love.graphics.rectangle``, ellipse with ``love.graphics.ellipse``, heart as a custom mesh
  of vertices; positions are coordinates on a canvas of normalised size 1 (maintainer's answer in
  google-deepmind/dsprites-dataset issue #2). LÖVE's y axis points down, so ``pos_y`` grows
  downwards and a positive angle turns a shape clockwise on screen; the same holds here.
* The official orientation grid is ``linspace(0, 2π, 40)`` (file metadata), so its first and last
  angles are the same angle (issue #7). ``dsprites`` uses the periodic grid 2πk/40 by default
  (40 distinct angles, a proper periodic factor); ``orientation_grid="official"`` selects the
  file's grid, so that factor values at the same index agree with the file.
* Not published, so chosen here: a square of side 0.32 × the image width at scale 1 (about
  20 px, :data:`SPRITE_HALF_WIDTH`); an ellipse with the same width and half its height; a heart
  from the implicit curve (x² + y² − 1)³ − x²y³ ≤ 0, scaled to the same width, lobes up at
  orientation 0; the centre of a sprite at ``0.23 + 0.54·pos`` of the image
  (:data:`POSITION_MARGIN`), so that every sprite stays inside the image at any orientation (one
  position step ≈ 1.1 px). Pixel counts and positions therefore differ from the
  official images; the factor structure and directions do not.

Rasterisation: each pixel is sampled at its centre (``supersample=1``, what an OpenGL rasteriser
does without multisampling, and why the official images are binary) or at s×s sub-pixel points
with the pixel on when at least half are inside. A sample is mapped to the shape's own
coordinates by the inverse translation, rotation and scale, and tested with the shape's implicit
inside function; all images of a batch at once.

Orientation symmetry holds pixel-exactly by construction: before rendering, the angle is reduced
modulo the shape's symmetry period (π/2 for the square, π for the ellipse, 2π for the heart) to
the nearest representative, snapping values within 1e-9 of a multiple to it, so a square at 0 and
at π/2 goes through the very same arithmetic. The per-image cosine and sine are computed with
Python's ``math`` (one scalar call per image), and the per-pixel work uses only exactly rounded
multiplications and additions, so an image does not depend on the batch it was rendered in.

The official ``metadata`` member is a pickled dict; it is never unpickled (``allow_pickle=False``),
so it is not read: the factor grid above plays its role.
"""

from __future__ import annotations

import hashlib
import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import torch

from ...config import Config, field
from ...errors import DataError
from ...registry import DATASETS
from ...threads import small_work
from ..base import Batch, FactorDataset
from ..factors import Factor, FactorSpace

IMAGE_SIZE = 64
"""Width and height of a dSprites image in pixels."""

SHAPES = ("square", "ellipse", "heart")
"""Shape labels; the factor values are 1, 2, 3 in this order (as in the official file)."""

NUM_COMBINATIONS = 737_280
"""Number of factor combinations (images) of the full grid: 1·3·6·40·32·32."""

SPRITE_HALF_WIDTH = 0.16
"""Half the width of every shape at scale 1, as a fraction of the image width (our choice)."""

POSITION_MARGIN = 0.23
"""Sprite centre at pos 0 (and 1 − this at pos 1), as a fraction of the image (our choice).

It exceeds the largest distance of a shape point from its centre at scale 1
(``SPRITE_HALF_WIDTH·√2`` for a square's corner), so no sprite is ever cut by the image border.
"""

ELLIPSE_ASPECT = 0.5
"""Height / width of the ellipse at orientation 0 (our choice)."""

# The heart (x² + y² − 1)³ − x²y³ ≤ 0 (y up) spans x ∈ [−1.139, 1.139], y ∈ [−1, 1.236]: it is
# centred on its bounding box and scaled so that its half-width is 1 in shape coordinates.
_HEART_HALF_WIDTH = 1.139
_HEART_Y_CENTRE = 0.118

_SYMMETRY_PERIOD = {1: math.pi / 2, 2: math.pi, 3: 2 * math.pi}
_SNAP = 1e-9
_REACH = math.sqrt(2.0)  # farthest shape point from the centre, in half-widths (square corner)
_MAX_POINTS = 1 << 22  # sample points per rendering chunk (bounds the memory of big batches)

NPZ_KEYS = ("imgs", "latents_values", "latents_classes")
"""Arrays read from the official file (``metadata`` is a pickle and is never read)."""


def official_orientations() -> tuple[float, ...]:
    """The 40 angles of the official file: ``linspace(0, 2π, 40)``, first and last coinciding."""
    return tuple(torch.linspace(0.0, 2 * math.pi, 40, dtype=torch.float64).tolist())


def dsprites_factor_space(orientation_grid: str = "uniform") -> FactorSpace:
    """The six dSprites factors in the official order.

    ``orientation_grid="uniform"`` gives the periodic grid 2πk/40 on [0, 2π);
    ``"official"`` gives the file's ``linspace(0, 2π, 40)`` (still marked periodic: nearest-class
    lookups map the value 2π to class 0, the same angle).
    """
    if orientation_grid == "uniform":
        orientation = Factor("orientation", 0.0, 2 * math.pi, size=40, periodic=True)
    elif orientation_grid == "official":
        orientation = Factor(
            "orientation", 0.0, 2 * math.pi, values=official_orientations(), periodic=True
        )
    else:
        raise DataError(
            f"orientation_grid: expected 'uniform' or 'official', got {orientation_grid!r}"
        )
    return FactorSpace(
        [
            Factor("color", 1.0, 1.0, size=1),
            Factor("shape", 1.0, 3.0, values=(1.0, 2.0, 3.0), labels=SHAPES),
            Factor("scale", 0.5, 1.0, size=6),
            orientation,
            Factor("pos_x", 0.0, 1.0, size=32),
            Factor("pos_y", 0.0, 1.0, size=32),
        ]
    )


# -- rendering ------------------------------------------------------------------------------------
def _reduce_angle(theta: float, period: float) -> float:
    """``theta`` minus the nearest multiple of ``period`` (0 when within 1e-9 of one)."""
    r = theta - period * round(theta / period)
    return 0.0 if abs(r) < _SNAP else r


def _inside(shape: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Implicit inside test in shape coordinates (x right, y down, half-width 1)."""
    if shape == 1:  # square
        return (u.abs() <= 1.0) & (v.abs() <= 1.0)
    if shape == 2:  # ellipse
        w = v * (1.0 / ELLIPSE_ASPECT)
        return u * u + w * w <= 1.0
    x = u * _HEART_HALF_WIDTH  # heart, in the curve's own coordinates (y up)
    y = _HEART_Y_CENTRE - v * _HEART_HALF_WIDTH
    x2 = x * x
    q = x2 + y * y - 1.0
    return q * q * q - x2 * (y * y * y) <= 0.0


def render_dsprites(
    factors: torch.Tensor, supersample: int = 1, size: int = IMAGE_SIZE
) -> torch.Tensor:
    """Binary images ``(n, 1, size, size)`` (float32, 0/1) for factor values ``(n, 6)``.

    Columns as in :func:`dsprites_factor_space`; any finite values are accepted except that
    ``shape`` must be 1, 2 or 3 and ``scale`` positive. ``color`` is ignored. Positions outside
    [0, 1] move the sprite (partly) off the image.
    """
    values = torch.as_tensor(factors, dtype=torch.float64)
    if values.ndim != 2 or values.shape[1] != 6:
        raise DataError(f"dSprites factor values must have shape (n, 6), got {tuple(values.shape)}")
    if not torch.isfinite(values).all():
        raise DataError("dSprites factor values contain NaN or inf")
    if supersample < 1:
        raise DataError(f"supersample must be >= 1, got {supersample}")
    n = values.shape[0]
    out = torch.zeros(n, 1, size, size, dtype=torch.float32)
    if n == 0:
        return out
    shapes = values[:, 1].round()
    if ((values[:, 1] - shapes).abs() > 1e-6).any() or not bool(
        ((shapes >= 1) & (shapes <= 3)).all()
    ):
        found = values[:, 1].unique().tolist()
        raise DataError(f"dSprites shape values must be 1, 2 or 3, got {found}")
    if not bool((values[:, 2] > 0).all()):
        raise DataError("dSprites scale values must be positive")

    sub = (torch.arange(supersample, dtype=torch.float64) + 0.5) / supersample
    rows_list = values.tolist()
    for shape in (1, 2, 3):
        idx = (shapes == shape).nonzero().reshape(-1).tolist()
        if not idx:
            continue
        period = _SYMMETRY_PERIOD[shape]
        # Per-image scalars in Python (batch-independent); the per-pixel work below is * and +.
        params = []
        for i in idx:
            _, _, scale, theta, px, py = rows_list[i]
            theta = _reduce_angle(theta, period)
            radius = SPRITE_HALF_WIDTH * size * scale  # half-width in pixels
            cx = size * (POSITION_MARGIN + (1 - 2 * POSITION_MARGIN) * px)
            cy = size * (POSITION_MARGIN + (1 - 2 * POSITION_MARGIN) * py)
            reach = radius * _REACH + 1.0  # no shape point is farther from the centre
            width = min(size, math.ceil(2 * reach + 1))
            ox, oy = math.floor(cx - reach), math.floor(cy - reach)
            params.append(
                (cx, cy, math.cos(theta) / radius, math.sin(theta) / radius, ox, oy, width)
            )
        # Only a window around each sprite is sampled (the rest of the image is background).
        window = max(p[-1] for p in params)
        chunk = max(1, _MAX_POINTS // (window * supersample) ** 2)
        for begin in range(0, len(idx), chunk):
            part = params[begin : begin + chunk]
            m = len(part)
            origin = torch.tensor(
                [
                    (min(max(ox, 0), size - window), min(max(oy, 0), size - window))
                    for *_, ox, oy, _ in part
                ],
                dtype=torch.float64,
            )  # (m, 2) window corner in pixels, clamped into the image
            pix = origin[:, :, None] + torch.arange(window, dtype=torch.float64)  # (m, 2, W)
            coords = (pix[..., None] + sub).reshape(m, 2, window * supersample)
            p = torch.tensor([q[:4] for q in part], dtype=torch.float64)[:, :, None, None]
            dx = coords[:, 0, None, :] - p[:, 0]  # (m, 1, L)
            dy = coords[:, 1, :, None] - p[:, 1]  # (m, L, 1)
            c, s = p[:, 2], p[:, 3]
            u = c * dx + s * dy  # inverse translation, rotation and scale: shape coordinates
            v = c * dy - s * dx
            inside = _inside(shape, u, v)
            if supersample > 1:
                cover = inside.reshape(m, window, supersample, window, supersample).sum((2, 4))
                img = (2 * cover >= supersample * supersample).float()
            else:
                img = inside.float()
            for k, (x0, y0) in enumerate(origin.long().tolist()):
                out[idx[begin + k], 0, y0 : y0 + window, x0 : x0 + window] = img[k]
    return out


# -- procedural dataset ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DSpritesConfig(Config):
    supersample: int = field(
        1,
        ge=1,
        le=8,
        doc="samples per pixel side; >1 turns a pixel on when at least half its samples are inside",
    )
    orientation_grid: str = field(
        "uniform",
        choices=("uniform", "official"),
        doc="'uniform': 40 angles 2πk/40; 'official': the file's linspace(0, 2π, 40)",
    )


@DATASETS.register("dsprites")
class DSprites(FactorDataset):
    """All 737 280 dSprites combinations, rendered on demand (nothing is stored)."""

    Config = DSpritesConfig

    def __init__(self, config: DSpritesConfig | None = None):
        self.config = config or DSpritesConfig()
        self.factor_space = dsprites_factor_space(self.config.orientation_grid)

    def __len__(self) -> int:
        return NUM_COMBINATIONS

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (1, IMAGE_SIZE, IMAGE_SIZE)

    def get_batch(self, indices: torch.Tensor) -> Batch:
        idx = self.check_indices(indices)
        values = self.factor_space.index_to_values(idx)
        return Batch(self.render(values), values)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """Binary images ``(n, 1, 64, 64)`` of factor values ``(n, 6)``: :func:`render_dsprites`."""
        values = self.factor_space.check_values(factors)
        return render_dsprites(values, supersample=self.config.supersample)

    def check_finite(self, chunk: int = 4096) -> None:
        """Nothing to scan: rendered images are 0/1 by construction."""


# -- the official file ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DSpritesNpzConfig(Config):
    path: str = field(
        doc="local path of dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz (or a file in its layout)"
    )


def _read_exact(f: IO[bytes], nbytes: int) -> bytes:
    parts, left = [], nbytes
    while left > 0:
        block = f.read(left)
        if not block:
            break
        parts.append(block)
        left -= len(block)
    data = b"".join(parts)
    if len(data) != nbytes:
        raise EOFError(f"expected {nbytes} bytes, got {len(data)}")
    return data


def _read_header(f: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from the header of a .npy stream (no data is read)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f"unsupported .npy format version {version}")


class _NpzReader:
    """Safe access to the .npy members of a zip archive: headers, small arrays, image rows."""

    _errors = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError)

    def __init__(self, path: Path):
        self.path = path
        if not path.exists():
            raise DataError(f"dSprites file {str(path)!r} does not exist")
        if not path.is_file():
            raise DataError(f"dSprites file {str(path)!r} is not a file")
        if not zipfile.is_zipfile(path):
            raise DataError(
                f"dSprites file {str(path)!r} is not an .npz archive (not a zip file); expected "
                "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz or a file written by numpy.savez"
            )

    def _fail(self, what: str, exc: BaseException) -> DataError:
        return DataError(f"dSprites file {str(self.path)!r} is corrupt: {what}: {exc}")

    def keys(self) -> list[str]:
        try:
            with zipfile.ZipFile(self.path) as zf:
                return [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
        except self._errors as exc:
            raise self._fail("cannot list its members", exc) from None

    def header(self, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(key + ".npy") as f:
                return _read_header(f)
        except self._errors as exc:
            raise self._fail(f"cannot read the header of {key!r}", exc) from None

    def array(self, key: str) -> np.ndarray:
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(key + ".npy") as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except self._errors as exc:
            raise self._fail(f"cannot read array {key!r}", exc) from None

    def packed_images(self, n: int, chunk: int = 8192) -> np.ndarray:
        """The ``imgs`` member as bit-packed rows ``(n, 512)``, decoded in one streaming pass."""
        pixels = IMAGE_SIZE * IMAGE_SIZE
        packed = np.empty((n, pixels // 8), dtype=np.uint8)
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open("imgs.npy") as f:
                _, fortran, _ = _read_header(f)
                if fortran:  # rows are not contiguous: read it whole (never the case in practice)
                    imgs = np.ascontiguousarray(np.lib.format.read_array(f, allow_pickle=False))
                    blocks = (imgs[s : s + chunk].reshape(-1, pixels) for s in range(0, n, chunk))
                else:
                    blocks = (
                        np.frombuffer(_read_exact(f, min(chunk, n - s) * pixels), np.uint8).reshape(
                            -1, pixels
                        )
                        for s in range(0, n, chunk)
                    )
                for start, block in zip(range(0, n, chunk), blocks):
                    block = block.view(np.uint8)
                    if block.max(initial=0) > 1:
                        raise DataError(
                            f"dSprites file {str(self.path)!r}: 'imgs' holds values other than "
                            f"0 and 1 (max {int(block.max())} in rows {start}+); expected binary "
                            "images"
                        )
                    packed[start : start + block.shape[0]] = np.packbits(block, axis=1)
        except DataError:
            raise
        except self._errors as exc:
            raise self._fail("cannot read the images 'imgs'", exc) from None
        return packed


@DATASETS.register("dsprites_npz")
class DSpritesNpz(FactorDataset):
    """The official dSprites file (or a smaller file in its layout) read from local disk.

    Observations are the file's images ``imgs`` as float32 0/1 ``(n, 1, 64, 64)``; factors are
    its ``latents_values`` (float64 ``(n, 6)``), whatever they are; the factor space is
    :func:`dsprites_factor_space` with the official orientation grid. The constructor validates
    the file (keys, dtypes, shapes, NaN, class ranges) and reads the two small factor arrays
    (35 MB each for the full file). The images — 3 GB of compressed uint8 in the official file,
    which a zip member cannot memory-map or seek into — are decoded on first use in one streaming
    pass and kept bit-packed (512 bytes per image, 377 MB for the full file).
    """

    Config = DSpritesNpzConfig

    def __init__(self, config: DSpritesNpzConfig):
        self.config = config
        self.path = Path(config.path).expanduser()
        self.factor_space = dsprites_factor_space("official")
        self._reader = _NpzReader(self.path)
        where = f"dSprites file {str(self.path)!r}"
        present = self._reader.keys()
        missing = [k for k in NPZ_KEYS if k not in present]
        if missing:
            raise DataError(
                f"{where} has no array {missing[0]!r} (it holds: "
                f"{', '.join(present) or 'nothing'}); expected the arrays {', '.join(NPZ_KEYS)}"
            )
        shape, _, dtype = self._reader.header("imgs")
        if len(shape) != 3 or shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or shape[0] < 1:
            raise DataError(f"{where}: 'imgs' has shape {shape}; expected (n, 64, 64) with n >= 1")
        if dtype not in (np.dtype(np.uint8), np.dtype(bool)):
            raise DataError(f"{where}: 'imgs' has dtype {dtype}; expected uint8 (0/1 pixels)")
        n = shape[0]
        values = self._check_latents("latents_values", n, "f", where)
        classes = self._check_latents("latents_classes", n, "iu", where)
        if not np.isfinite(values).all():
            bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
            raise DataError(
                f"{where}: 'latents_values' contains NaN or inf in {len(bad)} rows "
                f"(first bad row {int(bad[0])})"
            )
        sizes = np.array(self.factor_space.sizes)
        out = (classes < 0) | (classes >= sizes)
        if out.any():
            row, col = np.argwhere(out)[0]
            raise DataError(
                f"{where}: 'latents_classes' row {int(row)} has class {int(classes[row, col])} for "
                f"factor {self.factor_space.names[col]!r}; expected 0..{int(sizes[col]) - 1}"
            )
        self._n = n
        self.factors = torch.from_numpy(values.astype(np.float64))
        self.classes = torch.from_numpy(classes.astype(np.int64))
        # Whether the file is the full grid in flat-index order (then :meth:`render` works).
        self.complete = n == NUM_COMBINATIONS and bool(
            (self.factor_space.classes_to_index(self.classes) == torch.arange(n)).all()
        )
        self._packed: np.ndarray | None = None

    def _check_latents(self, key: str, n: int, kinds: str, where: str) -> np.ndarray:
        shape, _, dtype = self._reader.header(key)
        if shape != (n, 6):
            raise DataError(
                f"{where}: {key!r} has shape {shape}; expected ({n}, 6), one row per image"
            )
        if dtype.kind not in kinds:
            expected = "float" if kinds == "f" else "integer"
            raise DataError(f"{where}: {key!r} has dtype {dtype}; expected {expected} values")
        return self._reader.array(key)

    def __len__(self) -> int:
        return self._n

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (1, IMAGE_SIZE, IMAGE_SIZE)

    def load_images(self) -> None:
        """Decode the images now (otherwise done by the first :meth:`get_batch`)."""
        if self._packed is None:
            self._packed = self._reader.packed_images(self._n)

    def images(self, indices: torch.Tensor) -> torch.Tensor:
        """Images ``(m, 1, 64, 64)`` float32 0/1 of the given rows."""
        self.load_images()
        rows = self._packed[self.check_indices(indices).numpy()]
        x = np.unpackbits(rows, axis=1).reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
        return torch.from_numpy(x).float()

    def get_batch(self, indices: torch.Tensor) -> Batch:
        idx = self.check_indices(indices)
        return Batch(self.images(idx), self.factors[idx])

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """Look up the images of factor values ``(n, 6)`` (nearest grid class); full file only."""
        if not self.complete:
            raise DataError(
                f"dSprites file {str(self.path)!r} is not the complete grid in index order, so "
                "images cannot be looked up by factor values; use the 'dsprites' dataset to render"
            )
        space = self.factor_space
        index = space.classes_to_index(space.values_to_classes(factors))
        return self.images(index)

    def check_finite(self, chunk: int = 4096) -> None:
        """Nothing to scan: images are checked to be 0/1 when decoded."""
        self.load_images()

    @small_work  # probes rendered on one thread: the same bytes in every process
    def fingerprint(self) -> str:
        """Hash of the factors and of probe images (not of the path, which is machine-specific)."""
        h = hashlib.sha256(type(self).__name__.encode())
        h.update(self.factors.numpy().tobytes())
        g = torch.Generator().manual_seed(1234)
        probe = self.get_batch(torch.randint(len(self), (min(len(self), 64),), generator=g))
        h.update(probe.x.numpy().tobytes())
        return h.hexdigest()[:16]
