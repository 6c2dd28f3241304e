"""Figures of the directions study: control precision along α (fig. 2 and 5 of the directions
paper), pixel-space trajectories of transformations (fig. 8), inversion error curves (fig. 10)
and rows of images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from ..errors import DataError
from .latent_plots import new_figure, style_axes

BLUE, RED, GREEN, AMBER = "#2563eb", "#dc2626", "#059669", "#d97706"
PALETTE = (BLUE, RED, GREEN, AMBER, "#7c3aed", "#0891b2", "#be185d", "#4b5563")


def plot_direction_evaluations(evaluations: Mapping[str, object], ylabel: str) -> Figure:
    """One panel per direction: the measured factor of every traversal at each α (blue points)
    with the standard deviation against α on a second axis (red), and the calibration g(α)
    shifted to the measured mean when there is one (dashed)."""
    if not evaluations:
        raise DataError("plot_direction_evaluations: nothing to draw")
    k = len(evaluations)
    cols = min(k, 4)
    rows = -(-k // cols)
    fig = new_figure((3.3 * cols, 2.9 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    top = max(float(ev.std.max()) for ev in evaluations.values()) * 1.15 or 1.0
    for ax, (title, ev) in zip(axes, evaluations.items()):
        style_axes(ax)
        a = ev.alphas.numpy()
        values = ev.values.numpy()
        jitter = (np.random.default_rng(0).random(values.shape) - 0.5) * 0.15 * (a[1] - a[0])
        ax.scatter((a[:, None] + jitter).ravel(), values.ravel(), s=4, color=BLUE, alpha=0.35)
        if ev.predicted is not None:
            gap = (ev.mean - ev.predicted.double()).mean()
            ax.plot(a, (ev.predicted.double() + gap).numpy(), "--", color="#111827", lw=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("α (coordinate along u)", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8, color=BLUE)
        twin = ax.twinx()
        twin.plot(a, ev.std.numpy(), "-o", color=RED, ms=3, lw=1.2)
        twin.set_ylim(0, top)
        twin.tick_params(labelsize=7, colors=RED)
        twin.set_ylabel("std", fontsize=8, color=RED)
        for side in ("top",):
            twin.spines[side].set_visible(False)
    for ax in axes[k:]:
        ax.set_visible(False)
    return fig


def plot_std_summary(curves: Mapping[str, Mapping[str, Sequence[float]]], alphas) -> Figure:
    """Standard deviation of the measured factor against α: one panel per model, one curve per
    method (e.g. the inversion direction, the encoder direction, baselines)."""
    if not curves:
        raise DataError("plot_std_summary: nothing to draw")
    fig = new_figure((3.3 * len(curves), 2.8))
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, (title, methods) in zip(axes, curves.items()):
        style_axes(ax)
        for (name, std), color in zip(methods.items(), PALETTE):
            ax.plot(alphas, std, "-o", ms=2.5, lw=1.2, color=color, label=name)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("α", fontsize=8)
        ax.set_ylabel("std of the measured factor", fontsize=8)
    axes[0].legend(fontsize=7, frameon=False)
    return fig


def plot_pixel_trajectories(
    paths: Mapping[str, np.ndarray], frames: Mapping[str, np.ndarray]
) -> Figure:
    """Fig. 8: each transformation's images projected on the first two principal axes of its
    trajectory (blue, the actual path) against the straight segment between its ends (red), with
    the first, middle and last image."""
    if not paths:
        raise DataError("plot_pixel_trajectories: nothing to draw")
    fig = new_figure((3.0 * len(paths), 4.0))
    grid = fig.add_gridspec(2, len(paths), height_ratios=(3, 1))
    for i, (name, xy) in enumerate(paths.items()):
        ax = fig.add_subplot(grid[0, i])
        style_axes(ax)
        ax.plot(xy[:, 0], xy[:, 1], "-o", color=BLUE, ms=2.5, lw=1.2, label="transformation")
        ax.plot(xy[[0, -1], 0], xy[[0, -1], 1], "-", color=RED, lw=1.2, label="straight line")
        ax.set_title(name, fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=7, frameon=False)
        sub = grid[1, i].subgridspec(1, 3, wspace=0.05)
        imgs = frames[name]
        for j, idx in enumerate((0, len(imgs) // 2, len(imgs) - 1)):
            im_ax = fig.add_subplot(sub[0, j])
            im_ax.imshow(imgs[idx], cmap="gray", vmin=0, vmax=1)
            im_ax.set_axis_off()
    return fig


def plot_error_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], xlabel: str, ylabel: str, log: bool = True
) -> Figure:
    """Error against optimisation steps, one curve (x, y) per method, median over targets."""
    if not curves:
        raise DataError("plot_error_curves: nothing to draw")
    fig = new_figure((4.6, 3.0))
    ax = fig.subplots()
    style_axes(ax)
    for (name, (x, y)), color in zip(curves.items(), PALETTE):
        ax.plot(x, y, "-", marker="o" if len(x) < 30 else None, ms=3, color=color, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    return fig


def plot_image_rows(rows: Mapping[str, torch.Tensor], n: int = 8) -> Figure:
    """A grid of grey or colour images: one labelled row per entry, the first ``n`` of each."""
    if not rows:
        raise DataError("plot_image_rows: nothing to draw")
    n = min(n, min(len(v) for v in rows.values()))
    margin = max(0.9, 0.06 * max(len(label) for label in rows) + 0.2)  # inches for the labels
    width = 1.0 * n + margin + 0.1
    fig = new_figure((width, 1.0 * len(rows) + 0.2), layout=None)
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r, c]
            img = images[c].detach().float().clamp(0, 1)
            if img.shape[0] == 1:
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(img.permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.subplots_adjust(
        left=margin / width, right=0.99, top=0.98, bottom=0.02, wspace=0.05, hspace=0.08
    )
    return fig
