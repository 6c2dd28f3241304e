"""Disentanglement metrics: pure functions of a dataset with factors and a representation.

``evaluate_metrics(dataset, represent, names="all", preset="standard", seed=0)`` returns one
flat dict of named scores. The presets (:data:`PRESETS`):

* ``"standard"``: the sample sizes of Locatello et al. (2019) (10 000 training points, 5 000 for
  evaluation, batches of 64), DCI's trees by LightGBM (~30× faster, scores within about 0.07
  of the study's trees);
* ``"study"``: the same sizes with DCI by the study's estimator, scikit-learn's gradient
  boosting (minutes), and SAP classifying every factor as the study's code does; the other
  metrics as in ``standard`` (their deviations from the study's code are in docs/metrics.md);
* ``"fast"``: a tenth of the sizes, for use during training.

``represent`` is ``posterior_mean(model)`` by default (``sample=True`` for
one posterior sample). Each metric module's docstring gives its definition.

**Sizes and splits.** ``sizes`` changes the preset's sample sizes (``num_train``, ``num_test``,
``batch_size``) for every metric that has them. On a dataset of rows (files, arrays: not
rendered), training and test points are distinct rows (:class:`GroundTruth`); when a preset's
sizes need more distinct rows than the dataset holds they are fitted to it (two thirds for
training, the rest for testing; logged), and sizes given in ``sizes`` that do not fit are
refused, naming sizes that do. ``details``, when given a dict, receives per metric the sizes
used, the number of rows, how points were drawn, whether a row was used twice, and the seed:
what ``disentanglement.json`` records.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ...data.base import FactorDataset
from ...errors import ConfigError, UnknownNameError
from .dci import dci, dci_from_importance
from .dci_es import dci_es, dci_es_from
from .ground_truth import (
    GroundTruth,
    Representation,
    accepts_codes,
    check_codes,
    codes_dataset,
    identity,
    posterior_mean,
)
from .infomec import infomec, infomec_from
from .information import mig, mig_from, modularity_explicitness, modularity_from
from .information_gaps import dcimig, jemmig, mig_sup
from .interventional import beta_vae_score, factor_vae_score, z_max_var
from .irs import irs, irs_from
from .periodic import periodic_codes_of
from .sap import sap, sap_from
from .unsupervised import unsupervised_scores

_log = logging.getLogger(__name__)


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
        study_changes={"classify": "all"},
    ),
    "modularity": Metric(
        modularity_explicitness,
        standard={"num_train": 10_000, "num_test": 5_000},
        fast={"num_train": 2_000, "num_test": 1_000},
    ),
    "irs": Metric(irs, standard={"num_train": 10_000}, fast={"num_train": 1_000}),
    "mig_sup": Metric(mig_sup, standard={"num_train": 10_000}, fast={"num_train": 2_000}),
    "jemmig": Metric(jemmig, standard={"num_train": 10_000}, fast={"num_train": 2_000}),
    "dcimig": Metric(dcimig, standard={"num_train": 10_000}, fast={"num_train": 2_000}),
    "dci_es": Metric(
        dci_es,
        standard={"num_train": 10_000, "num_test": 5_000, "n_jobs": -1},
        fast={"num_train": 1_000, "num_test": 500, "n_jobs": -1},
    ),
    "infomec": Metric(infomec, standard={"num_train": 10_000}, fast={"num_train": 2_000}),
    "z_max_var": Metric(
        z_max_var,
        standard={"num_train": 800, "num_eval": 800, "batch_size": 200},
        fast={"num_train": 200, "num_eval": 200, "batch_size": 200},
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
        if name == "udr":  # a ranking of models, not a score of one representation
            raise ConfigError(
                "metric 'udr' compares several models: use latent-atlas udr RUN_DIR RUN_DIR ..., "
                "or udr: lasso in a sweep file"
            )
        if name not in METRICS:
            raise UnknownNameError("metric", name, list(METRICS))
    return names


SIZES = ("num_train", "num_test", "num_eval", "num_variance_estimate", "batch_size")
"""The settings of a metric that are sample sizes (``sizes`` may change the first, second and
last)."""

DISTINCT = {
    "mig": ("num_train",),
    "dci": ("num_train", "num_test"),
    "sap": ("num_train", "num_test"),
    "modularity": ("num_train", "num_test"),
    "irs": ("num_train",),
    "mig_sup": ("num_train",),
    "jemmig": ("num_train",),
    "dcimig": ("num_train",),
    "dci_es": ("num_train", "num_test"),
    "infomec": ("num_train",),
    "unsupervised": ("num_train",),
}
"""The metrics whose points are distinct rows of a dataset of rows, and the sizes that count."""


def check_sizes(sizes: Mapping[str, Any]) -> dict[str, int]:
    """``sizes`` (what changes a preset's ``num_train``, ``num_test``, ``batch_size``) as a
    dict, or a :class:`ConfigError` for another key or a value that is not a positive int."""
    given = dict(sizes)
    unknown = set(given) - {"num_train", "num_test", "batch_size"}
    if unknown or any(
        not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in given.values()
    ):
        raise ConfigError(
            f"sizes: expected positive integers for num_train, num_test or batch_size, got {given}"
        )
    return given


def fit_sizes(
    name: str, settings: dict, rows: int, given: Mapping[str, int], preset: str
) -> tuple[dict, str | None]:
    """``settings`` of metric ``name`` with the sizes of :data:`DISTINCT` fitted to ``rows``
    distinct rows when they need more, and what was changed (None when nothing). Sizes the
    caller ``given`` are kept and the others take the rows left (both free: two thirds for
    training, the rest for testing); given sizes that do not fit are a :class:`ConfigError`
    naming sizes that do."""
    keys = DISTINCT.get(name, ())
    need = sum(settings[k] for k in keys)
    if not keys or need <= rows:
        return settings, None
    asked = " + ".join(f"{k} {settings[k]}" for k in keys)
    free = [k for k in keys if k not in given]
    left = rows - sum(settings[k] for k in keys if k in given)
    split = {"num_train": rows * 2 // 3, "num_test": rows - rows * 2 // 3}
    if not free or left < len(free):
        fits = {"num_train": rows} if len(keys) == 1 else split
        raise ConfigError(
            f"{name}: {asked} need {need} distinct rows and the dataset has {rows}; sizes that "
            "fit: " + ", ".join(f"{k}={v}" for k, v in fits.items())
        )
    fit = split if len(free) == 2 else {free[0]: min(settings[free[0]], left)}
    fitted = {**settings, **fit}
    return fitted, (
        f"the {preset!r} preset's {asked} need {need} distinct rows, the dataset has {rows}: "
        + " + ".join(f"{k} {fitted[k]}" for k in keys)
    )


def evaluate_metrics(
    dataset: FactorDataset | np.ndarray | torch.Tensor,
    represent: Representation | Mapping | np.ndarray | torch.Tensor | None,
    names: str | Sequence[str] = "all",
    preset: str = "standard",
    seed: int = 0,
    periodic_codes: Sequence[bool] | None = None,
    periodic_factors: Collection[str] = (),
    sizes: Mapping[str, int] | None = None,
    details: dict | None = None,
) -> dict[str, float]:
    """The named metrics of ``represent`` on ``dataset`` as one flat dict. ``periodic_codes``
    flags the codes that are angles (``periodic_codes_of(model)`` for circle and torus latents):
    the metrics then use the periodic-aware versions of ``analysis.metrics.periodic``.
    ``sizes`` and ``details``: the module docstring.

    Codes you already have: ``evaluate_metrics(codes, factors)`` with codes ``(n, d)`` and
    factors a mapping name → ``(n,)`` or an array ``(n, k)`` (NumPy or tensors;
    ``periodic_factors`` names the angles; :func:`codes_dataset`). A metric that draws groups of
    rows (BetaVAE, FactorVAE) from fewer rows than it needs gives a warning: rows repeat."""
    if preset not in PRESETS:
        raise UnknownNameError("metric preset", preset, list(PRESETS))
    if not isinstance(dataset, FactorDataset):
        factors = represent if represent is not None else None
        dataset, represent = codes_dataset(dataset, factors, periodic_factors), identity
    chosen = metric_names(names)
    given = check_sizes(sizes or {})
    rendered = type(dataset).render is not FactorDataset.render
    scores: dict[str, float] = {}
    gt = None
    t0 = time.perf_counter()
    for done, name in enumerate(chosen):
        elapsed = time.perf_counter() - t0
        pace = (
            f"; {elapsed:.0f} s so far, about {elapsed / done * (len(chosen) - done):.0f} s "
            "left at that pace"
            if done
            else ""
        )
        _log.info("metric %d of %d: %s (%s preset)%s", done + 1, len(chosen), name, preset, pace)
        metric = METRICS[name]
        settings = metric.settings(preset)
        settings.update({k: v for k, v in given.items() if k in settings})
        fitted = None
        if not rendered:
            settings, fitted = fit_sizes(name, settings, len(dataset), given, preset)
            if fitted:
                _log.info("%s: %s", name, fitted)
        if periodic_codes is not None:
            settings["periodic"] = np.asarray(periodic_codes, dtype=bool)
        if metric.supervised:
            gt = gt or GroundTruth(dataset, metric=name)
            gt.repeated = False
            scores.update(metric.function(gt, represent, seed=seed, **settings))
        else:
            scores.update(metric.function(dataset, represent, seed=seed, **settings))
        drawn = _drawn(name, settings, dataset, rendered, gt, fitted, seed, preset)
        if drawn["rows_repeated"] and name not in DISTINCT:
            _warn_repeated(name, drawn, bool(given))
        if details is not None:
            details[name] = drawn
    return scores


def _drawn(name, settings, dataset, rendered, gt, fitted, seed, preset) -> dict:
    """What :func:`evaluate_metrics` records of one metric's points (see the module doc)."""
    used = {k: int(settings[k]) for k in SIZES if k in settings}
    if rendered:
        how, repeated = "factors sampled and rendered afresh", False
    elif name in DISTINCT:
        how = "distinct rows (training and test points never share a row)"
        repeated = bool(gt.repeated) if METRICS[name].supervised else False
    else:
        how = "rows drawn with replacement (groups of rows sharing a factor value)"
        drawn = sum(v for k, v in used.items() if k.startswith("num_"))
        repeated = drawn > len(dataset)
    return {
        "preset": preset,
        "sizes": used,
        "rows": None if rendered else len(dataset),
        "points": how,
        "rows_repeated": repeated,
        "fitted": fitted,
        "seed": seed,
    }


def _warn_repeated(name: str, drawn: dict, sized: bool) -> None:
    """Warn that metric ``name`` used rows twice (its record ``drawn`` says so too)."""
    points = sum(v for k, v in drawn["sizes"].items() if k.startswith("num_"))
    preset = drawn["preset"]
    whose = f"the {preset!r} preset" + (" with the sizes given" if sized else "")
    smaller = "use preset='fast', or " if preset != "fast" else ""
    warnings.warn(
        f"{whose} draws {points} points for {name} from {drawn['rows']} rows, so rows repeat "
        f"({name}; recorded in details). To avoid it, {smaller}give smaller sizes "
        "(sizes={'num_train': ..., 'batch_size': ...}; --num-train, --batch-size on the "
        "command line).",
        RepeatedRowsWarning,
        stacklevel=3,
    )


class RepeatedRowsWarning(UserWarning):
    """A metric draws more points than the dataset holds."""


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
    "RepeatedRowsWarning",
    "accepts_codes",
    "beta_vae_score",
    "check_codes",
    "codes_dataset",
    "dci",
    "dci_es",
    "dci_es_from",
    "dci_from_importance",
    "dcimig",
    "evaluate_metrics",
    "factor_vae_score",
    "identity",
    "infomec",
    "infomec_from",
    "irs",
    "irs_from",
    "jemmig",
    "metric_names",
    "metrics_callback",
    "mig",
    "mig_from",
    "mig_sup",
    "modularity_explicitness",
    "modularity_from",
    "periodic_codes_of",
    "posterior_mean",
    "sap",
    "sap_from",
    "unsupervised_scores",
    "z_max_var",
]
