"""A sweep's scores beside the published scores of the study of Locatello et al. (2019).

For a sweep whose file names the study's result files (``published:``, read by
:func:`latentatlas.analysis.metrics.published.load_published`) and the data set's name in them
(``published_dataset:``), each trained model of the study (β-VAE, AnnealedVAE, FactorVAE,
DIP-VAE-I/II, β-TCVAE) and each value of its swept hyper-parameter gets, per main score, the
median and quartiles over the sweep's seeds beside those over the study's seeds, and whether the
sweep's median lies between the study's quartiles ("within"). The sweep's report shows the
table and ``published.json`` keeps it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.metrics.published import PublishedScores, load_published, study_name
from ..errors import DataError

MAIN_SCORES = ("beta_vae", "factor_vae", "mig", "dci_disentanglement", "sap", "modularity")
"""The scores compared (those the study's figures show)."""


def quartiles(values: list[float]) -> list[float] | None:
    """[q25, median, q75] of ``values`` (None for none)."""
    return [float(v) for v in np.percentile(values, [25, 50, 75])] if values else None


def _groups(rows: list[dict]) -> dict[tuple[str, str, str, float], list[dict]]:
    """The scored trials per (model, the study's name, hyper-parameter, value)."""
    groups: dict[tuple[str, str, str, float], list[dict]] = {}
    for row in rows:
        named = study_name(row["model"], row["hyper"])
        if not row["scores"] or named is None or named[1] not in row["hyper"]:
            continue
        study, key = named
        value = float(row["hyper"][key])
        groups.setdefault((row["model"], study, key, value), []).append(row["scores"])
    return groups


def compare_with_published(
    rows: list[dict], path: str, dataset: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The comparison rows (see the module docstring) and notes on what could not be compared
    (a model absent from the files, a hyper-parameter value the study did not train)."""
    published: dict[str, PublishedScores | None] = {}
    notes: list[str] = []
    out = []
    for (model, study, key, value), scores in sorted(_groups(rows).items()):
        if study not in published:
            try:
                published[study] = load_published(path, study, dataset)
            except DataError as exc:
                published[study] = None
                notes.append(f"{study}: {exc}")
        theirs_all = published[study]
        if theirs_all is not None and value not in theirs_all.hypers:
            notes.append(f"{study} with {key} = {value:g}: not in the published files")
        for score in MAIN_SCORES:
            ours = [s[score] for s in scores if score in s]
            if not ours:
                continue
            theirs = theirs_all.values(value, score) if theirs_all is not None else []
            band = quartiles(theirs)
            median = float(np.median(ours))
            out.append(
                {
                    "method": study,
                    "model": model,
                    "hyper": key,
                    "value": value,
                    "score": score,
                    "ours": quartiles(ours),
                    "seeds": len(ours),
                    "published": band,
                    "published_seeds": len(theirs),
                    "within": None if band is None else bool(band[0] <= median <= band[2]),
                }
            )
    return out, notes


def comparison_markdown(rows: list[dict[str, Any]]) -> str:
    """The comparison as one markdown table."""

    def band(q: list[float] | None, n: int) -> str:
        return "–" if q is None else f"{q[1]:.3f} [{q[0]:.3f}, {q[2]:.3f}] ({n})"

    lines = [
        "| method | hyper-parameter | score | sweep: median [quartiles] (seeds) | published "
        "| sweep median within the published quartiles |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        within = "–" if r["within"] is None else ("yes" if r["within"] else "no")
        lines.append(
            f"| {r['method']} | {r['hyper']} = {r['value']:g} | {r['score']} | "
            f"{band(r['ours'], r['seeds'])} | {band(r['published'], r['published_seeds'])} | "
            f"{within} |"
        )
    return "\n".join(lines)
