"""The slides' reproductions end to end at tiny scales, and slides-position --quick via the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from latentatlas.analysis.organisation import (
    factor_correlations,
    largest_code_correlation,
    moment_descriptors,
    profile_descriptors,
)
from latentatlas.data.synthetic.shapes import ellipse_descriptors, render_ellipses
from latentatlas.errors import DataError
from latentatlas.papers.slides.disk import (
    DiskScale,
    final_loss,
    reproduce_disk,
    write_disk_outputs,
)
from latentatlas.papers.slides.generator import (
    GeneratorScale,
    reproduce_generator,
    write_generator_outputs,
)
from latentatlas.papers.slides.pca import PCAScale, reproduce_pca, write_pca_outputs
from latentatlas.papers.slides.position import identity_rows

from .conftest import assert_judged, run_cli


def _check_outputs(out, figures):
    results = json.loads((out / "results.json").read_text())
    assert (out / "table.md").read_text().startswith("|")
    html = (out / "report.html").read_text()
    for name in figures:
        assert (out / "figures" / f"{name}.png").is_file()
        assert f"figures/{name}.png" in html
    return results


@pytest.mark.slow
def test_slides_disk_tiny(tmp_path):
    scale = DiskScale(size=16, images=200, steps=150, channels=4, bias_free_restarts=2)
    result = reproduce_disk(scale)
    assert_judged("slides-disk", result)
    free = result.models["no_bias"]  # two initialisations, the lower final loss kept
    assert len(free.restart_losses) == 2 and len(result.models["bias"].restart_losses) == 1
    assert final_loss(free.losses) == min(free.restart_losses)
    bias = result.models["bias"]
    assert abs(bias.corr_area) > 0.8  # even briefly trained, the code follows the size
    assert result.homogeneity.max_rel_error < 1e-5  # exact on the trained bias-free decoder
    assert 0 <= result.profiles.learned_vs_airy <= 2
    assert result.profiles.numerical_vs_airy < 1e-3
    results = _check_outputs(
        write_disk_outputs(result, tmp_path).parent,
        ["reconstructions-bias", "reconstructions-no_bias", "code-vs-size", "profiles", "losses"],
    )
    assert results["experiment"] == "slides-disk"


@pytest.mark.slow
def test_slides_pca_tiny(tmp_path):
    result = reproduce_pca(PCAScale(size=16, images=200, steps=90, channels=4))
    assert_judged("slides-pca-ae", result)
    pca = result.models["pca_ae"]
    assert len(pca.correlations.best) == 3
    assert pca.navigation.shape == (3, 7, 1, 16, 16)
    results = _check_outputs(
        write_pca_outputs(result, tmp_path).parent,
        ["navigation-ae", "navigation-pca_ae", "correlations", "authors-descriptors", "losses"],
    )
    assert results["slides_reported_best_abs_corr"] == [0.98, 0.79, 0.75]
    authors = results["models"]["pca_ae"]["authors_descriptors"]
    assert authors["factors"] == ["pixel_sum", "centre_lines_ratio", "diagonals_ratio"]
    assert len(authors["matrix"]) == 3 and all(abs(v) <= 1 for r in authors["matrix"] for v in r)


@pytest.mark.slow
def test_slides_pca_generator_tiny(tmp_path):
    scale = GeneratorScale(
        size=16, images=200, generator_steps=60, latent_dim=4, offsets=300, steps=60
    )
    result = reproduce_generator(scale)
    assert_judged("slides-pca-ae-generator", result)
    assert result.navigation["learned"].shape == (3, 7, 1, 16, 16)
    assert result.learned.factors == ["mass", "orientation_cos", "orientation_sin"]
    _check_outputs(
        write_generator_outputs(result, tmp_path).parent,
        ["navigation-raw", "navigation-learned", "correlations"],
    )


@pytest.mark.slow
def test_slides_position_quick_through_the_cli(tmp_path):
    out = tmp_path / "pos"
    proc = run_cli("reproduce", "slides-position", "--quick", "--out", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = _check_outputs(out, ["filters", "fits", "decoders"])
    assert all(r["max_error"] == 0 for r in results["identity"])
    stride, pooled = results["encoders"]["stride"], results["encoders"]["max"]
    assert stride["rmse"] < 0.1 and stride["filter_error"] < 0.1  # ϕ found (slide 27)
    assert pooled["rmse"] > 5 * stride["rmse"]  # max pooling cannot (slide 29)
    assert_judged("slides-position", results)


def test_identity_rows_cover_every_level_exactly():
    rows = identity_rows(4, 2)
    assert [(r.dims, r.levels) for r in rows] == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2)]
    assert all(r.max_error == 0 for r in rows)
    assert all(r.max_pool_distinct < r.positions for r in rows)


def test_moment_descriptors_read_ellipse_factors():
    rows = torch.tensor([[10.0, 4.0, 30.0], [6.0, 6.0, 0.0], [12.0, 3.0, 120.0]])
    images = render_ellipses(torch.full((3, 2), 31.5), rows[:, :2], torch.deg2rad(rows[:, 2]), 64)
    measured = moment_descriptors(images)
    expected = ellipse_descriptors(rows)
    for key in ("orientation_cos", "orientation_sin"):
        np.testing.assert_allclose(measured[key], expected[key], atol=0.03)
    np.testing.assert_allclose(measured["mass"], expected["area"], rtol=0.02)
    np.testing.assert_allclose(measured["x"], 31.5, atol=1e-6)


def test_profile_descriptors_are_the_authors_pixel_sums():
    """S = sum of the pixels; H = centre row / centre column sums (> 1 for an ellipse wide along
    x, 1 for a disk, < 1 when tall); V = main / anti-diagonal sums (> 1 for an ellipse along the
    main diagonal, y pointing down the rows), each exactly on hand-made images."""
    rows = torch.tensor([[20.0, 5.0, 0.0], [8.0, 8.0, 0.0], [20.0, 5.0, 90.0], [20.0, 5.0, 45.0]])
    images = render_ellipses(torch.full((4, 2), 31.5), rows[:, :2], torch.deg2rad(rows[:, 2]), 64)
    d = profile_descriptors(images)
    np.testing.assert_allclose(d["pixel_sum"], images.sum((1, 2, 3)).double())
    h, v = d["centre_lines_ratio"], d["diagonals_ratio"]
    assert h[0] > 3 and abs(float(h[1]) - 1) < 1e-6 and h[2] < 1 / 3
    assert abs(float(v[0]) - 1) < 1e-6 and v[3] > 3  # the 45° ellipse lies along a diagonal
    img = torch.zeros(1, 1, 4, 4)
    img[0, 0, 1, :] = 1.0  # the upper middle row: half of the two middle rows' mean
    img[0, 0, :, 2] = 2.0
    hand = profile_descriptors(img)
    row = img[0, 0, 1:3, :].mean(0).sum()
    col = img[0, 0, :, 1:3].mean(1).sum()
    assert float(hand["centre_lines_ratio"][0]) == pytest.approx(float(row / col))
    diag = sum(float(img[0, 0, i, i]) for i in range(4))
    anti = sum(float(img[0, 0, i, 3 - i]) for i in range(4))
    assert float(hand["diagonals_ratio"][0]) == pytest.approx(diag / anti)
    with pytest.raises(DataError, match="square grey images"):
        profile_descriptors(torch.zeros(2, 3, 8, 8))


def test_factor_correlations_and_code_correlation():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, generator=g), torch.randn(500, generator=g)
    table = factor_correlations(torch.stack([a, -2 * b], 1), {"a": a, "b": b, "const": a * 0})
    assert table.best[0][0] == "a" and table.best[0][1] == pytest.approx(1.0)
    assert table.best[1][0] == "b" and abs(table.matrix[1][1] + 1) < 1e-9
    assert table.matrix[0][2] == 0.0  # a constant factor correlates with nothing
    assert largest_code_correlation(torch.stack([a, a + 0.01 * b], 1)) > 0.99
    assert largest_code_correlation(a[:, None]) == 0.0


def test_factor_correlations_take_codes_straight_from_a_model():
    """Codes an encoder returns carry gradients; descriptors may too (issue 22)."""
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(2, 2, generator=g, requires_grad=True)
    x = torch.randn(300, 2, generator=g)
    codes = x @ weight  # requires grad, as model.encode(eta) outside no_grad
    factors = {"first": x[:, 0] * weight[0, 0], "second": x[:, 1].numpy()}
    table = factor_correlations(codes, factors)
    assert len(table.matrix) == 2 and len(table.matrix[0]) == 2
    assert 0 <= largest_code_correlation(codes) <= 1


def test_rank_correlations_see_a_monotone_heavy_tailed_factor_whole():
    """H and V are ratios with heavy tails: Spearman is 1 for any monotone relation, Pearson
    is not; the two agree with scipy's own."""
    from scipy import stats

    g = torch.Generator().manual_seed(0)
    z = torch.randn(400, 1, generator=g)
    heavy = torch.exp(3 * z[:, 0])
    pearson = factor_correlations(z, {"h": heavy}).matrix[0][0]
    spearman = factor_correlations(z, {"h": heavy}, rank=True).matrix[0][0]
    assert spearman == pytest.approx(1.0) and pearson < 0.8
    noisy = heavy + torch.rand(400, generator=g) * 50
    expected = stats.spearmanr(z[:, 0].numpy(), noisy.numpy()).statistic
    assert factor_correlations(z, {"h": noisy}, rank=True).matrix[0][0] == pytest.approx(expected)
