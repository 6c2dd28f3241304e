"""Where a reproduction's models live: one ordinary run folder per model, reused when rerun.

``latent-atlas reproduce NAME --out DIR`` trains each of the experiment's models into
``DIR/models/NN-label`` (``NN`` its place in the experiment's order), a run folder like any
other: ``latentatlas.load`` and ``latent-atlas explore`` open it, ``train --resume`` continues
it. Rerunning the same command goes through the same models in the same order and, for each:

- a finished run is reused: its weights and the state the experiment's callbacks had at its end
  (weight snapshots, tracked measurements) come from its last checkpoint, its loss records from
  ``metrics.jsonl``;
- an interrupted one resumes from its last checkpoint (the same numbers as an uninterrupted
  run: the trainer checkpoints the callbacks' state too);
- a missing one trains.

A folder whose config differs from the model the experiment now asks for (other settings, or
code that changed) is refused, naming the first difference: the experiment's results would mix
models of two protocols. Models trained as one vectorised ensemble are run folders too, written
at each of the ensemble's checkpoints: an ensemble interrupted half-way resumes from there. The
rule is the run store's (:mod:`latentatlas.train.store`), the same for sweeps.

Ctrl-C or SIGTERM during a training saves its checkpoint and raises
:class:`~latentatlas.errors.Interrupted`, which stops the experiment (the CLI exits 130/143).

Analyses that cost hours keep each finished step in ``DIR/results`` through
:meth:`ModelStore.cached` (:mod:`.result_cache`): a rerun reuses the steps computed from the same
models and settings.

Without an output folder (the Python API's default) models train in memory as before. The
store in use is a context variable: :func:`use_store` sets it for one experiment, and the
experiments' training helpers read it with :func:`current_store`.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data.base import FactorDataset
from ..train import checkpoint as ckpt
from ..train.callbacks import Callback, History
from ..train.run import RunConfig, fit_config, reached_end
from ..train.store import stop_if_interrupted, train_ensemble_into, train_or_continue
from . import result_cache

#: the sub-folder of a reproduction's output that holds its models
MODELS = "models"


@dataclass
class TrainedModel:
    """A model of an experiment: the module (eval mode), every training record (``loss`` and the
    model's terms, one per logged step) and the seconds this invocation spent training it."""

    model: torch.nn.Module
    records: list[dict[str, Any]]
    seconds: float
    folder: Path | None = None
    reused: bool = False


@dataclass
class ModelEvent:
    """What the store just did, for progress displays: ``kind`` is "start" or "done"."""

    kind: str
    index: int
    label: str
    expected: int | None
    reused: bool = False


class ModelStore:
    """Trains an experiment's models into ``root/models`` (or in memory when ``root`` is None).

    Args:
        root: the reproduction's output folder, or None for in-memory training.
        device: the torch device models train on (None: each config's own ``train.device``);
            trained models come back on the CPU, where the experiments' analyses run.
        on_event: called with a :class:`ModelEvent` before and after each model (progress).
    """

    def __init__(
        self,
        root: str | Path | None = None,
        device: str | torch.device | None = None,
        on_event: Callable[[ModelEvent], None] | None = None,
    ):
        self.root = Path(root) / MODELS if root is not None else None
        self.device = str(device) if device is not None else None
        self.on_event = on_event
        self.expected: int | None = None
        self.count = 0
        self.ensembles = 0
        """vectorised ensembles trained or reused"""

    # -- what the experiment declares ------------------------------------------------------------
    def expect(self, n: int) -> None:
        """The experiment will train ``n`` models (for "k of n" in progress and reports)."""
        self.expected = int(n)

    # -- one model -------------------------------------------------------------------------------
    def train(
        self,
        config: RunConfig | dict,
        dataset: FactorDataset | None = None,
        callbacks: Sequence[Callback] = (),
        label: str | None = None,
    ) -> TrainedModel:
        """Train (or reuse, or resume) the next model of the experiment; see the module doc."""
        config = self._on_device(config)
        label = _slug(label or str(config.model.get("name", "model")))
        index = self.count
        self.count += 1
        self._emit("start", index, label)
        folder = self.root / f"{index + 1:02d}-{label}" if self.root is not None else None
        t0 = time.perf_counter()
        history = History()
        reused = False
        if folder is None:
            model, fit = fit_config(config, None, [history, *callbacks], dataset, False)
            stop_if_interrupted(fit, "the model")
            records = history.records
        else:
            run = train_or_continue(config, folder, callbacks, dataset, what="reproduction")
            model, reused = run.model, run.reused
            stop_if_interrupted(run.fit, str(folder))
            records = [r for r in ckpt.read_metrics(folder) if r.get("split") == "train"]
        seconds = time.perf_counter() - t0
        self._emit("done", index, label, reused)
        return TrainedModel(model.cpu().eval(), records, seconds, folder, reused)

    # -- results computed from the models --------------------------------------------------------
    def cached(
        self,
        label: str,
        inputs: Mapping[str, Any],
        compute: Callable[[], dict[str, torch.Tensor]],
    ) -> dict[str, torch.Tensor]:
        """An analysis step's tensors, reused from ``DIR/results`` when a previous invocation
        computed them from the same ``inputs`` (settings, tensors, models); computed and kept
        otherwise (:func:`~latentatlas.experiments.result_cache.cached`). In memory: computed."""
        root = self.root.parent if self.root is not None else None
        return result_cache.cached(root, label, inputs, compute)

    # -- a vectorised ensemble -------------------------------------------------------------------
    def train_ensemble(
        self, configs: Sequence[RunConfig], labels: Sequence[str], progress: bool = False
    ) -> Any:
        """Train ``configs`` as one vectorised ensemble (see
        :func:`~latentatlas.train.ensemble.train_ensemble`) and write each member as a finished
        run folder; when every member's folder is finished already, load them instead. Returns
        an :class:`~latentatlas.train.ensemble.EnsembleResult` either way."""
        from ..train.ensemble import train_ensemble

        self.ensembles += 1
        if len(labels) != len(configs):
            raise ValueError(f"{len(labels)} labels for {len(configs)} ensemble members")
        configs = [self._on_device(c) for c in configs]
        indices = list(range(self.count, self.count + len(configs)))
        self.count += len(configs)
        names = [f"{i + 1:02d}-{_slug(label)}" for i, label in zip(indices, labels)]
        for i, label in zip(indices, labels):
            self._emit("start", i, _slug(label))
        reused = False
        if self.root is None:
            result = train_ensemble(configs, progress=progress)
        else:
            folders = [self.root / n for n in names]
            reused = all((f / ckpt.CONFIG).is_file() and reached_end(f) for f in folders)
            result = train_ensemble_into(configs, folders, progress, what="reproduction")
        for i, label in zip(indices, labels):
            self._emit("done", i, _slug(label), reused=reused)
        return result

    # -- helpers -----------------------------------------------------------------------------------
    def _on_device(self, config: RunConfig | dict) -> RunConfig:
        if isinstance(config, dict):
            config = RunConfig.from_dict(config)
        if self.device is None:
            return config
        train = {**config.train.to_dict(), "device": self.device}
        return RunConfig.from_dict({**config.to_dict(), "train": train})

    def _emit(self, kind: str, index: int, label: str, reused: bool = False) -> None:
        if self.on_event is not None:
            self.on_event(ModelEvent(kind, index, label, self.expected, reused))


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", label).strip("-") or "model"


class ExperimentProgress:
    """One progress bar over the experiment's models ("3/8 models", the current one's label)
    above the trainer's bar for the model in training (in a log: a line per model finished);
    nothing when ``enabled`` is false. Use as a context manager, with :meth:`update` as the
    store's ``on_event``."""

    def __init__(self, name: str, enabled: bool = True):
        self.name, self.enabled = name, enabled
        self.bar: Any = None
        self.done = 0

    def __enter__(self) -> ExperimentProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, event: ModelEvent) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from ..train.progress import progress_display

            self.bar = progress_display(
                event.expected or 0, 0, "model", self.name, interval=0.0, position=0
            )
        if event.expected is not None and self.bar.total != event.expected:
            self.bar.total = event.expected
        what = "reused" if event.reused else ("training" if event.kind == "start" else "trained")
        self.bar.set_postfix_str(f"{event.label} ({what})")
        if event.kind == "done":
            self.done += 1
            self.bar.update(1)


_STORE: contextvars.ContextVar[ModelStore | None] = contextvars.ContextVar(
    "latentatlas_model_store", default=None
)


def current_store() -> ModelStore:
    """The store of the experiment being run, or a fresh in-memory one."""
    return _STORE.get() or ModelStore()


@contextlib.contextmanager
def use_store(store: ModelStore) -> Iterator[ModelStore]:
    """Make ``store`` the one the experiment's training helpers use, for the ``with`` block."""
    token = _STORE.set(store)
    try:
        yield store
    finally:
        _STORE.reset(token)
