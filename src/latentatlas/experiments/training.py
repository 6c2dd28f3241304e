"""Train one model of a reproduction: the run config, the loss records and the time.

The model goes where the experiment's :class:`~latentatlas.experiments.model_store.ModelStore`
puts it: a run folder under the reproduction's output (reused or resumed when the command is
run again), or memory when the experiment runs without an output folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..data.base import FactorDataset
from ..train.callbacks import Callback
from .model_store import current_store


def train_model(
    model_spec: dict,
    data_spec: dict,
    dataset: FactorDataset,
    train: dict[str, Any],
    seed: int,
    callbacks: Sequence[Callback] = (),
    label: str | None = None,
) -> tuple[torch.nn.Module, list[dict[str, float]], float]:
    """Train ``model_spec`` on the already built ``dataset`` (described by ``data_spec`` in the
    run config) with trainer settings ``train``, logging every step unless ``train`` says
    otherwise; extra ``callbacks`` run beside the record keeping. ``label`` names the model's
    run folder (default: the model's name).

    Returns the model in eval mode, every training record (``loss`` and the model's terms) and
    the seconds spent training it in this invocation (0-ish for a reused model).
    """
    config = {
        "dataset": data_spec,
        "model": model_spec,
        "train": {"log_every": 1, **train},
        "seed": seed,
    }
    trained = current_store().train(config, dataset, callbacks, label)
    return trained.model, trained.records, trained.seconds
