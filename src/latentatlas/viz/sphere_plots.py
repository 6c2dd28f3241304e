"""Codes on a sphere, drawn in 3-D and coloured by factors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .latent_plots import CYCLIC_CMAP, PLAIN_COLOR, SEQUENTIAL_CMAP, new_figure, style_axes

Hue = tuple[str, "np.ndarray | None", bool]
"""(label, values (n,) or None for plain markers, whether the values are periodic)."""


def _points_in_ball(ax: Axes, points: np.ndarray, hue: Hue, radius: float) -> None:
    """3-D points coloured by ``hue`` (a cyclic colour map for periodic values) over the wire
    frame of the sphere of ``radius``, without axes."""
    u, v = np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13)
    ax.plot_wireframe(
        radius * np.outer(np.cos(u), np.sin(v)),
        radius * np.outer(np.sin(u), np.sin(v)),
        radius * np.outer(np.ones_like(u), np.cos(v)),
        color="#e5e7eb",
        linewidth=0.4,
    )
    _, values, periodic = hue
    colour = (
        {"color": PLAIN_COLOR}
        if values is None
        else {"c": np.asarray(values), "cmap": CYCLIC_CMAP if periodic else SEQUENTIAL_CMAP}
    )
    ax.scatter(points[:, 0], points[:, 1], points[:, 2], s=6, depthshade=False, **colour)
    ax.set_box_aspect((1, 1, 1))
    ax.set_axis_off()


def plot_codes_on_spheres(
    panels: Sequence[tuple[str, torch.Tensor, Sequence[Hue]]], size: float = 3.0
) -> Figure:
    """One column per ``(title, codes (n, 3), hues)`` and one row per hue: the codes'
    directions on the unit sphere (a wire frame for reference), coloured by the hue's values
    (a cyclic colour map for periodic ones). A code of any length is drawn at its direction."""
    rows = max(len(h) for _, _, h in panels)
    fig = new_figure((size * len(panels), size * rows))
    for col, (title, codes, hues) in enumerate(panels):
        c = torch.nn.functional.normalize(torch.as_tensor(codes).double(), dim=-1).numpy()
        for row, hue in enumerate(hues):
            ax = fig.add_subplot(rows, len(panels), row * len(panels) + col + 1, projection="3d")
            _points_in_ball(ax, c, hue, 1.0)
            ax.set_title(f"{title}\n{hue[0]}" if row == 0 else hue[0], fontsize=9)
    return fig


def plot_rotation_vectors(vectors: torch.Tensor, hue: Hue, size: float = 3.4) -> Figure:
    """Rotations as their rotation vectors v = ω·axis ``(n, 3)`` inside the ball of radius π
    (a wire frame; antipodal points of its surface are one rotation), coloured by a factor."""
    fig = new_figure((size, size))
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    _points_in_ball(ax, torch.as_tensor(vectors).double().numpy(), hue, np.pi)
    ax.set_title(hue[0], fontsize=9)
    return fig


def plot_aligned_errors(rows: Sequence[tuple[str, float]]) -> Figure:
    """Horizontal bars: one aligned error (degrees) per labelled model."""
    fig = new_figure((6.0, 0.35 * len(rows) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(range(len(rows)), [value for _, value in rows], color=PLAIN_COLOR)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("aligned rotation error (°)")
    style_axes(ax)
    return fig
