"""Interventions on internal layers of a generator (intrinsic paper, definition 3 and sec. 5.1).

Intrinsic disentanglement asks whether a transformation T of the output image can be obtained by
transforming one internal layer instead: T(g(z)) ≈ g̃(T′(v)) (eq. 2), where v are the activation
maps of that layer. This module applies T′ to the output of any ``nn.Module`` inside a generator
through a forward hook (nothing model-specific, no copy of the model) and compares the result with
T applied to the normal output.

Transformations act on batches ``(n, C, H, W)`` in normalised coordinates, so one transformation
means the same geometric change at every resolution (an 8×8 map and a 64×64 image alike):

* :class:`Stretch`: the paper's horizontal stretch by a factor about the centre, the edges
  cropped symmetrically to keep the size (sec. 5.1, factor 1.5 there);
* :class:`AffineWarp`: any affine map given as the 2×3 output→input matrix of
  ``torch.nn.functional.affine_grid``;
* any callable ``maps -> maps`` of the same shape.

Resampling is bilinear by default (``mode``: also ``nearest`` or ``bicubic``, those of
``grid_sample``) with pixel centres aligned (``align_corners=False``) and the border replicated
outside the map (the paper names no interpolation; replicating the border makes a per-pixel
layer commute with the warp exactly, which the tests check).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, DataError
from .generators import as_generator, check_image_batch

MapTransform = Callable[[torch.Tensor], torch.Tensor]


def _check_maps(maps: object, what: str) -> torch.Tensor:
    if not isinstance(maps, torch.Tensor) or maps.ndim != 4:
        got = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
        raise DataError(f"{what} is not a 4-D map batch (n, C, H, W): got {got}")
    return maps


#: the resampling modes a warp offers (``torch.nn.functional.grid_sample``'s)
RESAMPLING = ("bilinear", "nearest", "bicubic")


class AffineWarp:
    """Resample maps with a fixed affine map (``theta``: 2×3, output → input, normalised
    coordinates in [−1, 1] as in ``affine_grid``); ``mode`` one of :data:`RESAMPLING`
    (default bilinear), border replicated."""

    def __init__(self, theta: torch.Tensor | Sequence[Sequence[float]], mode: str = "bilinear"):
        theta = torch.as_tensor(theta, dtype=torch.float64)
        if theta.shape != (2, 3) or not torch.isfinite(theta).all():
            raise ConfigError(
                f"affine warp: expected a finite 2×3 matrix, got {tuple(theta.shape)}"
            )
        if mode not in RESAMPLING:
            raise ConfigError(f"resampling: expected one of {', '.join(RESAMPLING)}, got {mode!r}")
        self.theta, self.mode = theta, mode

    def __call__(self, maps: torch.Tensor) -> torch.Tensor:
        maps = _check_maps(maps, "the warped input")
        theta = self.theta.to(maps.dtype).to(maps.device).expand(maps.shape[0], 2, 3)
        grid = F.affine_grid(theta, list(maps.shape), align_corners=False)
        return F.grid_sample(maps, grid, mode=self.mode, padding_mode="border", align_corners=False)

    def __repr__(self) -> str:
        return f"AffineWarp({self.theta.tolist()}, mode={self.mode!r})"


class Stretch(AffineWarp):
    """Stretch by ``factor`` along ``axis`` ("x": horizontal, "y": vertical) about the centre,
    cropping the edges symmetrically (factor > 1) to keep the size: out(x) = in(x / factor)."""

    def __init__(self, factor: float = 1.5, axis: str = "x", mode: str = "bilinear"):
        if not factor > 0 or factor != factor or factor == float("inf"):
            raise ConfigError(f"stretch factor: expected a finite number > 0, got {factor}")
        if axis not in ("x", "y"):
            raise ConfigError(f"stretch axis: expected 'x' or 'y', got {axis!r}")
        theta = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        theta[0 if axis == "x" else 1][0 if axis == "x" else 1] = 1.0 / factor
        super().__init__(theta, mode)
        self.factor, self.axis = float(factor), axis

    def __repr__(self) -> str:
        return f"Stretch({self.factor:g}, axis={self.axis!r}, mode={self.mode!r})"


# -- layers ---------------------------------------------------------------------------------------
def named_layers(root: nn.Module) -> dict[str, nn.Module]:
    """The sub-modules of ``root`` by dotted name (the root itself excluded)."""
    return {name: m for name, m in root.named_modules() if name}


def resolve_layers(root: nn.Module, names: Sequence[str] | str) -> list[nn.Module]:
    """The modules called ``names`` inside ``root``; an unknown name lists the valid ones."""
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ConfigError("layers: expected at least one layer name")
    layers = named_layers(root)
    missing = [n for n in names if n not in layers]
    if missing:
        valid = ", ".join(layers) or "none (the generator has no sub-modules)"
        raise ConfigError(f"layer {missing[0]!r} does not exist; valid layer names: {valid}")
    return [layers[n] for n in names]


def map_layers(
    root: nn.Module, generator: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor
) -> list[tuple[str, tuple[int, ...]]]:
    """The layers of ``root`` whose output is a 4-D map when ``generator(z)`` runs, in the order
    they run, with the map shape ``(C, H, W)``: the layers an intervention can transform."""
    seen: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, module in named_layers(root).items():

        def hook(module, inputs, output, name=name):
            if isinstance(output, torch.Tensor) and output.ndim == 4 and name not in seen:
                seen[name] = tuple(output.shape[1:])

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            generator(z)
    finally:
        for h in handles:
            h.remove()
    return list(seen.items())


@contextmanager
def intervention(
    root: nn.Module, layers: Sequence[str] | str, transform: MapTransform
) -> Iterator[None]:
    """While active, the outputs of ``layers`` (names inside ``root``) are replaced by
    ``transform(output)`` in every forward pass: T′ of definition 3. Hooks are removed on exit."""
    modules = resolve_layers(root, layers)
    names = [layers] if isinstance(layers, str) else list(layers)
    handles = []
    for name, module in zip(names, modules):

        def hook(module, inputs, output, name=name):
            maps = _check_maps(output, f"layer {name!r}'s output")
            out = transform(maps)
            if not isinstance(out, torch.Tensor) or out.shape != maps.shape:
                got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise DataError(
                    f"the transformation of layer {name!r} must keep the map shape "
                    f"{tuple(maps.shape)}, got {got}"
                )
            return out

        handles.append(module.register_forward_hook(hook))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@dataclass
class InterventionResult:
    """One intervention compared with transforming the output (definition 3).

    ``original`` = g(z), ``intervened`` = g̃(T′(v)) with T′ at ``layer``, ``target`` = T(g(z));
    ``error`` is the mean squared difference intervened − target per image.
    """

    layer: str
    original: torch.Tensor
    intervened: torch.Tensor
    target: torch.Tensor

    @property
    def error(self) -> torch.Tensor:
        return (self.intervened - self.target).pow(2).flatten(1).mean(1)

    def to_dict(self) -> dict:
        return {"layer": self.layer, "mse": float(self.error.mean())}


def intervene(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    layer: str,
    transform: MapTransform,
    output_transform: MapTransform | None = None,
) -> InterventionResult:
    """Generate from ``z`` normally and with ``transform`` applied at ``layer``; compare with
    ``output_transform`` (default: the same transform) applied to the normal output.

    ``model`` is a generator module (or an autoencoder of this library, whose decoder mean is
    used); ``layer`` names a module inside it, as in ``model.named_modules()``.
    """
    if not isinstance(model, nn.Module):
        raise DataError(
            f"interventions need a torch.nn.Module generator, got {type(model).__name__}"
        )
    generator = as_generator(model)
    z = torch.as_tensor(z)
    with torch.no_grad():
        original = check_image_batch(generator(z), len(z))
        with intervention(model, layer, transform):
            intervened = generator(z)
        target = (output_transform or transform)(original)
    return InterventionResult(layer, original, intervened, target)


def intervene_layers(
    model: nn.Module,
    z: torch.Tensor,
    layers: Sequence[str],
    transform: MapTransform,
    output_transform: MapTransform | None = None,
) -> list[InterventionResult]:
    """:func:`intervene` at each layer in turn (one layer transformed at a time)."""
    return [intervene(model, z, name, transform, output_transform) for name in layers]
