"""Runs: a :class:`RunConfig` (dataset + model + trainer + seed), training into a run folder,
resuming, and :func:`load` to rebuild a trained model from its folder.

A run config file looks like::

    dataset: {name: sine_circle, sigma: 0.1}
    model:   {name: vae, latent: {name: euclidean, dim: 2},
              likelihood: {name: gaussian, sigma: 0.1}}
    train:   {steps: 20000, batch_size: 100, lr: 0.001}
    seed: 0

``model.input_shape`` is filled from the dataset, so ``config.json`` in the run folder is complete.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..config import Config, field
from ..data.base import FactorDataset
from ..errors import ConfigError, RunFolderError
from ..registry import AUXILIARY, DATASETS, MODELS, build, check_spec, resolve
from . import checkpoint as ckpt
from . import distributed
from .callbacks import Callback
from .trainer import FitResult, Trainer, TrainerConfig


@dataclass(frozen=True)
class RunConfig(Config):
    dataset: dict = field(
        default_factory=lambda: {"name": "sine_circle"}, spec=DATASETS, doc="dataset {name, ...}"
    )
    model: dict = field(
        default_factory=lambda: {"name": "vae"}, spec=MODELS, doc="model {name, ...}"
    )
    train: TrainerConfig = field(default_factory=TrainerConfig, doc="trainer settings")
    seed: int = field(
        0, ge=0, lt=2**32, doc="seed of the initialisation, batch order and sampling noise"
    )
    auxiliary: tuple[dict, ...] = field(
        (),
        doc="objectives optimised in alternation with the loss, e.g. "
        "[{name: sdr, layers: [decoder.conv.2]}] (the intrinsic paper's SDR training)",
    )

    def validate(self) -> None:
        check_spec(DATASETS, self.dataset, "dataset")
        for i, spec in enumerate(self.auxiliary):
            check_spec(AUXILIARY, spec, f"auxiliary[{i}]")
        spec = dict(self.model)
        if isinstance(spec, dict) and "name" in spec:
            spec.setdefault("input_shape", [1])  # checked against the data when building
        check_spec(MODELS, spec, "model")


def build_dataset(config: RunConfig) -> FactorDataset:
    return build(DATASETS, dict(config.dataset), "dataset")


def build_model(config: RunConfig, dataset: FactorDataset | None = None) -> torch.nn.Module:
    """The model of ``config``, its ``input_shape`` taken from (and checked against) the data."""
    spec = dict(config.model)
    if dataset is not None:
        shape = list(dataset.observation_shape)
        given = spec.get("input_shape")
        if given and list(given) != shape:
            raise ConfigError(
                f"model.input_shape: {list(given)} does not match the data shape {shape}"
            )
        spec["input_shape"] = shape
    return build(MODELS, spec, "model")


def complete_config(config: RunConfig, dataset: FactorDataset) -> RunConfig:
    """What ``config.json`` holds: every default written out (:func:`resolve`),
    ``model.input_shape`` filled from the data, and dataset file paths (``path``,
    ``*_path``) made absolute."""
    model = {**config.model, "input_shape": list(dataset.observation_shape)}
    model_config = MODELS.get(model["name"]).Config
    if "dataset_size" in getattr(model_config, "__dataclass_fields__", {}):
        if not model.get("dataset_size"):  # estimators that need N (β-TCVAE) get the data's
            model["dataset_size"] = len(dataset)
    data = resolve(DATASETS, dict(config.dataset), "dataset")
    for key, value in data.items():  # files on disk (path, image_path, ...): found from anywhere
        if (key == "path" or key.endswith("_path")) and isinstance(value, str) and value:
            data[key] = str(Path(value).expanduser().resolve())
    return config.replace(
        dataset=data,
        model=resolve(MODELS, model, "model"),
    )


def _metadata(config: RunConfig, dataset: FactorDataset, model: torch.nn.Module) -> dict[str, Any]:
    import numpy

    return {
        "latent_atlas": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "seed": config.seed,
        "dataset": config.dataset.get("name"),
        "data_fingerprint": dataset.fingerprint(),
        "data_size": len(dataset),
        "model": config.model.get("name"),
        "parameters": sum(p.numel() for p in model.parameters()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def auxiliary_callbacks(config: RunConfig, model: torch.nn.Module) -> list[Callback]:
    """The config's extra objectives (registry ``AUXILIARY``) as callbacks bound to ``model``."""
    out = []
    for i, spec in enumerate(config.auxiliary):
        callback = build(AUXILIARY, dict(spec), f"auxiliary[{i}]")
        callback.bind(model)
        out.append(callback)
    return out


def check_new_run_dir(run_dir: str | Path) -> None:
    """Refuse a folder that already holds a run (or is a file): nothing on disk is overwritten."""
    run_dir = Path(run_dir)
    if (run_dir / ckpt.CONFIG).exists():
        raise RunFolderError(
            f"{str(run_dir)!r} already holds a run; resume it (--resume) or choose another --out"
        )
    if run_dir.exists() and not run_dir.is_dir():
        raise RunFolderError(f"{str(run_dir)!r} exists and is not a folder")


def train_run(
    config: RunConfig,
    run_dir: str | Path | None,
    callbacks: Sequence[Callback] = (),
    dataset: FactorDataset | None = None,
) -> tuple[torch.nn.Module, FitResult]:
    """Build data and model from ``config``, train, and write the run folder.

    The config's ``auxiliary`` objectives (e.g. ``{name: sdr, layers: [...]}``) run first among
    the callbacks, bound to the model before anything is written (a bad layer name fails early).

    Refuses to overwrite an existing run folder (use :func:`resume_run`); data with NaN/inf is
    refused before training starts.
    """
    info = distributed.setup(torch.device(config.train.device))
    if run_dir is not None:
        run_dir = Path(run_dir)
        check_new_run_dir(run_dir)
    distributed.barrier()  # every rank has checked the folder before rank 0 writes into it
    dataset = dataset if dataset is not None else build_dataset(config)
    dataset.check_finite()
    config = complete_config(config, dataset)
    torch.manual_seed(config.seed)
    model = build_model(config, dataset)
    trainer = Trainer(
        model,
        dataset,
        config.train,
        run_dir,
        config.seed,
        [*auxiliary_callbacks(config, model), *callbacks],
        _metadata(config, dataset, model),
    )
    if run_dir is not None and info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt.atomic_write_text(run_dir / ckpt.CONFIG, config.to_json() + "\n")
    return model, trainer.fit()


def load_config(run_dir: str | Path) -> RunConfig:
    run_dir = ckpt.check_run_dir(run_dir)
    try:
        return RunConfig.from_dict(ckpt.read_json(run_dir / ckpt.CONFIG))
    except ConfigError as exc:
        raise RunFolderError(f"{run_dir / ckpt.CONFIG}: invalid config ({exc})") from None


def resume_config(run_dir: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """The run's config with ``overrides`` (``{"train": {...}}`` only) applied and validated."""
    config = load_config(run_dir)
    if not overrides:
        return config
    bad = sorted(set(overrides) - {"train"})
    if bad:
        raise ConfigError(f"{bad[0]}: only train settings can change when resuming")
    train = overrides["train"]
    if not isinstance(train, dict):
        raise ConfigError(f"train: expected a mapping of train settings, got {train!r}")
    return RunConfig.from_dict({**config.to_dict(), "train": {**config.train.to_dict(), **train}})


def resume_run(
    run_dir: str | Path,
    overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
) -> tuple[torch.nn.Module, FitResult]:
    """Continue a run from its last checkpoint; ``overrides`` may change ``train`` settings only
    (e.g. more steps). The result equals an uninterrupted run with the same seed."""
    config = resume_config(run_dir, overrides)
    dataset = build_dataset(config)
    meta_path = Path(run_dir) / ckpt.METADATA
    meta = ckpt.read_json(meta_path) if meta_path.exists() else {}
    if not isinstance(meta, dict):
        raise RunFolderError(f"{meta_path}: corrupt metadata (expected a JSON object)")
    if meta.get("data_fingerprint") and meta["data_fingerprint"] != dataset.fingerprint():
        raise RunFolderError(f"{run_dir}: the dataset differs from the one this run was trained on")
    model = build_model(config, dataset)
    callbacks = [*auxiliary_callbacks(config, model), *callbacks]
    trainer = Trainer(model, dataset, config.train, run_dir, config.seed, callbacks, meta)
    step = trainer.resume()
    if step >= trainer.total_steps:
        raise ConfigError(
            f"train.steps: the run already reached step {step} of {trainer.total_steps}; "
            "set a larger train.steps (or epochs) to continue it"
        )
    if trainer.dist.is_main:
        ckpt.atomic_write_text(Path(run_dir) / ckpt.CONFIG, config.to_json() + "\n")
    return model, trainer.fit()


def load(run_dir: str | Path, device: torch.device | str | None = None) -> torch.nn.Module:
    """Rebuild the trained model of a run folder (any registered model), in eval mode."""
    config = load_config(run_dir)
    try:
        model = build(MODELS, dict(config.model), "model")
    except ConfigError as exc:
        raise RunFolderError(f"{run_dir}: cannot rebuild the model ({exc})") from None
    weights = ckpt.load_weights(Path(run_dir) / ckpt.WEIGHTS)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise RunFolderError(f"{run_dir}: weights do not match the model config ({exc})") from None
    if device is not None:
        model.to(torch.device(device))
    return model.eval()


def load_dataset(run_dir: str | Path) -> FactorDataset:
    """Rebuild the dataset a run was trained on."""
    return build_dataset(load_config(run_dir))
