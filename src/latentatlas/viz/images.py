"""Observations next to their reconstructions, and decoded latent traversals.

Works for both kinds of observations in the library:

* vectors ``(n, D)`` — drawn as curves over the entry index j, like thesis fig. 5.2 (markers for
  the entries of a data point, a line for its reconstruction μX(μZ(x)) of eq. 5.7);
* images ``(n, C, H, W)`` with C = 1 (grayscale) or C = 3 (RGB), or ``(n, H, W)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..errors import DataError
from .latent_plots import latent_label, new_figure, style_axes

#: colours of inputs and reconstructions
INPUT_COLOR = "#374151"
RECON_COLOR = "#2563eb"
#: colour map of traversal curves (coloured by the latent value)
TRAVERSAL_CMAP = "viridis"


def _numpy(t: torch.Tensor | np.ndarray, what: str) -> np.ndarray:
    arr = t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    if arr.ndim < 2:
        raise DataError(f"{what}: expected shape (n, D) or (n, C, H, W), got {arr.shape}")
    return arr.astype(float)


def _is_image(shape: tuple[int, ...]) -> bool:
    """``(C, H, W)`` or ``(H, W)``: an image; ``(D,)``: a vector."""
    if len(shape) == 2:
        return True
    if len(shape) == 3:
        if shape[0] < 1:
            raise DataError(f"images need at least one channel, got shape (C, H, W) = {shape}")
        return True
    if len(shape) == 1:
        return False
    raise DataError(f"cannot draw observations of shape {shape}")


def _to_hwc(img: np.ndarray) -> tuple[np.ndarray, dict]:
    """An image as imshow wants it (values in [0, 1]): three channels as colour, one in grey,
    and any other number side by side in grey (the two views of ``lit_sphere``, say), with a
    one-pixel white seam between them."""
    if img.ndim == 3 and img.shape[0] == 3:
        return np.clip(np.transpose(img, (1, 2, 0)), 0.0, 1.0), {}
    if img.ndim == 3 and img.shape[0] > 1:
        seam = np.ones((img.shape[1], 1))
        parts = [p for channel in img for p in (channel, seam)][:-1]
        img = np.concatenate(parts, axis=1)
    elif img.ndim == 3:
        img = img[0]
    return img, {"cmap": "gray", "vmin": 0.0, "vmax": 1.0}


def _image_axes(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#d1d5db")
        spine.set_linewidth(0.6)


def plot_reconstructions(
    x: torch.Tensor | np.ndarray,
    recon: torch.Tensor | np.ndarray,
    n: int = 8,
    labels: Sequence[str] | None = None,
    ncols: int = 4,
    panel_size: tuple[float, float] = (2.35, 1.85),
) -> Figure:
    """The first ``n`` observations and their reconstructions.

    Vectors ``(n, D)``: one small panel per point with the input entries as markers joined by a
    dotted line (thesis fig. 5.2) and the reconstruction as a solid line, ``ncols`` panels a row,
    shared y axis. Images: two rows, inputs above reconstructions (grayscale for one channel,
    RGB for three; values are shown on [0, 1]). ``labels`` titles each column (e.g. "φ = 0.31");
    ``panel_size`` is the (width, height) in inches of one vector panel.
    """
    xs, rs = _numpy(x, "x"), _numpy(recon, "recon")
    if xs.shape != rs.shape:
        raise DataError(f"x and recon differ in shape: {xs.shape} vs {rs.shape}")
    n = max(1, min(int(n), xs.shape[0]))
    xs, rs = xs[:n], rs[:n]
    if labels is not None and len(labels) < n:
        raise DataError(f"labels: expected at least {n}, got {len(labels)}")
    if _is_image(xs.shape[1:]):
        fig = new_figure((1.15 * n + 0.9, 2.7))
        axes = fig.subplots(2, n, squeeze=False)
        for i in range(n):
            for row, arr in enumerate((xs, rs)):
                img, kw = _to_hwc(arr[i])
                ax = axes[row][i]
                ax.imshow(img, interpolation="nearest", **kw)
                _image_axes(ax)
            if labels is not None:
                axes[0][i].set_title(labels[i], fontsize=8)
        axes[0][0].set_ylabel("input", fontsize=9)
        axes[1][0].set_ylabel("reconstruction", fontsize=9)
        return fig

    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    pw, ph = panel_size
    fig = new_figure((pw * ncols + 0.3, ph * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    j = np.arange(1, xs.shape[1] + 1)
    for i in range(nrows * ncols):
        ax = axes[i // ncols][i % ncols]
        if i >= n:
            ax.set_visible(False)
            continue
        style_axes(ax)
        ax.plot(j, xs[i], ":", color=INPUT_COLOR, linewidth=0.8, zorder=2)
        ax.plot(j, xs[i], "o", color=INPUT_COLOR, markersize=2.6, zorder=3, label="input x")
        ax.plot(j, rs[i], "-", color=RECON_COLOR, linewidth=1.6, zorder=4, label="μX(μZ(x))")
        if labels is not None:
            ax.set_title(labels[i], fontsize=9)
        if i // ncols == nrows - 1 or i + ncols >= n:
            ax.set_xlabel("entry j", fontsize=8)
    handles, _ = axes[0][0].get_legend_handles_labels()
    fig.legend(
        handles[::-1],
        ["reconstruction μX(μZ(x))", "input x"],
        loc="outside upper center",
        ncols=2,
        frameon=False,
        fontsize=9,
    )
    return fig


def _format_value(v: float) -> str:
    return f"{v:+.2f}".replace("-", "−")


def plot_traversal_grid(
    grid: torch.Tensor | np.ndarray,
    values: torch.Tensor | np.ndarray,
    dims: Sequence[int],
) -> Figure:
    """Decoded traversals: one row per latent coordinate, one column (or curve) per value.

    Args:
        grid: ``(len(dims), m, *observation_shape)`` from
            :func:`~latentatlas.analysis.latents.traversal_grid`.
        values: ``(m,)`` shared by all rows, or ``(len(dims), m)``, the latent values.
        dims: the latent coordinate of each row (for the labels).

    Images: a grid of images, the value under each one (above the first row when shared).
    Vectors: per row one panel with the m decoded curves coloured by the value of the coordinate
    (colour map "viridis", with a colour bar), so the direction of change reads at a glance.
    """
    g = _numpy(grid, "grid")
    vals = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values)
    dims = [int(d) for d in dims]
    k = len(dims)
    if g.ndim < 3 or g.shape[0] != k:
        raise DataError(f"grid: expected shape ({k}, m, ...) for {k} dims, got {tuple(g.shape)}")
    m = g.shape[1]
    shared = vals.ndim == 1
    vals = np.broadcast_to(vals, (k, m)) if shared else vals
    if vals.shape != (k, m):
        raise DataError(f"values: expected shape ({m},) or ({k}, {m}), got {vals.shape}")

    if _is_image(g.shape[2:]):
        fig = new_figure((0.95 * m + 0.8, 1.0 * k + (0.5 if shared else 0.7)))
        axes = fig.subplots(k, m, squeeze=False)
        for r in range(k):
            for c in range(m):
                img, kw = _to_hwc(g[r, c])
                ax = axes[r][c]
                ax.imshow(img, interpolation="nearest", **kw)
                _image_axes(ax)
                if shared and r == 0:
                    ax.set_title(_format_value(vals[r, c]), fontsize=8)
                elif not shared:
                    ax.set_xlabel(_format_value(vals[r, c]), fontsize=7, labelpad=1)
            axes[r][0].set_ylabel(latent_label(dims[r]), fontsize=10, rotation=0, labelpad=14)
        return fig

    fig = new_figure((6.2, 1.9 * k + 0.4))
    axes = fig.subplots(k, 1, squeeze=False, sharex=True)
    j = np.arange(1, g.shape[2] + 1) if g.ndim == 3 else None
    for r in range(k):
        ax = axes[r][0]
        style_axes(ax)
        norm = Normalize(float(vals[r].min()), float(vals[r].max()) or 1.0)
        if norm.vmin == norm.vmax:
            norm = Normalize(norm.vmin - 1.0, norm.vmax + 1.0)
        mappable = ScalarMappable(norm=norm, cmap=TRAVERSAL_CMAP)
        for c in range(m):
            curve = g[r, c].reshape(-1)
            ax.plot(
                j if j is not None else np.arange(1, curve.size + 1),
                curve,
                color=mappable.to_rgba(vals[r, c]),
                linewidth=1.3,
            )
        ax.set_ylabel(f"traverse {latent_label(dims[r])}", fontsize=9)
        cbar = fig.colorbar(mappable, ax=ax, pad=0.01, aspect=15)
        cbar.set_label(f"value of {latent_label(dims[r])}", fontsize=8)
        cbar.ax.tick_params(labelsize=7)
        cbar.outline.set_visible(False)
    axes[-1][0].set_xlabel("entry j", fontsize=9)
    return fig
