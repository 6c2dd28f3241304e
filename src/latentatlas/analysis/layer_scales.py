"""Which spatial scales an intervention at each layer gets wrong (intrinsic paper, sec. 5.1).

For each chosen layer: transform its maps (T′, e.g. the 1.5× horizontal stretch), generate, and
compare with the transformed normal output T(g(z)); split the difference into Haar scale
components (``analysis.wavelet_scales``) and report the mean squared error per scale (fig. 3c-d)
and over the whole image (fig. 4b). :func:`tracking_fn` packages the same numbers for a training
callback that records them every N steps (sec. 5.1.2, fig. 4a-b).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..train.callbacks import PeriodicCallback
from .interventions import InterventionResult, MapTransform, Stretch, intervene
from .wavelet_scales import DEFAULT_LEVELS, haar_components, scale_errors


@dataclass
class LayerScaleErrors:
    """Per-layer interventions and their errors: ``errors[l, k]`` is the MSE at scale k (0 =
    coarsest) for layer l, ``total[l]`` the plain MSE (= the sum over scales)."""

    layers: list[str]
    labels: list[str]
    results: list[InterventionResult]
    errors: torch.Tensor
    levels: int

    @property
    def total(self) -> torch.Tensor:
        return self.errors.sum(1)

    def difference_components(self, index: int = 0) -> torch.Tensor:
        """Scale components ``(layers, scales, C, H, W)`` of intervened − target for one image
        (fig. 3c left)."""
        diffs = torch.stack([(r.intervened - r.target)[index] for r in self.results])
        return haar_components(diffs, self.levels).transpose(0, 1)

    def to_dict(self) -> dict:
        return {
            "levels": self.levels,
            "layers": {
                label: {
                    "module": name,
                    "mse_by_scale": [float(v) for v in row],
                    "mse": float(row.sum()),
                }
                for label, name, row in zip(self.labels, self.layers, self.errors)
            },
        }


def layer_scale_errors(
    model: nn.Module,
    z: torch.Tensor,
    layers: Sequence[str],
    transform: MapTransform,
    output_transform: MapTransform | None = None,
    levels: int = DEFAULT_LEVELS,
    labels: Sequence[str] | None = None,
) -> LayerScaleErrors:
    """:func:`~latentatlas.analysis.interventions.intervene` at each layer (one at a time) and the
    per-scale MSE of intervened − transformed output, over every pixel of the batch."""
    results = [intervene(model, z, name, transform, output_transform) for name in layers]
    errors = torch.stack([scale_errors(r.intervened, r.target, levels) for r in results])
    return LayerScaleErrors(list(layers), list(labels or layers), results, errors, levels)


def tracking_fn(
    layers: dict[str, str],
    transform: MapTransform,
    codes: torch.Tensor | Callable[[nn.Module], torch.Tensor],
    levels: int = DEFAULT_LEVELS,
) -> Callable[[nn.Module], dict[str, float]]:
    """``fn(model) -> {"<label>/scale<k>": mse, "<label>/mse": mse}`` for the layers
    ``{label: module name}``, on fixed codes or on ``codes(model)`` (e.g. the current posterior
    means of fixed images): for :class:`~latentatlas.train.callbacks.PeriodicCallback`
    (fig. 4a-b)."""

    def fn(model: nn.Module) -> dict[str, float]:
        z = codes(model) if callable(codes) else codes
        found = layer_scale_errors(model, z, list(layers.values()), transform, levels=levels)
        out: dict[str, float] = {}
        for label, row in zip(layers, found.errors):
            out.update({f"{label}/scale{k + 1}": float(v) for k, v in enumerate(row)})
            out[f"{label}/mse"] = float(row.sum())
        return out

    return fn


class InterventionTracker(PeriodicCallback):
    """A training callback recording the per-scale errors of layer interventions every ``every``
    steps (sec. 5.1.2, fig. 4a-b): records ``{"step", "<label>/scale<k>", "<label>/mse"}`` in
    ``records`` and, with a run folder, in ``metrics.jsonl`` as split ``"intrinsic"``.

    Args:
        layers: ``{label: module name}``, or a function ``model -> {label: name}``.
        codes: fixed codes, or ``codes(model)`` (e.g. current posterior means of fixed images).
        every: steps between records (and one at the end).
        transform: T′ = T (default: the paper's 1.5× horizontal stretch).
        levels: Haar levels (levels + 1 scales).
    """

    def __init__(
        self,
        layers: dict[str, str] | Callable[[nn.Module], dict[str, str]],
        codes: torch.Tensor | Callable[[nn.Module], torch.Tensor],
        every: int,
        transform: MapTransform | None = None,
        levels: int = DEFAULT_LEVELS,
        split: str = "intrinsic",
    ):
        transform = transform or Stretch(1.5)
        resolved: dict[str, dict[str, str]] = {}

        def fn(model: nn.Module) -> dict[str, float]:
            if "layers" not in resolved:
                resolved["layers"] = layers(model) if callable(layers) else dict(layers)
            return tracking_fn(resolved["layers"], transform, codes, levels)(model)

        super().__init__(fn, every, split)
