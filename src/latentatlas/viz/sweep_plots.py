"""Figures of a sweep: the distribution of each score per model and hyper-parameter values
(violin, box and the trials), and each score against each swept hyper-parameter."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..errors import DataError
from .direction_plots import PALETTE
from .latent_plots import new_figure, style_axes


def group_label(row: Mapping) -> str:
    """A trial's group: its model and hyper-parameter values (the seeds of one grid point)."""
    values = " ".join(f"{k}={_text(v)}" for k, v in sorted(row.get("hyper", {}).items()))
    return f"{row['model']}\n{values}" if values else str(row["model"])


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def plot_score_distributions(
    rows: Sequence[Mapping],
    scores: Sequence[str],
    colors: Mapping[str, str] | None = None,
    group: Callable[[Mapping], str] = group_label,
) -> Figure:
    """One panel per score; in each, one violin + box per group (default: model and
    hyper-parameter values, so the points of a group are its seeds), coloured by model.
    ``colors`` maps a model to its colour (default: the palette in order, cycling)."""
    if not rows or not scores:
        raise DataError("plot_score_distributions: nothing to draw")
    groups = list(dict.fromkeys(group(r) for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    colors = colors or {}
    by_model = {m: colors.get(m, PALETTE[i % len(PALETTE)]) for i, m in enumerate(models)}
    model_of = {group(r): r["model"] for r in rows}
    palette = [by_model[model_of[g]] for g in groups]
    cols = min(len(scores), 4)
    lines = -(-len(scores) // cols)
    fig = new_figure((max(2.9, 0.9 * len(groups) + 1.2) * cols, 3.1 * lines))
    axes = np.atleast_1d(fig.subplots(lines, cols, squeeze=False)).ravel()
    for ax, score in zip(axes, scores):
        style_axes(ax)
        data = [
            [r["scores"][score] for r in rows if group(r) == g and score in r["scores"]]
            for g in groups
        ]
        positions = [i + 1 for i, d in enumerate(data) if len(d)]
        present = [np.asarray(d, dtype=float) for d in data if len(d)]
        if any(len(d) > 1 and np.ptp(d) > 0 for d in present):
            parts = ax.violinplot(present, positions, showextrema=False, widths=0.8)
            for body, pos in zip(parts["bodies"], positions):
                body.set_facecolor(palette[pos - 1])
                body.set_alpha(0.25)
        ax.boxplot(
            present,
            positions=positions,
            widths=0.25,
            showfliers=False,
            medianprops={"color": "#111827"},
        )
        rng = np.random.default_rng(0)
        for pos, d in zip(positions, present):
            ax.plot(pos + rng.uniform(-0.08, 0.08, len(d)), d, "o", ms=3, color=palette[pos - 1])
        ax.set_xticks(range(1, len(groups) + 1))
        ax.set_xticklabels(groups, fontsize=6, rotation=30, ha="right")
        ax.set_title(score, fontsize=9)
    for ax in axes[len(scores) :]:
        ax.set_visible(False)
    return fig


def swept_values(rows: Sequence[Mapping], name: str) -> list:
    """The distinct values hyper-parameter ``name`` takes over the trials (in order of first
    appearance); a sweep plots a score against it when there are two or more."""
    return list(dict.fromkeys(_key(r["hyper"][name]) for r in rows if name in r.get("hyper", {})))


def _key(value: object) -> object:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def plot_scores_against(
    rows: Sequence[Mapping],
    scores: Sequence[str],
    name: str,
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """One panel per score: the score of every trial against hyper-parameter ``name`` (points,
    one colour per model that has it), with the mean over seeds joined by a line. Numbers go on
    a numeric axis (logarithmic when they are positive and span a factor of 10 or more), other
    values on evenly spaced positions."""
    rows = [r for r in rows if name in r.get("hyper", {})]
    values = swept_values(rows, name)
    if len(values) < 2 or not scores:
        raise DataError(f"plot_scores_against: {name} takes fewer than two values")
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    position = (lambda v: float(v)) if numeric else (lambda v: float(values.index(v)))
    models = list(dict.fromkeys(r["model"] for r in rows))
    colors = colors or {}
    cols = min(len(scores), 4)
    lines = -(-len(scores) // cols)
    fig = new_figure((3.2 * cols, 2.8 * lines))
    axes = np.atleast_1d(fig.subplots(lines, cols, squeeze=False)).ravel()
    for ax, score in zip(axes, scores):
        style_axes(ax)
        for i, model in enumerate(models):
            color = colors.get(model, PALETTE[i % len(PALETTE)])
            points = [
                (position(_key(r["hyper"][name])), r["scores"][score])
                for r in rows
                if r["model"] == model and score in r["scores"]
            ]
            if not points:
                continue
            x, y = np.asarray(points, dtype=float).T
            ax.plot(x, y, "o", ms=3, color=color, alpha=0.7)
            means = sorted((v, float(np.mean(y[x == v]))) for v in np.unique(x))
            ax.plot(*zip(*means), "-", color=color, lw=1.2, label=model)
        if numeric and min(values) > 0 and max(values) >= 10 * min(values):
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(values)))
            ax.set_xticklabels([str(v) for v in values], fontsize=7)
        ax.set_xlabel(name, fontsize=8)
        ax.set_title(score, fontsize=9)
    axes[0].legend(fontsize=7, frameon=False)
    for ax in axes[len(scores) :]:
        ax.set_visible(False)
    return fig
