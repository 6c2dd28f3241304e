"""The training engine: a plain PyTorch loop with checkpoints, logging and clean stops.

What it does per step: let the model switch training phases (``model.curriculum(step, total)``
when it has one, e.g. the PCA-like autoencoder's stages), take a batch (a seeded permutation per
epoch, no DataLoader), run the model's ``forward`` (the loss and its named terms), refuse a
non-finite loss before touching the parameters, back-propagate, clip, step the optimiser and the
schedule. Every ``log_every`` steps it
appends a record to ``metrics.jsonl``; every ``checkpoint_every`` steps and at the end it saves a
checkpoint atomically. Ctrl-C or SIGTERM finishes the current step, saves a checkpoint, marks
the run ``"interrupted"`` and raises :class:`~latentatlas.errors.Interrupted` (a
``KeyboardInterrupt`` for Ctrl-C, a ``SystemExit`` with code 143 for SIGTERM), so that a script
training several models ends instead of starting the next; a stop requested by code (a callback)
returns with status ``"interrupted"``. A NaN/inf loss raises
:class:`~latentatlas.errors.TrainingDiverged` and keeps the last good checkpoint.

The batch order is a pure function of (seed, step) and the RNG states are checkpointed, so a
resumed run gives the same numbers as an uninterrupted one. Under ``torchrun`` the model is
wrapped in DistributedDataParallel and each rank reads its own slice of every global batch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import Config, field
from ..data.base import Batch, FactorDataset
from ..data.recorded import as_factor_dataset
from ..errors import ConfigError, Interrupted, RunFolderError, TrainingDiverged, write_error
from ..registry import OPTIMIZERS, SCHEDULES
from . import checkpoint as ckpt
from . import distributed
from .callbacks import Callback
from .optim import make_optimizer, make_schedule
from .stopping import StopRequest

log = logging.getLogger(__name__)


#: more optimiser steps than any training could take (a year at 30 000 steps per second)
MAX_STEPS = 10**12


def regularizer_scale(step: int, warmup: int) -> float:
    """The weight of the regulariser terms at ``step`` (0-based) of a ``warmup``-step linear
    warm-up: 0 at the first step, 1 from step ``warmup`` on (always 1 without a warm-up).

    KL annealing (Bowman et al. 2016): the decoder learns to use the code before the KL can
    close it. Measured on the thesis's pixel shift at σX = 1 (3000 steps): without it one seed
    of two collapsed to the prior (KL 0, −ELBO 3849.5); with 1000 warm-up steps both encode
    (KL 3.95 / 4.12, −ELBO 3771.2 / 3772.0).
    """
    if warmup <= 0:
        return 1.0
    return min(1.0, step / warmup)


def uses_channels_last(memory_format: str, model: torch.nn.Module, device: torch.device) -> bool:
    """Whether ``train.memory_format`` puts ``model`` in NHWC layout: ``channels_last`` always,
    ``auto`` when the model has a 2-D convolution and trains on the CPU (where
    ``benchmarks/training_throughput.py`` measured it faster for every conv model, at equal
    numbers up to rounding), ``contiguous`` never."""
    if memory_format != "auto":
        return memory_format == "channels_last"
    convolutions = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    return device.type == "cpu" and any(isinstance(m, convolutions) for m in model.modules())


@dataclass(frozen=True)
class TrainerConfig(Config):
    steps: int | None = field(1000, ge=1, le=MAX_STEPS, doc="optimiser steps (or give epochs)")
    epochs: int | None = field(
        None, ge=1, le=MAX_STEPS, doc="passes over the data; overrides steps when set"
    )
    batch_size: int = field(
        64, ge=1, le=2**31 - 1, doc="samples per step (per process under torchrun)"
    )
    optimizer: str = field("adam", registry=OPTIMIZERS, doc="optimiser name")
    lr: float = field(1e-3, gt=0.0, doc="learning rate")
    betas: tuple[float, float] = field((0.9, 0.999), ge=0.0, lt=1.0, doc="Adam betas")
    weight_decay: float = field(0.0, ge=0.0, doc="weight decay")
    momentum: float = field(0.0, ge=0.0, doc="momentum (sgd, rmsprop)")
    schedule: str = field("constant", registry=SCHEDULES, doc="learning-rate schedule")
    warmup_steps: int = field(0, ge=0, doc="linear warm-up steps")
    regularizer_warmup: int = field(
        0,
        ge=0,
        doc="steps over which every regulariser term's weight (the KL, …) rises linearly from 0 "
        "to its value (KL annealing); 0: none",
    )
    min_lr_ratio: float = field(0.0, ge=0.0, le=1.0, doc="final lr / lr for cosine and linear")
    step_size: int = field(1000, ge=1, doc="steps between decays for the step schedule")
    gamma: float = field(0.1, gt=0.0, doc="decay factor for the step schedule")
    grad_clip: float | None = field(None, gt=0.0, doc="clip the gradient norm to this value")
    log_every: int = field(10, ge=1, doc="steps between metrics records")
    eval_every: int = field(0, ge=0, doc="steps between evaluations (0: only at the end)")
    checkpoint_every: int = field(1000, ge=0, doc="steps between checkpoints (0: only at the end)")
    device: str = field(
        "cpu",
        convert=lambda d: str(d) if isinstance(d, torch.device) else d,
        doc="torch device (a name such as cpu, cuda, cuda:1, mps, or a torch.device)",
    )
    progress: bool = field(
        True,
        doc="show progress: a bar on a terminal, else a line every "
        "progress_every seconds (a log file, a cluster job)",
    )
    progress_every: float = field(
        30.0, ge=0.0, doc="seconds between progress lines when standard error is not a terminal"
    )
    threads: int = field(
        0,
        ge=0,
        doc="intra-op threads while training on the CPU: 0 chooses by "
        "the size of a step (one below threads.CROSSOVER_MACS, torch's default "
        "above), n > 0 exactly n",
    )
    precision: str = field(
        "fp32",
        choices=("fp32", "bf16"),
        doc="bf16: the training forward under bfloat16 autocast (faster on CPUs with BF16 "
        "units and on GPUs; weights, optimiser and losses stay float32)",
    )
    loggers: tuple[str, ...] = field(
        (),
        doc="experiment trackers that also receive every metrics record: csv, tensorboard, "
        "wandb, mlflow (see latentatlas.train.loggers)",
    )
    memory_format: str = field(
        "auto",
        choices=("auto", "contiguous", "channels_last"),
        doc="channels_last: convolution weights and image batches in NHWC layout (the same "
        "numbers up to rounding; 1.06-2.5× the images/s of contiguous for the reproductions' conv "
        "models on a 2-core CPU, benchmarks/training_throughput.py); auto (the default): "
        "channels_last for a model with 2-D convolutions trained on the CPU, else contiguous",
    )

    def validate(self) -> None:
        parse_device(self.device)
        if self.steps is None and self.epochs is None:
            raise ConfigError("steps: give steps or epochs")
        from ..registry import LOGGERS

        for name in self.loggers:
            if name not in LOGGERS:
                raise ConfigError(
                    f"loggers: unknown logger {name!r}; valid names: {', '.join(LOGGERS.names())}"
                )
        if len(set(self.loggers)) != len(self.loggers):
            raise ConfigError(f"loggers: a logger is named twice in {list(self.loggers)}")
        for name in (
            "log_every",
            "eval_every",
            "checkpoint_every",
            "warmup_steps",
            "step_size",
            "regularizer_warmup",
        ):
            if getattr(self, name) > MAX_STEPS:
                value = getattr(self, name)
                raise ConfigError(f"{name}: expected a value <= {MAX_STEPS}, got {value}")


def parse_device(device: Any, name: str = "device") -> torch.device:
    """``device`` (a name or a ``torch.device``) as a torch device, or a :class:`ConfigError`
    naming the field ``name``."""
    try:
        return torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError(
            f"{name}: expected a torch device like 'cpu' or 'cuda:0', got {device!r}"
        ) from None


def check_device_available(device: torch.device, name: str = "train.device") -> None:
    """Refuse a device this machine does not have (config field ``name``), naming what it has."""
    backend = getattr(torch, device.type, None)  # torch.cuda, torch.mps, torch.xpu, ...
    if device.type == "cpu" or backend is None or not hasattr(backend, "is_available"):
        return
    count = backend.device_count() if backend.is_available() else 0
    index = device.index or 0
    if index >= count:
        raise ConfigError(
            f"{name}: {str(device)!r} is not available here ({count} {device.type} "
            "device(s)); use 'cpu' or an available device"
        )


def _model_steps(model: torch.nn.Module) -> list[Callback]:
    """The model's auxiliary steps (``model.auxiliary_steps()``) as alternating objectives."""
    from .auxiliary import AlternatingObjective, AuxiliaryTerm

    steps = getattr(model, "auxiliary_steps", lambda: [])()
    return [
        AlternatingObjective(
            [AuxiliaryTerm(step.name, step.loss, list(step.parameters))],
            lr=step.lr,
            betas=step.betas,
            split=step.name,
        )
        for step in steps
    ]


@dataclass
class FitResult:
    """How :meth:`Trainer.fit` ended: the step reached, ``"finished"`` or ``"interrupted"``, and
    for an interruption the signal that asked for it (``SIGINT`` from Ctrl-C, ``SIGTERM``)."""

    step: int
    status: str
    last: dict[str, float]
    signal: str | None = None

    @property
    def exit_code(self) -> int:
        """The shell's convention: 0 when finished, 128 + the signal's number when stopped."""
        return exit_code_for(self.status, self.signal)


def apply_optimizer_settings(optimizer: Any, scheduler: Any, config: TrainerConfig) -> None:
    """Write the config's hyper-parameters (lr, weight decay, betas, momentum) into an optimiser
    and its schedule after their state was loaded, so that a resumed run may change them."""
    scheduler.base_lrs = [config.lr] * len(optimizer.param_groups)
    for group, fn in zip(optimizer.param_groups, scheduler.lr_lambdas):
        group["initial_lr"] = config.lr
        group["lr"] = config.lr * fn(scheduler.last_epoch)  # what LambdaLR computes at this step
        group["weight_decay"] = config.weight_decay
        if "betas" in group:
            group["betas"] = tuple(config.betas)
        if "momentum" in group:
            group["momentum"] = config.momentum
    scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]


def _error_text(exc: BaseException) -> str:
    """What ``metadata.json`` records of the error that ended a fit: for a failed write the
    file's name and the reason, short enough to fit where a full disk leaves no room."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{Path(exc.filename).name}: " if exc.filename else ""
        return f"{type(exc).__name__}: {where}{exc.strerror}"
    return f"{type(exc).__name__}: {exc}"


def exit_code_for(status: str, signal_name: str | None) -> int:
    """0 for a finished training, 128 + the signal's number for one stopped by a signal (130 for
    Ctrl-C, 143 for SIGTERM), 1 otherwise."""
    if status == "finished":
        return 0
    if status != "interrupted":
        return 1
    return 128 + int(getattr(signal, signal_name or "SIGINT", signal.SIGINT))


class Trainer:
    """Train ``model`` on ``dataset``; write a run folder if ``run_dir`` is given.

    Args:
        model: an :class:`~latentatlas.models.Autoencoder` (anything whose ``forward(x)`` returns
            an object with ``loss`` and ``scalars()``).
        dataset: a :class:`~latentatlas.data.FactorDataset`, or any sized
            ``torch.utils.data.Dataset`` (items ``x`` or ``(x, factors, ...)``, stacked in memory).
        config: the :class:`TrainerConfig`.
        run_dir: where checkpoints and metrics go (None: train in memory only).
        seed: seeds the batch order and the sampling noise.
        callbacks: :class:`~latentatlas.train.callbacks.Callback` objects.
        metadata: extra entries for ``metadata.json`` (versions, fingerprint, ...).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        dataset: FactorDataset | torch.utils.data.Dataset,
        config: TrainerConfig | None = None,
        run_dir: str | Path | None = None,
        seed: int = 0,
        callbacks: Sequence[Callback] = (),
        metadata: dict[str, Any] | None = None,
    ):
        self.config = config or TrainerConfig()
        # a torch Dataset (TensorDataset, ...) is stacked into an InMemoryDataset
        self.dataset = as_factor_dataset(dataset)
        self.seed = seed
        # the model's own extra steps (e.g. FactorVAE's discriminator) come first, so that their
        # checkpointed state keeps its place whatever callbacks a resumed run passes
        self.callbacks = [*_model_steps(model), *callbacks]
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.dist = distributed.setup(torch.device(self.config.device))
        if self.run_dir is not None and self.dist.is_main and self.config.loggers:
            from .loggers import make_loggers

            # last, so that the other callbacks' checkpointed state keeps its place
            self.callbacks += make_loggers(self.config.loggers, self.run_dir)
        self.device = distributed.device_for(torch.device(self.config.device), self.dist)
        check_device_available(self.device)
        self._channels_last = uses_channels_last(self.config.memory_format, model, self.device)
        if self._channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model.to(self.device)
        self.net = self._wrap(self.model)
        self._comm_device = distributed.collective_device(self.device)
        cfg = self.config
        params = getattr(self.model, "optimized_parameters", self.model.parameters)()
        self.optimizer = make_optimizer(
            cfg.optimizer,
            params,
            cfg.lr,
            cfg.betas,
            cfg.weight_decay,
            cfg.momentum,
        )
        self.scheduler = make_schedule(
            self.optimizer,
            cfg.schedule,
            self.total_steps,
            cfg.warmup_steps,
            min_ratio=cfg.min_lr_ratio,
            step_size=cfg.step_size,
            gamma=cfg.gamma,
        )
        if self.total_steps > MAX_STEPS:
            raise ConfigError(
                f"train.epochs: {cfg.epochs} epochs are {self.total_steps} steps, more than "
                f"{MAX_STEPS}"
            )
        self.step = 0
        self.last_checkpoint = 0
        self.metadata = dict(metadata or {})
        self._stops = StopRequest()  # Ctrl-C, SIGTERM or request_stop()
        self._perm_cache: tuple[int, torch.Tensor] | None = None
        self._rng_seeded = False

    def _wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        if not self.dist.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if distributed.collectives_on_device(self.device) else None
        return DistributedDataParallel(model, device_ids=ids)

    # -- schedule of batches -------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return max(len(self.dataset) // (self.config.batch_size * self.dist.world_size), 1)

    @property
    def total_steps(self) -> int:
        if self.config.epochs is not None:
            return self.config.epochs * self.steps_per_epoch
        return int(self.config.steps)

    def batch_indices(self, step: int) -> torch.Tensor:
        """Indices of this rank's batch at ``step`` (0-based): a pure function of seed and step."""
        epoch, pos = divmod(step, self.steps_per_epoch)
        if self._perm_cache is None or self._perm_cache[0] != epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm_cache = (epoch, torch.randperm(len(self.dataset), generator=g))
        perm = self._perm_cache[1]
        b = self.config.batch_size
        start = (pos * self.dist.world_size + self.dist.rank) * b
        return perm[torch.arange(start, start + b) % len(perm)]

    def batch(self, step: int) -> Batch:
        batch = self.dataset.get_batch(self.batch_indices(step)).to(self.device)
        if self._channels_last and batch.x.dim() == 4:
            batch = Batch(batch.x.contiguous(memory_format=torch.channels_last), batch.factors)
        return batch

    def _precision(self) -> Any:
        """The autocast context of ``train.precision`` for the training forward."""
        if self.config.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: loadable with ``torch.load(weights_only=True)``."""
        state = {
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            # one row per rank (each draws its own noise); a collective under torchrun
            "torch_rng": distributed.gather_rng_states(torch.get_rng_state(), self._comm_device),
            "seed": self.seed,
            "optimizer_name": self.config.optimizer,
            "callbacks": {str(i): cb.state_dict() for i, cb in enumerate(self.callbacks)},
        }
        device_rng = distributed.device_rng_state(self.device)
        if device_rng is not None:
            state["device_rng"] = device_rng
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint. The optimiser's moments and the step come from ``state``; its
        settings (lr, betas, weight decay, momentum, schedule, total steps) from this trainer's
        config, so that a resumed run may change them (e.g. a smaller learning rate)."""
        saved = state.get("optimizer_name", self.config.optimizer)
        if saved != self.config.optimizer:
            raise ConfigError(
                f"train.optimizer: the checkpoint holds {saved!r} state; the optimiser cannot "
                f"change to {self.config.optimizer!r} when resuming"
            )
        where = self.run_dir / ckpt.STATE if self.run_dir is not None else "trainer state"
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise RunFolderError(
                f"{where}: the model weights do not fit the run's config "
                f"({ckpt.summarise_load_error(exc)})"
            ) from None
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self._check_optimizer_state()
            self._apply_optimizer_settings()
        except (ValueError, KeyError, TypeError, RuntimeError, IndexError) as exc:
            raise RunFolderError(
                f"{where}: the optimiser or schedule state does not fit this model "
                f"({type(exc).__name__}: {str(exc)[:160]})"
            ) from None
        rng = state["torch_rng"]
        if rng.ndim == 1:  # a single-process checkpoint
            rng = rng[None]
        if len(rng) == self.dist.world_size:
            try:
                torch.set_rng_state(rng[self.dist.rank].clone())
            except RuntimeError:
                raise RunFolderError(
                    f"{where}: 'torch_rng' is not a valid generator state"
                ) from None
        else:  # another number of processes: exact continuation is impossible anyway
            log.warning(
                "the checkpoint was written by %d process(es), this run has %d: the random "
                "streams restart from seed + rank + step",
                len(rng),
                self.dist.world_size,
            )
            torch.manual_seed(self.seed + self.dist.rank + int(state["step"]))
        if "device_rng" in state:
            distributed.set_device_rng_state(state["device_rng"], self.device)
        saved_callbacks = state.get("callbacks", {})
        for i, cb in enumerate(self.callbacks):
            if saved_callbacks.get(str(i)):
                try:
                    cb.load_state_dict(saved_callbacks[str(i)])
                except (ValueError, KeyError, TypeError, RuntimeError, IndexError) as exc:
                    raise RunFolderError(
                        f"{where}: the state of {type(cb).__name__} does not fit "
                        f"({type(exc).__name__}: {str(exc)[:160]})"
                    ) from None
        self.step = self.last_checkpoint = int(state["step"])
        self._rng_seeded = True

    def _check_optimizer_state(self) -> None:
        """Each per-parameter buffer of the loaded optimiser state (Adam's moments, momentum)
        must have its parameter's shape, and the schedule's step must be an integer; torch would
        fail later, inside an optimiser step, with a message about tensor sizes."""
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                for key, value in self.optimizer.state.get(p, {}).items():
                    if isinstance(value, torch.Tensor) and value.ndim and value.shape != p.shape:
                        raise ValueError(
                            f"optimiser buffer {key!r} has shape {list(value.shape)}, its "
                            f"parameter {list(p.shape)}"
                        )
        last = self.scheduler.last_epoch
        if not isinstance(last, int) or isinstance(last, bool) or last < -1:
            raise ValueError(f"schedule step {last!r:.40} is not a step number")

    def _apply_optimizer_settings(self) -> None:
        apply_optimizer_settings(self.optimizer, self.scheduler, self.config)

    def resume(self) -> int:
        """Load ``trainer_state.pt`` from the run folder and drop metrics logged after it."""
        assert self.run_dir is not None, "resume needs a run folder"
        self.load_state_dict(ckpt.load_state(self.run_dir / ckpt.STATE))
        if self.dist.is_main:
            ckpt.truncate_metrics(self.run_dir, self.step)
        return self.step

    def _diverged(self, what: str) -> TrainingDiverged:
        """The error for a NaN/inf, saying which checkpoint survives and what to try."""
        if self.run_dir is None:
            where = ""
        elif self.last_checkpoint > 0:
            where = f" Last good checkpoint: step {self.last_checkpoint} in {self.run_dir}."
        else:
            where = (
                f" No checkpoint was written yet: {self.run_dir} holds only the config; delete it"
                " or train into another folder."
            )
        return TrainingDiverged(
            f"{what}{where} Try a smaller learning rate or gradient clipping (train.grad_clip)."
        )

    def save_checkpoint(self) -> None:
        """Write trainer state, then weights, then metadata; each file atomically.

        Parameters that are not finite (a NaN gradient with a finite loss) are never written:
        :class:`TrainingDiverged` is raised and the previous checkpoint kept.
        """
        if self.run_dir is None:
            return
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            raise self._diverged(f"the parameters became NaN or inf by step {self.step}.")
        state = self.state_dict()  # on every rank: it gathers their RNG states
        if not self.dist.is_main:
            self.last_checkpoint = self.step
            return
        ckpt.save_state(self.run_dir / ckpt.STATE, state)
        ckpt.save_weights(self.run_dir / ckpt.WEIGHTS, self.model, {"step": str(self.step)})
        self.last_checkpoint = self.step
        self.update_metadata(step=self.step)
        for cb in self.callbacks:
            cb.on_checkpoint(self, self.step)

    def update_metadata(self, **entries: Any) -> None:
        self.metadata.update(entries)
        if self.run_dir is not None and self.dist.is_main:
            ckpt.write_metadata(self.run_dir / ckpt.METADATA, self.metadata)

    def _record_end(self, **entries: Any) -> None:
        """Record in ``metadata.json`` how a failed or stopped fit ended, without raising: on a
        full disk the write falls back to rewriting the file in place
        (:func:`~latentatlas.train.checkpoint.write_status_best_effort`), so the folder does not
        go on saying "running"; the error that ended the fit is what the caller sees."""
        self.metadata.update(entries)
        if self.run_dir is not None and self.dist.is_main:
            path = self.run_dir / ckpt.METADATA
            if not ckpt.write_status_best_effort(path, self.metadata):
                log.warning("could not record status %r in %s", entries.get("status"), path)

    def log(self, record: dict[str, Any], step: int | None = None) -> None:
        """Append one record to ``metrics.jsonl`` (main rank only)."""
        if self.run_dir is None or not self.dist.is_main:
            return
        step = self.step if step is None else step
        line = json.dumps({"step": step, **record})
        path = self.run_dir / ckpt.METRICS
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:  # a full disk: one line naming the file, the status recorded
            raise write_error(path, exc) from None
        for cb in self.callbacks:  # a duck-typed callback need not have the newer hooks
            hook = getattr(cb, "on_log", None)
            if hook is not None:
                hook(self, record, step)

    def run_on_model(self, fn: Callable[[torch.nn.Module], dict[str, float]]) -> dict[str, float]:
        """Call ``fn(model)`` in eval mode without gradients (for evaluation callbacks), with
        the full objective: scores taken during a regulariser warm-up stay comparable with later
        ones (a best-weights keeper would otherwise prefer the warm-up's smaller losses)."""
        was_training = self.model.training
        scale = getattr(self.model, "regularizer_scale", None)
        self.model.eval()
        if scale is not None:
            self.model.regularizer_scale = 1.0
        try:
            with torch.no_grad():
                return fn(self.model)
        finally:
            self.model.train(was_training)
            if scale is not None:
                self.model.regularizer_scale = scale

    def _stop_requested(self) -> bool:
        """Whether any rank was asked to stop (decided together, before a step starts)."""
        (stop,) = distributed.any_rank([self._stops.requested], self._comm_device)
        return stop

    def request_stop(self) -> None:
        """Stop cleanly after the current step (what Ctrl-C does)."""
        self._stops.request()

    # -- the loop ------------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> Any:
        """One optimiser step on ``batch``; returns the model output (loss and terms)."""
        with self._precision():
            out = self.net(batch.x)
        (not_finite,) = distributed.any_rank([not torch.isfinite(out.loss)], self._comm_device)
        if not_finite:
            raise self._diverged(
                f"the loss became {float(out.loss.detach())} at step {self.step + 1}; "
                "training stopped before updating the parameters."
            )
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return out

    def fit(self) -> FitResult:
        """Train until ``total_steps`` (or a stop requested by code); returns how it ended.
        Stopped by Ctrl-C or SIGTERM, it saves a checkpoint and raises
        :class:`~latentatlas.errors.Interrupted` (with the checkpoint's ``step``)."""
        cfg = self.config
        total = self.total_steps
        if not self._rng_seeded:
            torch.manual_seed(self.seed + self.dist.rank)
            self._rng_seeded = True
        if self.run_dir is not None and self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.update_metadata(status="running", total_steps=total)
        self.model.train()
        for cb in self.callbacks:
            cb.on_train_start(self)
        bar = self._progress_bar(total)
        last: dict[str, float] = {}
        status = "finished"
        threads = torch.get_num_threads()
        torch.set_num_threads(self._intra_op_threads())
        t0, s0 = time.perf_counter(), self.step
        previous_handlers = self._stops.install()  # Ctrl-C / SIGTERM: stop after the step
        try:
            while self.step < total:
                if self._stop_requested():
                    status = "interrupted"
                    break
                self._curriculum(self.step, total)
                out = self.train_step(self.batch(self.step))
                self.step += 1
                record = None
                if self.step % cfg.log_every == 0 or self.step == total:
                    elapsed = time.perf_counter() - t0
                    rate = (
                        (self.step - s0)
                        * cfg.batch_size
                        * self.dist.world_size
                        / max(elapsed, 1e-9)
                    )
                    last = distributed.mean_over_ranks(out.scalars(), self._comm_device)
                    record = {
                        "split": "train",
                        **last,
                        "lr": self.scheduler.get_last_lr()[0],
                        "samples_per_s": rate,
                    }
                    self.log(record)
                    if bar is not None:
                        bar.set_postfix(loss=f"{last['loss']:.4g}", samples_s=f"{rate:.0f}")
                if bar is not None:
                    bar.update(1)
                for cb in self.callbacks:
                    cb.on_step_end(self, self.step, record)
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
            # the weights first: a failing end-of-training callback must not lose them
            self.save_checkpoint()
            if status == "finished":
                for cb in self.callbacks:
                    cb.on_train_end(self, self.step)
        except TrainingDiverged:
            status = "diverged"
            self._record_end(status="diverged", diverged_at=self.step + 1)
            raise
        except KeyboardInterrupt:  # a second Ctrl-C: the last checkpoint is what is left
            status = "interrupted"
            self._record_end(status="interrupted", step=self.last_checkpoint)
            raise
        except Exception as exc:
            status = "failed"
            self._record_end(status="failed", step=self.last_checkpoint, error=_error_text(exc))
            raise
        finally:
            self._stops.restore(previous_handlers)
            torch.set_num_threads(threads)
            if hasattr(self.model, "regularizer_scale"):  # the model leaves with its objective
                self.model.regularizer_scale = 1.0
            if bar is not None:
                bar.close()
            for cb in self.callbacks:
                hook = getattr(cb, "on_fit_end", None)
                if hook is not None:
                    hook(self, status)
        seconds = self.metadata.get("train_seconds", 0.0) + time.perf_counter() - t0
        try:
            self.update_metadata(status=status, step=self.step, train_seconds=seconds)
        except OSError as exc:  # the checkpoint is written; the status says what happened
            self._record_end(status="failed", error=_error_text(exc))
            raise
        distributed.barrier()
        stopped_by = self._stops.signal if status == "interrupted" else None
        if stopped_by is not None:  # the checkpoint is saved: now the caller's program stops
            where = f"; checkpoint saved in {self.run_dir}" if self.run_dir is not None else ""
            raise Interrupted(
                stopped_by, f"stopped by {stopped_by} at step {self.step}{where}", step=self.step
            )
        return FitResult(self.step, status, last, stopped_by)

    # -- helpers ---------------------------------------------------------------------------------
    def _curriculum(self, step: int, total: int) -> None:
        """Let a model with training phases (``curriculum(step, total)``) switch them, and set
        the regulariser warm-up's weight; pure functions of the step, so a resumed run is in the
        same phase."""
        if hasattr(self.model, "regularizer_scale"):
            self.model.regularizer_scale = regularizer_scale(step, self.config.regularizer_warmup)
        hook = getattr(self.model, "curriculum", None)
        if hook is not None:
            hook(step, total)

    def _intra_op_threads(self) -> int:
        """``train.threads``, or by the size of a step (:func:`~latentatlas.threads.
        training_threads`): tiny models lose to oversubscription (30× slower on two busy
        cores)."""
        from ..threads import training_threads

        return training_threads(self.model, self.batch(self.step).x, self.config.threads)

    def _progress_bar(self, total: int):
        """A bar on a terminal, progress lines in a log (:mod:`~latentatlas.train.progress`)."""
        if not (self.config.progress and self.dist.is_main):
            return None
        from .progress import progress_display

        return progress_display(total, self.step, "step", "training", self.config.progress_every)
