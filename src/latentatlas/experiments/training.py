"""Train one model of a reproduction in memory: the run config, the loss records and the time."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from ..data.base import FactorDataset
from ..train.callbacks import Callback, History
from ..train.run import RunConfig, train_run


def train_in_memory(
    model_spec: dict,
    data_spec: dict,
    dataset: FactorDataset,
    train: dict[str, Any],
    seed: int,
    callbacks: Sequence[Callback] = (),
) -> tuple[torch.nn.Module, list[dict[str, float]], float]:
    """Train ``model_spec`` on the already built ``dataset`` (described by ``data_spec`` in the
    run config) with trainer settings ``train``, logging every step unless ``train`` says
    otherwise; extra ``callbacks`` run beside the record keeping; no run folder.

    Returns the model in eval mode, every training record (``loss`` and the model's terms) and
    the training time in seconds.
    """
    history = History()
    config = RunConfig.from_dict(
        {
            "dataset": data_spec,
            "model": model_spec,
            "train": {"log_every": 1, **train},
            "seed": seed,
        }
    )
    t0 = time.perf_counter()
    model, _ = train_run(config, None, callbacks=[history, *callbacks], dataset=dataset)
    model.eval()
    return model, history.records, time.perf_counter() - t0
