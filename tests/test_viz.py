"""Plot functions of latentatlas.viz: figures, artists, colour maps and PNG output."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from latentatlas.analysis.latents import LatentSummary
from latentatlas.errors import DataError
from latentatlas.viz import (
    plot_latent_pairs,
    plot_latent_scatter,
    plot_reconstructions,
    plot_training_curves,
    plot_traversal_grid,
    save_figure,
)
from latentatlas.viz.curves import choose_scale
from latentatlas.viz.latent_plots import ELLIPSES_GID

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _summary(n: int = 30, d: int = 2, stds: bool = True) -> LatentSummary:
    g = torch.Generator().manual_seed(0)
    phase = torch.linspace(-math.pi, math.pi, n + 1)[:-1].double()
    means = torch.randn(n, d, generator=g)
    means[:, 0] = torch.cos(phase).float()
    if d > 1:
        means[:, 1] = torch.sin(phase).float()
    activity = torch.arange(d, 0, -1).float()
    return LatentSummary(
        means=means,
        stds=0.05 + 0.1 * torch.rand(n, d, generator=g) if stds else None,
        kl_per_dim=activity if stds else None,
        order=torch.arange(d),
        activity=activity,
        activity_measure="kl" if stds else "variance",
        factors=torch.stack([phase, torch.linspace(0, 1, n).double()], dim=1),
        factor_names=["phase", "scale"],
        factor_periodic=[True, False],
        factor_ranges=[(-math.pi, math.pi), (0.0, 1.0)],
        latent="euclidean",
    )


def _check_png(fig: Figure, path) -> None:
    save_figure(fig, path, dpi=50)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000


def _ellipses(ax) -> list:
    """Bounding boxes (data coordinates) of the eq. 5.6 ellipses drawn on ``ax``, one per point:
    the Ellipse patches of the PatchCollection marked with ``ELLIPSES_GID``."""
    boxes = []
    for coll in ax.collections:
        if isinstance(coll, PatchCollection) and coll.get_gid() == ELLIPSES_GID:
            boxes += [path.get_extents() for path in coll.get_paths()]
    return boxes


def _points(ax) -> PathCollection:
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    return points


def test_latent_scatter_periodic_hue(tmp_path):
    s = _summary(n=30)
    fig = plot_latent_scatter(s, hue_factor="phase")
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    ax, cbar_ax = fig.axes  # the scatter and its colour bar
    ellipses = _ellipses(ax)
    assert len(ellipses) == 30  # one eq. 5.6 ellipse per point
    box = ellipses[3]
    center = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
    assert center == pytest.approx(tuple(s.means[3].tolist()), abs=1e-6)
    assert box.width == pytest.approx(2 * float(s.stds[3, 0]), rel=1e-3)  # semi-axes = σ
    assert box.height == pytest.approx(2 * float(s.stds[3, 1]), rel=1e-3)
    points = _points(ax)
    assert points.get_offsets().shape == (30, 2)
    assert points.get_cmap().name == "twilight"  # cyclic map for a periodic factor
    assert cbar_ax.get_ylabel() == "phase"
    assert ax.get_aspect() == 1.0
    assert ax.get_xlabel() == "$z_{0}$" and ax.get_ylabel() == "$z_{1}$"
    _check_png(fig, tmp_path / "scatter.png")


def test_latent_scatter_other_hues_dims_and_ax():
    s = _summary(n=20, d=3)
    fig = plot_latent_scatter(s, hue_factor="scale", dims=(2, 0))
    assert _points(fig.axes[0]).get_cmap().name == "viridis"
    assert fig.axes[1].get_ylabel() == "scale"
    assert fig.axes[0].get_xlabel() == "$z_{2}$"
    plain = plot_latent_scatter(s)  # no hue: one colour and no colour bar
    assert len(plain.axes) == 1 and len(_ellipses(plain.axes[0])) == 20
    host = Figure()
    ax = host.add_subplot()
    assert plot_latent_scatter(s, "phase", ax=ax, colorbar=False) is host
    assert len(host.axes) == 1
    no_std = plot_latent_scatter(_summary(n=20, stds=False), "phase")
    assert _ellipses(no_std.axes[0]) == []  # point latents: no posterior ellipses
    with pytest.raises(DataError):
        plot_latent_scatter(s, dims=(0, 3))
    with pytest.raises(DataError, match="unknown factor"):
        plot_latent_scatter(s, hue_factor="colour")


def test_latent_pairs_grid(tmp_path):
    s = _summary(n=15, d=5)
    s.order = torch.tensor([4, 1, 0, 2, 3])
    fig = plot_latent_pairs(s, hue_factor="phase", max_dims=4)
    scatter_axes = [ax for ax in fig.axes if _ellipses(ax)]
    assert len(scatter_axes) == 6  # all pairs of the 4 most active coordinates
    assert len(fig.axes) == 7  # plus one shared colour bar
    assert all(len(_ellipses(ax)) == 15 for ax in scatter_axes)
    used = {(ax.get_xlabel(), ax.get_ylabel()) for ax in scatter_axes}
    assert ("$z_{4}$", "$z_{2}$") in used  # the most active coordinate on the x axis
    assert all("$z_{3}$" not in pair for pair in used)  # the least active one is left out
    _check_png(fig, tmp_path / "pairs.png")
    assert len(plot_latent_pairs(_summary(d=2), "phase").axes) == 2
    one = _summary(d=1)
    one.order = torch.tensor([0])
    assert isinstance(plot_latent_pairs(one, "phase"), Figure)


def test_reconstructions_vectors(tmp_path):
    x = torch.sin(torch.linspace(0, 6, 25))[None].repeat(10, 1)
    fig = plot_reconstructions(x, x + 0.1, n=8, labels=[f"p{i}" for i in range(10)])
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 8
    assert all(len(ax.lines) == 3 for ax in panels)  # dotted input, its markers, recon line
    assert panels[2].get_title() == "p2"
    _check_png(fig, tmp_path / "recon.png")
    with pytest.raises(DataError, match="shape"):
        plot_reconstructions(x, x[:, :5])


@pytest.mark.parametrize("channels", [1, 3])
def test_reconstructions_images(tmp_path, channels):
    x = torch.rand(5, channels, 8, 8, generator=torch.Generator().manual_seed(0))
    fig = plot_reconstructions(x, x.flip(-1), n=4)
    assert len(fig.axes) == 8  # two rows (input, reconstruction) of four
    images = [im for ax in fig.axes for im in ax.images]
    assert len(images) == 8 and all(isinstance(im, AxesImage) for im in images)
    if channels == 1:
        assert images[0].get_cmap().name == "gray"
    else:
        assert images[0].get_array().shape == (8, 8, 3)
    _check_png(fig, tmp_path / "recon_img.png")


def test_traversal_grid_images_and_vectors(tmp_path):
    images = torch.rand(3, 6, 1, 8, 8)
    fig = plot_traversal_grid(images, torch.linspace(-3, 3, 6), dims=[0, 2, 1])
    assert len(fig.axes) == 18  # rows = dims, columns = values
    assert fig.axes[0].get_title() == "−3.00"
    _check_png(fig, tmp_path / "trav_img.png")
    vectors = torch.randn(2, 7, 25)
    values = torch.stack([torch.linspace(-1, 1, 7), torch.linspace(0, 4, 7)])
    fig = plot_traversal_grid(vectors, values, dims=[1, 0])
    panels = [ax for ax in fig.axes if ax.lines]
    assert len(panels) == 2 and all(len(ax.lines) == 7 for ax in panels)
    first, last = panels[0].lines[0].get_color(), panels[0].lines[-1].get_color()
    assert not np.allclose(first, last)  # curves coloured by the value
    assert len(fig.axes) == 4  # one colour bar per row
    _check_png(fig, tmp_path / "trav_vec.png")
    with pytest.raises(DataError, match="grid"):
        plot_traversal_grid(vectors, values, dims=[0])


def _records() -> list[dict]:
    recs = []
    for step in range(10, 210, 10):
        recon = 600.0 * math.exp(-step / 20) - 30.0
        kl = 0.1 + 6 * (1 - math.exp(-(step - 10) / 30))
        recs.append(
            {
                "step": step,
                "split": "train",
                "loss": recon + kl,
                "reconstruction": recon,
                "kl": kl,
                "neg_elbo": recon + kl,
                "lr": 1e-3,
                "samples_per_s": 1e4,
            }
        )
    recs.append({"step": 200, "split": "eval", "loss": -22.0, "kl": 6.0, "neg_elbo": -22.0})
    return recs


def test_training_curves(tmp_path):
    fig = plot_training_curves(_records())
    panels = [ax for ax in fig.axes if ax.get_visible()]
    titles = [ax.get_title(loc="left") for ax in panels]
    assert titles == ["loss = −ELBO", "reconstruction (eq. 5.9)", "KL (eq. 5.10)"]
    loss_ax, recon_ax, kl_ax = panels
    assert loss_ax.get_yscale() == "symlog" and kl_ax.get_yscale() == "log"
    assert [len(line.get_xdata()) for line in loss_ax.lines] == [20, 1]  # train line, eval dot
    assert len(recon_ax.lines) == 1  # no eval record of this term
    assert loss_ax.get_legend() is not None
    _check_png(fig, tmp_path / "curves.png")
    # evaluate() records carry neg_elbo but no loss: the shared panel still shows them
    no_loss = [r for r in _records() if r["split"] == "train"]
    no_loss.append({"step": 200, "split": "eval", "neg_elbo": -22.0, "kl": 6.0})
    loss_ax = next(ax for ax in plot_training_curves(no_loss).axes if ax.get_visible())
    assert [len(line.get_xdata()) for line in loss_ax.lines] == [20, 1]
    with_lr = plot_training_curves([{**r, "lr": r["step"] * 1e-5} for r in _records()])
    assert [ax for ax in with_lr.axes if ax.get_title(loc="left") == "learning rate"]
    with pytest.raises(DataError):
        plot_training_curves([])


def test_choose_scale():
    assert choose_scale([608.0, 200.0, -10.0, -27.0, -27.5])[0] == "symlog"
    assert choose_scale([608.0, 200.0, -10.0, -27.0, -27.5])[1] == {"linthresh": 10}
    assert choose_scale([0.1, 5.0, 11.0, 6.0]) == ("log", {})
    assert choose_scale([-33.0, -33.5, -34.0]) == ("linear", {})
    assert choose_scale([1.0]) == ("linear", {})


def test_latent_circle_arcs_follow_eq_7_11(tmp_path):
    from latentatlas.viz import plot_latent_circle
    from latentatlas.viz.latent_plots import ARCS_GID

    base = _summary(n=12, d=1)
    angles = torch.linspace(-3.0, 3.0, 12)
    spread = torch.full((12, 1), 0.25)
    summary = LatentSummary(
        **{
            **base.__dict__,
            "means": angles[:, None],
            "stds": spread,
            "latent": "circle",
            "latent_periodic": True,
        }
    )
    fig = plot_latent_circle(summary, "phase")
    ax = fig.axes[0]
    arcs = [c for c in ax.collections if c.get_gid() == ARCS_GID]
    assert len(arcs) == 1 and len(arcs[0].get_segments()) == 12
    seg = arcs[0].get_segments()[3]  # an arc of the unit circle centred on its point's angle
    theta = np.arctan2(seg[:, 1], seg[:, 0])
    assert np.allclose(np.hypot(seg[:, 0], seg[:, 1]), 1.0)
    assert np.isclose(theta.min(), float(angles[3]) - 0.25, atol=1e-6)
    assert np.isclose(theta.max(), float(angles[3]) + 0.25, atol=1e-6)
    points = next(c for c in ax.collections if isinstance(c, PathCollection))
    a = angles.numpy()
    assert np.allclose(points.get_offsets(), np.stack([np.cos(a), np.sin(a)], 1))
    _check_png(fig, tmp_path / "circle.png")
    no_arcs = plot_latent_circle(LatentSummary(**{**summary.__dict__, "stds": None}))
    assert not [c for c in no_arcs.axes[0].collections if c.get_gid() == ARCS_GID]
    with pytest.raises(DataError, match="out of range"):
        plot_latent_circle(summary, dim=1)


def test_torus_latents_in_3d(tmp_path):
    from latentatlas.viz import plot_latent_torus
    from latentatlas.viz.latent_plots import torus_coordinates

    angles = np.array([[0.0, 0.0], [np.pi / 2, np.pi], [np.pi, np.pi / 2]])
    points = torus_coordinates(angles)  # ring radius 2, tube radius 1
    assert np.allclose(points, [[3, 0, 0], [0, 1, 0], [-2, 0, 1]], atol=1e-12)
    base = _summary(n=20, d=2)
    torus = LatentSummary(**{**base.__dict__, "latent_periodic": True, "latent": "torus"})
    fig = plot_latent_torus(torus, ["phase", "scale"])
    panels = [ax for ax in fig.axes if ax.name == "3d"]
    assert len(panels) == 2 and panels[0].get_title() == "hue: phase"
    _check_png(fig, tmp_path / "torus.png")
    four = _summary(n=20, d=4)
    assert len([ax for ax in plot_latent_torus(four, ["phase"]).axes if ax.name == "3d"]) == 1
    with pytest.raises(DataError, match="at least 3"):
        plot_latent_torus(_summary(n=20, d=2), ["phase"])
