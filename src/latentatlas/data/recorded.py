"""Datasets built in Python: adapted from ``torch.utils.data.Dataset`` and recorded in a run folder.

``train_run(config, out, dataset=ds)`` trains on a dataset the config cannot rebuild (a user's
own, labelled in Python). So that ``load_dataset``, ``evaluate`` and ``--resume`` still work, the
run records it (``train.run``): observations and factor values in ``data.safetensors``,
the factor space in ``factor_space.json``, in the folder ``data/`` of the run, and its config
names the ``recorded`` dataset that reads them back. :func:`as_factor_dataset` turns any
``torch.utils.data.Dataset`` (items ``x`` or ``(x, factors, ...)``, a ``TensorDataset`` too)
into an in-memory dataset the Trainer batches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import Config, field
from ..errors import DataError
from ..registry import DATASETS
from .base import FactorDataset, InMemoryDataset
from .factors import FactorSpace

DATA_FILE = "data.safetensors"
SPACE_FILE = "factor_space.json"
BUILT_FROM = "_latent_atlas_spec"
"""Attribute :func:`mark_built` sets on a dataset built from a config spec."""


def mark_built(dataset: FactorDataset, spec: dict) -> FactorDataset:
    """Remember the spec a dataset was built from (a run need not record it)."""
    try:
        setattr(dataset, BUILT_FROM, dict(spec))
    except AttributeError:
        pass
    return dataset


def built_from(dataset: FactorDataset, spec: dict) -> bool:
    """Whether ``dataset`` was built from ``spec`` (so the config rebuilds it)."""
    return getattr(dataset, BUILT_FROM, None) == dict(spec)


def as_factor_dataset(data: Any) -> FactorDataset:
    """A :class:`FactorDataset` as it is; a ``torch.utils.data.Dataset`` stacked into an
    :class:`InMemoryDataset`: items ``x`` or tuples ``(x, factors, ...)`` (factors optional,
    numbers per item; further entries are ignored)."""
    if isinstance(data, FactorDataset):
        return data
    if not isinstance(data, torch.utils.data.Dataset) or not hasattr(data, "__len__"):
        raise DataError(
            "dataset: expected a latent-atlas dataset or a sized torch.utils.data.Dataset, got "
            f"{type(data).__name__}"
        )
    if len(data) == 0:
        raise DataError("dataset: the torch dataset is empty")
    xs, fs = [], []
    for i in range(len(data)):
        item = data[i]
        if isinstance(item, (tuple, list)):
            xs.append(torch.as_tensor(item[0]))
            if len(item) > 1:
                fs.append(torch.as_tensor(item[1], dtype=torch.float64).reshape(-1))
        else:
            xs.append(torch.as_tensor(item))
    if fs and len(fs) != len(xs):
        raise DataError("dataset: some items have factors and others not")
    try:
        x = torch.stack(xs).float()
        factors = torch.stack(fs) if fs else None
    except RuntimeError as exc:
        raise DataError(f"dataset: items differ in shape ({exc})") from None
    space = None
    if factors is not None:
        from .files import factor_space_from_values

        names = tuple(f"factor_{j}" for j in range(factors.shape[1]))
        space = factor_space_from_values(factors, names)
    return InMemoryDataset(x, factors, space)


@dataclass(frozen=True)
class RecordedConfig(Config):
    path: str = field(doc="the data/ folder a run recorded (data.safetensors, factor_space.json)")


@DATASETS.register("recorded")
class RecordedDataset(InMemoryDataset):
    """The dataset a run recorded because it was passed from Python (``train.run``)."""

    Config = RecordedConfig

    def __init__(self, config: RecordedConfig):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        folder = Path(config.path)
        if not (folder / DATA_FILE).is_file():
            raise DataError(f"recorded dataset {str(folder)!r}: no {DATA_FILE}")
        try:
            tensors = load_file(str(folder / DATA_FILE))
        except (SafetensorError, OSError, ValueError) as exc:
            raise DataError(f"{folder / DATA_FILE}: corrupt ({exc})") from None
        space = None
        if (folder / SPACE_FILE).is_file():
            try:
                space = FactorSpace.from_dict(json.loads((folder / SPACE_FILE).read_text()))
            except (OSError, ValueError) as exc:
                raise DataError(f"{folder / SPACE_FILE}: corrupt ({exc})") from None
        super().__init__(tensors["x"], tensors.get("factors"), space)
