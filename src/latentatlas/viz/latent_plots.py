"""Latent-space scatter plots: posterior means with the ellipses of thesis eq. 5.6 (fig. 5.4),
and posterior locations on the circle with the arcs of eq. 7.11 (fig. 7.1).

Each point of an evaluation set is drawn at its posterior mean μZ(x); around it, the ellipse
{z : ‖(z − μZ(x)) ⊘ σZ(x)‖ ≤ 1} (eq. 5.6, ⊘ the element-wise division) whose semi-axes are the
posterior standard deviations — the high-probability region of the diagonal Gaussian posterior.
Markers are hued by a ground-truth factor; a periodic factor (a phase, an angle) uses the cyclic
colour map "twilight", so that the two ends of its range get the same colour, others "viridis".

Figures are :class:`matplotlib.figure.Figure` objects with an Agg canvas, made without pyplot, so
nothing is shown and no global figure registry keeps them alive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import Colormap, Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

from ..analysis.latents import LatentSummary
from ..errors import DataError

#: colour of markers when no factor hues them
PLAIN_COLOR = "#3b6ea8"
#: colour maps for periodic and other factors
CYCLIC_CMAP = "twilight"
SEQUENTIAL_CMAP = "viridis"
#: thin marker outline, so the light ends of "twilight" stay visible on a white background
EDGE_COLOR = "#4b5563"
#: gid of the PatchCollection holding the posterior ellipses of eq. 5.6 (one per point)
ELLIPSES_GID = "posterior-ellipses"


def new_figure(figsize: tuple[float, float], layout: str | None = "constrained") -> Figure:
    """A pyplot-free figure with an Agg canvas (nothing is shown, nothing leaks)."""
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def style_axes(ax: Axes) -> None:
    """Light styling shared by all plots: no top/right spines, soft grid, small ticks."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, color="#e5e7eb", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8, length=3)


def latent_label(dim: int) -> str:
    """Axis label of latent coordinate ``dim`` (0-based, as in the API)."""
    return f"$z_{{{dim}}}$"


def _hue(
    summary: LatentSummary, hue_factor: str | int | None
) -> tuple[np.ndarray | None, Colormap | str | None, Normalize | None, str, bool]:
    """Values, colour map, norm, label and periodicity of the hue factor (None: no hue)."""
    if hue_factor is None or summary.factors is None:
        return None, None, None, "", False
    j = summary.factor_index(hue_factor)
    values = summary.factors[:, j].double().numpy()
    periodic = bool(summary.factor_periodic[j]) if summary.factor_periodic else False
    if summary.factor_ranges:
        low, high = summary.factor_ranges[j]
    else:
        low, high = float(values.min()), float(values.max())
    if high <= low:
        high = low + 1.0
    cmap = CYCLIC_CMAP if periodic else SEQUENTIAL_CMAP
    name = summary.factor_names[j] if summary.factor_names else f"factor {j}"
    return values, cmap, Normalize(low, high), name, periodic


def _pi_ticks(low: float, high: float) -> tuple[list[float], list[str]] | None:
    """Ticks at multiples of π/2 for a range that is a whole turn starting at a multiple of π/2."""
    if abs((high - low) - 2 * math.pi) > 1e-6:
        return None
    start = low / (math.pi / 2)
    if abs(start - round(start)) > 1e-6:
        return None
    names = {0: "0", 1: "π/2", 2: "π", 3: "3π/2", 4: "2π"}
    ticks, labels = [], []
    for q in range(round(start), round(start) + 5):
        ticks.append(q * math.pi / 2)
        label = names.get(abs(q), f"{abs(q)}π/2" if abs(q) % 2 else f"{abs(q) // 2}π")
        labels.append(("−" if q < 0 else "") + label)
    return ticks, labels


def add_colorbar(
    fig: Figure, mappable: ScalarMappable, axes: Axes | Sequence[Axes], label: str, periodic: bool
) -> None:
    """A colour bar labelled with the factor name (π ticks for a whole-turn periodic factor)."""
    cbar = fig.colorbar(mappable, ax=axes, shrink=0.9, pad=0.02, aspect=30)
    cbar.set_label(label, fontsize=9)
    cbar.ax.tick_params(labelsize=8)
    cbar.outline.set_visible(False)
    norm = mappable.norm
    ticks = _pi_ticks(float(norm.vmin), float(norm.vmax)) if periodic else None
    if ticks is not None:
        cbar.set_ticks(ticks[0], labels=ticks[1])


def _check_dims(summary: LatentSummary, dims: Sequence[int]) -> tuple[int, int]:
    if len(dims) != 2:
        raise DataError(f"dims: expected two latent coordinates, got {list(dims)}")
    a, b = (int(d) for d in dims)
    for d in (a, b):
        if not 0 <= d < summary.dim:
            raise DataError(f"dims: coordinate {d} out of range [0, {summary.dim})")
    return a, b


def plot_latent_scatter(
    summary: LatentSummary,
    hue_factor: str | int | None = None,
    dims: Sequence[int] = (0, 1),
    ax: Axes | None = None,
    ellipses: bool = True,
    colorbar: bool = True,
    marker_size: float = 22.0,
) -> Figure:
    """Posterior means of two latent coordinates with their eq. 5.6 ellipses (thesis fig. 5.4).

    Args:
        summary: from :func:`~latentatlas.analysis.latents.summarise_latents`.
        hue_factor: factor (name or index) that colours the markers and ellipses, or None.
        dims: the two latent coordinates on the x and y axes.
        ax: axes to draw into (a new figure when None).
        ellipses: draw one translucent ellipse per point with semi-axes σZ(x) (eq. 5.6), where
            the summary has posterior stds (point latents have none).
        colorbar: add a colour bar labelled with the factor name (when hued).
        marker_size: marker area in points².

    Returns the figure holding ``ax``. The axes have an equal aspect ratio, so circles look round.
    """
    a, b = _check_dims(summary, dims)
    if ax is None:
        fig = new_figure((5.4, 5.0))
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()
    style_axes(ax)
    mu = summary.means[:, [a, b]].double().numpy()
    values, cmap, norm, label, periodic = _hue(summary, hue_factor)
    if values is not None:
        colors = ScalarMappable(norm=norm, cmap=cmap).to_rgba(values)
        hue = {"c": values, "cmap": cmap, "norm": norm}
    else:
        colors = np.tile(np.asarray(to_rgba(PLAIN_COLOR)), (len(mu), 1))
        hue = {"color": PLAIN_COLOR}
    if ellipses and summary.stds is not None:
        sd = summary.stds[:, [a, b]].double().numpy()
        patches = [Ellipse((x, y), width=2 * sx, height=2 * sy) for (x, y), (sx, sy) in zip(mu, sd)]
        face = colors.copy()
        face[:, 3] = 0.10
        edge = colors.copy()
        edge[:, 3] = 0.45
        # one collection of Ellipse patches: drawn in one go, thousands stay fast
        coll = PatchCollection(
            patches,
            facecolors=face,
            edgecolors=edge,
            linewidths=0.6,
            zorder=1,
            match_original=False,
        )
        coll.set_gid(ELLIPSES_GID)
        ax.add_collection(coll, autolim=False)
        corners = np.concatenate([mu - sd, mu + sd])
        ax.update_datalim(corners)
    points = ax.scatter(
        mu[:, 0], mu[:, 1], s=marker_size, edgecolors=EDGE_COLOR, linewidths=0.4, zorder=3, **hue
    )
    ax.set_xlabel(latent_label(a), fontsize=10)
    ax.set_ylabel(latent_label(b), fontsize=10)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    if colorbar and values is not None:
        add_colorbar(fig, points, ax, label, periodic)
    return fig


def plot_latent_pairs(
    summary: LatentSummary,
    hue_factor: str | int | None = None,
    max_dims: int = 4,
    ellipses: bool = True,
) -> Figure:
    """Scatter plots over pairs of the ``max_dims`` most active latent coordinates.

    Coordinates are taken in ``summary.order`` (most active first, by mean KL or variance of the
    means); the lower triangle of a grid shows every pair (x: the more active coordinate), with
    one shared colour bar. With two coordinates this is :func:`plot_latent_scatter`; with one, the
    means are plotted against the hue factor (or the point index).
    """
    if max_dims < 1:
        raise DataError(f"max_dims: expected at least 1, got {max_dims}")
    dims = [int(d) for d in summary.order[: min(max_dims, summary.dim)]]
    if len(dims) == 1:
        return _plot_latent_1d(summary, dims[0], hue_factor)
    if len(dims) == 2:
        return plot_latent_scatter(summary, hue_factor, dims=sorted(dims), ellipses=ellipses)
    k = len(dims) - 1
    fig = new_figure((2.9 * k + 1.0, 2.9 * k))
    grid = fig.subplots(k, k, squeeze=False)
    used = []
    for r in range(k):
        for c in range(k):
            ax = grid[r][c]
            if c > r:
                fig.delaxes(ax)
                continue
            plot_latent_scatter(
                summary,
                hue_factor,
                dims=(dims[c], dims[r + 1]),
                ax=ax,
                ellipses=ellipses,
                colorbar=False,
                marker_size=10.0,
            )
            if r != k - 1:
                ax.set_xlabel("")
            if c != 0:
                ax.set_ylabel("")
            used.append(ax)
    values, cmap, norm, label, periodic = _hue(summary, hue_factor)
    if values is not None:
        add_colorbar(fig, ScalarMappable(norm=norm, cmap=cmap), used, label, periodic)
    return fig


def _plot_latent_1d(summary: LatentSummary, dim: int, hue_factor: str | int | None) -> Figure:
    """One latent coordinate: means (± σZ error bars) against the hue factor or the index."""
    fig = new_figure((5.4, 3.4))
    ax = fig.add_subplot()
    style_axes(ax)
    z = summary.means[:, dim].double().numpy()
    values, cmap, norm, label, _ = _hue(summary, hue_factor)
    xs = values if values is not None else np.arange(len(z), dtype=float)
    if summary.stds is not None:
        ax.errorbar(
            xs,
            z,
            yerr=summary.stds[:, dim].double().numpy(),
            fmt="none",
            ecolor="#9ca3af",
            elinewidth=0.6,
            zorder=1,
        )
    kwargs = {"c": values, "cmap": cmap, "norm": norm} if values is not None else {}
    ax.scatter(xs, z, s=14, zorder=3, **({"color": PLAIN_COLOR} if values is None else kwargs))
    ax.set_xlabel(label or "point", fontsize=10)
    ax.set_ylabel(latent_label(dim), fontsize=10)
    return fig


#: gid of the LineCollection holding the posterior arcs of eq. 7.11 (one per point)
ARCS_GID = "posterior-arcs"


def plot_latent_circle(
    summary: LatentSummary,
    hue_factor: str | int | None = None,
    dim: int = 0,
    ax: Axes | None = None,
    arcs: bool = True,
    colorbar: bool = True,
    marker_size: float = 22.0,
) -> Figure:
    """Posterior locations on the unit circle with their arcs (thesis fig. 7.1, eq. 7.11).

    Each point is drawn at (cos μ, sin μ) of its posterior location μ on circle ``dim`` and,
    with ``arcs``, with the arc {θ : |θ − μ| ≤ s} of the circle where s is the summary's
    posterior spread (the √(2t) of the heat kernel; t in thesis-compatible mode, as in
    eq. 7.11). Arcs are drawn at radius 1 in translucent colour; markers sit on top.
    """
    if not 0 <= dim < summary.dim:
        raise DataError(f"dim: coordinate {dim} out of range [0, {summary.dim})")
    if ax is None:
        fig = new_figure((5.4, 5.0))
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()
    style_axes(ax)
    ax.grid(False)
    mu = summary.means[:, dim].double().numpy()
    values, cmap, norm, label, periodic = _hue(summary, hue_factor)
    if values is not None:
        colors = ScalarMappable(norm=norm, cmap=cmap).to_rgba(values)
    else:
        colors = np.tile(np.asarray(to_rgba(PLAIN_COLOR)), (len(mu), 1))
    ring = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(ring), np.sin(ring), color="#d1d5db", lw=1.0, zorder=0)
    if arcs and summary.stds is not None:
        half = np.minimum(summary.stds[:, dim].double().numpy(), np.pi)  # a whole turn at most
        steps = np.linspace(-1.0, 1.0, 41)
        segments = [
            np.stack([np.cos(m + h * steps), np.sin(m + h * steps)], axis=1)
            for m, h in zip(mu, half)
        ]
        edge = colors.copy()
        edge[:, 3] = 0.35
        coll = LineCollection(segments, colors=edge, linewidths=4.0, capstyle="round", zorder=1)
        coll.set_gid(ARCS_GID)
        ax.add_collection(coll, autolim=False)
    hue = (
        {"c": values, "cmap": cmap, "norm": norm} if values is not None else {"color": PLAIN_COLOR}
    )
    points = ax.scatter(
        np.cos(mu),
        np.sin(mu),
        s=marker_size,
        edgecolors=EDGE_COLOR,
        linewidths=0.4,
        zorder=3,
        **hue,
    )
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-1.25, 1.25)
    ax.set_aspect("equal")
    ax.set_xlabel(f"cos {latent_label(dim)}", fontsize=10)
    ax.set_ylabel(f"sin {latent_label(dim)}", fontsize=10)
    if colorbar and values is not None:
        add_colorbar(fig, points, ax, label, periodic)
    return fig


def torus_coordinates(angles: np.ndarray, major: float = 2.0, minor: float = 1.0) -> np.ndarray:
    """Points of the ring torus in R³ for angle pairs ``(n, 2)``: (θ₁ around the ring, θ₂ around
    the tube) — a 3-D picture of T² (the Clifford torus itself lives in R⁴)."""
    t1, t2 = angles[:, 0], angles[:, 1]
    ring = major + minor * np.cos(t2)
    return np.stack([ring * np.cos(t1), ring * np.sin(t1), minor * np.sin(t2)], axis=1)


def plot_latent_torus(
    summary: LatentSummary,
    hue_factors: Sequence[str | int] | None = None,
    dims=(0, 1),
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Posterior locations on a torus latent as a 3-D ring torus, one panel per hue factor
    (thesis fig. 11.3/11.4: the two phases of the torus benchmark, each as a hue).

    Euclidean latents with three or more coordinates are shown by their first three principal
    components instead (the baseline VAE's R⁴ of ch. 11). ``axes`` (3-D axes, one per hue
    factor) draws into an existing figure, e.g. one row of a grid; otherwise a new figure.
    """
    if summary.latent_periodic:
        a, b = _check_dims(summary, dims)
        points = torus_coordinates(summary.means[:, [a, b]].double().numpy())
        axis_labels = ("", "", "")
    else:
        if summary.dim < 3:
            raise DataError(
                f"a 3-D projection needs at least 3 latent coordinates, got {summary.dim}"
            )
        centred = summary.means.double().numpy() - summary.means.double().numpy().mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        points = centred @ vt[:3].T
        axis_labels = ("PC 1", "PC 2", "PC 3")
    if hue_factors is None:
        hue_factors = list(range(min(2, len(summary.factor_names)))) or [None]
    if axes is None:
        fig = new_figure((4.6 * len(hue_factors), 4.4))
        axes = [
            fig.add_subplot(1, len(hue_factors), i + 1, projection="3d")
            for i in range(len(hue_factors))
        ]
    elif len(axes) != len(hue_factors):
        raise DataError(f"axes: need one per hue factor ({len(hue_factors)}), got {len(axes)}")
    else:
        fig = axes[0].get_figure()
    for ax, hue_factor in zip(axes, hue_factors):
        values, cmap, norm, label, periodic = _hue(summary, hue_factor)
        kw = (
            {"c": values, "cmap": cmap, "norm": norm}
            if values is not None
            else {"color": PLAIN_COLOR}
        )
        points_artist = ax.scatter(
            points[:, 0], points[:, 1], points[:, 2], s=6, depthshade=False, **kw
        )
        for setter, text in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), axis_labels):
            setter(text, fontsize=8)
        ax.tick_params(labelsize=6)
        if summary.latent_periodic:
            ax.set_box_aspect((1, 1, 0.35))
        if values is not None:
            ax.set_title(f"hue: {label}", fontsize=9)
            add_colorbar(fig, points_artist, ax, label, periodic)
    return fig


def plot_latent_grid(
    panels: Sequence[Sequence[tuple[str, LatentSummary]]],
    hue_factor: str | int | None = None,
    panel_size: float = 3.4,
) -> Figure:
    """A grid of latent representations, one ``(title, summary)`` per panel (thesis fig. 5.4,
    7.1, 10.2, 10.3: one panel per setting). Circle latents are drawn as arcs on the circle
    (:func:`plot_latent_circle`), others as means with ellipses (:func:`plot_latent_scatter`)."""
    rows = len(panels)
    cols = max((len(r) for r in panels), default=0)
    if rows == 0 or cols == 0:
        raise DataError("plot_latent_grid: no panels to draw")
    fig = new_figure((panel_size * cols, panel_size * rows * 0.95))
    grid = fig.subplots(rows, cols, squeeze=False)
    for i, row in enumerate(panels):
        for j in range(cols):
            ax = grid[i][j]
            if j >= len(row):
                ax.set_axis_off()
                continue
            title, summary = row[j]
            if summary.latent_periodic:
                plot_latent_circle(summary, hue_factor, ax=ax, colorbar=False, marker_size=8)
            else:
                plot_latent_scatter(summary, hue_factor, ax=ax, colorbar=False, marker_size=8)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("")
            ax.set_ylabel("")
    return fig
