"""Figures of atomic decompositions: input, output and block images (atomic paper fig. 2-3), a
colour map of which block drew which pixel, navigation inside one block (fig. 4) and
interpolation between two codes.

Block images can be negative (the paper's decoder has no output sigmoid); every panel of a row
shares one grey scale from min(0, lowest value) to the row's highest value, so blocks compare.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataError
from .latent_plots import new_figure

IMAGE_CMAP = "magma"
BLOCK_CMAP = "tab20"


def _gray(t: torch.Tensor) -> np.ndarray:
    """A one-channel image ``(1, H, W)`` or ``(H, W)`` as a float array ``(H, W)``."""
    arr = t.detach().cpu().double().numpy()
    if arr.ndim == 3:
        if arr.shape[0] != 1:
            raise DataError(f"atomic figures draw one-channel images, got shape {arr.shape}")
        arr = arr[0]
    return arr


def _show(ax: Axes, img: np.ndarray, low: float, high: float, title: str | None = None) -> None:
    """A grey image (``IMAGE_CMAP`` from ``low`` to ``high``) or an RGB one (``low``/``high``
    unused), without ticks or frame."""
    if img.ndim == 3:
        ax.imshow(img, interpolation="nearest")
    else:
        ax.imshow(img, cmap=IMAGE_CMAP, vmin=low, vmax=high, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=8)


def block_order(parts: torch.Tensor) -> torch.Tensor:
    """Blocks ``(k,)`` of one image's block images ``(k, ...)`` by decreasing energy."""
    return parts.flatten(1).pow(2).sum(1).argsort(descending=True)


def block_composite(parts: torch.Tensor) -> np.ndarray:
    """An RGB image ``(H, W, 3)`` in which every block paints its positive values in its own
    colour (tab20, block i → colour i), brightness by the square root of the summed value (so
    faint atoms stay visible)."""
    pos = np.stack([_gray(p) for p in parts]).clip(0, None)  # (k, H, W)
    colours = np.array([colormaps[BLOCK_CMAP](i % 20)[:3] for i in range(pos.shape[0])])
    total = pos.sum(0)
    mix = np.einsum("khw,kc->hwc", pos, colours) / np.maximum(total, 1e-12)[..., None]
    brightness = np.sqrt(total / max(total.max(), 1e-12))[..., None]
    return np.clip(mix * brightness, 0, 1)


def plot_decomposition(
    inputs: torch.Tensor,
    outputs: torch.Tensor,
    parts: torch.Tensor,
    max_blocks: int = 10,
    row_titles: Sequence[str] | None = None,
    part_label: str = "g(z{})",
) -> Figure:
    """Rows: images; columns: input, output, block colour map, then the ``max_blocks`` most
    energetic block images g(z_i) (fig. 2-3), titled ``part_label`` with the block index."""
    n, k = parts.shape[:2]
    shown = min(max_blocks, k)
    cols = 3 + shown
    fig = new_figure((1.15 * cols, 1.25 * n + 0.3))
    axes = fig.subplots(n, cols, squeeze=False)
    for r in range(n):
        order = block_order(parts[r])[:shown]
        imgs = [_gray(inputs[r]), _gray(outputs[r]), *[_gray(parts[r, i]) for i in order]]
        low = min(0.0, min(float(a.min()) for a in imgs))
        high = max(float(a.max()) for a in imgs)
        top = r == 0
        _show(axes[r, 0], imgs[0], low, high, "input" if top else None)
        _show(axes[r, 1], imgs[1], low, high, "output" if top else None)
        _show(axes[r, 2], block_composite(parts[r]), 0, 1, "blocks" if top else None)
        for c, i in enumerate(order):
            _show(axes[r, 3 + c], imgs[2 + c], low, high, part_label.format(int(i)))
        if row_titles:
            axes[r, 0].set_ylabel(row_titles[r], fontsize=8)
    return fig


def plot_navigation(
    images: torch.Tensor,
    values: torch.Tensor,
    block: int,
    origin: torch.Tensor | None = None,
    marks: np.ndarray | None = None,
) -> Figure:
    """Fig. 4: row j sweeps coordinate j of ``block`` (values above each panel), the other
    coordinates fixed; ``origin`` (the unchanged decode) in a first column; ``marks`` ``(d0,
    steps, 2)`` optional (x, y) points to mark on each panel (e.g. a tracked spike)."""
    d0, steps = images.shape[:2]
    extra = origin is not None
    cols = steps + int(extra)
    fig = new_figure((1.15 * cols, 1.25 * d0 + 0.3))
    axes = fig.subplots(d0, cols, squeeze=False)
    arrays = [[_gray(images[j, s]) for s in range(steps)] for j in range(d0)]
    low = min(0.0, min(float(a.min()) for row in arrays for a in row))
    high = max(float(a.max()) for row in arrays for a in row)
    for j in range(d0):
        if extra:
            _show(axes[j, 0], _gray(origin), low, high, "code" if j == 0 else None)
        for s in range(steps):
            ax = axes[j, s + int(extra)]
            _show(ax, arrays[j][s], low, high, f"{float(values[j, s]):.2g}")
            if marks is not None and np.isfinite(marks[j, s]).all():
                ax.plot(*marks[j, s], "+", color="#22c55e", ms=7, mew=1.4)
        axes[j, 0].set_ylabel(f"z[{block}, {j}]", fontsize=8)
    return fig


def plot_interpolation(images: torch.Tensor, parts: torch.Tensor, t: torch.Tensor) -> Figure:
    """Top row: decodes along (1 − t)·z_a + t·z_b; bottom row: their block colour maps."""
    steps = images.shape[0]
    fig = new_figure((1.15 * steps, 2.6))
    axes = fig.subplots(2, steps, squeeze=False)
    arrays = [_gray(img) for img in images]
    low = min(0.0, min(float(a.min()) for a in arrays))
    high = max(float(a.max()) for a in arrays)
    for s in range(steps):
        _show(axes[0, s], arrays[s], low, high, f"t = {float(t[s]):.2f}")
        _show(axes[1, s], block_composite(parts[s]), 0, 1)
    axes[0, 0].set_ylabel("decode", fontsize=8)
    axes[1, 0].set_ylabel("blocks", fontsize=8)
    return fig
