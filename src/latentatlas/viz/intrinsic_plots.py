"""Figures of the intrinsic study: per-scale errors of layer interventions (fig. 3c-e), their
evolution during training (fig. 4), difference components by scale, and SDR per map."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from ..errors import DataError
from .direction_plots import PALETTE
from .latent_plots import new_figure, style_axes


def plot_scale_errors(panels: Mapping[str, Mapping[str, Sequence[float]]]) -> Figure:
    """One panel per condition (e.g. a training length); in each, grouped bars of the MSE at each
    wavelet scale (1 = coarsest) for every intervened level (fig. 3c-d right)."""
    if not panels:
        raise DataError("plot_scale_errors: nothing to draw")
    fig = new_figure((3.6 * len(panels), 2.9))
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    top = max(max(max(v) for v in p.values()) for p in panels.values())
    for ax, (title, levels) in zip(axes, panels.items()):
        style_axes(ax)
        k = len(levels)
        scales = len(next(iter(levels.values())))
        width = 0.8 / k
        for i, ((level, values), color) in enumerate(zip(levels.items(), PALETTE)):
            x = np.arange(1, scales + 1) + (i - (k - 1) / 2) * width
            ax.bar(x, values, width, color=color, label=level)
        ax.set_xticks(np.arange(1, scales + 1))
        ax.set_xlabel("wavelet scale (1 = coarsest)", fontsize=9)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, top * 1.08 if top > 0 else 1)
    axes[0].set_ylabel("MSE vs stretched output", fontsize=9)
    axes[0].legend(fontsize=7, frameon=False, title="stretched level", title_fontsize=7)
    return fig


def plot_tracking(
    runs: Mapping[str, Sequence[Mapping[str, float]]], label: str, scales: int
) -> Figure:
    """Errors of the intervention at ``label`` against training steps: per scale for each run
    (fig. 4a) and the whole-image MSE of all runs together (fig. 4b-c)."""
    if not runs:
        raise DataError("plot_tracking: nothing to draw")
    fig = new_figure((3.5 * (len(runs) + 1), 2.9))
    axes = np.atleast_1d(fig.subplots(1, len(runs) + 1))
    for ax, (name, records) in zip(axes, runs.items()):
        style_axes(ax)
        steps = [r["step"] for r in records]
        for k, color in zip(range(1, scales + 1), PALETTE):
            ax.plot(steps, [r[f"{label}/scale{k}"] for r in records], color=color, label=f"{k}")
        ax.set_title(f"{name}: by scale", fontsize=9)
        ax.set_xlabel("training step", fontsize=9)
        ax.set_ylabel("MSE", fontsize=9)
        ax.legend(fontsize=7, frameon=False, title="scale", title_fontsize=7, ncol=2)
    ax = axes[-1]
    style_axes(ax)
    for (name, records), color in zip(runs.items(), PALETTE):
        ax.plot(
            [r["step"] for r in records],
            [r[f"{label}/mse"] for r in records],
            color=color,
            label=name,
        )
    ax.set_title("whole image", fontsize=9)
    ax.set_xlabel("training step", fontsize=9)
    ax.set_ylabel("MSE", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def plot_difference_components(components: torch.Tensor, labels: Sequence[str]) -> Figure:
    """Rows = intervened levels, columns = wavelet scales: the scale components of intervened −
    stretched output for one image (fig. 3c left), summed over colour channels, on one
    symmetric colour scale."""
    c = components.detach().float().sum(2).numpy()  # (levels, scales, H, W)
    levels, scales = c.shape[:2]
    vmax = float(np.abs(c).max()) or 1.0
    fig = new_figure((1.1 * scales + 1.1, 1.1 * levels + 0.4), layout=None)
    axes = fig.subplots(levels, scales, squeeze=False)
    for i in range(levels):
        for k in range(scales):
            ax = axes[i, k]
            ax.imshow(c[i, k], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"scale {k + 1}", fontsize=8)
            if k == 0:
                ax.set_ylabel(labels[i], fontsize=8, rotation=0, ha="right", va="center")
    fig.subplots_adjust(
        left=1.0 / (1.1 * scales + 1.1), right=0.99, top=0.9, bottom=0.02, wspace=0.05, hspace=0.08
    )
    return fig


def plot_sdr_per_map(panels: Mapping[str, Mapping[str, Sequence[float]]]) -> Figure:
    """One panel per layer: the SDR of each activation map (mean over the filters reading it)
    for each run, sorted; 1 = spectral independence."""
    if not panels:
        raise DataError("plot_sdr_per_map: nothing to draw")
    fig = new_figure((3.3 * len(panels), 2.8))
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (layer, runs) in zip(axes, panels.items()):
        style_axes(ax)
        for (name, values), color in zip(runs.items(), PALETTE):
            ax.plot(np.sort(np.asarray(values, dtype=float)), "o-", ms=2.5, color=color, label=name)
        ax.axhline(1.0, color="#6b7280", lw=0.8, ls="--")
        ax.set_title(layer, fontsize=9)
        ax.set_xlabel("map (sorted)", fontsize=9)
    axes[0].set_ylabel("SDR ρ", fontsize=9)
    axes[0].legend(fontsize=7, frameon=False)
    return fig
