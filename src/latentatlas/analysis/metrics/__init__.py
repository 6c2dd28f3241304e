"""Disentanglement metrics: pure functions of a dataset with factors and a representation.

``evaluate_metrics(dataset, represent, names="all", preset="standard", seed=0)`` returns one
flat dict of named scores. The presets (:data:`PRESETS`):

* ``"standard"``: the sample sizes of Locatello et al. (2019) (10 000 training points, 5 000 for
  evaluation, batches of 64), DCI's trees by LightGBM (~30× faster, scores within about 0.07
  of the study's trees);
* ``"study"``: the same sizes with DCI by the study's estimator, scikit-learn's gradient
  boosting (minutes); the other metrics as in ``standard`` (their deviations from the study's
  code are in docs/metrics.md);
* ``"fast"``: a tenth of the sizes, for use during training.

``represent`` is ``posterior_mean(model)`` by default (``sample=True`` for
one posterior sample). Each metric module's docstring gives its definition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...data.base import FactorDataset
from ...errors import UnknownNameError
from .dci import dci, dci_from_importance
from .ground_truth import GroundTruth, Representation, check_codes, posterior_mean
from .information import mig, mig_from, modularity_explicitness, modularity_from
from .interventional import beta_vae_score, factor_vae_score
from .periodic import periodic_codes_of
from .sap import sap, sap_from
from .unsupervised import unsupervised_scores


@dataclass(frozen=True)
class Metric:
    """A metric: its function, whether it needs factors, and its presets' settings (the
    ``study`` preset is ``standard`` updated with ``study_changes``)."""

    function: Callable[..., dict[str, float]]
    supervised: bool = True
    standard: dict = field(default_factory=dict)
    fast: dict = field(default_factory=dict)
    study_changes: dict = field(default_factory=dict)

    def settings(self, preset: str) -> dict:
        """The keyword arguments of ``function`` under ``preset``."""
        if preset not in PRESETS:
            raise UnknownNameError("metric preset", preset, list(PRESETS))
        if preset == "fast":
            return dict(self.fast)
        return {**self.standard, **(self.study_changes if preset == "study" else {})}


PRESETS = ("standard", "fast", "study")
"""The metric presets: the study's sizes, a tenth of them, the study's sizes and DCI trees."""


METRICS: dict[str, Metric] = {
    "beta_vae": Metric(
        beta_vae_score,
        standard={"num_train": 10_000, "num_eval": 5_000},
        fast={"num_train": 1_000, "num_eval": 500},
    ),
    "factor_vae": Metric(
        factor_vae_score,
        standard={"num_train": 10_000, "num_eval": 5_000, "num_variance_estimate": 10_000},
        fast={"num_train": 1_000, "num_eval": 500, "num_variance_estimate": 2_000},
    ),
    "mig": Metric(mig, standard={"num_train": 10_000}, fast={"num_train": 2_000}),
    "dci": Metric(
        dci,
        standard={"num_train": 10_000, "num_test": 5_000, "n_jobs": -1},
        fast={"num_train": 1_000, "num_test": 500, "n_jobs": -1},
        study_changes={"trees": "sklearn"},
    ),
    "sap": Metric(
        sap,
        standard={"num_train": 10_000, "num_test": 5_000},
        fast={"num_train": 1_000, "num_test": 500},
    ),
    "modularity": Metric(
        modularity_explicitness,
        standard={"num_train": 10_000, "num_test": 5_000},
        fast={"num_train": 2_000, "num_test": 1_000},
    ),
    "unsupervised": Metric(
        unsupervised_scores,
        supervised=False,
        standard={"num_train": 10_000},
        fast={"num_train": 2_000},
    ),
}
"""The metrics by name."""


def metric_names(names: str | Sequence[str]) -> list[str]:
    """``"all"`` or a list of names, checked."""
    if names == "all":
        return list(METRICS)
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in METRICS:
            raise UnknownNameError("metric", name, list(METRICS))
    return names


def evaluate_metrics(
    dataset: FactorDataset,
    represent: Representation,
    names: str | Sequence[str] = "all",
    preset: str = "standard",
    seed: int = 0,
    periodic_codes: Sequence[bool] | None = None,
) -> dict[str, float]:
    """The named metrics of ``represent`` on ``dataset`` as one flat dict. ``periodic_codes``
    flags the codes that are angles (``periodic_codes_of(model)`` for circle and torus latents):
    the metrics then use the periodic-aware versions of ``analysis.metrics.periodic``."""
    if preset not in PRESETS:
        raise UnknownNameError("metric preset", preset, list(PRESETS))
    chosen = metric_names(names)
    scores: dict[str, float] = {}
    gt = None
    for name in chosen:
        metric = METRICS[name]
        settings = metric.settings(preset)
        if periodic_codes is not None:
            settings["periodic"] = np.asarray(periodic_codes, dtype=bool)
        if metric.supervised:
            gt = gt or GroundTruth(dataset, metric=name)
            scores.update(metric.function(gt, represent, seed=seed, **settings))
        else:
            scores.update(metric.function(dataset, represent, seed=seed, **settings))
    return scores


def metrics_callback(
    dataset: FactorDataset,
    names: str | Sequence[str] = ("mig", "sap"),
    every: int = 1000,
    preset: str = "fast",
    seed: int = 0,
):
    """A training callback that scores the model being trained every ``every`` steps (and at the
    end) with the named metrics on its posterior mean; records go to ``callback.records`` and to
    ``metrics.jsonl`` as split ``"metrics"``. The fast preset keeps it cheap."""
    from ...train.callbacks import PeriodicCallback

    chosen = metric_names(names)

    def score(model) -> dict[str, float]:
        represent = posterior_mean(model, seed=seed)
        return evaluate_metrics(dataset, represent, chosen, preset, seed, periodic_codes_of(model))

    return PeriodicCallback(score, every, split="metrics")


__all__ = [
    "METRICS",
    "PRESETS",
    "GroundTruth",
    "Metric",
    "beta_vae_score",
    "check_codes",
    "dci",
    "dci_from_importance",
    "evaluate_metrics",
    "factor_vae_score",
    "metric_names",
    "metrics_callback",
    "mig",
    "mig_from",
    "modularity_explicitness",
    "modularity_from",
    "periodic_codes_of",
    "posterior_mean",
    "sap",
    "sap_from",
    "unsupervised_scores",
]
