"""Train and resume a run as the command line does: the run folder plus the periodic evaluation.

:mod:`latentatlas.train.run` writes run folders and knows nothing of analyses (the training layer
sits below them). The command line adds the evaluation of :mod:`latentatlas.analysis.evaluation`
(eq. 5.7-5.10 on the dataset's evaluation set) every ``train.eval_every`` steps; these two
functions do the same for Python callers, so ``latentatlas.train_run(config, out)`` with
``train.eval_every: 100`` logs ``eval`` records to ``metrics.jsonl`` exactly as
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
    evaluate: bool | None = None,
    eval_samples: int = DEFAULT_EVAL_SAMPLES,
    record_data: bool = True,
    preset: str | None = None,
    data_defaults: bool = True,
) -> tuple[torch.nn.Module, FitResult]:
    """:func:`latentatlas.train.run.train_run` with the evaluation every ``train.eval_every``
    steps and at the end. ``evaluate``: None (default) evaluates when ``eval_every`` > 0; True
    also at the end when it is 0 (as the CLI); False never. A ``dataset`` the config did not
    build is recorded in the run folder (unless ``record_data=False``).

    Model settings the config leaves out are chosen from the data (convolutional networks for
    images, a latent size of 10, a Bernoulli likelihood for data in [0, 1]:
    :mod:`latentatlas.train.data_defaults`; the choice is logged and saved in config.json)
    unless ``data_defaults=False``; ``preset`` (``mlp``, ``conv``, ``locatello``) names the
    model settings instead."""
    from .train.data_defaults import apply_preset, choose_model_defaults

    extra: list[Callback] = []
    if dataset is not None:
        dataset = as_factor_dataset(dataset)
    wanted = _wanted(evaluate, config.train.eval_every)
    if dataset is None and (wanted or preset or data_defaults):
        if run_dir is not None:
            runs.check_new_run_dir(run_dir)  # before building data, which may take a while
        dataset = runs.build_dataset(config)
    if preset is not None:
        shape = tuple(dataset.observation_shape)  # type: ignore[union-attr]
        config = config.replace(model=apply_preset(preset, dict(config.model), shape))
    elif data_defaults:
        choice = choose_model_defaults(dict(config.model), dataset)
        if choice.chosen:
            log.warning("%s", choice.describe())
            config = config.replace(model=choice.model)
    if wanted:
        extra.append(evaluation_callback(dataset, eval_samples, config.train.eval_every))
    return runs.train_run(config, run_dir, [*extra, *callbacks], dataset, record_data)


def resume_run(
    run_dir: str | Path,
    overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    dataset: FactorDataset | None = None,
    *,
    evaluate: bool | None = None,
    eval_samples: int = DEFAULT_EVAL_SAMPLES,
) -> tuple[torch.nn.Module, FitResult]:
    """:func:`latentatlas.train.run.resume_run` with the evaluation of :func:`train_run` (at the
    run's ``eval_every``, or the new one when ``overrides`` change it)."""
    every = runs.resume_config(run_dir, overrides).train.eval_every
    extra: list[Callback] = []
    if _wanted(evaluate, every):
        dataset = dataset if dataset is not None else runs.load_dataset(run_dir)
        extra.append(evaluation_callback(dataset, eval_samples, every))
    return runs.resume_run(run_dir, overrides, [*extra, *callbacks], dataset)
