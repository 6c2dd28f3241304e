"""Figures and reports: matplotlib plots of analysis results, a self-contained HTML report.

Every plotting function returns a :class:`matplotlib.figure.Figure` drawn on an Agg canvas
without pyplot (nothing is shown; nothing stays registered). ``analysis`` computes, ``viz`` draws.
"""

from .curves import plot_training_curves
from .images import plot_reconstructions, plot_traversal_grid
from .latent_plots import (
    plot_latent_circle,
    plot_latent_pairs,
    plot_latent_scatter,
    plot_latent_torus,
)
from .reduction_plots import plot_reduction_grid
from .report import format_number, save_figure, write_report
from .snapshot import BrowserNotFound, SnapshotError, find_chromium, render_html_to_png

__all__ = [
    "BrowserNotFound",
    "SnapshotError",
    "find_chromium",
    "format_number",
    "plot_latent_circle",
    "plot_latent_pairs",
    "plot_latent_scatter",
    "plot_latent_torus",
    "plot_reconstructions",
    "plot_reduction_grid",
    "plot_training_curves",
    "plot_traversal_grid",
    "render_html_to_png",
    "save_figure",
    "write_report",
]
