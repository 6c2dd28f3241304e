"""Claims of Locatello et al. (2019) the β-VAE arm on dSprites can test.

The study's per-β distributions (fig. 7) are figures; its numbers are disentanglement_lib's
result files, which are not in this repository (``--published PATH`` shows them beside ours
when a copy is at hand). What a run of ours can test is the study's finding about the metrics
themselves (§5.2, fig. 3): on dSprites all metrics but Modularity are strongly correlated.
Rank correlations are Spearman's over the trained models (one value per model and metric).
"""

from __future__ import annotations

import itertools
from typing import Any

from scipy import stats

from ...experiments.claims import Claim, Verdict

AGREEING = ("beta_vae", "factor_vae", "mig", "dci_disentanglement")
#: mean pairwise Spearman correlation of metrics that "agree"
AGREE = 0.5

_CLAIMS = (
    Claim(
        "metrics-agree",
        "the BetaVAE, FactorVAE, MIG and DCI disentanglement scores rank the "
        "models alike on dSprites",
        "strongly correlated (fig. 3)",
        "§5.2, fig. 3",
    ),
    Claim(
        "modularity-apart",
        "Modularity is the exception: it correlates less with them",
        "all metrics but Modularity correlated (fig. 3)",
        "§5.2, fig. 3",
    ),
)
NOT_JUDGED = {
    "locatello-dsprites-betavae": [
        "fig. 7 (each score's distribution per β over 50 seeds): the study's scores are the "
        "result files of disentanglement_lib, not available on this machine; `--published "
        "PATH` puts them beside ours."
    ],
}


def _scores(results: dict[str, Any]) -> dict[str, list[float]]:
    """Each metric scored for every trained model: metric → one score per model."""
    rows = [r for r in results["trials"] if r.get("scores")]
    names = [*AGREEING, "modularity"]
    return {
        n: [float(r["scores"][n]) for r in rows]
        for n in names
        if rows and all(n in r["scores"] for r in rows)
    }


def _rho(a: list[float], b: list[float]) -> float:
    """Spearman's ρ; NaN when a score is constant over the models (it ranks nothing)."""
    if len(set(a)) < 2 or len(set(b)) < 2:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def _judge(results: dict[str, Any]) -> list[Verdict]:
    scores = _scores(results)
    agreeing = [n for n in AGREEING if n in scores]
    models = len(next(iter(scores.values()), []))
    if len(agreeing) < 2 or "modularity" not in scores or models < 3:
        missing = (
            "need ≥ 3 models scored with Modularity and at least two of BetaVAE, "
            "FactorVAE, MIG and DCI disentanglement"
        )
        return [
            Verdict(
                c.id,
                f"{models} models, scores: {', '.join(scores) or 'none'}",
                "not reproduced",
                missing,
            )
            for c in _CLAIMS
        ]
    constant = [n for n in (*agreeing, "modularity") if len(set(scores[n])) == 1]
    pairs = [_rho(scores[a], scores[b]) for a, b in itertools.combinations(agreeing, 2)]
    pairs = [r for r in pairs if r == r]
    modularity = [_rho(scores["modularity"], scores[a]) for a in agreeing]
    modularity = [r for r in modularity if r == r]
    mutual = sum(pairs) / len(pairs) if pairs else float("nan")
    with_modularity = sum(modularity) / len(modularity) if modularity else float("nan")
    note = f" over {models} models" + (" (few: a noisy estimate)" if models < 10 else "")
    absent = [n for n in AGREEING if n not in scores]
    if absent:
        note += f"; judged without {', '.join(absent)} (not scored)"
    why = f"constant over the models, ranking nothing: {', '.join(constant)}" if constant else ""
    agree = (
        "not reproduced"
        if not pairs
        else "reproduced"
        if mutual >= AGREE
        else "partly"
        if mutual > 0
        else "not reproduced"
    )
    apart = "reproduced" if pairs and modularity and with_modularity < mutual else "not reproduced"
    return [
        Verdict(
            "metrics-agree",
            f"mean pairwise Spearman ρ {mutual:.2f}{note}",
            agree,
            why if agree != "reproduced" else "",
        ),
        Verdict(
            "modularity-apart",
            f"Modularity's mean ρ with them {with_modularity:.2f}, "
            f"theirs with each other {mutual:.2f}",
            apart,
            why if apart != "reproduced" else "",
        ),
    ]


CLAIMS = {"locatello-dsprites-betavae": _CLAIMS}
JUDGES = {"locatello-dsprites-betavae": _judge}
