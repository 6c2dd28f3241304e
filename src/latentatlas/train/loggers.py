"""Experiment trackers: every record a run writes to ``metrics.jsonl`` also goes to the trackers
named in ``train.loggers`` (``latent-atlas train --logger NAME``).

``metrics.jsonl`` stays the run's own record (what ``report`` and ``explore`` read); a logger
copies each record — the training losses every ``log_every`` steps, the evaluations, an auxiliary
objective's terms — to a tracker, as scalars named ``SPLIT/NAME`` (``train/loss``,
``eval/elbo``) at the record's step:

- ``csv``: ``RUN/csv/SPLIT.csv``, a step column and one column per scalar (standard library);
- ``tensorboard``: event files in ``RUN/tensorboard/`` (``latent-atlas[tensorboard]``);
- ``wandb``: a Weights & Biases run in ``RUN/wandb/``, offline unless ``WANDB_MODE=online``
  (``latent-atlas[wandb]``);
- ``mlflow``: an MLflow run in ``MLFLOW_TRACKING_URI``, else in ``sqlite:///RUN/mlflow.db``
  (``latent-atlas[mlflow]``).

A resumed run continues the same tracked run: the CSV files are rebuilt from ``metrics.jsonl``
(which a resume cuts back to the last checkpoint), TensorBoard gets a ``purge_step`` so that
records of the interrupted attempt past the checkpoint are hidden, and the W&B and MLflow run ids
are kept in ``RUN/loggers.json``. Loggers write only from the main process and only for a
trainer with a run folder. The tracker libraries are imported when a run starts; a missing one is
a :class:`~latentatlas.errors.ConfigError` before training begins, naming the extra to install.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import math
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..registry import LOGGERS
from . import checkpoint as ckpt
from .callbacks import Callback

if TYPE_CHECKING:
    from .trainer import Trainer

#: the file keeping the tracked runs' ids, so that a resumed run logs into the same one
IDS = "loggers.json"


def scalars_of(record: dict[str, Any]) -> dict[str, float]:
    """The numbers of a metrics record (everything but ``step`` and ``split``; booleans and
    non-numbers are left out)."""
    return {
        key: float(value)
        for key, value in record.items()
        if key not in ("step", "split")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    }


class RecordLogger(Callback):
    """Base class of a logger: :meth:`open` when training starts (``resumed_at`` > 0 on a
    resume), :meth:`write` per record, :meth:`close` when training stops for any reason."""

    #: the module the tracker needs, and the extra that installs it
    module: str | None = None
    extra: str | None = None

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.opened = False

    @classmethod
    def check_available(cls) -> None:
        """Raise :class:`ConfigError` when the tracker's library is not installed."""
        if cls.module is not None and importlib.util.find_spec(cls.module) is None:
            raise ConfigError(
                f"train.loggers: the {cls.registry_name} logger needs the {cls.module!r} package; "
                f"install it with: pip install 'latent-atlas[{cls.extra}]'"
            )

    # -- the hooks a tracker implements ----------------------------------------------------------
    def open(self, resumed_at: int) -> None: ...

    def write(self, step: int, split: str, scalars: dict[str, float]) -> None:
        raise NotImplementedError

    def close(self, status: str) -> None: ...

    # -- callback plumbing -----------------------------------------------------------------------
    def on_train_start(self, trainer: Trainer) -> None:
        self.open(trainer.step)
        self.opened = True

    def on_log(self, trainer: Trainer, record: dict[str, Any], step: int) -> None:
        scalars = scalars_of(record)
        if self.opened and scalars:
            self.write(step, str(record.get("split", "train")), scalars)

    def on_fit_end(self, trainer: Trainer, status: str) -> None:
        if self.opened:
            self.opened = False
            self.close(status)

    # -- helpers ---------------------------------------------------------------------------------
    def run_config(self) -> dict[str, Any]:
        """The run's config.json as a dict (empty when it is not written yet)."""
        try:
            return json.loads((self.run_dir / ckpt.CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def tracked_id(self, name: str) -> str | None:
        """The id of the tracked run kept for tracker ``name`` in ``loggers.json``, if any."""
        ids = self._ids()
        return ids[name] if isinstance(ids.get(name), str) else None

    def remember_id(self, name: str, run_id: str) -> None:
        """Keep ``run_id`` for tracker ``name`` in ``loggers.json`` (written atomically)."""
        ckpt.atomic_write_json(self.run_dir / IDS, {**self._ids(), name: run_id})

    def _ids(self) -> dict[str, Any]:
        try:
            ids = json.loads((self.run_dir / IDS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return ids if isinstance(ids, dict) else {}


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"model.latent.dim": 2, ...}`` (what trackers show as parameters)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = value
    return out


@LOGGERS.register("csv")
class CsvLogger(RecordLogger):
    """One CSV file per split (``csv/train.csv``, ``csv/eval.csv``): a ``step`` column and one
    column per scalar, in the order they first appear; a record missing a scalar leaves its
    cell empty. A scalar that appears later rewrites the file with the new column."""

    def __init__(self, run_dir: Path):
        super().__init__(run_dir)
        self.folder = self.run_dir / "csv"
        self.columns: dict[str, list[str]] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def open(self, resumed_at: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.columns, self.rows = {}, {}
        for record in ckpt.read_metrics(self.run_dir) if resumed_at else ():
            split, scalars = str(record.get("split", "train")), scalars_of(record)
            if scalars:
                self._add(int(record.get("step", 0)), split, scalars)
        for split in self.rows:
            self._rewrite(split)

    def _add(self, step: int, split: str, scalars: dict[str, float]) -> bool:
        """Keep the row; True when it brought a new column."""
        columns = self.columns.setdefault(split, ["step"])
        new = [k for k in scalars if k not in columns]
        columns += new
        self.rows.setdefault(split, []).append({"step": step, **scalars})
        return bool(new)

    def _rewrite(self, split: str) -> None:
        def write(tmp: str) -> None:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, self.columns[split])
                writer.writeheader()
                writer.writerows(self.rows[split])

        ckpt.atomic_write(self.folder / f"{split}.csv", write)

    def write(self, step: int, split: str, scalars: dict[str, float]) -> None:
        fresh = split not in self.rows
        if self._add(step, split, scalars) or fresh:
            self._rewrite(split)
            return
        with open(self.folder / f"{split}.csv", "a", newline="", encoding="utf-8") as fh:
            csv.DictWriter(fh, self.columns[split]).writerow(self.rows[split][-1])


@LOGGERS.register("tensorboard")
class TensorBoardLogger(RecordLogger):
    """TensorBoard event files in ``RUN/tensorboard`` (``tensorboard --logdir RUN`` or, for a
    sweep, ``--logdir SWEEP/trials``); the run's config is shown as text."""

    module, extra = "tensorboard", "tensorboard"

    def open(self, resumed_at: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # purge_step hides the interrupted attempt's records past the checkpoint
        self.writer = SummaryWriter(
            str(self.run_dir / "tensorboard"), purge_step=resumed_at + 1 if resumed_at else None
        )
        if not resumed_at:
            config = json.dumps(self.run_config(), indent=2)
            self.writer.add_text("config", f"```\n{config}\n```", 0)

    def write(self, step: int, split: str, scalars: dict[str, float]) -> None:
        for key, value in scalars.items():
            self.writer.add_scalar(f"{split}/{key}", value, step)

    def close(self, status: str) -> None:
        self.writer.close()


@LOGGERS.register("wandb")
class WandbLogger(RecordLogger):
    """A Weights & Biases run in ``RUN/wandb``: offline unless ``WANDB_MODE`` says otherwise
    (upload an offline run later with ``wandb sync RUN/wandb/offline-run-*``); the project is
    ``WANDB_PROJECT`` or ``latent-atlas``; the run's name is the run folder's."""

    module, extra = "wandb", "wandb"

    def open(self, resumed_at: int) -> None:
        import wandb

        run_id = self.tracked_id("wandb") or secrets.token_hex(6)
        self.remember_id("wandb", run_id)
        self.run = wandb.init(
            dir=str(self.run_dir),
            project=os.environ.get("WANDB_PROJECT", "latent-atlas"),
            name=self.run_dir.name,
            id=run_id,
            resume="allow",
            mode=os.environ.get("WANDB_MODE", "offline"),
            config=flat_params(self.run_config()),
            settings=wandb.Settings(silent=True, console="off"),
        )

    def write(self, step: int, split: str, scalars: dict[str, float]) -> None:
        self.run.log({f"{split}/{key}": value for key, value in scalars.items()}, step=step)

    def close(self, status: str) -> None:
        self.run.finish(exit_code=0 if status == "finished" else 1)


@LOGGERS.register("mlflow")
class MlflowLogger(RecordLogger):
    """An MLflow run in the tracking store ``MLFLOW_TRACKING_URI`` (a server, a database), else
    in ``sqlite:///RUN/mlflow.db`` (``mlflow ui --backend-store-uri sqlite:///RUN/mlflow.db``);
    the experiment is ``MLFLOW_EXPERIMENT_NAME`` or ``latent-atlas``; the config's values are the
    run's parameters."""

    module, extra = "mlflow", "mlflow"

    def open(self, resumed_at: int) -> None:
        from mlflow.tracking import MlflowClient

        for name in ("mlflow", "alembic"):  # their INFO lines (creating the database) are noise
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(logging.WARNING)
        uri = os.environ.get("MLFLOW_TRACKING_URI") or (
            f"sqlite:///{(self.run_dir / 'mlflow.db').resolve()}"
        )
        self.client = client = MlflowClient(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "latent-atlas")
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        key = f"mlflow:{uri}"
        run_id = self.tracked_id(key)
        if run_id is not None:
            client.update_run(run_id, status="RUNNING")
        else:
            run_id = client.create_run(experiment_id, run_name=self.run_dir.name).info.run_id
            self.remember_id(key, run_id)
            from mlflow.entities import Param

            params = [Param(k, str(v)[:6000]) for k, v in flat_params(self.run_config()).items()]
            for start in range(0, len(params), 100):  # MLflow takes 100 params per batch
                client.log_batch(run_id, params=params[start : start + 100])
        self.run_id = run_id

    def write(self, step: int, split: str, scalars: dict[str, float]) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        metrics = [
            Metric(f"{split}/{key}", value, stamp, step)
            for key, value in scalars.items()
            if math.isfinite(value)  # MLflow refuses NaN/inf; metrics.jsonl keeps them
        ]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def close(self, status: str) -> None:
        state = {"finished": "FINISHED", "interrupted": "KILLED"}.get(status, "FAILED")
        self.client.set_terminated(self.run_id, status=state)


def check_loggers_installed(names: Sequence[str]) -> None:
    """Refuse a tracker whose library is missing (the names themselves are checked by
    ``TrainerConfig``)."""
    for name in names:
        LOGGERS.get(name).check_available()


def make_loggers(names: Sequence[str], run_dir: Path) -> list[RecordLogger]:
    """The loggers ``names`` writing for the run in ``run_dir``."""
    check_loggers_installed(names)
    return [LOGGERS.get(name)(run_dir) for name in names]
