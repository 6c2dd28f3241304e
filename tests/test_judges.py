"""The verdict rules can say every word: each judge is shown a run on which it must pass and one
on which it must fail (and, where a claim can be undecidable, one it must call inconclusive).

Fixtures are small synthetic ``results.json`` dicts in the shape each experiment writes, or the
committed record's own results with their numbers moved."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from latentatlas.experiments.claims import VERDICTS, by_counts, by_fraction, claims_of, judge
from latentatlas.experiments.claims.agreement import Estimate, compare
from latentatlas.experiments.scales import settings_of
from latentatlas.papers.thesis.tables import METRICS, THESIS_TABLES

RECORDS = Path(__file__).resolve().parents[1] / "reproductions"


def verdicts_of(experiment: str, results: dict) -> dict[str, str]:
    data = json.loads(json.dumps(results))  # as a run's results.json reads back
    return {v.claim: v.verdict for v in judge(experiment, data)}


def recorded(experiment: str) -> dict:
    return json.loads((RECORDS / experiment / "results.json").read_text(encoding="utf-8"))


# -- the agreement rule and the counting rule -----------------------------------------------------
def test_the_agreement_rule_says_agree_disagree_and_inconclusive():
    paper = Estimate(10.0, 0.2, 3)
    assert compare(Estimate(10.1, 0.2, 5), paper).outcome == "agree"
    assert compare(Estimate(10.0 * 1.049, 0.0, 5), Estimate(10.0, 0.0, 3)).outcome == "agree"
    assert compare(Estimate(12.0, 0.2, 5), paper).outcome == "disagree"
    # a huge spread of ours is not an agreement with anything: too noisy to judge
    noisy = compare(Estimate(5075.0, 3844.0, 2), Estimate(-79.90, 0.19, 5))
    assert noisy.outcome == "inconclusive" and "our mean" in noisy.reason
    shaky_paper = compare(Estimate(1.0, 0.01, 5), Estimate(1.32, 23.47, 5))
    assert shaky_paper.outcome == "inconclusive" and "the paper's mean" in shaky_paper.reason
    assert compare(Estimate(math.nan, 0.1, 5), paper).outcome == "inconclusive"
    # standard errors, not spreads: the old rule's 3 × combined std would have agreed here
    assert compare(Estimate(2.0, 0.5, 20), Estimate(1.0, 0.3, 5)).outcome == "disagree"


@pytest.mark.parametrize(
    ("counts", "verdict"),
    [
        ((9, 0, 0), "reproduced"),
        ((7, 0, 2), "partly"),
        ((5, 4, 0), "partly"),
        ((4, 5, 0), "not reproduced"),
        ((0, 5, 4), "not reproduced"),
        ((2, 2, 5), "inconclusive"),
        ((0, 0, 9), "inconclusive"),
        ((0, 0, 0), "inconclusive"),
    ],
)
def test_a_claim_of_many_parts_is_counted_by_one_rule(counts, verdict):
    assert by_counts(*counts) == verdict
    assert verdict in VERDICTS


def test_by_fraction_is_the_fully_judged_case():
    assert by_fraction(3, 3) == "reproduced" and by_fraction(1, 2) == "partly"
    assert by_fraction(0, 2) == "not reproduced"


# -- thesis tables 5.1 and 7.1 --------------------------------------------------------------------
def table_results(
    table: str, factor: float = 1.0, std: float = 0.01, change: float = 0.001, repetitions: int = 5
) -> dict:
    """A table's results with ours = factor × the thesis's printed means (errata applied)."""
    from latentatlas.papers.thesis.claims import ERRATA
    from latentatlas.papers.thesis.tables import parse_entry

    rows = []
    for (noise, sigma_x), printed in THESIS_TABLES[table].items():
        ours = {}
        for metric in METRICS:
            erratum = ERRATA.get((table, noise, sigma_x, metric))
            mean, _ = parse_entry(erratum[0] if erratum else printed[metric])
            ours[metric] = {"mean": factor * mean, "std": std * abs(mean)}
        rows.append(
            {
                "data_sigma": noise,
                "sigma_x": sigma_x,
                "ours": ours,
                "thesis": dict(printed),
                "loss_change_last_tenth": change,
            }
        )
    return {"table": table, "repetitions": repetitions, "rows": rows}


@pytest.mark.parametrize("table", ["5.1", "7.1"])
def test_the_table_judge_passes_fails_and_is_inconclusive(table):
    experiment = f"thesis-table-{table}"
    metrics = {m.replace("_", "-") for m in METRICS}
    # the thesis's own table as ours: every metric whose printed cells are precise enough
    same = verdicts_of(experiment, table_results(table))
    assert {same[m] for m in metrics} <= {"reproduced", "partly", "inconclusive"}
    assert same["neg-elbo"] in ("reproduced", "partly")
    # three times the printed values: no cell agrees
    tripled = verdicts_of(experiment, table_results(table, factor=3.0))
    assert all(tripled[m] in ("not reproduced", "inconclusive") for m in metrics)
    assert tripled["neg-elbo"] == "not reproduced"
    # a few steps of training (loss still falling): nothing to judge, never "partly"
    early = verdicts_of(experiment, table_results(table, change=0.5))
    assert all(early[m] == "inconclusive" for m in metrics), early


def test_table_7_1_judges_its_printed_formulas_grid_as_a_second_row():
    """The grid trained with the thesis's printed eq. 7.5 / 7.10 is judged on its own: it can
    agree where the exact grid (KL ≈ 2× by the erratum) does not, and fail on its own."""
    from latentatlas.papers.thesis.claims import PRINTED

    results = table_results("7.1", factor=2.0)  # the exact grid: off
    results["printed_formulas"] = table_results("7.1")  # the printed one: the thesis's table
    verdicts = verdicts_of("thesis-table-7.1", results)
    assert verdicts["neg-elbo"] == "not reproduced"
    assert verdicts["neg-elbo" + PRINTED] in ("reproduced", "partly")
    results["printed_formulas"] = table_results("7.1", factor=3.0)
    assert verdicts_of("thesis-table-7.1", results)["neg-elbo" + PRINTED] == "not reproduced"
    # a run from before the second grid existed cannot judge the second row
    del results["printed_formulas"]
    verdicts = verdicts_of("thesis-table-7.1", results)
    assert {v for c, v in verdicts.items() if c.endswith(PRINTED)} == {"inconclusive"}


def test_a_table_cell_too_noisy_to_judge_agrees_with_nothing():
    """The issue's quick run: −ELBO 5075 ± 3844 over 2 repetitions 'agreed' with −79.90."""
    results = table_results("5.1")
    for row in results["rows"]:
        row["ours"]["neg_elbo"] = {"mean": 5075.0, "std": 3844.0}
    results["repetitions"] = 2
    verdict = {v.claim: v for v in judge("thesis-table-5.1", results)}["neg-elbo"]
    assert verdict.verdict == "inconclusive" and "too noisy to judge" in verdict.reason


def test_the_thesis_5_1_mse_erratum_is_judged_against_the_corrected_cell():
    results = table_results("5.1")
    verdict = {v.claim: v for v in judge("thesis-table-5.1", results)}["mse"]
    assert "erratum of the thesis at σ = 1, σX = 1" in verdict.reason
    assert "4.61 × 10⁻²" in verdict.reason


def test_the_committed_7_1_record_is_not_partly_from_noise():
    """In the full 7.1 record MSE 2.51 ± 5.6 'agreed' with 0.286 and −ELBO 290 with 1849."""
    verdicts = {v.claim: v for v in judge("thesis-table-7.1", recorded("thesis-table-7.1"))}
    assert verdicts["mse"].verdict == "inconclusive"
    assert "σ = 1, σX = 0.01: too noisy to judge" in verdicts["neg-elbo"].reason


# -- Δ of tables 9.2 and 11.1 ---------------------------------------------------------------------
def with_deltas(results: dict, rows_key: str, value, spread: float) -> dict:
    """``results`` with every map's fits (and the row's mean) moved to ``value(printed)`` with a
    relative spread between model seeds of ``spread``."""
    from latentatlas.papers.thesis.tables import parse_entry

    results = copy.deepcopy(results)
    for row in results[rows_key]:
        target = value(parse_entry(row["thesis"])[0])
        runs = results["runs"]["delta"][f"{row['source']} -> {row['target']}"]["runs"]
        seeds = len(row.get("per_model_seed") or []) or 1
        per_seed = len(runs) // seeds
        for i, run in enumerate(runs):
            offset = (i // per_seed - (seeds - 1) / 2) * spread * target
            run["delta"] = target + offset
            run["mse"] = run["delta"] * 2 * results.get("common_sigma", 0.1) ** 2
        row["ours"] = {"mean": target, "std": spread * target}
    return results


@pytest.mark.parametrize(
    ("experiment", "rows_key", "claims"),
    [
        ("thesis-table-9.2", "rows", ["delta-R²-S¹", "delta-S¹-Φ", "delta-Φ-R²"]),
        ("thesis-torus", "delta", ["delta-R4-T2", "delta-T2-R4"]),
    ],
)
def test_the_delta_judges_pass_fail_and_are_inconclusive(experiment, rows_key, claims):
    base = recorded(experiment)
    same = verdicts_of(experiment, with_deltas(base, rows_key, lambda p: p, 0.01))
    far = verdicts_of(experiment, with_deltas(base, rows_key, lambda p: 5 * p, 0.01))
    noisy = verdicts_of(experiment, with_deltas(base, rows_key, lambda p: p, 2.0))
    for claim in claims:
        assert (same[claim], far[claim], noisy[claim]) == (
            "reproduced",
            "not reproduced",
            "inconclusive",
        ), claim


def test_the_common_sigma_reading_is_informational_and_counted_nowhere(tmp_path):
    from latentatlas.experiments.record import index, readme

    (common,) = [c for c in claims_of("thesis-table-9.2") if c.id == "common-sigma"]
    assert common.informational
    record = json.loads((RECORDS / "thesis-table-9.2" / "record.json").read_text())
    verdicts = judge("thesis-table-9.2", recorded("thesis-table-9.2"))
    text = readme(record, claims_of("thesis-table-9.2"), verdicts)
    own, readings = text.split("### Our readings of the paper")
    assert "common-sigma" not in own.split("## Verdicts")[1] or "one σ = 0.1" not in own
    assert "one σ = 0.1 for all three models" in readings
    (tmp_path / "thesis-table-9.2").mkdir()
    record["verdicts"] = [
        {"claim": "common-sigma", "ours": "x", "verdict": "not reproduced", "reason": ""}
    ]
    (tmp_path / "thesis-table-9.2" / "record.json").write_text(json.dumps(record))
    line = next(ln for ln in index(tmp_path).splitlines() if ln.startswith("| [thesis"))
    assert line.split(" | ")[4:8] == ["0", "0", "0", "0"], line


# -- slides-disk: a bias-free model that did not train tests nothing about Airy --------------
def test_the_airy_claim_is_inconclusive_when_the_bias_free_model_did_not_train():
    results = recorded("slides-disk")
    results["profiles"].update(learned_vs_numerical=0.05, learned_vs_airy=0.05)
    results["models"]["no_bias"].update(relative_error=1.01, restart_losses=[980.0, 1010.0])
    verdict = next(v for v in judge("slides-disk", results) if v.claim == "airy")
    assert verdict.verdict == "inconclusive"
    assert "did not train" in verdict.reason and "best of 2 initialisations" in verdict.reason


# -- directions-losses: the σ claim is not testable on binary shapes -----------------------------
def test_the_sigma_claim_is_inconclusive_on_dsprites_and_judged_elsewhere():
    results = recorded("directions-losses")
    assert verdicts_of("directions-losses", results)["sigma"] == "inconclusive"
    other = {**copy.deepcopy(results), "data": "natural images"}
    rows = {(r["name"], r["constrained"]): r for r in other["rows"]}
    rows[("Gaussian σ=3", True)]["psnr"] = rows[("Gaussian σ=8", True)]["psnr"] + 1.0
    assert verdicts_of("directions-losses", other)["sigma"] == "reproduced"
    rows[("Gaussian σ=3", True)]["psnr"] = rows[("Gaussian σ=5", True)]["psnr"] = (
        rows[("Gaussian σ=8", True)]["psnr"] - 1.0
    )
    assert verdicts_of("directions-losses", other)["sigma"] == "not reproduced"


# -- records are judged again without rerunning ---------------------------------------------------
def test_rejudging_a_record_rewrites_its_verdicts_from_its_results(tmp_path):
    import shutil

    from latentatlas.experiments.record import INDEX_TITLE, rejudge_record

    folder = tmp_path / "thesis-torus"
    shutil.copytree(RECORDS / "thesis-torus", folder)
    record = json.loads((folder / "record.json").read_text())
    record["verdicts"] = [{**v, "verdict": "reproduced"} for v in record["verdicts"]]
    (folder / "record.json").write_text(json.dumps(record))
    rejudge_record(folder)
    again = json.loads((folder / "record.json").read_text())["verdicts"]
    assert again == [v.to_dict() for v in judge("thesis-torus", recorded("thesis-torus"))]
    assert "**inconclusive**" in (folder / "README.md").read_text()
    assert (tmp_path / "README.md").read_text().startswith(INDEX_TITLE)


# -- the report's badge: the judge's verdicts and the scale, a quick run none ---------------------
def test_a_reproduction_reports_badge_is_its_verdicts_at_its_scale(tmp_path):
    from latentatlas.experiments.runner import badge
    from latentatlas.registry import EXPERIMENTS
    from latentatlas.viz.reproduction import set_report_status

    torus = EXPERIMENTS.get("thesis-torus")
    agreeing = with_deltas(recorded("thesis-torus"), "delta", lambda p: p, 0.01)
    (tmp_path / "results.json").write_text(json.dumps(agreeing))
    short = " · short of the paper by: training steps 417×"
    assert badge(torus, "full", tmp_path) == "full scale: 3 reproduced" + short
    noisy = with_deltas(recorded("thesis-torus"), "delta", lambda p: p, 2.0)
    (tmp_path / "results.json").write_text(json.dumps(noisy))
    assert badge(torus, "full", tmp_path) == "full scale: 1 reproduced · 2 inconclusive" + short
    longer = {**settings_of(torus.scales["full"]), "steps": 2_500_000}
    assert badge(torus, "full", tmp_path, longer).endswith(
        "short of the paper by: none (as far as the paper states its protocol)"
    )
    assert "smoke test" in badge(torus, "quick", tmp_path)
    page = tmp_path / "report.html"
    page.write_text('<h1>T <span class="status" hidden></span></h1>')
    set_report_status(page, "full scale: 1 reproduced")
    assert page.read_text() == '<h1>T <span class="status">full scale: 1 reproduced</span></h1>'


# -- every other judge: a run it must pass and one it must fail -----------------------------------
def put(path: str, value):
    """An edit setting ``results[path]`` (dotted keys; integers index lists)."""

    def edit(results: dict) -> None:
        *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
        node = results
        for key in parents:
            node = node[key]
        node[last] = value(node[last]) if callable(value) else value

    return edit


def each(path: str, value):
    """An edit setting the last key of ``path`` in every item of the list its other keys name."""
    head, key = path.rsplit(".", 1)

    def edit(results: dict) -> None:
        node = results
        for part in head.split("."):
            node = node[part]
        for item in node:
            item[key] = value

    return edit


def both(*edits):
    def edit(results: dict) -> None:
        for e in edits:
            e(results)

    return edit


def _pca_matrix(value: float):
    """the PCA-like AE's |corr| with S, H, V on the diagonal, every stage converged (the record's
    own stages may still move, which makes the claim inconclusive whatever the matrix)"""
    return both(
        put(
            "models.pca_ae.authors_descriptors.matrix",
            [[value, 0.0, 0.0], [0.0, value, 0.0], [0.0, 0.0, value]],
        ),
        put("models.pca_ae.stage_loss_change", [0.001, 0.001, 0.001]),
    )


def _stds(values):
    def edit(results: dict) -> None:
        for model, std in zip(sorted(results["models"], key=lambda m: m["beta"]), values):
            model["methods"]["inversion"]["mean_std"] = std

    return edit


def _tracked(rising: bool, coarse_first: bool = True):
    """The VAE's tracked fine-level error over training: rising or falling, its rise at the
    coarser scales (or the finer)."""

    def edit(results: dict) -> None:
        records = results["runs"]["VAE"]["tracking"]
        scales = sorted(k for k in records[0] if k.startswith("fine/scale"))
        for i, record in enumerate(records):
            t = i / (len(records) - 1)
            t = t if rising else 1 - t
            for j, key in enumerate(scales):
                weight = (len(scales) - j) if coarse_first else (j + 1)
                record[key] = 1e-4 * (1 + weight * t)
            record["fine/mse"] = sum(record[k] for k in scales)

    return edit


def _v_shape(records: list, key: str, low_at: float, rise: float) -> None:
    """``records[i][key]`` falling to its minimum at fraction ``low_at`` of the run, then
    rising by ``rise`` (a fraction of the minimum) by its end."""
    n = len(records)
    low = round(low_at * (n - 1))
    for i, record in enumerate(records):
        before = (low - i) / max(low, 1)
        after = (i - low) / max(n - 1 - low, 1)
        record[key] = 1e-4 * (1 + before if i <= low else 1 + rise * after)


def _sdr_delay(delayed: bool):
    """The plain VAE's error falls, then rises by 50 %; with SDR later and by 10 % (delayed),
    or earlier and by 100 %."""

    def edit(results: dict) -> None:
        _v_shape(results["runs"]["VAE"]["tracking"], "fine/mse", 0.4, 0.5)
        _v_shape(
            results["runs"]["VAE + SDR"]["tracking"],
            "fine/mse",
            0.6 if delayed else 0.2,
            0.1 if delayed else 1.0,
        )

    return edit


def _flat_after_minimum(results: dict) -> None:
    _v_shape(results["runs"]["VAE"]["tracking"], "fine/mse", 0.5, 0.01)


def _sdr(better: bool):
    def edit(results: dict) -> None:
        plain, sdr = results["runs"]["VAE"], results["runs"]["VAE + SDR"]
        factor = 0.5 if better else 2.0
        for a, b in zip(plain["tracking"], sdr["tracking"]):
            b["fine/mse"] = factor * a["fine/mse"]
        for level, layer in plain["final"]["layers"].items():
            sdr["final"]["layers"][level]["mse"] = factor * layer["mse"]

    return edit


def _stretch(finer: bool, degrades: bool):
    def edit(results: dict) -> None:
        short, long = (results["lengths"][k]["layers"] for k in sorted(results["lengths"], key=int))
        for level in ("coarse", "intermediate", "fine"):
            rising = [1.0, 2.0, 3.0, 4.0, 5.0]
            short[level]["mse_by_scale"] = rising if finer else rising[::-1]
        for level in ("fine", "image"):
            long[level]["mse"] = short[level]["mse"] * (2.0 if degrades else 0.5)
        # the paper's lengths (fig. 3c-d): the degradation is judged at 50 000 iterations
        first, last = sorted(results["lengths"], key=int)
        results["lengths"] = {"10000": results["lengths"][first], "50000": results["lengths"][last]}

    return edit


def _circles(winding: int, forward: float):
    def edit(results: dict) -> None:
        for model in results["models"]:
            if model["model"] == "diffusion_vae":
                model["circle"] = {**model["circle"], "winding": winding, "forward": forward}

    return edit


def _baselines(value: float):
    """The generator's baselines (best raw coordinates, image PCA) with every |corr| = value."""

    def edit(results: dict) -> None:
        for key in ("raw_best_axes", "image_pca_axes"):
            results[key] = {"best": [{"factor": "mass", "abs_corr": value}] * 3}

    return edit


def _trials(agree: bool, modularity_apart: bool):
    rising = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    mixed = [0.3, 0.6, 0.1, 0.5, 0.2, 0.4]

    def edit(results: dict) -> None:
        columns = {
            "beta_vae": rising,
            "factor_vae": rising if agree else rising[::-1],
            "mig": rising if agree else mixed,
            "dci_disentanglement": rising,
            "modularity": mixed if modularity_apart else rising,
        }
        results["trials"] = [
            {"scores": {k: v[i] for k, v in columns.items()}} for i in range(len(rising))
        ]

    return edit


#: experiment → claim → (edit making it pass, edit making it fail), applied to the record
BOTH_WAYS = {
    "slides-disk": {
        "compress": (
            put("models.bias.relative_error", 0.01),
            put("models.bias.relative_error", 0.5),
        ),
        "size-code": (
            put("models.bias.spearman_radius", -0.999),
            put("models.bias.spearman_radius", 0.5),
        ),
        # the footnote's claim on the contractive model: linear in r² more than in r
        "area": (
            put(
                "models.contractive",
                {"corr_area": -0.995, "corr_radius": -0.97, "contraction": 1e4},
            ),
            put(
                "models.contractive", {"corr_area": 0.968, "corr_radius": 0.999, "contraction": 1e4}
            ),
        ),
        "homogeneous": (
            put("homogeneity.max_rel_error", 1e-7),
            put("homogeneity.max_rel_error", 1e-2),
        ),
        "airy": (
            both(
                put("profiles.learned_vs_numerical", 0.05),
                put("profiles.learned_vs_airy", 0.05),
                put("models.no_bias.relative_error", 0.2),
            ),
            both(put("profiles.learned_vs_airy", 0.5), put("models.no_bias.relative_error", 0.2)),
        ),
    },
    "slides-position": {
        "identity": (each("identity.max_error", 0), put("identity.0.max_error", 1)),
        "max-pool-identity": (
            each("identity.max_pool_distinct", 1),
            lambda r: [row.update(max_pool_distinct=row["positions"]) for row in r["identity"]],
        ),
        "trained-filters": (
            put("encoders.stride.filter_error", 0.01),
            put("encoders.stride.filter_error", 0.5),
        ),
        "trained-max-pool": (
            put("encoders.max.rmse", 10.0),
            put("encoders.max.rmse", lambda _: 0.0),
        ),
        "continuous-decoder": (
            put("decoders.continuous.barycentre_error", 0.0),
            put("decoders.continuous.barycentre_error", 100.0),
        ),
    },
    "slides-pca-ae": {
        "factors": (_pca_matrix(0.99), _pca_matrix(0.1)),
        "decorrelated": (
            put("models.pca_ae.largest_code_correlation", 0.05),
            put("models.pca_ae.largest_code_correlation", 0.5),
        ),
    },
    "slides-pca-ae-generator": {
        "organised": (
            _baselines(0.01),
            both(_baselines(0.9), each("learned_axes.best.abs_corr", 0.1)),
        ),
        "decorrelated": (
            put("largest_code_correlation", 0.05),
            put("largest_code_correlation", 0.5),
        ),
    },
    "atomic-spikes": {
        "one-spike-per-block": (
            put("models.atomic.spike_purity.purity", 0.95),
            put("models.atomic.spike_purity.purity", 0.0),
        ),
        "interpolation": (
            put("interpolation.single_peak_fraction", [0.95, 0.97]),
            put("interpolation.single_peak_fraction", [0.5, 0.4]),
        ),
    },
    "atomic-strokes": {
        "one-stroke-per-block": (
            put("models.atomic.mass.purity", 0.9),
            put("models.atomic.mass.purity", 0.0),
        ),
    },
    "directions-curvature": {
        "translation-orthogonal": (
            put("paths.translation.chord_angle_degrees", 89.0),
            put("paths.translation.chord_angle_degrees", 30.0),
        ),
        "rotation-orthogonal": (
            put("paths.rotation.chord_angle_degrees", 89.0),
            put("paths.rotation.chord_angle_degrees", 30.0),
        ),
        "scale-lesser": (
            both(
                put("paths.scale.chord_angle_degrees", 40.0),
                put("paths.scale.length_over_chord", 1.2),
            ),
            put("paths.scale.chord_angle_degrees", 179.0),
        ),
        "brightness-linear": (
            both(
                put("paths.brightness.length_over_chord", 1.0),
                put("paths.brightness.chord_angle_degrees", 0.0),
            ),
            put("paths.brightness.length_over_chord", 1.3),
        ),
    },
    "directions-dsprites-beta": {
        "controls-position": (_stds([1e-6] * 4), _stds([1e6] * 4)),
        "std-decreases": (_stds([0.4, 0.3, 0.2, 0.1]), _stds([0.1, 0.2, 0.3, 0.4])),
    },
    "directions-inversion": {
        "recursive-faster": (
            both(
                put("recursive_median_error", lambda v: [0.0] * len(v)),
                put("recursive_median_x_error", 0.0),
            ),
            both(
                put("recursive_median_error", lambda v: [1.0] * len(v)),
                put("recursive_median_x_error", 1.0),
            ),
        ),
    },
    "intrinsic-stretch": {
        "finer-scales": (_stretch(True, True), _stretch(False, True)),
        "modularity-degrades": (_stretch(True, True), _stretch(True, False)),
    },
    "intrinsic-tracking": {
        "error-grows": (_tracked(True), _flat_after_minimum),
        "coarser-rise": (_tracked(True, coarse_first=True), _tracked(True, coarse_first=False)),
    },
    "intrinsic-sdr-training": {
        "sdr-delays": (_sdr_delay(True), _sdr_delay(False)),
        # judged once the plain VAE's error has risen (fig. 3e is against the degraded 3d)
        "sdr-modularity": (both(_sdr_delay(True), _sdr(True)), both(_sdr_delay(True), _sdr(False))),
    },
    "locatello-dsprites-betavae": {
        "metrics-agree": (_trials(True, True), _trials(False, True)),
        "modularity-apart": (_trials(True, True), _trials(True, False)),
    },
    "thesis-pixel-shift": {
        "diffusion-recovers-circle": (_circles(1, 0.99), _circles(0, 0.5)),
    },
    "thesis-rotating-object": {
        "diffusion-recovers-circle": (_circles(-1, 0.99), _circles(2, 0.99)),
    },
    "thesis-table-9.2": {
        "baseline-harder": (
            lambda r: [
                row["ours"].update(mean=1e6 if row["source"] == "R²" else 1.0) for row in r["rows"]
            ],
            lambda r: [
                row["ours"].update(mean=1.0 if row["source"] == "R²" else 1e6) for row in r["rows"]
            ],
        ),
    },
    "thesis-sphere": {
        "sphere-one-to-one": (
            lambda r: [
                m["sphere_map"].update(degree=-1, folded=0.0) for m in r["models"] if m["kept"]
            ],
            lambda r: [
                m["sphere_map"].update(degree=0, folded=0.3) for m in r["models"] if m["kept"]
            ],
        ),
        "baseline-harder": (
            lambda r: [
                row["ours"].update(mean=1e6 if row["source"] == "R³" else 1.0, std=0.1)
                for row in r["delta"]
            ],
            lambda r: [
                row["ours"].update(mean=1.0 if row["source"] == "R³" else 1e6, std=0.1)
                for row in r["delta"]
            ],
        ),
    },
    "thesis-rotation": {
        "rotation-recovered": (
            lambda r: [
                m["rotation_map"].update(aligned_error=0.1 if m["model"] == "heat" else 0.5)
                for m in r["models"]
            ],
            lambda r: [
                m["rotation_map"].update(aligned_error=0.5 if m["model"] == "heat" else 0.1)
                for m in r["models"]
            ],
        ),
        "baseline-harder": (
            lambda r: [
                row["ours"].update(mean=1e6 if row["source"] == "R⁴" else 1.0, std=0.1)
                for row in r["delta"]
            ],
            lambda r: [
                row["ours"].update(mean=1.0 if row["source"] == "R⁴" else 1e6, std=0.1)
                for row in r["delta"]
            ],
        ),
    },
    "thesis-torus": {
        "baseline-harder": (
            lambda r: [
                row["ours"].update(mean=1e6 if row["source"] == "R⁴" else 1.0) for row in r["delta"]
            ],
            lambda r: [
                row["ours"].update(mean=1.0 if row["source"] == "R⁴" else 1e6) for row in r["delta"]
            ],
        ),
    },
}


@pytest.mark.parametrize(
    ("experiment", "claim"),
    [(e, c) for e, claims in BOTH_WAYS.items() for c in claims],
    ids=lambda v: v,
)
def test_every_judge_can_pass_and_fail(experiment, claim):
    passing, failing = BOTH_WAYS[experiment][claim]
    for edit, expected in ((passing, "reproduced"), (failing, "not reproduced")):
        results = recorded(experiment)
        edit(results)
        assert verdicts_of(experiment, results)[claim] == expected, (claim, expected)


def test_every_claim_of_every_paper_has_its_fixtures():
    """A claim added without a passing and a failing fixture fails here (the thesis tables', Δ
    and directions-losses' judges have theirs above)."""
    from latentatlas.registry import EXPERIMENTS

    elsewhere = {
        ("thesis-table-5.1", None),
        ("thesis-table-7.1", None),
        ("thesis-table-9.2-sigma-0.1", None),
        ("directions-losses", None),
    }
    tested_above = {
        "thesis-table-9.2": {
            "delta-R²-S¹",
            "delta-R²-Φ",
            "delta-S¹-R²",
            "delta-S¹-Φ",
            "delta-Φ-R²",
            "delta-Φ-S¹",
            "common-sigma",
        },
        "thesis-torus": {"delta-R4-T2", "delta-T2-R4"},
    }
    missing = []
    for name in EXPERIMENTS.names():
        if (name, None) in elsewhere:
            continue
        have = set(BOTH_WAYS.get(name, {})) | tested_above.get(name, set())
        missing += [f"{name}: {c.id}" for c in claims_of(name) if c.id not in have]
    assert not missing, missing


def test_a_run_that_ends_before_its_error_turns_is_inconclusive_not_failed():
    """§5.2: the error "starts rising again" after a fall; the committed runs (8000 steps) end
    while it still falls, so neither the rise nor its delay by SDR can be judged."""
    tracking = verdicts_of("intrinsic-tracking", recorded("intrinsic-tracking"))
    assert tracking == {"error-grows": "inconclusive", "coarser-rise": "inconclusive"}
    falling = recorded("intrinsic-tracking")
    _tracked(False)(falling)
    assert verdicts_of("intrinsic-tracking", falling)["error-grows"] == "inconclusive"
    sdr = verdicts_of("intrinsic-sdr-training", recorded("intrinsic-sdr-training"))
    assert sdr == {"sdr-delays": "inconclusive", "sdr-modularity": "inconclusive"}


def test_the_std_trend_is_judged_with_its_uncertainty():
    """Four stds from ~50 traversals each: strict monotonicity is a rule noise can break, so the
    trend against log β is judged against its standard error."""
    base = recorded("directions-dsprites-beta")
    assert verdicts_of("directions-dsprites-beta", base)["std-decreases"] == "inconclusive"
    few = copy.deepcopy(base)
    for model in few["models"]:
        model["methods"]["inversion"]["traversals"] = 2
    _stds([0.4, 0.3, 0.35, 0.38])(few)
    assert verdicts_of("directions-dsprites-beta", few)["std-decreases"] == "inconclusive"
    flat = copy.deepcopy(base)
    for model in flat["models"]:
        model["methods"]["inversion"]["traversals"] = 5000
    _stds([0.2, 0.2, 0.2, 0.2])(flat)
    assert verdicts_of("directions-dsprites-beta", flat)["std-decreases"] == "not reproduced"


def test_the_naive_inversion_is_judged_at_equal_budget_on_the_final_target():
    """The recursive inversion aims at intermediate targets on its way, so only the final
    checkpoint (the same number of steps for both, both on the final target) is comparable."""
    results = recorded("directions-inversion")
    verdict = {v.claim: v for v in judge("directions-inversion", results)}["recursive-faster"]
    assert verdict.verdict == "reproduced"
    assert "after 500 steps each" in verdict.ours and "never reaches" in verdict.ours


def test_the_pixel_shift_loop_is_judged_per_sigma_x_as_the_thesis_shows_it():
    """§10.1.1: at σX = 0.01 the thesis itself shows no continuous loop (a severed piece), so
    there only the winding is required; at 0.1 and 1 the loop must also be in order."""
    severed = recorded("thesis-pixel-shift")
    for model in severed["models"]:
        model["circle"] = {"winding": 1, "forward": 0.99 if model["sigma_x"] != 0.01 else 0.6}
    verdict = {v.claim: v for v in judge("thesis-pixel-shift", severed)}
    assert verdict["diffusion-recovers-circle"].verdict == "reproduced"
    assert "§10.1.1" in verdict["diffusion-recovers-circle"].reason
    # the same out-of-order loop at σX = 0.1 is not what the thesis shows
    for model in severed["models"]:
        if model["sigma_x"] == 0.1:
            model["circle"]["forward"] = 0.6
    assert verdicts_of("thesis-pixel-shift", severed)["diffusion-recovers-circle"] == "partly"
    # the rotating object has no such exception
    rotating = recorded("thesis-rotating-object")
    for model in rotating["models"]:
        model["circle"] = {"winding": 1, "forward": 0.99 if model["sigma_x"] != 0.01 else 0.6}
    assert verdicts_of("thesis-rotating-object", rotating)["diffusion-recovers-circle"] == "partly"


def test_the_disk_area_needs_the_contractive_model_and_more_than_a_radius_code():
    """corr(r, r²) = 0.968 for uniform r: a code exactly linear in the radius passes a bound of
    0.95 on |corr(z, r²)| alone, so the area claim also needs r² to beat r; and it is judged on
    the contractive model (slide 13's footnote), a run without one cannot judge it."""
    results = recorded("slides-disk")
    results["models"].pop("contractive", None)
    assert verdicts_of("slides-disk", results)["area"] == "inconclusive"
    results["models"]["contractive"] = {"corr_area": 0.968, "corr_radius": 1.0, "contraction": 1e4}
    assert verdicts_of("slides-disk", results)["area"] == "not reproduced"
    results["models"]["contractive"] = {"corr_area": 0.97, "corr_radius": 0.96, "contraction": 1e4}
    assert verdicts_of("slides-disk", results)["area"] == "partly"


def test_the_generators_axes_must_beat_the_best_raw_coordinates_and_image_pca():
    """The first raw coordinates can be collapsed (|corr| ≤ 0.03 in the record): beating them
    says nothing. The learned axes are judged against the best raw coordinates and linear PCA;
    beating one of the two is partly, and a run without them cannot judge the claim."""
    results = recorded("slides-pca-ae-generator")
    for key in ("raw_best_axes", "image_pca_axes"):
        results.pop(key, None)
    assert verdicts_of("slides-pca-ae-generator", results)["organised"] == "inconclusive"
    _baselines(0.01)(results)
    results["image_pca_axes"]["best"] = [{"factor": "mass", "abs_corr": 0.99}] * 3
    verdict = {v.claim: v for v in judge("slides-pca-ae-generator", results)}["organised"]
    assert verdict.verdict == "partly" and "linear PCA of the images" in verdict.reason


def test_a_pca_ae_stage_still_improving_makes_its_factors_inconclusive():
    """The PCA-like AE reconstructed 7× worse than the plain AE: undertrained stage decoders
    measure the training, not the method. A stage whose loss still moves over its last tenth
    makes the claim inconclusive, whatever the correlations; converged stages are judged."""
    results = recorded("slides-pca-ae")
    _pca_matrix(0.99)(results)
    results["models"]["pca_ae"]["stage_loss_change"] = [0.001, 0.05, 0.001]
    verdict = {v.claim: v for v in judge("slides-pca-ae", results)}["factors"]
    assert verdict.verdict == "inconclusive" and "stage 2's loss still moved 5.0%" in verdict.reason
    results["models"]["pca_ae"]["stage_loss_change"] = [0.001, 0.005, 0.001]
    assert verdicts_of("slides-pca-ae", results)["factors"] == "reproduced"


def test_stage_loss_changes_split_the_curve_per_stage():
    from latentatlas.papers.slides.pca import stage_loss_changes

    flat_then_falling = [1.0] * 100 + list(np.linspace(2.0, 1.0, 100))
    first, second = stage_loss_changes(flat_then_falling, 2)
    assert first == 0.0 and second > 0.05
    assert stage_loss_changes([1.0], 1) == [pytest.approx(math.nan, nan_ok=True)]


def test_modularity_degrading_is_judged_at_the_papers_length_only():
    """Fig. 3d is after 50 000 iterations; the cpu record's longer snapshot is at 10 000,
    before the degradation the paper reports: inconclusive, not a failure."""
    assert (
        verdicts_of("intrinsic-stretch", recorded("intrinsic-stretch"))["modularity-degrades"]
        == "inconclusive"
    )


def test_the_sphere_studys_delta_order_is_inconclusive_where_the_spreads_overlap():
    results = recorded("thesis-sphere")
    for row in results["delta"]:
        row["ours"].update(mean=100.0 if row["source"] == "R³" else 95.0, std=10.0)
    assert verdicts_of("thesis-sphere", results)["baseline-harder"] == "inconclusive"
    # one sphere kind of three folded: partly
    results = recorded("thesis-sphere")
    kept = [m for m in results["models"] if m["kept"] and m["model"] != "euclidean"]
    for m in kept:
        m["sphere_map"].update(degree=1, folded=0.0)
    kept[0]["sphere_map"].update(folded=0.2)
    assert verdicts_of("thesis-sphere", results)["sphere-one-to-one"] == "partly"


def test_the_rotation_studys_recovery_is_inconclusive_when_both_errors_are_close():
    results = recorded("thesis-rotation")
    for m in results["models"]:
        m["rotation_map"].update(aligned_error=0.30 if m["model"] == "heat" else 0.31)
    assert verdicts_of("thesis-rotation", results)["rotation-recovered"] == "inconclusive"
    # closer than R⁴ but not following the rotation at all (100° against R⁴'s 114°): not
    for m in results["models"]:
        m["rotation_map"].update(aligned_error=1.75 if m["model"] == "heat" else 2.0)
    assert verdicts_of("thesis-rotation", results)["rotation-recovered"] == "not reproduced"
