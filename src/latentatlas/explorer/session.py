"""The model side of the latent explorer: load a run, order its latent coordinates, check codes
from the page and decode them to PNG. No web framework here (``explorer.app`` serves it).

Controls, one per latent coordinate, in order of importance:

* a VAE's coordinates by their mean KL to the prior on the run's evaluation set (the informative
  ones first), with a range of ±3 prior standard deviations (1 for N(0, I));
* a plain autoencoder's (point latent) by the variance of its codes, ranging over ±3 standard
  deviations around their mean; the PCA-like autoencoder's in its own order (component 1 first);
* an atomic autoencoder's grouped per block (its coordinates by variance inside a block);
* circle and torus coordinates are angles: dials over a full turn (no end stops; −π and +π are
  the same code, tested).

Codes from the page are refused unless they have the latent's length, are finite and lie within
``BOUND`` (linear coordinates; angles may take any finite value and are wrapped).

Observations are shown as pictures: grey or colour images as they are (enlarged), vectors (the
sine circle, tabular data, 1-D signals) as line plots in the style of thesis fig. 5.2 — the
values against their index, on the value range of the run's evaluation set, so that plots of
different codes compare.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, RunFolderError

BOUND = 50.0
"""The largest absolute value a linear coordinate from the page may take."""

MIN_PIXELS = 256
"""Decoded images are enlarged (nearest neighbour) to at least this many pixels a side."""


@dataclass(frozen=True)
class Control:
    """One latent coordinate on the page (``block``: its atomic block, or −1)."""

    index: int
    kind: str  # "slider" or "dial"
    low: float
    high: float
    score: float
    score_name: str
    block: int = -1


TRAVERSAL_STEPS = 9
"""Images in a traversal strip."""

PLOT_SIZE = (320, 200)
"""Width and height in pixels of the line plot of a vector observation."""


def _finite(value: float) -> bool:
    """Whether a number from a request is finite (an integer beyond any float is not)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


class ExplorerSession:
    """A trained model of a run folder, ready to decode codes sent by the page."""

    def __init__(self, run_dir: str | Path, device: str = "cpu", seed: int = 0):
        from ..latent.circle import TorusLatent
        from ..train.run import load, load_dataset

        self.run_dir = Path(run_dir)
        self.device = torch.device(device)
        self.model = load(self.run_dir, self.device)
        for needed in ("decode", "latent", "likelihood"):
            if not hasattr(self.model, needed):
                raise RunFolderError(f"{run_dir}: the model has no {needed}; nothing to explore")
        # where a point's coordinates are not free (a sphere's unit vectors), the page moves
        # the manifold's own coordinates (angles, a rotation vector) instead
        self.ranges = self.model.latent.manifold_ranges()
        self.dim = int(self.model.latent.dim) if self.ranges is None else len(self.ranges)
        self.periodic = isinstance(self.model.latent, TorusLatent)
        self.seed = seed
        self.data = load_dataset(self.run_dir)
        x = self.data.evaluation_set().x[:512].to(self.device)
        self.blocks = int(getattr(self.model, "blocks", 0)) if hasattr(self.model, "parts") else 0
        self.controls = self._controls(x)
        self.directions = self._directions()
        with torch.no_grad():
            self.image_shape = tuple(
                self._decode(self._to_code(torch.zeros(1, self.dim))).shape[1:]
            )
        self._set_observation(str(run_dir))
        if self.observation == "vector":
            values = self.data.evaluation_set().x
            low, high = float(values.min()), float(values.max())
            margin = 0.1 * (high - low) or 1.0
            self.value_range = (low - margin, high + margin)

    def _set_observation(self, source: str) -> None:
        """``image`` or ``vector`` from ``image_shape``; another shape is refused."""
        if len(self.image_shape) == 3 and self.image_shape[0] >= 1:
            self.observation = "image"
        elif len(self.image_shape) == 1:
            self.observation = "vector"
        else:
            raise RunFolderError(
                f"{source}: the explorer shows images (C, H, W) and vectors (D,); this model's "
                f"observations have shape {self.image_shape}"
            )

    def _controls(self, x: torch.Tensor) -> list[Control]:
        with torch.no_grad():
            posterior = self.model.encode(x)
            means = self._to_page(self.model.latent.mean(posterior).reshape(len(x), -1)).cpu()
            try:
                score = self.model.latent.kl_per_dim(posterior).reshape(len(x), -1).mean(0).cpu()
                name = "mean KL (nats)"
            except (NotImplementedError, AttributeError, TypeError):  # no prior: no KL
                score, name = means.var(0), "variance"
        controls = []
        for i in range(self.dim):
            if self.ranges is not None:
                low, high, periodic = self.ranges[i]
                kind = "dial" if periodic else "slider"
            elif self.periodic:
                low, high, kind = -math.pi, math.pi, "dial"
            elif name == "variance":
                centre, spread = float(means[:, i].mean()), float(means[:, i].std())
                low, high, kind = centre - 3 * spread, centre + 3 * spread, "slider"
            else:
                low, high, kind = -3.0, 3.0, "slider"
            block = i // self.model.block_dim if self.blocks else -1
            controls.append(Control(i, kind, low, high, float(score[i]), name, block))
        if self.blocks:  # grouped per block, blocks in order, coordinates by importance inside
            return sorted(controls, key=lambda c: (c.block, -c.score))
        if getattr(self.model, "registry_name", "") == "pca_ae":  # the PCA-AE order: by stage
            return [
                Control(c.index, c.kind, c.low, c.high, c.score, "variance (PCA-AE order)")
                for c in sorted(controls, key=lambda c: c.index)
            ]
        return sorted(controls, key=lambda c: -c.score)

    def _directions(self) -> dict:
        """Saved directions (``latent-atlas directions``) in the run folder's subfolders."""
        from ..analysis.directions import DirectionModel

        found = {}
        if self.periodic or self.ranges is not None:  # directions are lines in R^d
            return found
        for path in sorted(self.run_dir.glob("*/direction.safetensors")):
            try:
                direction = DirectionModel.load(path)
            except Exception:  # a corrupt file is left out, not fatal for the page
                continue
            if direction.dim == self.dim:
                found[path.parent.name] = direction
        return found

    # -- codes ------------------------------------------------------------------------------------
    def _to_code(self, page: torch.Tensor) -> torch.Tensor:
        """The page's coordinates ``(n, dim)`` → latent points (through the manifold's
        coordinates where the page moves those)."""
        if self.ranges is None:
            return page
        return self.model.latent.from_manifold(page.double()).float()

    def _to_page(self, z: torch.Tensor) -> torch.Tensor:
        """Latent points ``(n, latent dim)`` → the page's coordinates."""
        if self.ranges is None:
            return z
        return self.model.latent.to_manifold(z.double()).float()

    def check_code(self, values: object) -> torch.Tensor:
        """A code from the page as a (1, latent dim) latent point; :class:`DataError` saying
        what is wrong."""
        return self._to_code(self._page_values(values))

    def _page_values(self, values: object) -> torch.Tensor:
        """The page's coordinates as a (1, dim) tensor, checked and wrapped where periodic."""
        if not isinstance(values, (list, tuple)) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise DataError(f"z: expected a list of {self.dim} numbers")
        if len(values) != self.dim:
            raise DataError(f"z: expected {self.dim} numbers, got {len(values)}")
        try:
            z = torch.tensor([float(v) for v in values], dtype=torch.float32)
        except OverflowError:  # an integer beyond any float
            raise DataError("z: every coordinate must be finite") from None
        if not torch.isfinite(z).all():
            raise DataError("z: every coordinate must be finite")
        if self.periodic:
            return torch.remainder(z + math.pi, 2 * math.pi)[None] - math.pi
        if self.ranges is not None:  # angles: any value is a point (periodic ones wrap)
            return z[None]
        if float(z.abs().max()) > BOUND:
            raise DataError(f"z: coordinates must lie within ±{BOUND:g}")
        return z[None]

    def start_code(self, seed: int | None = None) -> list[float]:
        """A prior sample (seeded), or zeros for a model without a prior."""
        seed = self.seed if seed is None else seed
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise DataError(f"seed: expected an integer 0..2**63-1, got {seed!r:.40}")
        g = torch.Generator().manual_seed(seed)
        latent = self.model.latent
        if not getattr(latent, "has_prior", False):
            return [0.0] * self.dim
        return self._to_page(latent.sample(latent.prior(), 1, g)).reshape(-1).tolist()

    # -- images -----------------------------------------------------------------------------------
    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model.likelihood.mean(self.model.decode(z.to(self.device))).cpu()

    def check_keep(self, keep: object) -> torch.Tensor | None:
        """Which atomic blocks are switched on (None: all); a ``keep`` for a model without
        blocks is refused rather than ignored."""
        if keep is None:
            return None
        if not self.blocks:
            raise DataError("keep: this model has no atomic blocks to switch off; leave it out")
        if (
            not isinstance(keep, (list, tuple))
            or len(keep) != self.blocks
            or not all(isinstance(k, bool) for k in keep)
        ):
            raise DataError(f"keep: expected {self.blocks} true/false values, one per block")
        return torch.tensor(keep)

    def picture(self, x: torch.Tensor):
        """One observation (an image (C, H, W) in [0, 1], or a vector (D,)) as a PIL image, at
        its own size (images) or :data:`PLOT_SIZE` (vectors)."""
        if self.observation == "vector":
            return vector_picture(x, *self.value_range)
        return image_picture(x)

    def png(self, x: torch.Tensor) -> bytes:
        """One observation as PNG bytes (images enlarged to ``MIN_PIXELS``)."""
        return _encode(self.picture(x), enlarge=self.observation == "image")

    def decode_png(self, values: object, keep: object = None) -> bytes:
        """The decoded image of a code from the page as PNG bytes; for an atomic model ``keep``
        switches blocks on or off (the sub-model Σ_{i kept} g(z_i))."""
        z = self.check_code(values)
        on = self.check_keep(keep)
        if on is None:
            return self.png(self._decode(z)[0])
        with torch.no_grad():
            params = self.model.decode_blocks(z.to(self.device), on.to(self.device))
            return self.png(self.model.likelihood.mean(params).cpu()[0])

    def block_pngs(self, values: object) -> list[bytes]:
        """Each atomic block's own image g(z_i) (likelihood mean), as PNG bytes."""
        if not self.blocks:
            raise DataError("this model has no latent blocks")
        with torch.no_grad():
            parts = self.model.parts(self.check_code(values).to(self.device)).cpu()[0]
        means = [self.model.likelihood.mean(p) for p in parts]
        return [self.png(m.clamp(0, 1) if self.observation == "image" else m) for m in means]

    def traversal(
        self, values: object, index: object, steps: int = TRAVERSAL_STEPS
    ) -> torch.Tensor:
        """Observations (steps, ...) along one coordinate's range, the others fixed."""
        z = self._page_values(values)
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self.dim:
            raise DataError(f"index: expected a coordinate 0..{self.dim - 1}")
        control = next(c for c in self.controls if c.index == index)
        if control.kind == "dial":  # a full turn without repeating the end
            grid = torch.linspace(control.low, control.high, steps + 1)[:-1]
        else:
            grid = torch.linspace(control.low, control.high, steps)
        codes = z.repeat(steps, 1)
        codes[:, index] = grid
        return self._decode(self._to_code(codes))

    def traversal_png(self, values: object, index: object) -> bytes:
        """The traversal as one PNG strip (the pictures side by side)."""
        from PIL import Image

        pictures = [self.picture(x) for x in self.traversal(values, index)]
        strip = Image.new("RGB", (sum(p.width for p in pictures), pictures[0].height), "white")
        left = 0
        for picture in pictures:
            strip.paste(picture.convert("RGB"), (left, 0))
            left += picture.width
        return _encode(strip, enlarge=self.observation == "image")

    def traversal_gif(self, values: object, index: object) -> bytes:
        """The traversal as an animated GIF (there and back)."""
        from PIL import Image

        frames = [
            Image.open(io.BytesIO(self.png(x))).convert("P") for x in self.traversal(values, index)
        ]
        frames = frames + frames[-2:0:-1]
        buffer = io.BytesIO()
        frames[0].save(
            buffer, format="GIF", save_all=True, append_images=frames[1:], duration=120, loop=0
        )
        return buffer.getvalue()

    def example(self, index: object) -> tuple[list[float], bytes]:
        """The code (posterior mean) of training example ``index`` and its image."""
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self.data):
            raise DataError(f"index: expected an example number 0..{len(self.data) - 1}")
        x = self.data.get_batch(torch.tensor([index])).x.to(self.device)
        with torch.no_grad():
            z = self._to_page(self.model.latent.mean(self.model.encode(x))).reshape(-1).cpu()
        return z.tolist(), self.png(x[0].cpu())

    def example_factors(self, index: int) -> dict[str, float | str]:
        """The ground-truth factors of training example ``index`` (a category by its label);
        {} for data without factors."""
        if not getattr(self.data, "has_factors", False):
            return {}
        values = self.data.get_batch(torch.tensor([index])).factors[0].tolist()
        out: dict[str, float | str] = {}
        for factor, value in zip(self.data.factor_space.factors, values):
            labels, grid = factor.labels, factor.values
            if labels and grid and value in grid:
                out[factor.name] = labels[grid.index(value)]
            else:
                out[factor.name] = float(value)
        return out

    def apply_direction(self, values: object, name: object, value: object) -> list[float]:
        """The code with the named direction's factor set to ``value`` (its units, through g⁻¹)."""
        if not isinstance(name, str) or name not in self.directions:
            raise DataError(f"direction: expected one of {', '.join(self.directions) or 'none'}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not _finite(value):
            raise DataError("value: expected a finite number")
        z = self.check_code(values)
        return self.directions[name].set_factor(z, float(value)).reshape(-1).tolist()

    def info(self) -> dict:
        """What the page needs to build itself."""
        return {
            "run": self.run_dir.name if self.run_dir is not None else "",
            "model": getattr(self.model, "registry_name", type(self.model).__name__),
            "dim": self.dim,
            "periodic": self.periodic,
            "seed": self.seed,
            "start": self.start_code(),
            "image_shape": list(self.image_shape),
            "observation": self.observation,
            "controls": [asdict(c) for c in self.controls],
            "blocks": self.blocks,
            "examples": len(self.data) if self.data is not None else 0,
            "directions": [self._direction_info(n, d) for n, d in self.directions.items()],
        }

    @staticmethod
    def _direction_info(name: str, direction) -> dict:
        with torch.no_grad():
            ends = direction.g(torch.tensor([-3.0, 3.0]))
        return {
            "name": name,
            "transformation": direction.transformation,
            "units": direction.units,
            "low": float(ends.min()),
            "high": float(ends.max()),
        }


def image_picture(image: torch.Tensor):
    """A (C, H, W) image in [0, 1] as a PIL image: three channels in colour, one in grey, any
    other number side by side in grey with a one-pixel white seam (the two views of
    ``lit_sphere``, say)."""
    from PIL import Image

    a = image.detach().float().clamp(0, 1).numpy()
    if a.ndim != 3 or a.shape[0] < 1:
        raise DataError(f"an image must have shape (C, H, W), got {a.shape}")
    a = (a * 255 + 0.5).astype(np.uint8)
    if a.shape[0] == 3:
        return Image.fromarray(a.transpose(1, 2, 0))
    seam = np.full((a.shape[1], 1), 255, dtype=np.uint8)
    parts = [p for channel in a for p in (channel, seam)][:-1]
    return Image.fromarray(np.concatenate(parts, axis=1))


def vector_picture(values: torch.Tensor, low: float, high: float, size=PLOT_SIZE):
    """A vector (D,) as a line plot (thesis fig. 5.2): its values against their index on the
    range [low, high] (values outside are drawn at the edge), with a frame and the zero line."""
    from PIL import Image, ImageDraw

    v = values.detach().double().reshape(-1).numpy()
    if v.size == 0 or not np.isfinite(v).all() or not high > low:
        raise DataError("a vector to plot must be non-empty, finite and on a non-empty range")
    width, height = size
    pad = 10
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([pad, pad, width - pad, height - pad], outline=(209, 213, 219))

    def y(value: float) -> float:
        t = (min(max(value, low), high) - low) / (high - low)
        return height - pad - t * (height - 2 * pad)

    if low < 0 < high:
        draw.line([(pad, y(0.0)), (width - pad, y(0.0))], fill=(229, 231, 235))
    step = (width - 2 * pad) / max(v.size - 1, 1)
    points = [(pad + j * step, y(float(value))) for j, value in enumerate(v)]
    if len(points) > 1:
        draw.line(points, fill=(37, 99, 235), width=2, joint="curve")
    if v.size <= 64:
        for px, py in points:
            draw.ellipse([px - 2.5, py - 2.5, px + 2.5, py + 2.5], fill=(37, 99, 235))
    return img


def _encode(img, enlarge: bool) -> bytes:
    """PNG bytes of a PIL image, enlarged (nearest) to at least ``MIN_PIXELS`` a side when
    ``enlarge``."""
    from PIL import Image

    factor = max(1, -(-MIN_PIXELS // max(img.size))) if enlarge else 1
    if factor > 1:
        img = img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def to_png(image: torch.Tensor) -> bytes:
    """A (C, H, W) image in [0, 1] as PNG bytes, enlarged to at least ``MIN_PIXELS`` a side."""
    return _encode(image_picture(image), enlarge=True)


class GeneratorSession(ExplorerSession):
    """The explorer on a generator trained elsewhere (``latent-atlas explore --generator
    MODULE:CALLABLE``, :func:`~latentatlas.analysis.generators.import_generator`): no encoder,
    no data set, no run folder. Its codes come from the user's sampler or N(0, I); each
    coordinate gets a slider over ±3 standard deviations of the sampled codes, ordered by how much
    the image moves when that coordinate moves (the mean absolute change of G's output for half
    a standard deviation, over a few sampled codes). Outputs outside [0, 1] (e.g. a GAN's tanh
    in [−1, 1]) are shown mapped linearly from the sampled outputs' range onto [0, 1]."""

    CODES = 256
    PROBES = 8

    def __init__(self, generator, device: str = "cpu", seed: int = 0):
        self.user = generator
        self.run_dir = None
        self.device = torch.device(device)
        self.model = generator.module.to(self.device).eval()
        self.dim = int(generator.latent_dim)
        self.periodic, self.blocks, self.seed = False, 0, seed
        self.ranges = None  # a generator's codes are free coordinates
        self.directions: dict = {}
        self.data = None
        codes = generator.codes(self.CODES, seed).float()
        with torch.no_grad():
            outputs = self._raw(codes[: self.PROBES * 4])
        low, high = float(outputs.min()), float(outputs.max())
        inside = low >= 0.0 and high <= 1.0
        self.display = (0.0, 1.0) if inside or not high > low else (low, high)
        self.image_shape = tuple(outputs.shape[1:])
        self._set_observation(str(generator.spec))
        if self.observation == "vector":
            margin = 0.1 * (high - low) or 1.0
            self.value_range = (low - margin, high + margin)
        self.controls = self._generator_controls(codes)

    def _raw(self, z: torch.Tensor) -> torch.Tensor:
        from ..analysis.generators import check_image_batch

        out = self.model(z.to(self.device))
        if not (isinstance(out, torch.Tensor) and out.ndim == 2 and len(out) == len(z)):
            out = check_image_batch(out, len(z), str(self.user.spec))  # else: vectors
        if not torch.isfinite(out).all():
            raise DataError(f"{self.user.spec}: the generator returned NaN or inf")
        return out.detach().float().cpu()

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = self._raw(z)
        if self.observation == "image":
            low, high = self.display
            out = (out - low) / (high - low)
        return out

    def _generator_controls(self, codes: torch.Tensor) -> list[Control]:
        centre, spread = codes.mean(0), codes.std(0).clamp_min(1e-6)
        base = codes[: self.PROBES]
        with torch.no_grad():
            plain = self._raw(base)
            moved = []
            for i in range(self.dim):
                shifted = base.clone()
                shifted[:, i] += 0.5 * spread[i]
                moved.append((self._raw(shifted) - plain).abs().mean())
        bounds = [
            (float(centre[i] - 3 * spread[i]), float(centre[i] + 3 * spread[i]))
            for i in range(self.dim)
        ]
        controls = [
            Control(i, "slider", *bounds[i], float(moved[i]), "mean image change")
            for i in range(self.dim)
        ]
        return sorted(controls, key=lambda c: -c.score)

    def start_code(self, seed: int | None = None) -> list[float]:
        """A code from the user's sampler (or N(0, I) with ``seed``)."""
        seed = self.seed if seed is None else seed
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise DataError(f"seed: expected an integer 0..2**63-1, got {seed!r:.40}")
        return self.user.codes(1, seed).reshape(-1).tolist()

    def example(self, index: object) -> tuple[list[float], bytes]:
        raise DataError("a generator given with --generator has no training examples")

    def info(self) -> dict:
        return {**super().info(), "run": str(self.user.spec)}
