"""Figures of a sweep: the distribution of each score per model (violin, box and the trials)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..errors import DataError
from .direction_plots import PALETTE
from .latent_plots import new_figure, style_axes


def plot_score_distributions(
    rows: Sequence[Mapping], scores: Sequence[str], colors: Mapping[str, str] | None = None
) -> Figure:
    """One panel per score; in each, one violin + box per model with its trials as points.
    ``colors`` maps a model to its colour (default: the palette in order, cycling)."""
    if not rows or not scores:
        raise DataError("plot_score_distributions: nothing to draw")
    models = list(dict.fromkeys(r["model"] for r in rows))
    colors = colors or {}
    palette = [colors.get(m, PALETTE[i % len(PALETTE)]) for i, m in enumerate(models)]
    cols = min(len(scores), 4)
    lines = -(-len(scores) // cols)
    fig = new_figure((max(2.9, 0.9 * len(models) + 1.2) * cols, 2.8 * lines))
    axes = np.atleast_1d(fig.subplots(lines, cols, squeeze=False)).ravel()
    for ax, score in zip(axes, scores):
        style_axes(ax)
        data = [[r["scores"][score] for r in rows if r["model"] == m and score in r["scores"]]
                for m in models]  # fmt: skip
        positions = [i + 1 for i, d in enumerate(data) if len(d)]
        present = [np.asarray(d, dtype=float) for d in data if len(d)]
        if any(len(d) > 1 and np.ptp(d) > 0 for d in present):
            parts = ax.violinplot(present, positions, showextrema=False, widths=0.8)
            for body, pos in zip(parts["bodies"], positions):
                body.set_facecolor(palette[pos - 1])
                body.set_alpha(0.25)
        ax.boxplot(present, positions=positions, widths=0.25, showfliers=False,
                   medianprops={"color": "#111827"})  # fmt: skip
        rng = np.random.default_rng(0)
        for pos, d in zip(positions, present):
            ax.plot(pos + rng.uniform(-0.08, 0.08, len(d)), d, "o", ms=3, color=palette[pos - 1])
        ax.set_xticks(range(1, len(models) + 1))
        ax.set_xticklabels(models, fontsize=7, rotation=20)
        ax.set_title(score, fontsize=9)
    for ax in axes[len(scores) :]:
        ax.set_visible(False)
    return fig
