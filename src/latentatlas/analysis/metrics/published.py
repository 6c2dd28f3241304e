"""Published scores: read the result files of disentanglement_lib (Locatello et al. 2019).

The study's per-model scores are not printed in the paper (its figures show distributions); they
are in the result files disentanglement_lib writes for every trained model — also inside the
archives of its pretrained models. Two layouts are read:

* a **folder** searched for ``.../results/aggregate/evaluation.json``: one file per (model,
  representation, metric), a flat JSON object whose keys are namespaced by pipeline step —
  ``train_config.<gin binding>`` (values as gin writes them, strings quoted: ``"'beta_vae'"``),
  ``postprocess_config.…``, ``evaluation_config.…`` and ``evaluation_results.<score>``;
* one **aggregated JSON** file (``dlib_aggregate_results``: a pandas frame written column by
  column, ``{column: {row: value}}``), or a JSON list of such flat objects.

Each file's scores are mapped to this library's names (:data:`SCORE_NAMES`) and gathered per
trained model (model name, hyper-parameter, seed) into :class:`PublishedScores`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import DataError

SCORE_NAMES: dict[str, dict[str, str]] = {
    "beta_vae_sklearn": {"eval_accuracy": "beta_vae", "train_accuracy": "beta_vae_train"},
    "factor_vae_score": {
        "eval_accuracy": "factor_vae",
        "train_accuracy": "factor_vae_train",
        "num_active_dims": "factor_vae_active_dims",
    },
    "mig": {"discrete_mig": "mig"},
    "dci": {
        "disentanglement": "dci_disentanglement",
        "completeness": "dci_completeness",
        "informativeness_train": "dci_informativeness_train",
        "informativeness_test": "dci_informativeness_test",
    },
    "sap_score": {"SAP_score": "sap"},
    "modularity_explicitness": {
        "modularity_score": "modularity",
        "explicitness_score_train": "explicitness_train",
        "explicitness_score_test": "explicitness_test",
    },
    "unsupervised_metrics": {
        "gaussian_total_correlation": "gaussian_total_correlation",
        "gaussian_wasserstein_correlation": "gaussian_wasserstein_correlation",
        "mutual_info_score": "mutual_info_score",
    },
}
"""disentanglement_lib's evaluation function → {its result key: this library's score name}."""

HYPER_BINDINGS: dict[str, str] = {
    "beta_vae": "vae.beta",
    "annealed_vae": "annealed_vae.c_max",
    "factor_vae": "factor_vae.gamma",
    "dip_vae_i": "dip_vae.lambda_od",
    "dip_vae_ii": "dip_vae.lambda_od",
    "beta_tc_vae": "beta_tc_vae.beta",
}
"""The swept hyper-parameter of each of the study's models (its ``unsupervised_study_v1``)."""

RESULT_FILE = "evaluation.json"

_STUDY_NAMES = {
    "beta_vae": ("beta_vae", "beta"),
    "annealed_vae": ("annealed_vae", "c_max"),
    "factor_vae": ("factor_vae", "gamma"),
    "beta_tcvae": ("beta_tc_vae", "beta"),
}


def study_name(model: str, hyper: dict[str, Any]) -> tuple[str, str] | None:
    """The study's name of one of this library's models with hyper-parameters ``hyper`` and the
    hyper-parameter (this library's name) its result files record (:data:`HYPER_BINDINGS`), or
    None for a model the study did not train (DIP-VAE's type picks ``dip_vae_i`` or ``_ii``)."""
    if model == "dip_vae":
        return f"dip_vae_{hyper.get('dip_type', 'i')}", "lambda_od"
    return _STUDY_NAMES.get(model)


@dataclass
class PublishedScores:
    """Scores of the study's trained models: ``models[(hyper, seed)] = {score: value}`` for one
    model name, data set and representation."""

    model: str
    dataset: str
    representation: str
    source: str
    models: dict[tuple[float, int], dict[str, float]] = field(default_factory=dict)

    def of(self, hyper: float) -> list[dict[str, float]]:
        """The scores of each seed of one hyper-parameter value, by seed."""
        return [s for (h, _), s in sorted(self.models.items()) if h == hyper]

    def values(self, hyper: float, score: str) -> list[float]:
        """One score over the seeds of one hyper-parameter value."""
        return [s[score] for s in self.of(hyper) if score in s]

    @property
    def hypers(self) -> list[float]:
        return sorted({h for h, _ in self.models})


def _unquote(value: Any) -> str:
    """A gin value as a plain string (``"'beta_vae'"`` → ``beta_vae``, ``"@mig"`` → ``mig``)."""
    return str(value).strip().strip("'\"").lstrip("@").removesuffix("()")


def _records_of_file(path: Path) -> Iterator[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not a readable JSON file of disentanglement_lib ({err})") from err
    if isinstance(data, list):
        yield from (r for r in data if isinstance(r, dict))
    elif isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        rows: dict[str, dict[str, Any]] = {}  # pandas' column-wise frame: {column: {row: value}}
        for column, cells in data.items():
            for row, value in cells.items():
                rows.setdefault(row, {})[column] = value
        yield from rows.values()
    elif isinstance(data, dict):
        yield data
    else:
        raise DataError(f"{path}: expected a JSON object or list of disentanglement_lib results")


def _records(path: Path) -> Iterator[dict[str, Any]]:
    if path.is_dir():
        files = sorted(p for p in path.rglob(RESULT_FILE) if p.parent.name == "aggregate")
        if not files:
            raise DataError(
                f"{path}: no disentanglement_lib result files (…/results/aggregate/{RESULT_FILE})"
            )
        for file in files:
            yield from _records_of_file(file)
    elif path.is_file():
        yield from _records_of_file(path)
    else:
        raise DataError(f"{path}: no such file or folder of disentanglement_lib results")


def _number(value: Any) -> float | None:
    try:
        number = float(_unquote(value))
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def load_published(
    path: str | Path,
    model: str = "beta_vae",
    dataset: str = "dsprites_full",
    representation: str = "mean",
) -> PublishedScores:
    """The scores of ``model`` on ``dataset`` (disentanglement_lib's names) for the posterior
    ``representation`` (``mean`` or ``sampled``) found under ``path``, per (hyper-parameter,
    seed). Raises :class:`DataError` for a missing or unreadable path and when nothing matches
    (the message counts what was found instead)."""
    if model not in HYPER_BINDINGS:
        raise DataError(f"model {model!r}: expected one of {', '.join(HYPER_BINDINGS)}")
    path = Path(path)
    published = PublishedScores(model, dataset, representation, str(path))
    seen: Counter[str] = Counter()  # model / data set / representation of every record
    skipped: Counter[str] = Counter()  # why matching records gave no score
    binding = f"train_config.{HYPER_BINDINGS[model]}"
    for record in _records(path):
        found = (
            _unquote(record.get("train_config.model.name", "?")),
            _unquote(record.get("train_config.dataset.name", "?")),
            _unquote(record.get("postprocess_config.postprocess.postprocess_fn", "?")),
        )
        seen[" / ".join(found)] += 1
        if found != (model, dataset, f"{representation}_representation"):
            continue
        hyper = _number(record.get(binding))
        seed = _number(record.get("train_config.model.random_seed"))
        function = _unquote(record.get("evaluation_config.evaluation.evaluation_fn", "?"))
        names = SCORE_NAMES.get(function)
        if hyper is None or seed is None or names is None:
            skipped[
                f"no {binding}"
                if hyper is None
                else "no train_config.model.random_seed"
                if seed is None
                else f"evaluation function {function!r} not read"
            ] += 1
            continue
        scores = published.models.setdefault((hyper, int(seed)), {})
        for key, name in names.items():
            value = _number(record.get(f"evaluation_results.{key}"))
            if value is None:
                continue
            if name in scores and scores[name] != value:
                raise DataError(
                    f"{path}: two different {name} scores ({scores[name]} and {value}) for "
                    f"{model} with {HYPER_BINDINGS[model]} = {hyper:g}, seed {int(seed)}: give "
                    "one evaluation per model"
                )
            scores[name] = value
    published.models = {k: v for k, v in published.models.items() if v}
    if not published.models:
        found = "; ".join(f"{k}: {n}" for k, n in sorted(seen.items())) or "none"
        why = "; ".join(f"{k}: {n}" for k, n in sorted(skipped.items()))
        raise DataError(
            f"{path}: no scores of {model} on {dataset} ({representation} representation); "
            f"records found (model / data set / representation: count): {found}"
            + (f"; matching records left out ({why})" if why else "")
        )
    return published
