"""Claims of the thesis (Pérez Rey): tables 5.1, 7.1, 9.2 and 11.1, and the ch. 10 studies.

Every printed "mean ± std" is compared with ours by the one rule of :mod:`.agreement` (standard
errors over the values each side averaged, a precision requirement for both, 5 % slack): the
thesis averaged five trainings per cell of tables 5.1 and 7.1 and three fits per Δ of tables
9.2 and 11.1. A cell whose training had not converged (its loss still moving by more than
:data:`PLATEAU` over the last tenth) or whose mean is too noisy to judge is *inconclusive*; a
table claim counts its cells with :func:`~latentatlas.experiments.claims.by_counts`.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from ...experiments.claims import Claim, Verdict, by_counts, by_fraction
from ...experiments.claims.agreement import Comparison, Estimate, compare
from .tables import METRICS, parse_entry

_METRIC_WORDS = {
    "neg_elbo": "−ELBO",
    "kl": "KL term",
    "reconstruction": "reconstruction term",
    "mse": "mean squared error",
}
#: a training whose loss moved less than this over its last tenth has converged
PLATEAU = 0.01
#: trainings behind each printed cell of tables 5.1 and 7.1 ("averaging the results of five
#: repetitions", §5.3 and §7.3)
THESIS_REPETITIONS = 5
#: fits behind each printed Δ of tables 9.2 and 11.1 (three repetitions, §9.4)
THESIS_FITS = 3
#: an agreeing cell that uses this much of the tolerance is named as close to the limit
NEAR_LIMIT = 0.9
#: printed cells that contradict the thesis's own table, with the value they are judged against
#: and why: (table, σ, σX, metric) → (corrected entry, reason)
ERRATA = {
    ("5.1", 1.0, 1.0, "mse"): (
        "(4.61 ± 0.15) × 10⁻²",
        "printed (4.61 ± 0.15) × 10⁻³, which contradicts its own row: its reconstruction term "
        "23.74 is higher than that of the rows with MSE ≈ 4.2-4.5 × 10⁻² (23.62-23.67), and a "
        "Gaussian decoder of fixed σX = 1 has a reconstruction term that grows with the MSE; "
        "judged against 4.61 × 10⁻², the exponent read as a misprint",
    ),
}


def cell_comparison(row: dict[str, Any], metric: str, repetitions: int, printed: str) -> Comparison:
    """One cell of table 5.1 or 7.1: inconclusive when its training had not converged, else
    the rule of :mod:`.agreement` with our ``repetitions`` against the thesis's five."""
    change = row.get("loss_change_last_tenth", 0.0)
    if not (isinstance(change, (int, float)) and change <= PLATEAU):
        return Comparison(
            "inconclusive",
            math.nan,
            f"not converged: the loss still moved by {change:.1%} over the last tenth of training",
        )
    ours = Estimate(row["ours"][metric]["mean"], row["ours"][metric]["std"], repetitions)
    mean, std = parse_entry(printed)
    return compare(ours, Estimate(mean, std, THESIS_REPETITIONS))


def _independent(
    results: dict[str, Any], row: dict[str, Any], common_sigma: float | None = None
) -> tuple[tuple[float, float], int]:
    """Our Δ of a row (eq. 9.2, or E/(2σ²) with ``common_sigma``) as (mean, std) of its
    independent values and their number: the means of each model seed's fits when there are
    several seeds (the fits of one pair of models are nearly identical, so the seeds are what
    vary), else the fits of the one pair."""
    runs = results["runs"]["delta"][f"{row['source']} -> {row['target']}"]["runs"]
    values = [
        r["delta"] if common_sigma is None else r["mse"] / (2 * common_sigma**2) for r in runs
    ]
    seeds = len(row.get("per_model_seed") or []) or 1
    if seeds > 1 and len(values) >= seeds and len(values) % seeds == 0:
        k = len(values) // seeds
        values = [statistics.fmean(values[i : i + k]) for i in range(0, len(values), k)]
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return (statistics.fmean(values), std), len(values)


def _one_pair(results: dict[str, Any], row: dict[str, Any]) -> str:
    """Δ over the fits of the first model pair alone, the thesis's own ± (three fits of one
    pair of trained models, §9.4), for beside ours over model seeds."""
    runs = results["runs"]["delta"][f"{row['source']} -> {row['target']}"]["runs"]
    seeds = len(row.get("per_model_seed") or []) or 1
    fits = [r["delta"] for r in runs[: max(len(runs) // seeds, 1)]]
    std = statistics.stdev(fits) if len(fits) > 1 else 0.0
    return f"{_pm(statistics.fmean(fits), std)} over the {len(fits)} fits of one model pair"


def _pm(mean: float, std: float) -> str:
    return f"{mean:.4g} ± {std:.2g}"


#: the suffix of table 7.1's second row of claims: the grid trained with the thesis's printed
#: eq. 7.5 density and eq. 7.10 sampler (``thesis_compatible``), the thesis's own computation
PRINTED = "-printed-formulas"


def _table_claims(table: str, what: str) -> tuple[Claim, ...]:
    claims = [
        Claim(
            metric.replace("_", "-"),
            f"{_METRIC_WORDS[metric]} of {what} on X_Vis, each of the 9 cells (σ, σX)",
            "the 9 printed values",
            f"table {table}",
        )
        for metric in METRICS
    ]
    if table == "7.1":
        claims += [
            Claim(
                c.id + PRINTED,
                c.statement.replace(
                    what,
                    f"{what} as the thesis computed it "
                    "(its printed eq. 7.5 density and eq. 7.10 sampler)",
                ),
                c.paper,
                c.where,
            )
            for c in claims
        ]
    return tuple(claims)


def _judge_table(results: dict[str, Any]) -> list[Verdict]:
    """Each metric's nine cells (and table 7.1's second grid, when the run trained it)."""
    table = str(results.get("table", ""))
    verdicts = _judge_grid(results["rows"], int(results.get("repetitions", 1)), table)
    printed = results.get("printed_formulas")
    if isinstance(printed, dict):
        verdicts += _judge_grid(
            printed["rows"], int(printed.get("repetitions", 1)), table, suffix=PRINTED
        )
    elif table == "7.1":  # a run from before the second grid: nothing to judge it on
        verdicts += [
            Verdict(
                m.replace("_", "-") + PRINTED,
                "not trained in this run",
                "inconclusive",
                "the run predates the grid with the printed formulas: rerun to judge it",
            )
            for m in METRICS
        ]
    return verdicts


def _judge_grid(
    rows: list[dict[str, Any]], repetitions: int, table: str, suffix: str = ""
) -> list[Verdict]:
    verdicts = []
    for metric in METRICS:
        cells = []  # (row, comparison, the printed entry judged against)
        notes = []
        for row in rows:
            printed = row["thesis"][metric]
            erratum = ERRATA.get((table, row["data_sigma"], row["sigma_x"], metric))
            if erratum is not None:
                printed = erratum[0]
                notes.append(
                    f"erratum of the thesis at σ = {row['data_sigma']:g}, σX = "
                    f"{row['sigma_x']:g}: {erratum[1]}"
                )
            cells.append((row, cell_comparison(row, metric, repetitions, printed), printed))
        agree = [c for c in cells if c[1].outcome == "agree"]
        disagree = [c for c in cells if c[1].outcome == "disagree"]
        unjudged = [c for c in cells if c[1].outcome == "inconclusive"]
        text = f"{len(agree)} of {len(cells)} cells agree"
        text += f", {len(disagree)} disagree" if disagree else ""
        text += f", {len(unjudged)} cannot be judged" if unjudged else ""
        if disagree:
            row, _, printed = max(disagree, key=lambda c: c[1].used)
            text += f"; furthest: {_cell(row)}: {_pm(*_ours(row, metric))} vs {printed}"
        near = [c for c in agree if c[1].used >= NEAR_LIMIT]
        if near:  # an agreement at the edge of the rule, where a rerun's noise could flip it
            row, comparison, printed = max(near, key=lambda c: c[1].used)
            text += (
                f"; closest to the limit: {_cell(row)}: {_pm(*_ours(row, metric))} vs "
                f"{printed} ({comparison.used:.0%} of the tolerance)"
            )
        reasons = [_table_reason(disagree, metric, table, suffix)] if disagree else []
        reasons += [f"{_cell(row)}: {c.reason}" for row, c, _ in unjudged]
        verdicts.append(
            Verdict(
                metric.replace("_", "-") + suffix,
                text,
                by_counts(len(agree), len(disagree), len(unjudged)),
                "; ".join([*reasons, *notes]),
            )
        )
    return verdicts


def _cell(row: dict[str, Any]) -> str:
    return f"σ = {row['data_sigma']:g}, σX = {row['sigma_x']:g}"


def _ours(row: dict[str, Any], metric: str) -> tuple[float, float]:
    return row["ours"][metric]["mean"], row["ours"][metric]["std"]


def _table_reason(failed: list, metric: str = "", table: str = "", suffix: str = "") -> str:
    """Why cells disagree, as far as measured (``failed``: (row, comparison, printed))."""
    parts = []
    if (
        table == "7.1" and metric == "kl" and not suffix
    ):  # the eq. 7.5 erratum about halves the thesis's KL
        halved = [f for f in failed if 1.5 <= _ours(f[0], metric)[0] / parse_entry(f[2])[0] <= 2.5]
        if halved:
            ratios = sorted(_ours(f[0], metric)[0] / parse_entry(f[2])[0] for f in halved)
            parts.append(
                f"{len(halved)} cell{'s' if len(halved) > 1 else ''} differ"
                f"{'' if len(halved) > 1 else 's'} by {ratios[0]:.2f}-{ratios[-1]:.2f}× (ours "
                "/ thesis): the eq. 7.5 erratum, whose printed density is ½ uniform + ½ heat "
                "kernel and about halves the KL (docs/circular.md measures the thesis-"
                "compatible latent against it)"
            )
        failed = [f for f in failed if f not in halved]
        if not failed:
            return parts[0]
    cells = ", ".join(f"({_cell(f[0])})" for f in failed)
    parts.append(
        f"cells {cells} differ although their trainings converged (loss moved < "
        f"{PLATEAU:.0%} over the last tenth): not explained by training length; the thesis "
        "trained 10⁵ epochs at lr 10⁻⁴, we a cosine schedule (docs/reproduce.md)"
    )
    return "; ".join(parts)


def _delta_claims() -> tuple[Claim, ...]:
    maps = [("R²", "S¹"), ("R²", "Φ"), ("S¹", "R²"), ("S¹", "Φ"), ("Φ", "R²"), ("Φ", "S¹")]
    from .reduction import THESIS_TABLE_9_2

    claims = [
        Claim(
            f"delta-{a}-{b}",
            f"Δ of the map {a} → {b} (the thesis: mean ± std of 3 fits; "
            "ours: over model seeds × fits)",
            THESIS_TABLE_9_2[(a, b)],
            "table 9.2",
        )
        for a, b in maps
    ]
    claims.append(
        Claim(
            "baseline-harder",
            "maps out of the baseline's R² need a larger Δ than "
            "maps out of the circle S¹ (to the other model and to Φ)",
            "Δ(R²→S¹) > Δ(S¹→R²) and Δ(R²→Φ) > Δ(S¹→Φ)",
            "table 9.2, §9.4",
        )
    )
    claims.append(
        Claim(
            "common-sigma",
            "the printed Δ are E/(2σ²) with one σ = 0.1 for all three models and no constant "
            "term (a reading of table 9.2, not the thesis's words: eq. 9.2's constant alone "
            "exceeds the printed values)",
            "the 6 printed values",
            "table 9.2, eq. 9.2",
            informational=True,
        )
    )
    return tuple(claims)


_OUTCOME_VERDICT = {
    "agree": "reproduced",
    "disagree": "not reproduced",
    "inconclusive": "inconclusive",
}


def _delta_comparison(results: dict[str, Any], row: dict[str, Any], sigma=None) -> Comparison:
    """Our Δ of ``row`` (over model seeds) against the printed one (three fits), by the rule."""
    (mean, std), n = _independent(results, row, sigma)
    printed_mean, printed_std = parse_entry(row["thesis"])
    return compare(Estimate(mean, std, n), Estimate(printed_mean, printed_std, THESIS_FITS))


def _judge_delta(results: dict[str, Any]) -> list[Verdict]:
    rows = {(r["source"], r["target"]): r for r in results["rows"]}
    sigma = results["common_sigma"]
    verdicts, common_ok = [], []
    for (a, b), row in rows.items():
        ours = (row["ours"]["mean"], row["ours"]["std"])
        printed = parse_entry(row["thesis"])
        comparison = _delta_comparison(results, row)
        common = (row["common_sigma"]["mean"], row["common_sigma"]["std"])
        common_outcome = _delta_comparison(results, row, sigma).outcome
        common_ok.append((a, b, common_outcome, common[0] / printed[0]))
        reason = comparison.reason
        if comparison.outcome != "agree" and not math.isclose(common[0], ours[0], rel_tol=1e-6):
            reason += (
                f"; with one σ = {sigma:g} and no constant term the same fits give "
                f"{_pm(*common)} ({common[0] / printed[0]:.2f}× the thesis): "
                + {
                    "agree": "it agrees (our reading common-sigma)",
                    "disagree": "also off",
                    "inconclusive": "too noisy too",
                }[common_outcome]
            )
        verdicts.append(
            Verdict(
                f"delta-{a}-{b}",
                f"{_pm(*ours)} over model seeds × fits ({ours[0] / printed[0]:.2f}× "
                f"the thesis); {_one_pair(results, row)}",
                _OUTCOME_VERDICT[comparison.outcome],
                reason,
            )
        )
    m = {k: r["ours"]["mean"] for k, r in rows.items()}
    orders = [m[("R²", "S¹")] > m[("S¹", "R²")], m[("R²", "Φ")] > m[("S¹", "Φ")]]
    verdicts.append(
        Verdict(
            "baseline-harder",
            f"Δ(R²→S¹) = {m[('R²', 'S¹')]:.3g} vs Δ(S¹→R²) = {m[('S¹', 'R²')]:.3g}; "
            f"Δ(R²→Φ) = {m[('R²', 'Φ')]:.3g} vs Δ(S¹→Φ) = {m[('S¹', 'Φ')]:.3g}",
            by_fraction(sum(orders), len(orders)),
        )
    )
    agree = sum(o == "agree" for *_, o, _ in common_ok)
    disagree = sum(o == "disagree" for *_, o, _ in common_ok)
    off = [f"{a}→{b} {r:.2f}×" for a, b, o, r in common_ok if o != "agree"]
    verdicts.append(
        Verdict(
            "common-sigma",
            f"{agree} of {len(common_ok)} maps agree with one σ = {sigma:g} (VAEs trained with "
            f"σX = {results['sigma_x']:g})",
            by_counts(agree, disagree, len(common_ok) - agree - disagree),
            "" if not off else "ours against the thesis: " + ", ".join(off),
        )
    )
    return verdicts


_CIRCLE = Claim(
    "diffusion-recovers-circle",
    "the diffusion VAE on S¹ recovers the periodic latent variable at every σX ∈ {0.01, 0.1, 1}",
    "a closed loop in every figure (codes go once around the circle, in order)",
    "",
)


def _circle_claim(where: str) -> Claim:
    return Claim(_CIRCLE.id, _CIRCLE.statement, _CIRCLE.paper, where)


#: what the thesis itself shows where it does not claim a closed loop: (study, σX) → the
#: rule's exception and why. §10.1.1 on the pixel shift at σX = 0.01: "there is no continuous
#: loop ... seen for some repetitions", a piece of the structure severed: the codes still go
#: around once (periodic in the shift), in order only piecewise.
PERIODIC_ONLY = {
    ("thesis-pixel-shift", 0.01): "§10.1.1: no continuous loop at σX = 0.01 (a severed piece), "
    "so only the winding is required there",
}


def _recovers_circle(experiment: str, model: dict[str, Any]) -> bool:
    """Winding ±1 with at least 90 % of the steps forward (the codes go once around, in
    order); where the thesis itself shows a severed loop, winding ±1 alone."""
    circle = model["circle"]
    if (experiment, model["sigma_x"]) in PERIODIC_ONLY:
        return abs(circle["winding"]) == 1
    return abs(circle["winding"]) == 1 and circle["forward"] >= 0.9


def _judge_circle(results: dict[str, Any]) -> list[Verdict]:
    """Every σX's diffusion VAE (the lowest-loss restart) recovers the loop the thesis shows."""
    experiment = str(results.get("experiment", ""))
    models = [m for m in results["models"] if m["model"] == "diffusion_vae"]
    clean = [m for m in models if _recovers_circle(experiment, m)]
    ours = "; ".join(
        f"σX {m['sigma_x']:g}: winding {m['circle']['winding']}, "
        f"{m['circle']['forward']:.0%} of steps forward"
        for m in models
    )
    if int(results.get("restarts", 1)) > 1:
        ours += f" (each the lowest-loss of {results['restarts']} initialisations)"
    reason = "; ".join(
        f"σX {m['sigma_x']:g}: {_circle_failure(m['circle'])}" for m in models if m not in clean
    )
    exceptions = [why for (e, sx), why in PERIODIC_ONLY.items() if e == experiment]
    if reason:
        reason += " (see the latents figure)"
    reason = "; ".join([reason, *exceptions]) if reason else "; ".join(exceptions)
    return [Verdict(_CIRCLE.id, ours, by_fraction(len(clean), len(models)), reason)]


def _circle_failure(circle: dict[str, Any]) -> str:
    """What a code that does not go once around in order does instead."""
    winding, forward = circle["winding"], circle["forward"]
    if winding == 0:
        return "winding 0, the codes do not go around (collapsed or folded)"
    if abs(winding) > 1:
        return f"winding {winding}, the codes go around {abs(winding)} times"
    return f"winding {winding} but only {forward:.0%} of steps forward (codes out of order)"


def _torus_claims() -> tuple[Claim, ...]:
    return (
        Claim("delta-R4-T2", "Δ of the map R⁴ → T²", "6216.02 ± 43.05", "table 11.1"),
        Claim("delta-T2-R4", "Δ of the map T² → R⁴", "446.84 ± 6.42", "table 11.1"),
        Claim(
            "baseline-harder",
            "the map out of the baseline's R⁴ needs the larger Δ",
            "Δ(R⁴→T²) > Δ(T²→R⁴)",
            "§11.5",
        ),
    )


def _judge_torus(results: dict[str, Any]) -> list[Verdict]:
    rows = {(r["source"], r["target"]): r for r in results["delta"]}
    verdicts = []
    for (a, b), claim in ((("R⁴", "T²"), "delta-R4-T2"), (("T²", "R⁴"), "delta-T2-R4")):
        row = rows[(a, b)]
        ours = (row["ours"]["mean"], row["ours"]["std"])
        paper = parse_entry(row["thesis"])
        comparison = _delta_comparison(results, row)
        verdicts.append(
            Verdict(
                claim,
                f"{_pm(*ours)} over model seeds × fits ({ours[0] / paper[0]:.2f}× the thesis); "
                f"{_one_pair(results, row)}",
                _OUTCOME_VERDICT[comparison.outcome],
                "" if comparison.outcome == "agree" else f"{comparison.reason} (docs/reproduce.md)",
            )
        )
    forward, backward = rows[("R⁴", "T²")]["ours"]["mean"], rows[("T²", "R⁴")]["ours"]["mean"]
    verdicts.append(
        Verdict(
            "baseline-harder",
            f"{forward:.4g} vs {backward:.4g}",
            "reproduced" if forward > backward else "not reproduced",
        )
    )
    return verdicts


_SPHERE_CLAIMS = (
    Claim(
        "sphere-one-to-one",
        "a VAE with an S² latent (heat kernel, von Mises-Fisher, Power Spherical) recovers a "
        "factor on S² one-to-one",
        "ch. 10's closed loop on S¹, transferred to S²: the codes cover the sphere once "
        "(degree ±1, at most 5 % of the triangulation folded)",
        "ch. 10 and ch. 12 (further work; the thesis runs no S² study)",
    ),
    Claim(
        "baseline-harder",
        "the map out of the Euclidean model's R³ into the diffusion VAE's S² needs the larger Δ",
        "Δ(R³→S²) > Δ(S²→R³), as §11.5 finds for R⁴ and T²",
        "§11.5, transferred (ch. 12)",
    ),
)

RECOVERED_DEGREES = 20.0
"""An aligned rotation error below this counts as recovering the rotation (the S² study's
models reach 4°; codes unrelated to the rotation leave about 126°)."""

_ROTATION_CLAIMS = (
    Claim(
        "rotation-recovered",
        "the diffusion VAE on SO(3) recovers the rotation up to fixed rotations, and more "
        "closely than the Euclidean VAE on R⁴",
        "ch. 10's finding (the matching geometry recovers the factor), transferred to SO(3): "
        f"aligned error of SO(3) below {RECOVERED_DEGREES:g}° and below 0.9 × that of R⁴",
        "ch. 10 and ch. 12 (further work; the thesis runs no SO(3) study)",
    ),
    Claim(
        "baseline-harder",
        "the map out of the Euclidean model's R⁴ into the diffusion VAE's SO(3) needs the larger Δ",
        "Δ(R⁴→SO(3)) > Δ(SO(3)→R⁴), as §11.5 finds for R⁴ and T²",
        "§11.5, transferred (ch. 12)",
    ),
)


def _one_to_one(model: dict[str, Any], folded_at_most: float) -> bool:
    sphere = model["sphere_map"]
    return abs(sphere["degree"]) == 1 and sphere["folded"] <= folded_at_most


def _judge_sphere(results: dict[str, Any]) -> list[Verdict]:
    """Each S² kind's kept model maps the factor's sphere onto its codes once; Δ out of R³ is
    larger than Δ into it beyond both spreads (inconclusive where the spreads overlap)."""
    limit = float(results["folded_at_most"])
    kept = [m for m in results["models"] if m["kept"] and m["model"] != "euclidean"]
    clean = [m for m in kept if _one_to_one(m, limit)]
    ours = "; ".join(
        f"{m['latent']}: degree {m['sphere_map']['degree']}, {m['sphere_map']['folded']:.1%} folded"
        for m in kept
    )
    failed = [m["latent"] for m in kept if m not in clean]
    verdicts = [
        Verdict(
            "sphere-one-to-one",
            ours,
            by_fraction(len(clean), len(kept)),
            "" if not failed else "not one-to-one: " + ", ".join(failed) + " (see the figure)",
        )
    ]
    verdicts.append(_delta_order(results, "R³", "S² heat kernel"))
    return verdicts


def _delta_order(results: dict[str, Any], flat: str, curved: str) -> Verdict:
    """Δ(flat → curved) > Δ(curved → flat) beyond both spreads; inconclusive where they
    overlap."""
    rows = {(r["source"], r["target"]): r["ours"] for r in results["delta"]}
    out_of, into = rows[(flat, curved)], rows[(curved, flat)]
    low_out, high_in = out_of["mean"] - out_of["std"], into["mean"] + into["std"]
    if low_out > high_in:
        verdict, reason = "reproduced", ""
    elif out_of["mean"] + out_of["std"] < into["mean"] - into["std"]:
        verdict, reason = "not reproduced", f"the map into {flat} needs the larger Δ"
    else:
        verdict, reason = "inconclusive", "the two Δ's mean ± std overlap"
    short = curved.split()[0]
    return Verdict(
        "baseline-harder",
        f"Δ({flat}→{short}) = {out_of['mean']:.4g} ± {out_of['std']:.2g} vs Δ({short}→{flat}) = "
        f"{into['mean']:.4g} ± {into['std']:.2g}",
        verdict,
        reason,
    )


def _judge_rotation(results: dict[str, Any]) -> list[Verdict]:
    """The kept SO(3) model recovers the rotation (aligned error below RECOVERED_DEGREES) and
    more closely than the kept R⁴ model (below 0.9 × its error; above 1.1 ×, or no recovery:
    not reproduced; within 10 %: inconclusive), and the order of Δ."""
    kept = {m["model"]: m["rotation_map"] for m in results["models"] if m["kept"]}
    ours_deg, flat_deg = (180 / math.pi * kept[k]["aligned_error"] for k in ("heat", "euclidean"))
    if ours_deg >= RECOVERED_DEGREES:
        verdict = "not reproduced"
        reason = (
            f"the SO(3) codes do not follow the rotation ({ours_deg:.0f}° left after the best "
            "alignment; codes unrelated to it leave about 126°)"
        )
    elif ours_deg < 0.9 * flat_deg:
        verdict, reason = "reproduced", ""
    elif ours_deg > 1.1 * flat_deg:
        verdict, reason = "not reproduced", "the Euclidean model's codes are closer"
    else:
        verdict, reason = "inconclusive", "the two errors are within 10 % of each other"
    return [
        Verdict(
            "rotation-recovered",
            f"aligned error SO(3) {ours_deg:.1f}° vs R⁴ {flat_deg:.1f}°",
            verdict,
            reason,
        ),
        _delta_order(results, "R⁴", "SO(3) heat kernel"),
    ]


CLAIMS = {
    "thesis-table-5.1": _table_claims("5.1", "the baseline VAE in R²"),
    "thesis-table-7.1": _table_claims("7.1", "the diffusion VAE on S¹"),
    "thesis-table-9.2": _delta_claims(),
    "thesis-table-9.2-sigma-0.1": _delta_claims(),
    "thesis-torus": _torus_claims(),
    "thesis-pixel-shift": (_circle_claim("§10.1.2, fig. 10.3"),),
    "thesis-rotating-object": (_circle_claim("§10.2.1, fig. 10.7"),),
    "thesis-sphere": _SPHERE_CLAIMS,
    "thesis-rotation": _ROTATION_CLAIMS,
}
JUDGES = {
    "thesis-table-5.1": _judge_table,
    "thesis-table-7.1": _judge_table,
    "thesis-table-9.2": _judge_delta,
    "thesis-table-9.2-sigma-0.1": _judge_delta,
    "thesis-torus": _judge_torus,
    "thesis-pixel-shift": _judge_circle,
    "thesis-rotating-object": _judge_circle,
    "thesis-sphere": _judge_sphere,
    "thesis-rotation": _judge_rotation,
}
