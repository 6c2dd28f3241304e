"""Codes on a sphere, drawn in 3-D and coloured by factors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .latent_plots import CYCLIC_CMAP, PLAIN_COLOR, SEQUENTIAL_CMAP, new_figure

Hue = tuple[str, "np.ndarray | None", bool]
"""(label, values (n,) or None for plain markers, whether the values are periodic)."""


def plot_codes_on_spheres(
    panels: Sequence[tuple[str, torch.Tensor, Sequence[Hue]]], size: float = 3.0
) -> Figure:
    """One column per ``(title, codes (n, 3), hues)`` and one row per hue: the codes'
    directions on the unit sphere (a wire frame for reference), coloured by the hue's values
    (a cyclic colour map for periodic ones). A code of any length is drawn at its direction."""
    rows = max(len(h) for _, _, h in panels)
    fig = new_figure((size * len(panels), size * rows))
    u, v = np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13)
    wire = (
        np.outer(np.cos(u), np.sin(v)),
        np.outer(np.sin(u), np.sin(v)),
        np.outer(np.ones_like(u), np.cos(v)),
    )
    for col, (title, codes, hues) in enumerate(panels):
        c = torch.nn.functional.normalize(torch.as_tensor(codes).double(), dim=-1).numpy()
        for row, (label, values, periodic) in enumerate(hues):
            ax = fig.add_subplot(rows, len(panels), row * len(panels) + col + 1, projection="3d")
            ax.plot_wireframe(*wire, color="#e5e7eb", linewidth=0.4)
            colour = (
                {"color": PLAIN_COLOR}
                if values is None
                else {
                    "c": np.asarray(values),
                    "cmap": CYCLIC_CMAP if periodic else SEQUENTIAL_CMAP,
                }
            )
            ax.scatter(c[:, 0], c[:, 1], c[:, 2], s=6, depthshade=False, **colour)
            ax.set_box_aspect((1, 1, 1))
            ax.set_axis_off()
            ax.set_title(f"{title}\n{label}" if row == 0 else label, fontsize=9)
    return fig


def plot_aligned_errors(rows: Sequence[tuple[str, float]]) -> Figure:
    """Horizontal bars: one aligned error (degrees) per labelled model."""
    from .latent_plots import style_axes

    fig = new_figure((6.0, 0.35 * len(rows) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    labels = [label for label, _ in rows]
    ax.barh(range(len(rows)), [value for _, value in rows], color=PLAIN_COLOR)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("aligned rotation error (°)")
    style_axes(ax)
    return fig


def plot_rotation_vectors(vectors: torch.Tensor, hue: Hue, size: float = 3.4) -> Figure:
    """Rotations as their rotation vectors v = ω·axis ``(n, 3)`` inside the ball of radius π
    (a wire frame; antipodal points of its surface are one rotation), coloured by a factor."""
    label, values, periodic = hue
    fig = new_figure((size, size))
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    u, v = np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13)
    ax.plot_wireframe(
        np.pi * np.outer(np.cos(u), np.sin(v)),
        np.pi * np.outer(np.sin(u), np.sin(v)),
        np.pi * np.outer(np.ones_like(u), np.cos(v)),
        color="#e5e7eb",
        linewidth=0.4,
    )
    p = torch.as_tensor(vectors).double().numpy()
    colour = (
        {"color": PLAIN_COLOR}
        if values is None
        else {
            "c": np.asarray(values),
            "cmap": CYCLIC_CMAP if periodic else SEQUENTIAL_CMAP,
        }
    )
    ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=6, depthshade=False, **colour)
    ax.set_box_aspect((1, 1, 1))
    ax.set_axis_off()
    ax.set_title(label, fontsize=9)
    return fig
