"""Training curves from a run's ``metrics.jsonl`` records.

One panel per logged term (loss, reconstruction, KL, −ELBO, ...) against the step: the training
split as a line, evaluation records (``"split": "eval"``) as markers. Terms whose series are
identical (the loss and the −ELBO of a β = 1 VAE) share one panel. The y scale is chosen per
panel: the VAE terms span orders of magnitude early in training and the reconstruction term of a
Gaussian likelihood with its constant (thesis eq. 4.10) is negative once σX is small, so

* a positive series spanning ≥ 10× is drawn on a log scale;
* a series crossing zero (or negative) spanning ≥ 10× its late-training magnitude is drawn on a
  symmetric log scale whose linear region is the late-training magnitude (so the end of training,
  where one looks, stays resolved);
* anything else on a linear scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataError
from .latent_plots import new_figure, style_axes

#: record keys that are bookkeeping, not loss terms
NOT_TERMS = frozenset({"step", "split", "lr", "samples_per_s", "epoch", "time", "seconds"})
#: ratio of largest to typical magnitude from which a panel gets a log or symlog scale
SPAN = 10.0
TRAIN_COLOR = "#2563eb"
EVAL_COLOR = "#ea580c"
#: pretty panel titles of the usual terms (thesis equations)
TITLES = {
    "loss": "loss",
    "reconstruction": "reconstruction (eq. 5.9)",
    "kl": "KL (eq. 5.10)",
    "neg_elbo": "−ELBO",
    "mse": "MSE (eq. 5.8)",
    "lr": "learning rate",
}


def choose_scale(values: Sequence[float]) -> tuple[str, dict[str, float]]:
    """``("log" | "symlog" | "linear", kwargs for set_yscale)`` for a series (see module doc)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size < 2:
        return "linear", {}
    a = np.abs(v)
    if (v > 0).all():
        return ("log", {}) if v.max() / v.min() >= SPAN else ("linear", {})
    late = float(np.median(a[len(a) // 2 :]))
    late = max(late, float(a.max()) * 1e-4, 1e-12)
    if a.max() / late < SPAN:
        return "linear", {}
    return "symlog", {"linthresh": 10 ** math.floor(math.log10(late))}


def terms_of(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Numeric terms present in the records, in order of first appearance (``loss`` first)."""
    names: list[str] = []
    for r in records:
        for k, v in r.items():
            if k not in NOT_TERMS and k not in names and isinstance(v, (int, float)):
                if not isinstance(v, bool):
                    names.append(k)
    return sorted(names, key=lambda k: (k != "loss", names.index(k)))


def _series(records: Sequence[Mapping[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    pts = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
    if not pts:
        return np.zeros(0), np.zeros(0)
    s, v = zip(*pts)
    return np.asarray(s, dtype=float), np.asarray(v, dtype=float)


def _panels(train: Sequence[Mapping[str, Any]], terms: list[str]) -> list[list[str]]:
    """Group terms with identical training series into one panel."""
    groups: list[list[str]] = []
    for t in terms:
        _, v = _series(train, t)
        for g in groups:
            _, w = _series(train, g[0])
            if v.size and v.shape == w.shape and np.allclose(v, w, rtol=1e-6, atol=1e-9):
                g.append(t)
                break
        else:
            groups.append([t])
    return groups


def plot_training_curves(
    records: Sequence[Mapping[str, Any]],
    terms: Sequence[str] | None = None,
    ncols: int = 3,
    show_lr: bool | None = None,
) -> Figure:
    """Loss terms against the step, one panel per term (or group of identical terms).

    Args:
        records: ``metrics.jsonl`` records (:func:`~latentatlas.train.checkpoint.read_metrics`),
            each with ``step`` and ``split`` (``"train"`` when missing).
        terms: which terms to draw (default: every numeric term except bookkeeping keys).
        ncols: panels per row.
        show_lr: add a learning-rate panel (default: when the rate changes during training).
    """
    records = [r for r in records if isinstance(r.get("step"), (int, float))]
    if not records:
        raise DataError("no metrics records with a step to plot")
    train = [r for r in records if r.get("split", "train") == "train"]
    evals = [r for r in records if r.get("split") == "eval"]
    names = list(terms) if terms is not None else terms_of(records)
    groups = _panels(train, names)
    if show_lr is None:
        _, lr = _series(train, "lr")
        show_lr = lr.size > 1 and not np.allclose(lr, lr[0])
    if show_lr:
        groups.append(["lr"])
    if not groups:
        raise DataError("the records hold no numeric terms to plot")
    ncols = max(1, min(ncols, len(groups)))
    nrows = math.ceil(len(groups) / ncols)
    fig = new_figure((3.3 * ncols + 0.3, 2.55 * nrows + 0.2))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    for i in range(nrows * ncols):
        ax: Axes = axes[i // ncols][i % ncols]
        if i >= len(groups):
            ax.set_visible(False)
            continue
        group = groups[i]
        style_axes(ax)
        steps, vals = _series(train, group[0])
        few = steps.size <= 3
        ax.plot(steps, vals, "-o" if few else "-", color=TRAIN_COLOR, lw=1.5, ms=3, label="train")
        all_vals = list(vals)
        # evaluation records may carry any name of the group (e.g. neg_elbo but no loss)
        es, ev = next(
            (se for se in (_series(evals, t) for t in group) if se[0].size), _series(evals, "")
        )
        if es.size:
            ax.plot(es, ev, "o", color=EVAL_COLOR, ms=4.5, mec="white", mew=0.6, label="eval")
            all_vals += list(ev)
        scale, kw = choose_scale(all_vals)
        ax.set_yscale(scale, **kw)
        title = " = ".join(TITLES.get(t, t) for t in group)
        ax.set_title(title, fontsize=10, loc="left")
        if scale != "linear":
            ax.text(
                1.0,
                1.02,
                scale,
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=7,
                color="#6b7280",
            )
        if i + ncols >= len(groups):
            ax.set_xlabel("step", fontsize=9)
            ax.xaxis.set_tick_params(labelbottom=True)
        if i == 0 and es.size:
            ax.legend(fontsize=8, frameon=False)
    return fig


def plot_loss_panels(
    panels: Mapping[str, Mapping[str, Sequence[float] | np.ndarray | Any]],
    linthresh: float = 10.0,
) -> Figure:
    """Loss against the step of many trainings side by side: one panel per title, one line per
    label (e.g. the members of an ensemble). Lines are block means over 1 % of the steps, the
    y axis symmetric-log (losses of small-σX Gaussian decoders are large and negative); this is
    the plateau evidence of the reproductions."""
    if not panels:
        raise DataError("plot_loss_panels: no panels to draw")
    fig = new_figure((3.5 * len(panels), 3.2))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, lines) in zip(axes, panels.items()):
        style_axes(ax)
        for label, values in lines.items():
            curve = np.asarray(values, dtype=np.float64).reshape(-1)
            width = max(len(curve) // 100, 1)
            blocks = len(curve) // width
            smooth = curve[: blocks * width].reshape(blocks, width).mean(1)
            steps = np.arange(1, blocks + 1) * width
            ax.plot(steps, smooth, label=label)
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=9)
    axes[0].legend(fontsize=8, frameon=False)
    return fig
