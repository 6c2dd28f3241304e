"""Figures of the slides' geometry studies: code against size, decoded profiles (slide 18),
learned position filters (slide 27), position fits with strides and max pooling (slide 29),
decoded positions, and correlation tables of latent components with factors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..errors import DataError
from .latent_plots import latent_label, new_figure, style_axes

COLORS = ("#2563eb", "#dc2626", "#059669", "#d97706")


def plot_code_vs_size(
    radii: np.ndarray, codes: Mapping[str, np.ndarray], titles: Mapping[str, str]
) -> Figure:
    """One panel per model: the one-number code of every disk against its area r²."""
    if not codes:
        raise DataError("plot_code_vs_size: no codes to draw")
    fig = new_figure((3.4 * len(codes), 3.0))
    axes = fig.subplots(1, len(codes), squeeze=False)[0]
    for ax, (name, code), color in zip(axes, codes.items(), COLORS):
        style_axes(ax)
        ax.scatter(np.asarray(radii) ** 2, code, s=5, color=color, alpha=0.6, linewidths=0)
        ax.set_title(titles.get(name, name), fontsize=9)
        ax.set_xlabel("area r² (pixels²)", fontsize=9)
    axes[0].set_ylabel("code z", fontsize=9)
    return fig


def plot_profiles(profiles) -> Figure:
    """The learned, numerically optimal and Airy profiles on one axis (slide 18), each scaled
    so that its value at the centre is 1 (the slide's display)."""
    rho = np.asarray(profiles.rho)
    fig = new_figure((5.4, 3.2))
    ax = fig.subplots()
    style_axes(ax)
    for label, values, style, color in (
        ("autoencoder (bias-free decoder)", profiles.learned, "-", COLORS[0]),
        ("numerical maximiser of eq. 3", profiles.numerical, "--", COLORS[1]),
        ("Airy, eq. 8", profiles.airy, ":", COLORS[2]),
    ):
        f = np.asarray(values)
        ax.plot(rho, f / f[0], style, color=color, linewidth=1.8, label=label)
    ax.set_xlabel("ρ (pixels from the centre)", fontsize=9)
    ax.set_ylabel("f(ρ) / f(0)", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    return fig


def plot_position_filters(fit) -> Figure:
    """The learned filters of a position encoder, each divided by its centre tap, beside the
    prediction ϕ / 2 = [0.5, 1, 0.5] (slide 27); the last layer's left tap is undetermined."""
    filters = np.asarray(fit.normalised_filters)
    levels = filters.shape[0]
    fig = new_figure((1.5 * levels + 1.0, 2.6))
    axes = fig.subplots(1, levels, squeeze=False, sharey=True)[0]
    for i, ax in enumerate(axes):
        style_axes(ax)
        taps = np.arange(3)
        ax.bar(taps - 0.18, [0.5, 1.0, 0.5], width=0.34, color="#9ca3af", label="ϕ / 2")
        learned = filters[i].copy()
        colors = [COLORS[0]] * 3
        if i == levels - 1:
            colors[0] = "#e5e7eb"  # sees only zero padding
        ax.bar(taps + 0.18, learned, width=0.34, color=colors, label="learned")
        ax.set_xticks(taps, ["−1", "0", "+1"], fontsize=8)
        ax.set_title(f"layer {i + 1}", fontsize=9)
    axes[0].legend(fontsize=7, frameon=False)
    return fig


def plot_position_fits(fits: Sequence) -> Figure:
    """Outputs of trained position encoders on every Dirac against the target 2^L − a."""
    fig = new_figure((3.4 * len(fits), 3.0))
    axes = fig.subplots(1, len(fits), squeeze=False)[0]
    for ax, fit, color in zip(axes, fits, COLORS):
        style_axes(ax)
        target = np.asarray(fit.targets)
        a = np.arange(len(target))
        ax.plot(a, target, color="#9ca3af", linewidth=1.2, label="2^L − a")
        ax.plot(a, fit.outputs, "o", color=color, markersize=3, label="trained E(δ_a)")
        ax.set_title(f"{fit.pooling}: RMSE {fit.rmse:.3g}", fontsize=9)
        ax.set_xlabel("position a", fontsize=9)
    axes[0].legend(fontsize=8, frameon=False)
    return fig


def plot_decoded_positions(
    positions: np.ndarray, signals: Mapping[str, np.ndarray], targets: np.ndarray
) -> Figure:
    """Decoded signals D(a) at a few held-out real positions, one row per training set, with the
    continuous Dirac δ_a of eq. 11 behind each."""
    rows = len(signals)
    n = len(positions)
    fig = new_figure((1.9 * n + 0.6, 1.6 * rows + 0.4))
    axes = fig.subplots(rows, n, squeeze=False, sharey=True)
    t = np.arange(targets.shape[1])
    for r, (name, sig) in enumerate(signals.items()):
        for c in range(n):
            ax = axes[r][c]
            style_axes(ax)
            ax.bar(t, targets[c], width=0.9, color="#d1d5db")
            ax.plot(t, sig[c], color=COLORS[r], linewidth=1.3)
            lo, hi = max(positions[c] - 5, 0), min(positions[c] + 5, t[-1])
            ax.set_xlim(lo, hi)
            if r == 0:
                ax.set_title(f"a = {positions[c]:.2f}", fontsize=8)
        axes[r][0].set_ylabel(name, fontsize=8)
    return fig


def plot_correlations(tables: Mapping[str, np.ndarray], factor_names: Sequence[str]) -> Figure:
    """|corr| of each latent component (rows, z₀ first) with each factor (columns), one heat
    map a model."""
    fig = new_figure(
        (
            1.0 + 0.75 * len(factor_names) * len(tables),
            0.5 + 0.45 * max(np.asarray(t).shape[0] for t in tables.values()) + 1.2,
        )
    )
    axes = fig.subplots(1, len(tables), squeeze=False)[0]
    image = None
    for ax, (title, table) in zip(axes, tables.items()):
        values = np.abs(np.asarray(table))
        image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            ax.text(
                j,
                i,
                f"{v:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v < 0.6 else "black",
            )
        ax.set_xticks(range(len(factor_names)), factor_names, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(
            range(values.shape[0]),
            [latent_label(i) for i in range(values.shape[0])],
            fontsize=8,
        )
        ax.set_title(title, fontsize=9)
    if image is not None:
        fig.colorbar(image, ax=list(axes), shrink=0.8, label="|Pearson correlation|")
    return fig
