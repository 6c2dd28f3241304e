"""The mapped-latent figure of Δ-reductions (thesis fig. 9.5).

Cell (i, j) of the grid shows the latent representation of an evaluation set in space j (grey
markers) and the representation from space i mapped into space j by the fitted reductor
(coloured markers, hued by the ground-truth factor). Angles (circles, the phases Φ) are drawn on
the unit circle, R² as is; a good reduction puts each coloured marker on the grey marker of the
same point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..errors import DataError
from .latent_plots import CYCLIC_CMAP, SEQUENTIAL_CMAP, add_colorbar, new_figure, style_axes

TARGET_COLOR = "#9ca3af"


def _planar(codes: torch.Tensor, periodic: bool) -> np.ndarray:
    """Points to draw ``(n, 2)``: (cos θ, sin θ) for one angle, the first two coordinates else."""
    c = codes.detach().double().cpu()
    if periodic:
        if c.shape[1] != 1:
            raise DataError("the mapped-latent figure draws one circle; got a torus")
        return np.stack([np.cos(c[:, 0].numpy()), np.sin(c[:, 0].numpy())], axis=1)
    if c.shape[1] < 2:
        return np.stack([c[:, 0].numpy(), np.zeros(len(c))], axis=1)
    return c[:, :2].numpy()


def plot_reduction_grid(
    codes: Mapping[str, torch.Tensor],
    periodic: Mapping[str, bool],
    reductors: Mapping[tuple[str, str], torch.nn.Module],
    hue: Sequence[float] | torch.Tensor | None = None,
    hue_label: str = "",
    hue_periodic: bool = True,
) -> Figure:
    """Thesis fig. 9.5: for every fitted map (i → j), space j's codes and space i's codes mapped.

    Args:
        codes: space name → intrinsic codes ``(n, d)`` of the same n evaluation points (e.g.
            posterior means; the phases themselves for the ground truth).
        periodic: space name → whether its codes are angles.
        reductors: (source, target) → the fitted map (``ReductionResult.reductor``).
        hue: a factor value per point (e.g. the phase), for the colours.
    """
    names = list(codes)
    n = {len(v) for v in codes.values()}
    if len(n) != 1:
        raise DataError(f"codes: every space needs the same points, got sizes {sorted(n)}")
    k = len(names)
    fig = new_figure((2.7 * k + 0.8, 2.6 * k))
    grid = fig.subplots(k, k, squeeze=False)
    values = None if hue is None else np.asarray(torch.as_tensor(hue).double().cpu())
    norm = None
    if values is not None:
        low, high = (-np.pi, np.pi) if hue_periodic else (float(values.min()), float(values.max()))
        norm = Normalize(low, high if high > low else low + 1.0)
    cmap = CYCLIC_CMAP if hue_periodic else SEQUENTIAL_CMAP
    used = []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = grid[i][j]
            style_axes(ax)
            ax.tick_params(labelsize=6)
            if i == 0:
                ax.set_title(f"into {b}", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"from {a}", fontsize=9)
            target = _planar(codes[b], periodic[b])
            ax.scatter(target[:, 0], target[:, 1], s=8, color=TARGET_COLOR, zorder=2)
            if (a, b) in reductors:
                with torch.no_grad():
                    mapped_codes = reductors[(a, b)](codes[a].float())
                mapped = _planar(mapped_codes, periodic[b])
                kw = {"c": values, "cmap": cmap, "norm": norm} if values is not None else {}
                ax.scatter(mapped[:, 0], mapped[:, 1], s=10, zorder=3, marker="x", **kw)
                used.append(ax)
            ax.set_aspect("equal", adjustable="datalim")
    if values is not None and used:
        add_colorbar(fig, ScalarMappable(norm=norm, cmap=cmap), used, hue_label, hue_periodic)
    return fig
