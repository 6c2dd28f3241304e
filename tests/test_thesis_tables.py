"""Reproducing thesis tables 5.1 and 7.1: the transcribed tables, the grid, the CLI end to end."""

from __future__ import annotations

import json

import pytest

from latentatlas.errors import ConfigError
from latentatlas.papers.thesis.tables import (
    NOISE_LEVELS,
    SIGMA_X,
    THESIS_TABLES,
    parse_entry,
    table_configs,
)

from .conftest import assert_judged, run_cli


def test_every_transcribed_entry_parses():
    assert parse_entry("−28.74 ± 0.16") == (-28.74, 0.16)
    assert parse_entry("(1.52 ± 0.17) × 10⁻³") == pytest.approx((1.52e-3, 0.17e-3))
    assert parse_entry("(7.69 ± 0.01) × 10⁻¹") == pytest.approx((0.769, 0.001))
    for table in THESIS_TABLES.values():
        assert set(table) == {(n, s) for n in NOISE_LEVELS for s in SIGMA_X}
        for row in table.values():
            means = {k: parse_entry(v)[0] for k, v in row.items()}
            # −ELBO = reconstruction + KL in every printed row, to the printed rounding
            assert means["neg_elbo"] == pytest.approx(
                means["reconstruction"] + means["kl"], abs=0.021
            )
    with pytest.raises(ValueError, match="not a table entry"):
        parse_entry("about 3")


def test_the_grid_is_repetitions_by_data_by_decoder():
    configs = table_configs("7.1", repetitions=2, steps=10)
    assert len(configs) == 18 and {c.model["name"] for c in configs} == {"diffusion_vae"}
    cells = {(c.dataset["sigma"], c.model["likelihood"]["sigma"], c.seed) for c in configs}
    assert len(cells) == 18
    printed = table_configs("7.1", repetitions=1, steps=10, printed_formulas=True)
    assert {c.model["latent"]["thesis_compatible"] for c in printed} == {True}
    assert "latent" not in configs[0].model or not configs[0].model["latent"].get(
        "thesis_compatible"
    )
    with pytest.raises(ConfigError, match="only table 7.1"):
        table_configs("5.1", repetitions=1, steps=10, printed_formulas=True)


def test_table_7_1_trains_its_grid_with_the_printed_formulas_too():
    """The second grid of table 7.1 (eq. 7.5 / 7.10 as printed) trains beside the exact one and
    its results carry both rows, every claim of both judged."""
    from latentatlas.papers.thesis.tables import TableScale, reproduce_table

    result = reproduce_table("7.1", TableScale(repetitions=2, steps=20, n=200))
    data = result.to_dict()
    assert len(data["rows"]) == 9 and len(data["printed_formulas"]["rows"]) == 9
    exact = data["rows"][0]["ours"]["kl"]["mean"]
    assert exact != data["printed_formulas"]["rows"][0]["ours"]["kl"]["mean"]
    assert "printed formulas" in result.to_markdown()
    assert_judged("thesis-table-7.1", data)


@pytest.mark.slow
def test_reproduce_quick_end_to_end(tmp_path):
    out = tmp_path / "t51"
    proc = run_cli("reproduce", "thesis-table-5.1", "--quick", "--out", str(out), timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["table"] == "5.1" and len(results["rows"]) == 9
    assert_judged("thesis-table-5.1", results)
    row = next(r for r in results["rows"] if r["data_sigma"] == 0.1 and r["sigma_x"] == 0.1)
    assert row["thesis"]["neg_elbo"] == "−28.74 ± 0.16" and "std" in row["ours"]["kl"]
    page = (out / "report.html").read_text()
    assert "Thesis table 5.1" in page and page.count("data:image/png;base64,") == 2
    assert "−28.74 ± 0.16" in (out / "table.md").read_text()
    bad = run_cli("reproduce", "thesis-table-99")
    assert (
        bad.returncode == 2 and "thesis-table-5.1" in bad.stderr and "Traceback" not in bad.stderr
    )


def test_our_numbers_are_printed_like_the_thesis():
    from latentatlas.viz.reproduction import format_pair

    assert format_pair(-28.741, 0.163) == "−28.74 ± 0.16"
    assert format_pair(1.52e-3, 1.7e-4) == "(1.52 ± 0.17) × 10⁻³"
    assert format_pair(18690.0, 23000.0) == "(1.87 ± 2.30) × 10⁴"


@pytest.mark.slow
def test_reduction_table_quick(tmp_path):
    from latentatlas.papers.thesis.reduction import (
        SCALES,
        THESIS_TABLE_9_2,
        reproduce_reduction_table,
        write_reduction_outputs,
    )

    assert all(parse_entry(v)[0] > 0 for v in THESIS_TABLE_9_2.values())
    result = reproduce_reduction_table(SCALES["quick"])
    assert_judged("thesis-table-9.2", result)
    report = write_reduction_outputs(result, tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert {(r["source"], r["target"]) for r in data["rows"]} == set(THESIS_TABLE_9_2)
    families = {(r["source"], r["target"]): r["family"] for r in data["rows"]}
    assert families[("R²", "S¹")] == "atan2" and families[("S¹", "Φ")] == "rotation"
    assert families[("Φ", "R²")] == "matrix + bias"  # affine: the errata allow the bias
    assert all(len(runs) == 3 for runs in result.table.runs.values())  # three fits, as 9.2
    page = report.read_text()
    assert "Thesis table 9.2" in page and "91.36 ± 2.16" in page and "fig. 9.5" in page


def test_the_common_sigma_reading_trains_every_model_at_the_generators_sigma():
    """thesis-table-9.2-sigma-0.1 differs from thesis-table-9.2 only in σX, which equals the
    common σ (so its two Δ columns coincide: eq. 9.2's constant vanishes with equal σ)."""
    from dataclasses import replace

    from latentatlas.papers.thesis.reduction import SCALES
    from latentatlas.registry import EXPERIMENTS

    variant = EXPERIMENTS.get("thesis-table-9.2-sigma-0.1").scales
    assert set(variant) == set(SCALES)
    for name, scale in SCALES.items():
        assert scale.sigma_x == 0.01 and scale.common_sigma == 0.1
        assert variant[name] == replace(scale, sigma_x=0.1)
