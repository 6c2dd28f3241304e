"""Train and resume a run: the one ``train_run`` and ``resume_run`` of the library.

Everything that trains a run folder calls these two (the CLI's ``train``, the demo, sweeps,
reproductions' model store, the docs' examples). They add two steps to the run folder that
:mod:`latentatlas.train.run` writes (:func:`~latentatlas.train.run.fit_config`, which trains
exactly what a config says and knows nothing of analyses, the layer above it):

- **model settings chosen from the data**, a named step: ``defaults="data"`` (the default)
  fills what the config's model leaves out from the data (conv networks, 10 latents and a
  Bernoulli likelihood for images in [0, 1]: :mod:`latentatlas.train.data_defaults`; logged and
  saved in config.json); a preset name (``"mlp"``, ``"conv"``, ``"locatello"``) names the
  settings instead; ``None`` trains the config as written (the models' own defaults fill the
  rest, as for the thesis's MLPs);
- **the periodic evaluation** of :mod:`latentatlas.analysis.evaluation` (eq. 5.7-5.10 on the
  dataset's evaluation set) every ``train.eval_every`` steps, so ``latentatlas.train_run(config,
  out)`` with ``train.eval_every: 100`` logs ``eval`` records to ``metrics.jsonl`` exactly as
  ``latent-atlas train --set train.eval_every=100`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .data.base import FactorDataset
from .data.recorded import as_factor_dataset
from .errors import ConfigError
from .train import run as runs
from .train.callbacks import Callback, PeriodicCallback
from .train.trainer import FitResult

log = logging.getLogger(__name__)

DEFAULT_EVAL_SAMPLES = 100
"""Posterior samples per example of the periodic evaluation (the CLI's ``--eval-samples``)."""


def evaluation_callback(dataset: FactorDataset, samples: int, every: int) -> PeriodicCallback:
    """Evaluate on ``dataset``'s evaluation set every ``every`` steps (0: at the end only)."""
    from .analysis.evaluation import evaluation_metrics

    return PeriodicCallback(evaluation_metrics(dataset.evaluation_set().x, samples), every)


def _wanted(evaluate: bool | None, every: int) -> bool:
    return every > 0 if evaluate is None else evaluate


def train_run(
    config: runs.RunConfig,
    run_dir: str | Path | None,
    callbacks: Sequence[Callback] = (),
    dataset: FactorDataset | torch.utils.data.Dataset | None = None,
    *,
    defaults: str | None = "data",
    evaluate: bool | None = None,
    eval_samples: int = DEFAULT_EVAL_SAMPLES,
    record_data: bool = True,
) -> tuple[torch.nn.Module, FitResult]:
    """Train ``config``'s model on its data (or ``dataset``) and write the run folder
    ``run_dir`` (None: train in memory only); returns the model and the fit's result.

    ``defaults``: ``"data"`` chooses the model settings the config leaves out from the data (see
    the module docstring), a preset name (``"mlp"``, ``"conv"``, ``"locatello"``) names them,
    None trains the config as written. ``evaluate``: None (default) evaluates every
    ``train.eval_every`` steps when it is > 0; True also at the end when it is 0 (as the CLI);
    False never. A ``dataset`` the config did not build is recorded in the run folder (unless
    ``record_data=False``: the caller passes it again on resume). ``callbacks`` run after the
    evaluation. Refuses a folder that holds a run or anything else (:func:`resume_run`
    continues one)."""
    check_defaults(defaults)
    extra: list[Callback] = []
    if dataset is not None:
        dataset = as_factor_dataset(dataset)
    wanted = _wanted(evaluate, config.train.eval_every)
    if dataset is None and (wanted or defaults is not None):
        if run_dir is not None:
            runs.check_new_run_dir(run_dir)  # before building data, which may take a while
        dataset = runs.build_dataset(config)
    config = with_model_defaults(config, dataset, defaults)
    if wanted:
        extra.append(evaluation_callback(dataset, eval_samples, config.train.eval_every))
    return runs.fit_config(config, run_dir, [*extra, *callbacks], dataset, record_data)


def check_defaults(defaults: str | None) -> None:
    """Refuse a ``defaults`` that is not ``"data"``, a preset name or None."""
    from .train.data_defaults import PRESETS

    if defaults is not None and defaults != "data" and defaults not in PRESETS:
        raise ConfigError(
            f"defaults: expected 'data', a preset ({', '.join(PRESETS)}) or None, got {defaults!r}"
        )


def with_model_defaults(
    config: runs.RunConfig, dataset: FactorDataset, defaults: str | None, announce: bool = True
) -> runs.RunConfig:
    """``config`` with its model's left-out settings chosen by ``defaults`` (see
    :func:`train_run`); ``announce``: log what the data chose (a warning)."""
    from .train.data_defaults import apply_preset, choose_model_defaults

    if defaults is None:
        return config
    if defaults != "data":
        shape = tuple(dataset.observation_shape)
        return config.replace(model=apply_preset(defaults, dict(config.model), shape))
    choice = choose_model_defaults(dict(config.model), dataset)
    if not choice.chosen:
        return config
    if announce:
        log.warning("%s", choice.describe())
    return config.replace(model=choice.model)


def resume_run(
    run_dir: str | Path,
    overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    dataset: FactorDataset | None = None,
    *,
    evaluate: bool | None = None,
    eval_samples: int = DEFAULT_EVAL_SAMPLES,
) -> tuple[torch.nn.Module, FitResult]:
    """Continue the run in ``run_dir`` from its last checkpoint (:func:`latentatlas.train.run.\
resume_fit`: ``overrides`` change ``train`` settings only; the result equals an uninterrupted
    run), with the evaluation of :func:`train_run` at the run's ``eval_every`` (or the new one
    when ``overrides`` change it). The model settings are the run's, as saved."""
    every = runs.resume_config(run_dir, overrides).train.eval_every
    extra: list[Callback] = []
    if _wanted(evaluate, every):
        dataset = dataset if dataset is not None else runs.load_dataset(run_dir)
        extra.append(evaluation_callback(dataset, eval_samples, every))
    return runs.resume_fit(run_dir, overrides, [*extra, *callbacks], dataset)
