"""Claims of the thesis (Pérez Rey): tables 5.1, 7.1, 9.2 and 11.1, and the ch. 10 studies.

A printed "mean ± std" and ours agree when they differ by at most three combined standard
deviations plus 5 % of the printed value: ``|ours − paper| ≤ 3·√(s_ours² + s_paper²) +
0.05·|paper|`` (both are means over a few trainings; the slack covers the rounding of the print
and the different training schedule, see docs/reproduce.md). A table claim is *reproduced* when
every cell agrees, *partly* when at least half do.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from ..thesis_tables import METRICS, parse_entry
from . import Claim, Verdict, by_fraction

_METRIC_WORDS = {
    "neg_elbo": "−ELBO",
    "kl": "KL term",
    "reconstruction": "reconstruction term",
    "mse": "mean squared error",
}
#: a training whose loss moved less than this over its last tenth has converged
PLATEAU = 0.01


#: an agreeing cell that uses this much of the tolerance is named as close to the limit
NEAR_LIMIT = 0.9


def tolerance_used(ours: tuple[float, float], paper: tuple[float, float]) -> float:
    """How much of the agreement rule's tolerance two "mean ± std" values use: the difference of
    the means over three times the combined spread plus 5 % of the paper's value (≤ 1: they
    agree)."""
    (mo, so), (mp, sp) = ours, paper
    limit = 3 * math.hypot(so, sp) + 0.05 * abs(mp)
    difference = abs(mo - mp)
    return difference / limit if limit > 0 else (0.0 if difference == 0 else math.inf)


def agrees(ours: tuple[float, float], paper: tuple[float, float]) -> bool:
    """The module's agreement rule for two "mean ± std" values."""
    return tolerance_used(ours, paper) <= 1.0


def agrees_mean(
    ours: tuple[float, float], n_ours: int, paper: tuple[float, float], n_paper: int
) -> bool:
    """Two "mean ± std" of ``n`` values each agree when our mean is known well enough to judge
    (three standard errors at most half of it) and the means differ by at most three standard
    errors of the difference plus 5 % of the paper's value. Used for Δ, whose spread over model
    seeds can be as large as the value itself: a rule on the spreads alone lets any mean pass,
    and so would a bare test of equal means with three seeds."""
    return mean_disagreement(ours, n_ours, paper, n_paper) is None


def mean_disagreement(
    ours: tuple[float, float], n_ours: int, paper: tuple[float, float], n_paper: int
) -> str | None:
    """Why :func:`agrees_mean` fails (None when it holds): our mean too noisy to judge, or the
    means apart."""
    (mo, so), (mp, sp) = ours, paper
    ours_error = so / math.sqrt(max(n_ours, 1))
    if 3 * ours_error > 0.5 * abs(mo):
        return (f"too noisy to judge: 3 standard errors of our mean ({3 * ours_error:.4g}, "
                f"over {n_ours} values) exceed half of it")  # fmt: skip
    error = math.hypot(ours_error, sp / math.sqrt(max(n_paper, 1)))
    if abs(mo - mp) <= 3 * error + 0.05 * abs(mp):
        return None
    return (f"the means differ by {abs(mo - mp):.4g}, more than 3 standard errors of the "
            f"difference plus 5 % ({3 * error + 0.05 * abs(mp):.4g})")  # fmt: skip


def _independent(
    results: dict[str, Any], row: dict[str, Any], common_sigma: float | None = None
) -> tuple[tuple[float, float], int]:
    """Our Δ of a row (eq. 9.2, or E/(2σ²) with ``common_sigma``) as (mean, std) of its
    independent values and their number: the means of each model seed's fits when there are
    several seeds (the fits of one pair of models are nearly identical, so the seeds are what
    vary), else the fits of the one pair."""
    runs = results["runs"]["delta"][f"{row['source']} -> {row['target']}"]["runs"]
    values = [r["delta"] if common_sigma is None else r["mse"] / (2 * common_sigma**2)
              for r in runs]  # fmt: skip
    seeds = len(row.get("per_model_seed") or []) or 1
    if seeds > 1 and len(values) >= seeds and len(values) % seeds == 0:
        k = len(values) // seeds
        values = [statistics.fmean(values[i : i + k]) for i in range(0, len(values), k)]
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return (statistics.fmean(values), std), len(values)


#: fits behind each printed Δ of tables 9.2 and 11.1 (three repetitions, §9.4)
THESIS_FITS = 3


def _pm(mean: float, std: float) -> str:
    return f"{mean:.4g} ± {std:.2g}"


def _table_claims(table: str, what: str) -> tuple[Claim, ...]:
    return tuple(
        Claim(metric.replace("_", "-"), f"{_METRIC_WORDS[metric]} of {what} on X_Vis, "
              "each of the 9 cells (σ, σX)", "the 9 printed values", f"table {table}")
        for metric in METRICS
    )  # fmt: skip


def _judge_table(results: dict[str, Any]) -> list[Verdict]:
    verdicts = []
    rows = results["rows"]
    for metric in METRICS:
        failed, near = [], []
        for row in rows:
            ours = (row["ours"][metric]["mean"], row["ours"][metric]["std"])
            paper = parse_entry(row["thesis"][metric])
            used = tolerance_used(ours, paper)
            if used > 1.0:
                failed.append((row, ours, row["thesis"][metric]))
            elif used >= NEAR_LIMIT:
                near.append((used, row, ours, row["thesis"][metric]))
        passed = len(rows) - len(failed)
        text = f"{passed} of {len(rows)} cells agree"
        if failed:
            row, ours, paper = max(failed, key=lambda f: abs(f[1][0] - parse_entry(f[2])[0]))
            text += (f"; furthest: σ = {row['data_sigma']:g}, σX = {row['sigma_x']:g}: "
                     f"{_pm(*ours)} vs {paper}")  # fmt: skip
        if near:  # an agreement at the edge of the rule, where a rerun's noise could flip it
            used, row, ours, paper = max(near, key=lambda n: n[0])
            text += (f"; closest to the limit: σ = {row['data_sigma']:g}, "
                     f"σX = {row['sigma_x']:g}: {_pm(*ours)} vs {paper} "
                     f"({used:.0%} of the tolerance)")  # fmt: skip
        verdicts.append(
            Verdict(
                metric.replace("_", "-"),
                text,
                by_fraction(passed, len(rows)),
                _table_reason(failed, metric, results.get("table", "")),
            )
        )
    return verdicts


def _table_reason(failed: list, metric: str = "", table: str = "") -> str:
    if not failed:
        return ""
    parts = []
    if table == "7.1" and metric == "kl":  # the eq. 7.5 erratum about halves the thesis's KL
        halved = [f for f in failed if 1.5 <= f[1][0] / parse_entry(f[2])[0] <= 2.5]
        if halved:
            ratios = sorted(f[1][0] / parse_entry(f[2])[0] for f in halved)
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
    moving = [f for f in failed if f[0]["loss_change_last_tenth"] > PLATEAU]
    cells = ", ".join(f"(σ {f[0]['data_sigma']:g}, σX {f[0]['sigma_x']:g})" for f in failed)
    if moving:
        parts.append(f"cells {cells} differ; {len(moving)} of them had not converged (loss "
                     f"still moving > {PLATEAU:.0%} over the last tenth of training)")  # fmt: skip
    else:
        parts.append(
            f"cells {cells} differ although every training converged (loss moved < "
            f"{PLATEAU:.0%} over its last tenth): not explained by training length; the thesis "
            "trained 10⁵ epochs at lr 10⁻⁴, we a cosine schedule (docs/reproduce.md)"
        )
    return "; ".join(parts)


def _delta_claims() -> tuple[Claim, ...]:
    maps = [("R²", "S¹"), ("R²", "Φ"), ("S¹", "R²"), ("S¹", "Φ"), ("Φ", "R²"), ("Φ", "S¹")]
    from ..thesis_reduction import THESIS_TABLE_9_2

    claims = [
        Claim(f"delta-{a}-{b}", f"Δ of the map {a} → {b} (the thesis: mean ± std of 3 fits; "
              "ours: over model seeds × fits)",
              THESIS_TABLE_9_2[(a, b)], "table 9.2")
        for a, b in maps
    ]  # fmt: skip
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
        )
    )
    return tuple(claims)  # fmt: skip


def _judge_delta(results: dict[str, Any]) -> list[Verdict]:
    rows = {(r["source"], r["target"]): r for r in results["rows"]}
    sigma = results["common_sigma"]
    verdicts, common_ok = [], []
    for (a, b), row in rows.items():
        ours = (row["ours"]["mean"], row["ours"]["std"])
        printed = parse_entry(row["thesis"])
        independent, n = _independent(results, row)
        problem = mean_disagreement(independent, n, printed, THESIS_FITS)
        common = (row["common_sigma"]["mean"], row["common_sigma"]["std"])
        by_seed, n = _independent(results, row, sigma)
        agree = agrees_mean(by_seed, n, printed, THESIS_FITS)
        common_ok.append((a, b, agree, common[0] / printed[0]))
        ratio = ours[0] / printed[0]
        reason = ""
        if problem is not None:
            reason = problem
            if not math.isclose(common[0], ours[0], rel_tol=1e-6):  # another convention
                reason += (
                    f"; with one σ = {sigma:g} and no constant term the same fits give "
                    f"{_pm(*common)} ({common[0] / printed[0]:.2f}× the thesis), "
                    + ("which agrees (claim common-sigma)" if agree else "also off")
                )
        verdicts.append(Verdict(
            f"delta-{a}-{b}", f"{_pm(*ours)} ({ratio:.2f}× the thesis)",
            "reproduced" if problem is None else "not reproduced", reason,
        ))  # fmt: skip
    m = {k: r["ours"]["mean"] for k, r in rows.items()}
    orders = [m[("R²", "S¹")] > m[("S¹", "R²")], m[("R²", "Φ")] > m[("S¹", "Φ")]]
    verdicts.append(Verdict(
        "baseline-harder",
        f"Δ(R²→S¹) = {m[('R²', 'S¹')]:.3g} vs Δ(S¹→R²) = {m[('S¹', 'R²')]:.3g}; "
        f"Δ(R²→Φ) = {m[('R²', 'Φ')]:.3g} vs Δ(S¹→Φ) = {m[('S¹', 'Φ')]:.3g}",
        by_fraction(sum(orders), len(orders)),
    ))  # fmt: skip
    off = [f"{a}→{b} {r:.2f}×" for a, b, ok, r in common_ok if not ok]
    verdicts.append(Verdict(
        "common-sigma",
        f"{sum(ok for *_, ok, _ in common_ok)} of {len(common_ok)} maps agree with one σ = "
        f"{sigma:g} (VAEs trained with σX = {results['sigma_x']:g})",
        by_fraction(sum(ok for *_, ok, _ in common_ok), len(common_ok)),
        "" if not off else "ours against the thesis: " + ", ".join(off),
    ))  # fmt: skip
    return verdicts


_CIRCLE = Claim(
    "diffusion-recovers-circle",
    "the diffusion VAE on S¹ recovers the periodic latent variable at every σX ∈ {0.01, 0.1, 1}",
    "a closed loop in every figure (codes go once around the circle, in order)",
    "",
)


def _circle_claim(where: str) -> Claim:
    return Claim(_CIRCLE.id, _CIRCLE.statement, _CIRCLE.paper, where)


def _judge_circle(results: dict[str, Any]) -> list[Verdict]:
    """Winding ±1 with at least 90 % of the steps forward: the codes go once around, in order."""
    models = [m for m in results["models"] if m["model"] == "diffusion_vae"]
    clean = [m for m in models if abs(m["circle"]["winding"]) == 1
             and m["circle"]["forward"] >= 0.9]  # fmt: skip
    ours = "; ".join(
        f"σX {m['sigma_x']:g}: winding {m['circle']['winding']}, "
        f"{m['circle']['forward']:.0%} of steps forward"
        for m in models
    )
    reason = "; ".join(
        f"σX {m['sigma_x']:g}: {_circle_failure(m['circle'])}" for m in models if m not in clean
    )
    if reason:
        reason += " (see the latents figure)"
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
        Claim("baseline-harder", "the map out of the baseline's R⁴ needs the larger Δ",
              "Δ(R⁴→T²) > Δ(T²→R⁴)", "§11.5"),
    )  # fmt: skip


def _judge_torus(results: dict[str, Any]) -> list[Verdict]:
    rows = {(r["source"], r["target"]): r for r in results["delta"]}
    verdicts = []
    for (a, b), claim in ((("R⁴", "T²"), "delta-R4-T2"), (("T²", "R⁴"), "delta-T2-R4")):
        row = rows[(a, b)]
        ours = (row["ours"]["mean"], row["ours"]["std"])
        paper = parse_entry(row["thesis"])
        independent, n = _independent(results, row)
        problem = mean_disagreement(independent, n, paper, THESIS_FITS)
        verdicts.append(Verdict(
            claim, f"{_pm(*ours)} ({ours[0] / paper[0]:.2f}× the thesis)",
            "reproduced" if problem is None else "not reproduced",
            "" if problem is None else f"{problem} (docs/reproduce.md)",
        ))  # fmt: skip
    forward, backward = rows[("R⁴", "T²")]["ours"]["mean"], rows[("T²", "R⁴")]["ours"]["mean"]
    verdicts.append(
        Verdict(
            "baseline-harder",
            f"{forward:.4g} vs {backward:.4g}",
            "reproduced" if forward > backward else "not reproduced",
        )
    )
    return verdicts


CLAIMS = {
    "thesis-table-5.1": _table_claims("5.1", "the baseline VAE in R²"),
    "thesis-table-7.1": _table_claims("7.1", "the diffusion VAE on S¹"),
    "thesis-table-9.2": _delta_claims(),
    "thesis-table-9.2-sigma-0.1": _delta_claims(),
    "thesis-torus": _torus_claims(),
    "thesis-pixel-shift": (_circle_claim("§10.1.2, fig. 10.3"),),
    "thesis-rotating-object": (_circle_claim("§10.2.1, fig. 10.7"),),
}
JUDGES = {
    "thesis-table-5.1": _judge_table,
    "thesis-table-7.1": _judge_table,
    "thesis-table-9.2": _judge_delta,
    "thesis-table-9.2-sigma-0.1": _judge_delta,
    "thesis-torus": _judge_torus,
    "thesis-pixel-shift": _judge_circle,
    "thesis-rotating-object": _judge_circle,
}
