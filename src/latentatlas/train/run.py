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

import contextlib
import logging
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
from ..data.recorded import DATA_FILE, SPACE_FILE, as_factor_dataset, built_from, mark_built
from ..errors import ConfigError, RunFolderError
from ..memory import check_fits
from ..registry import AUXILIARY, DATASETS, MODELS, build, check_spec, resolve
from ..threads import single_threaded
from . import checkpoint as ckpt
from . import distributed
from .callbacks import Callback
from .loggers import check_loggers_installed
from .outputs import FolderLock, is_empty_but_ours, is_locked_by_live_process, mark_folder
from .trainer import FitResult, Trainer, TrainerConfig, check_device_available, parse_device

log = logging.getLogger(__name__)


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


RECORDED_DATA = "data"
"""The folder of a run that holds a dataset passed from Python (``data.recorded``)."""


def record_dataset(dataset: FactorDataset, folder: str | Path) -> dict:
    """Write ``dataset`` into ``folder`` (observations and factor values in safetensors, the
    factor space in JSON, atomically) and return the ``recorded`` spec that reads it back."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    batch = dataset.get_batch(torch.arange(len(dataset)))
    tensors = {"x": batch.x.detach().cpu().float().contiguous()}
    if batch.factors is not None:
        tensors["factors"] = batch.factors.detach().cpu().double().contiguous()
    ckpt.atomic_write(folder / DATA_FILE, lambda tmp: save_file(tensors, tmp))
    if dataset.factor_space is not None:
        ckpt.atomic_write_json(folder / SPACE_FILE, dataset.factor_space.to_dict())
    return {"name": "recorded", "path": str(folder.resolve())}


def build_dataset(config: RunConfig) -> FactorDataset:
    """The dataset of ``config``; a size that cannot fit in memory is refused first
    (:func:`check_dataset_fits`).

    Built on one thread: with torch's two threads, the sine data of 256 × 12 values came out
    different in the last bit of 89 values in about one process of 80 (the elementwise float64
    functions split the array at its middle between the threads, and the second thread's half
    differed), so a run's recorded fingerprint and a rebuild in another process disagreed
    ("the dataset differs") at random. One thread gives the same bytes in every process."""
    check_dataset_fits(dict(config.dataset))
    with single_threaded():
        dataset = build(DATASETS, dict(config.dataset), "dataset")
    return mark_built(dataset, dict(config.dataset))


def check_dataset_fits(spec: dict) -> None:
    """Refuse, before generating anything, a dataset that cannot fit in memory: its size comes
    from the dataset's ``estimated_values(config)`` (8 bytes per value: generated in float64,
    kept in float32)."""
    cls = DATASETS.get(spec.get("name"))
    config = cls.Config.from_dict({k: v for k, v in spec.items() if k != "name"}, path="dataset")
    values = cls.estimated_values(config)
    if values:
        check_fits(8 * values, f"dataset: {values:,} values", "reduce the dataset's sizes")


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


def check_model_fits(config: RunConfig, dataset: FactorDataset) -> None:
    """Refuse, before allocating anything, a model whose training cannot fit in memory: its
    parameter count is read from a build on torch's ``meta`` device (no memory used), and
    training holds about four copies (weights, gradients, two Adam moments) in float32."""
    try:
        with torch.device("meta"):
            model = build_model(config, dataset)
    except ConfigError:
        raise
    except Exception:  # a model that cannot be built on the meta device: no estimate
        return
    count = sum(p.numel() for p in model.parameters())
    check_fits(
        16 * count,
        f"model: training {count:,} parameters (weights, gradients and optimiser state)",
        "reduce model sizes such as model.latent.dim or the hidden layers",
    )


def complete_config(config: RunConfig, dataset: FactorDataset) -> RunConfig:
    """What ``config.json`` holds: every default written out (:func:`resolve`),
    ``model.input_shape`` filled from the data, and dataset file paths (``path``,
    ``*_path``) made absolute."""
    shape = list(dataset.observation_shape)
    given = config.model.get("input_shape")
    if given and list(given) != shape:
        raise ConfigError(
            f"model.input_shape: {list(given)} does not match the data's shape {shape}"
        )
    model = {**config.model, "input_shape": shape}
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
    """Refuse a folder that already holds a run, holds anything else, or is a file: a new run
    only goes into a missing or empty folder, so nothing on disk is overwritten or appended to."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunFolderError(f"{str(run_dir)!r} exists and is not a folder")
    if (run_dir / ckpt.CONFIG).exists():
        raise RunFolderError(
            f"{str(run_dir)!r} already holds a run; resume it (--resume) or choose another --out"
        )
    if run_dir.is_dir() and not is_empty_but_ours(run_dir):
        present = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
        shown = ", ".join(present[:3]) + (" ..." if present[3:] else "") or "hidden files"
        raise RunFolderError(
            f"{str(run_dir)!r} is not empty ({shown}); a new run needs a missing or empty "
            "folder: choose another --out"
        )


def fit_config(
    config: RunConfig,
    run_dir: str | Path | None,
    callbacks: Sequence[Callback] = (),
    dataset: FactorDataset | torch.utils.data.Dataset | None = None,
    record_data: bool = True,
) -> tuple[torch.nn.Module, FitResult]:
    """Build data and model exactly as ``config`` says, train, and write the run folder: the step
    under :func:`latentatlas.train_run`, which users call (it adds the model settings chosen
    from the data and the periodic evaluation, which live in layers above this one).

    ``dataset``: the data, when it is already built. One the config did not build (a user's
    own; a ``torch.utils.data.Dataset`` is adapted, :func:`~latentatlas.data.recorded.\
as_factor_dataset`) is recorded in the run folder (``data/``) and the config names it, so that
    ``load_dataset``, ``evaluate`` and resuming work afterwards; ``record_data=False`` leaves it
    out (the caller passes it again on resume, as reproductions do).

    The config's ``auxiliary`` objectives (e.g. ``{name: sdr, layers: [...]}``) run first among
    the callbacks, bound to the model before anything is written (a bad layer name fails early).

    Refuses to overwrite an existing run folder (use :func:`resume_fit`); data with NaN/inf is
    refused before training starts.
    """
    info = distributed.setup(torch.device(config.train.device))
    run_dir = Path(run_dir) if run_dir is not None else None
    # the lock also checks that the folder can be written, before any work
    with _main_rank_lock(run_dir, info.is_main):
        if run_dir is not None:
            check_new_run_dir(run_dir)
            check_loggers_installed(config.train.loggers)  # a missing tracker fails before any work
        distributed.barrier()  # every rank has checked the folder before rank 0 writes into it
        record = None
        if dataset is None:
            dataset = build_dataset(config)
        elif not built_from(dataset, config.dataset):  # the user's own: recorded with the run
            dataset = as_factor_dataset(dataset)
            if run_dir is not None and record_data:
                record = run_dir / RECORDED_DATA
                config = config.replace(dataset={"name": "recorded", "path": str(record.resolve())})
        dataset.check_finite()
        config = complete_config(config, dataset)
        check_model_fits(config, dataset)
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
        return model, _write_config_and_fit(trainer, run_dir, config, dataset, record)


def _main_rank_lock(run_dir: Path | None, is_main: bool):
    """The run folder's lock, taken by the main process only (torchrun's other ranks write
    nothing); a no-op for in-memory training."""
    return FolderLock(run_dir) if run_dir is not None and is_main else contextlib.nullcontext()


def _write_config_and_fit(
    trainer: Trainer,
    run_dir: Path | None,
    config: RunConfig,
    dataset: FactorDataset | None = None,
    record: Path | None = None,
) -> FitResult:
    """Mark the run folder as latent-atlas's, record a dataset passed from Python (``record``),
    write its complete ``config.json``, train."""
    if run_dir is not None and trainer.dist.is_main:
        mark_folder(run_dir, "run")
        if record is not None:
            record_dataset(dataset, record)
        ckpt.atomic_write_text(run_dir / ckpt.CONFIG, config.to_json() + "\n")
    return trainer.fit()


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


def resume_fit(
    run_dir: str | Path,
    overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    dataset: FactorDataset | None = None,
) -> tuple[torch.nn.Module, FitResult]:
    """Continue a run from its last checkpoint; ``overrides`` may change ``train`` settings only
    (e.g. more steps). The result equals an uninterrupted run with the same seed, provided the
    ``callbacks`` are those the run started with (their state is restored from the checkpoint).

    A run stopped before its first checkpoint (killed while building or in its first steps)
    starts again from step 0 with its saved config, which also gives the same numbers.
    ``dataset`` is the run's data when the caller has built it already (its fingerprint is
    checked against the run's as that of a rebuilt one would be).
    """
    run_dir = Path(run_dir)
    config = resume_config(run_dir, overrides)
    info = distributed.setup(torch.device(config.train.device))
    with _main_rank_lock(run_dir, info.is_main):
        dataset = dataset if dataset is not None else build_dataset(config)
        meta = read_metadata(run_dir)
        check_same_data(run_dir, meta, dataset)
        fresh = not (run_dir / ckpt.STATE).exists()
        if fresh:
            log.warning(
                "%s has no checkpoint yet: training starts from step 0 with its saved config",
                run_dir,
            )
            dataset.check_finite()
            torch.manual_seed(config.seed)  # as fit_config does: the same initial weights
        model = build_model(config, dataset)
        callbacks = [*auxiliary_callbacks(config, model), *callbacks]
        if fresh:
            meta = _metadata(config, dataset, model)
        trainer = Trainer(model, dataset, config.train, run_dir, config.seed, callbacks, meta)
        if fresh and trainer.dist.is_main:
            ckpt.truncate_metrics(run_dir, -1)  # lines of the killed attempt
        step = 0 if fresh else trainer.resume()
        if step >= trainer.total_steps:
            raise ConfigError(
                f"train.steps: the run already reached step {step} of {trainer.total_steps}; "
                "set a larger train.steps (or epochs) to continue it"
            )
        return model, _write_config_and_fit(trainer, run_dir, config)


def check_same_data(
    run_dir: str | Path, metadata: dict[str, Any], dataset: FactorDataset, what: str = "run"
) -> None:
    """Refuse ``dataset`` when its fingerprint is not the one ``metadata`` recorded at training
    (a run without a recorded fingerprint passes); the message gives both fingerprints."""
    saved = metadata.get("data_fingerprint")
    if not saved:
        return
    now = dataset.fingerprint()
    if saved != now:
        raise RunFolderError(
            f"{run_dir}: the dataset differs from the one this {what} was trained on "
            f"(fingerprint {saved} recorded, {now} now)"
        )


def restore_run(
    run_dir: str | Path,
    callbacks: Sequence[Callback] = (),
    dataset: FactorDataset | None = None,
    device: str | torch.device | None = None,
) -> torch.nn.Module:
    """The trained model of a run that reached its last step, with the ``callbacks`` it trained
    with in their state at its end (weight snapshots, tracked measurements), without training:
    what a reproduction needs to reuse a model it trained in an earlier invocation. ``device``
    overrides the run's ``train.device``.

    The last checkpoint is written before the end-of-training callbacks run, so they run again
    here on the restored model (without writing anything: a periodic measurement already taken
    at that step is not repeated). A run stopped between its last checkpoint and being marked
    finished (killed in those callbacks) is completed this way and marked finished. The data
    must be the run's own (its fingerprint is checked, as on resume)."""
    run_dir = Path(run_dir)
    overrides = {"train": {"device": str(device)}} if device is not None else None
    config = resume_config(run_dir, overrides)
    dataset = dataset if dataset is not None else build_dataset(config)
    meta = read_metadata(run_dir)
    check_same_data(run_dir, meta, dataset)
    model = build_model(config, dataset)
    callbacks = [*auxiliary_callbacks(config, model), *callbacks]
    trainer = Trainer(model, dataset, config.train, None, config.seed, callbacks, meta)
    trainer.load_state_dict(ckpt.load_state(run_dir / ckpt.STATE))
    if trainer.step < trainer.total_steps:
        raise RunFolderError(
            f"{run_dir}: its last checkpoint is at step {trainer.step} of {trainer.total_steps}; "
            "resume it to finish training"
        )
    for cb in trainer.callbacks:
        cb.on_train_end(trainer, trainer.step)
    if meta.get("status") != "finished":
        ckpt.write_metadata(run_dir / ckpt.METADATA, {**meta, "status": "finished"})
    return model.eval()


def reached_end(run_dir: str | Path) -> bool:
    """Whether a run's last checkpoint is at its final step (finished, or stopped right after
    that checkpoint): :func:`restore_run` can reuse it."""
    meta = read_metadata(run_dir)
    step, total = meta.get("step"), meta.get("total_steps")
    at_end = isinstance(step, int) and isinstance(total, int) and 0 < total <= step
    return (Path(run_dir) / ckpt.STATE).is_file() and (meta.get("status") == "finished" or at_end)


def read_metadata(run_dir: str | Path) -> dict[str, Any]:
    """``metadata.json`` of a run folder, checked ({} when it has none): a corrupt file or an
    entry of the wrong type is a :class:`RunFolderError` naming the file and the entry."""
    path = Path(run_dir) / ckpt.METADATA
    if not path.exists():
        return {}
    meta = ckpt.read_json(path)
    if not isinstance(meta, dict):
        raise RunFolderError(f"{path}: corrupt metadata (expected a JSON object)")
    for key, kinds, what in _METADATA_TYPES:
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise RunFolderError(f"{path}: {key!r} should be {what}, got {value!r:.80}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not 0 <= value < 2**63:
                raise RunFolderError(
                    f"{path}: {key!r} should be {what} (below 2**63), got {str(value)[:40]}"
                )
    return meta


_METADATA_TYPES = (
    ("step", (int,), "a step number >= 0"),
    ("total_steps", (int,), "a step number >= 0"),
    ("seed", (int,), "a seed >= 0"),
    ("parameters", (int,), "a parameter count >= 0"),
    ("data_size", (int,), "a count >= 0"),
    ("train_seconds", (int, float), "a number of seconds >= 0"),
    ("status", (str,), "a status word"),
    ("data_fingerprint", (str,), "a fingerprint string"),
    ("model", (str,), "a model name"),
    ("dataset", (str,), "a dataset name"),
    ("platform", (str,), "a string"),
    ("latent_atlas", (str,), "a version string"),
    ("torch", (str,), "a version string"),
)


def run_status(run_dir: str | Path) -> str:
    """The run's status as recorded in ``metadata.json`` — except that a run recorded as
    "running" whose command no longer holds the folder's lock ended without saying so (killed,
    out of memory, power loss): it is reported as ``"stopped"``."""
    meta = read_metadata(run_dir)
    status = str(meta.get("status", "unknown"))
    if status == "running" and not is_locked_by_live_process(run_dir):
        return "stopped"
    return status


def load(run_dir: str | Path, device: torch.device | str | None = None) -> torch.nn.Module:
    """Rebuild the trained model of a run folder (any registered model), in eval mode, on
    ``device`` (default: the CPU). A device that is not a torch device or is not available on
    this machine is a :class:`ConfigError`; a corrupt folder a :class:`RunFolderError`."""
    target = _device(device)
    config = load_config(run_dir)
    try:
        model = build(MODELS, dict(config.model), "model")
    except ConfigError as exc:
        raise RunFolderError(f"{run_dir}: cannot rebuild the model ({exc})") from None
    weights = ckpt.load_weights(Path(run_dir) / ckpt.WEIGHTS)
    ckpt.check_weight_dtypes(weights, model, Path(run_dir) / ckpt.WEIGHTS)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise RunFolderError(
            f"{Path(run_dir) / ckpt.WEIGHTS}: the weights do not match the model in "
            f"{ckpt.CONFIG} ({ckpt.summarise_load_error(exc)})"
        ) from None
    if target is not None:
        model.to(target)
    return model.eval()


def _device(device: torch.device | str | None) -> torch.device | None:
    """``device`` as a torch device available here, or a :class:`ConfigError` saying why not."""
    if device is None:
        return None
    target = parse_device(device)
    check_device_available(target, "device")
    return target


def load_dataset(run_dir: str | Path) -> FactorDataset:
    """Rebuild the dataset a run was trained on."""
    return build_dataset(load_config(run_dir))
