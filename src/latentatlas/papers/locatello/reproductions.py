"""Locatello et al. (2019): the β-VAE arm of the disentanglement study on dSprites as one
:class:`~latentatlas.experiments.experiment.Experiment` (run by :mod:`.experiments`, judged by
:mod:`.claims`), with ``--published`` for the study's own result files."""

from __future__ import annotations

from typing import Any

from ...experiments.experiment import Experiment, Option, judged_by
from ...experiments.protocols import Quantity, setting
from . import claims, experiments

PAPER = "Locatello et al. 2019, challenging common assumptions (β-VAE arm)"


def published_scores(path: str, settings: Any) -> Any:
    """The study's own scores of its β-VAEs from disentanglement_lib's result files at
    ``path``, read once before anything trains (no scores or a bad file fail here)."""
    from ...analysis.metrics.published import load_published

    return load_published(path, "beta_vae")


#: ``--published PATH``: disentanglement_lib's result files of the study's models (a folder
#: searched for results/aggregate/evaluation.json, or an aggregated JSON), shown beside ours
PUBLISHED = Option("published", "published", read=published_scores)

EXPERIMENTS = (
    Experiment(
        "locatello-dsprites-betavae",
        PAPER,
        "fig. 7/13 (β-VAE grid on dSprites, every metric)",
        scales=experiments.SCALES,
        run=experiments.reproduce_locatello,
        write=experiments.write_locatello_outputs,
        options=(PUBLISHED,),
        protocol=(
            Quantity(
                "training steps",
                300_000,
                "Locatello et al.'s study (docs/metrics.md): 300 000 steps",
                setting("steps"),
            ),
            Quantity(
                "models",
                6 * 50,
                "Locatello et al.'s study (docs/metrics.md): 6 β × 50 seeds",
                lambda s: float(len(s["betas"]) * len(s["seeds"])),
            ),
        ),
        **judged_by(claims, "locatello-dsprites-betavae"),
    ),
)
"""Locatello et al.'s experiment."""
