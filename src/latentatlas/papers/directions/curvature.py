"""``reproduce directions-curvature``: image transformations are curved walks in pixel space
(directions paper, appendix D, fig. 8).

A dSprites sprite is moved progressively (translation along x, rotation, scale, and brightness as
the linear control), the images are projected on the first two principal axes of their trajectory
and compared with the straight segment between its ends. Measured: the path length over the chord
length (1 for a straight walk), the angle between the chord and the first step that changes the
image (90° means the shortest path points away from the manifold: the gradient of a pixel loss
towards the end image is nearly orthogonal to the tangent, eq. 14-15), and the fraction of the
squared distance to the end image still left half way (a translation saturates: once the sprites
no longer overlap, moving closer does not reduce a pixel error).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...data.synthetic.dsprites import render_dsprites
from ...experiments.model_store import ModelStore


@dataclass(frozen=True)
class CurvatureScale:
    """Images along each transformation path."""

    points: int


SCALES = {"quick": CurvatureScale(24), "full": CurvatureScale(64)}
SUPERSAMPLE = 4


def _factors(n: int, shape: float, scale, orientation, x, y) -> torch.Tensor:
    cols = [torch.full((n,), float(v)) if np.isscalar(v) else v for v in (scale, orientation, x, y)]
    return torch.stack([torch.ones(n), torch.full((n,), shape), *cols], 1).double()


def transformation_paths(points: int, size: int = 64) -> dict[str, torch.Tensor]:
    """Images ``(points, 1, size, size)`` of one sprite along each transformation."""
    s = torch.linspace(0, 1, points, dtype=torch.float64)
    base = render_dsprites(_factors(1, 2.0, 0.75, 0.0, 0.5, 0.5), SUPERSAMPLE, size)
    return {
        "translation": render_dsprites(_factors(points, 2.0, 0.75, 0.0, s, 0.5), SUPERSAMPLE, size),
        "rotation": render_dsprites(
            _factors(points, 2.0, 0.75, s * math.pi / 2, 0.5, 0.5), SUPERSAMPLE, size
        ),
        "scale": render_dsprites(
            _factors(points, 2.0, 0.5 + 0.5 * s, 0.0, 0.5, 0.5), SUPERSAMPLE, size
        ),
        "brightness": base * (0.2 + 0.8 * s.float())[:, None, None, None],
    }


@dataclass
class PathMeasures:
    length_over_chord: float
    chord_angle_degrees: float
    remaining_at_half: float
    explained_2d: float

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def measure_path(images: torch.Tensor) -> tuple[PathMeasures, np.ndarray]:
    """The curvature measures of a trajectory and its 2-D PCA projection."""
    from sklearn.decomposition import PCA

    x = images.flatten(1).double().numpy()
    steps = np.diff(x, axis=0)
    length = np.linalg.norm(steps, axis=1).sum()
    chord = x[-1] - x[0]
    chord_norm = np.linalg.norm(chord)
    norms = np.linalg.norm(steps, axis=1)
    moving = np.flatnonzero(norms > 1e-9)  # a binary sprite may not change in a small step
    first = steps[moving[0]] / norms[moving[0]] if len(moving) else np.zeros_like(chord)
    cos = float(np.clip(first @ chord / max(chord_norm, 1e-12), -1, 1))
    half = x[len(x) // 2]
    remaining = float(np.sum((x[-1] - half) ** 2) / max(chord_norm**2, 1e-12))
    pca = PCA(n_components=2).fit(x)
    measures = PathMeasures(
        length_over_chord=float(length / max(chord_norm, 1e-12)),
        chord_angle_degrees=math.degrees(math.acos(cos)),
        remaining_at_half=remaining,
        explained_2d=float(pca.explained_variance_ratio_.sum()),
    )
    return measures, pca.transform(x)


@dataclass
class CurvatureResult:
    points: int
    measures: dict[str, PathMeasures]
    seconds: float
    projections: dict[str, np.ndarray] = field(repr=False)
    frames: dict[str, np.ndarray] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": "directions-curvature",
            "points": self.points,
            "paths": {k: v.to_dict() for k, v in self.measures.items()},
            "seconds": self.seconds,
        }

    def to_markdown(self) -> str:
        lines = [
            "| transformation | path length / chord | angle(chord, first step) | "
            "squared distance left at half way | variance in 2 PCs |",
            "|---|---|---|---|---|",
        ]
        for name, m in self.measures.items():
            lines.append(
                f"| {name} | {m.length_over_chord:.2f} | {m.chord_angle_degrees:.1f}° | "
                f"{m.remaining_at_half:.2f} | {m.explained_2d:.2f} |"
            )
        return "\n".join(lines)


def reproduce_curvature(
    settings: CurvatureScale, store: ModelStore | None = None
) -> CurvatureResult:
    """Measure how far each transformation's image path is from a straight line, with
    ``settings.points`` images per path. Nothing is trained: ``store`` is not used (the
    contract's argument)."""
    t0 = time.perf_counter()
    n = settings.points
    paths = transformation_paths(n)
    measures, projections = {}, {}
    for name, images in paths.items():
        measures[name], projections[name] = measure_path(images)
    frames = {k: v[:, 0].numpy() for k, v in paths.items()}
    return CurvatureResult(n, measures, time.perf_counter() - t0, projections, frames)


def write_curvature_outputs(result: CurvatureResult, out: str | Path) -> Path:
    from ...experiments.result_files import write_result_files
    from ...viz.direction_plots import plot_pixel_trajectories
    from ...viz.reproduction import markdown_tables_html, write_reproduction_report

    write_result_files(result, out)
    t, b = result.measures["translation"], result.measures["brightness"]
    lead = (
        f"The translation path is {t.length_over_chord:.1f}× longer than the straight line between "
        f"its ends and its first step makes {t.chord_angle_degrees:.0f}° with that line; "
        f"brightness is straight ({b.length_over_chord:.2f}×, {b.chord_angle_degrees:.0f}°). "
        f"Half way along the translation {t.remaining_at_half:.0%} of the squared pixel distance "
        f"is still left (brightness: {b.remaining_at_half:.0%}): a pixel loss barely rewards "
        "partial progress of a translation, which is why eq. 5 walks in small steps."
    )
    return write_reproduction_report(
        out,
        title="Transformations are curved in pixel space (appendix D)",
        subtitle="Trajectories of a dSprites ellipse under translation, rotation, scale and "
        "brightness, on their two main principal axes.",
        facts={"points": f"{result.points} per path", "time": f"{result.seconds:.1f} s"},
        settings={
            "experiment": "directions-curvature",
            "points": result.points,
        },
        lead=lead,
        tables_html=markdown_tables_html(result.to_markdown()),
        figures=[
            (
                "trajectories",
                "Pixel-space trajectories (fig. 8)",
                "Blue: the images of the transformation on the first two principal axes of the "
                "path. Red: the straight line between its two ends. Below: first, middle and "
                "last image.",
                plot_pixel_trajectories(result.projections, result.frames),
            )
        ],
    )
