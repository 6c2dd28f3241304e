"""The mapped-latent figure of Δ-reductions (thesis fig. 9.5).

Cell (i, j) of the grid shows the latent representation of an evaluation set in space j (grey
markers) and the representation from space i mapped into space j by the fitted reductor
(coloured markers, hued by the ground-truth factor). One angle (S¹, the phase Φ) is drawn on the
unit circle, two (T²) on the flat torus [−π, π)², R² as is and R⁴ by its first two principal
components (thesis fig. 11.5); a good reduction puts each coloured marker on the grey marker of
the same point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..errors import DataError
from .latent_plots import CYCLIC_CMAP, SEQUENTIAL_CMAP, add_colorbar, new_figure, style_axes

TARGET_COLOR = "#9ca3af"


def _planar(reference: torch.Tensor, periodic: bool) -> Callable[[torch.Tensor], np.ndarray]:
    """A map from codes of one space to points to draw ``(n, 2)``, fixed by that space's own
    codes ``reference``: one angle → (cos θ, sin θ) on the unit circle; two or more angles →
    the first two as a point of the flat torus [−π, π)²; R¹ → the line; R² as is; Rᵈ, d > 2 →
    the first two principal components of ``reference`` (so mapped codes land in the same
    picture as the target's own)."""
    ref = reference.detach().double().cpu()
    if periodic:
        if ref.shape[1] == 1:
            return lambda c: np.stack([np.cos(_np(c)[:, 0]), np.sin(_np(c)[:, 0])], axis=1)
        return lambda c: np.remainder(_np(c)[:, :2] + np.pi, 2 * np.pi) - np.pi
    if ref.shape[1] == 1:
        return lambda c: np.stack([_np(c)[:, 0], np.zeros(len(c))], axis=1)
    if ref.shape[1] == 2:
        return lambda c: _np(c)[:, :2]
    centre = ref.numpy().mean(0)
    _, _, vt = np.linalg.svd(ref.numpy() - centre, full_matrices=False)
    return lambda c: (_np(c) - centre) @ vt[:2].T


def _np(codes: torch.Tensor) -> np.ndarray:
    return codes.detach().double().cpu().numpy()


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
            project = _planar(codes[b], periodic[b])
            target = project(codes[b])
            ax.scatter(target[:, 0], target[:, 1], s=8, color=TARGET_COLOR, zorder=2)
            if (a, b) in reductors:
                with torch.no_grad():
                    mapped_codes = reductors[(a, b)](codes[a].float())
                mapped = project(mapped_codes)
                kw = {"c": values, "cmap": cmap, "norm": norm} if values is not None else {}
                ax.scatter(mapped[:, 0], mapped[:, 1], s=10, zorder=3, marker="x", **kw)
                used.append(ax)
            ax.set_aspect("equal", adjustable="datalim")
    if values is not None and used:
        add_colorbar(fig, ScalarMappable(norm=norm, cmap=cmap), used, hue_label, hue_periodic)
    return fig
