"""The HTML run report (latentatlas.viz.report) and its PNG snapshot (latentatlas.viz.snapshot)."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil

import pytest
from PIL import Image

from latentatlas import train_run
from latentatlas.analysis import evaluate
from latentatlas.train import RunConfig, load, load_dataset
from latentatlas.viz import BrowserNotFound, find_chromium, format_number, render_html_to_png
from latentatlas.viz.report import _metrics_table, write_report

REFERENCES = {
    "thesis table 5.1 (X_0.1, σX = 0.1)": {
        "neg_elbo": "−28.74 ± 0.16",
        "kl": "5.04 ± 0.10",
        "reconstruction": "−33.77 ± 0.06",
        "mse": "(1.52 ± 0.17)e-3",
    }
}
FIGURES = {
    "latent_scatter",
    "reconstructions",
    "traversal_fixed",
    "traversal_fitted",
    "training_curves",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny VAE on the sine circle: 50 steps on 500 points."""
    config = RunConfig.from_dict(
        {
            "dataset": {"name": "sine_circle", "n": 500},
            "model": {"name": "vae", "decoder": {"name": "mlp", "hidden": [8, 8]}},
            "train": {"steps": 50, "batch_size": 50, "log_every": 10, "progress": False},
            "seed": 0,
        }
    )
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    model, _ = train_run(config, run_dir)
    x = load_dataset(run_dir).evaluation_set().x
    evaluation = evaluate(model, x, n_samples=10).to_dict()
    return run_dir, evaluation


@pytest.fixture(scope="module")
def report(run):
    run_dir, evaluation = run
    return write_report(run_dir, evaluation, REFERENCES, dpi=60)


def _png_data_uris(page: str) -> list[bytes]:
    return [
        base64.b64decode(m)
        for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    ]


def test_report_is_self_contained(report, run):
    run_dir, _ = run
    assert report == run_dir / "report.html" and report.is_file()
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    pngs = _png_data_uris(page)
    assert len(pngs) == len(FIGURES)
    for data in pngs:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "PNG" and im.width > 100 and im.height > 100
    on_disk = {p.stem for p in (run_dir / "figures").glob("*.png")}
    assert on_disk == FIGURES
    assert not list(run_dir.glob(".*.tmp")) and not list((run_dir / "figures").glob(".*"))


def test_report_shows_run_metrics_and_references(report, run):
    run_dir, evaluation = run
    page = report.read_text(encoding="utf-8")
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert "<title>tiny — latent-atlas report</title>" in page
    assert meta["data_fingerprint"] in page and meta["torch"] in page
    assert format_number(meta["parameters"]) in page
    for key in ("neg_elbo", "kl", "reconstruction", "mse"):
        assert format_number(evaluation[key]) in page
    for value in REFERENCES["thesis table 5.1 (X_0.1, σX = 0.1)"].values():
        assert value in page
    assert "thesis table 5.1 (X_0.1, σX = 0.1)" in page
    assert "<details" in page and "&quot;sine_circle&quot;" in page  # the config, escaped JSON
    assert "fig. 5.4" in page and "eq. 5.6" in page


def test_format_number():
    assert format_number(-27.0406) == "−27.04"
    assert format_number(6.26113) == "6.261"
    assert format_number(0.0053020864) == "5.302 × 10⁻³"
    assert format_number(123456.0) == "1.235 × 10⁵"
    assert format_number(100) == "100" and format_number(10000) == "10,000"
    assert format_number(None) == "—"
    assert format_number("a < b") == "a &lt; b"


def test_report_escapes_text_and_reads_evaluation_json(run, tmp_path):
    run_dir, _ = run
    other = tmp_path / "run <b>x</b>"
    shutil.copytree(run_dir, other)
    shutil.rmtree(other / "figures")
    (other / "report.html").unlink()
    config = json.loads((other / "config.json").read_text())
    config["note"] = "<script>alert('config')</script>"  # shown verbatim in the config block
    (other / "config.json").write_text(json.dumps(config))
    meta = json.loads((other / "metadata.json").read_text())
    meta["platform"] = '<img src=x onerror="alert(1)">'
    (other / "metadata.json").write_text(json.dumps(meta))
    (other / "evaluation.json").write_text(
        json.dumps({"neg_elbo": 1.5, "kl": 0.25, "reconstruction": 1.25, "mse": 0.125})
    )
    # the edited config no longer loads, so the model and data are passed in
    page = write_report(
        other,
        references={"<ref>": {}},
        model=load(run_dir),
        dataset=load_dataset(run_dir),
        dpi=40,
    ).read_text(encoding="utf-8")
    assert "<script" not in page and "<img src=x" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(&#x27;config&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x" in page and "run &lt;b&gt;x&lt;/b&gt;" in page
    assert "&lt;ref&gt;" in page
    for value in (1.5, 0.25, 1.25, 0.125):  # read from evaluation.json, shown to 4 digits
        assert f">{format_number(value)}</td>" in page


def test_metrics_table_without_evaluation_says_so():
    table = _metrics_table(None, REFERENCES)
    assert "No evaluation results" in table and "evaluation.json" in table
    assert "−28.74 ± 0.16" in table and table.count('class="num ours missing"') == 4


def test_report_renders_to_png(report, tmp_path):
    try:
        find_chromium()
    except BrowserNotFound:
        pytest.skip("chromium is not installed")
    png = render_html_to_png(report, tmp_path / "report.png", width=1024, height=None)
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        assert rgb.width == 1024 and rgb.height > 1200  # full page: header, tables, figures
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 200  # text, figures: far from blank
        most = max(colours)[0] / (rgb.width * rgb.height)
        assert most < 0.9  # no single colour covers the page


def test_report_of_a_diffusion_vae_draws_the_circle(tmp_path):
    config = RunConfig.from_dict(
        {
            "dataset": {"name": "sine_circle", "n": 200},
            "model": {"name": "diffusion_vae"},
            "train": {"steps": 20, "batch_size": 50, "log_every": 10, "progress": False},
        }
    )
    train_run(config, tmp_path / "run")
    page = write_report(tmp_path / "run", dpi=40).read_text(encoding="utf-8")
    assert "posterior locations and arcs on the circle" in page and "fig. 7.1" in page
    assert "a full turn of the angle" in page and "±2σ of the fitted codes" not in page
    assert (tmp_path / "run" / "figures" / "latent_scatter.png").is_file()


@pytest.mark.slow
def test_report_of_a_torus_model_draws_it_in_3d(tmp_path):
    config = RunConfig.from_dict(
        {
            "dataset": {"name": "torus_sines", "n": 100, "size": 6, "n_vis": 8},
            "model": {"name": "diffusion_vae", "latent": {"name": "torus"}},
            "train": {"steps": 5, "batch_size": 20, "progress": False},
        }
    )
    train_run(config, tmp_path / "run")
    page = write_report(tmp_path / "run", dpi=40).read_text(encoding="utf-8")
    assert "the torus in 3-D" in page and "flat torus" in page
    assert (tmp_path / "run" / "figures" / "latent_torus.png").is_file()


@pytest.mark.slow
def test_a_report_cites_the_thesis_only_for_its_benchmarks_and_shows_disentanglement(tmp_path):
    """Issue 22: a disks run's report spoke of thesis figures; disentanglement.json was left out."""
    config = RunConfig.from_dict(
        {
            "dataset": {
                "name": "disks",
                "n": 64,
                "size": 16,
                "position_range": 4,
                "radius_min": 2,
                "radius_max": 4,
            },
            "model": {"name": "vae", "latent": {"name": "euclidean", "dim": 2}},
            "train": {"steps": 5, "batch_size": 16, "progress": False},
        }
    )
    run_dir = tmp_path / "disks"
    train_run(config, run_dir)
    scores = {"mig": 0.25, "mig/radius": 0.3, "sap": 0.1}
    drawn = {  # how `evaluate --metrics` records each metric's points
        "mig": {
            "sizes": {"num_train": 64},
            "rows": 64,
            "points": "distinct rows (training and test points never share a row)",
            "rows_repeated": False,
            "fitted": "the 'fast' preset's num_train 2000 need 2000 distinct rows",
            "seed": 0,
        }
    }
    (run_dir / "disentanglement.json").write_text(
        json.dumps({"preset": "fast", "representation": "mean", "scores": scores, "drawn": drawn})
    )
    page = write_report(run_dir, dpi=40).read_text(encoding="utf-8")
    assert "How each metric drew its points" in page
    assert "num_train 64 (the &#x27;fast&#x27; preset&#x27;s num_train 2000" in page
    assert "thesis" not in page.replace(str(run_dir.resolve()), "").lower()
    assert "Disentanglement metrics" in page and "<td>sap</td>" in page
    assert "mig/radius" not in page.split("Disentanglement metrics")[1].split("</table>")[0]
    assert (run_dir / "figures" / "disentanglement.png").is_file()
    hued = write_report(run_dir, dpi=40, hue="radius").read_text(encoding="utf-8")
    assert "hued by <em>radius</em>" in hued
    from latentatlas.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="unknown factor 'colour'"):
        write_report(run_dir, dpi=40, hue="colour")


def test_a_thesis_benchmark_report_still_cites_the_thesis(report):
    assert "thesis fig. 5.4" in report.read_text(encoding="utf-8")


def test_the_metrics_table_states_its_units(report):
    """Reports state the unit of each number: nats per data point, and the MSE summed over a
    data point's values (not per pixel)."""
    page = report.read_text(encoding="utf-8")
    assert "eq. 5.10; nats per data point" in page
    assert "squared error summed over a data point&#x27;s values" in page or (
        "squared error summed over a data point's values" in page
    )
