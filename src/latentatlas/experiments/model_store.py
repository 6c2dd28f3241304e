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

Without an output folder (``ModelStore()``, what a run function uses when given none) models
train in memory. Every experiment's ``run(settings, store)`` receives its store as an argument
(:mod:`.experiment`) and hands it to whatever trains.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
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
        progress: whether each training shows the trainer's progress bar (a setting that never
            changes a model: it is set here rather than in each experiment's configs).
    """

    def __init__(
        self,
        root: str | Path | None = None,
        device: str | torch.device | None = None,
        on_event: Callable[[ModelEvent], None] | None = None,
        progress: bool = False,
    ):
        self.root = Path(root) / MODELS if root is not None else None
        self.device = str(device) if device is not None else None
        self.on_event = on_event
        self.progress = progress
        self.expected: int | None = None
        self.count = 0
        self.ensembles = 0
        """vectorised ensembles trained or reused"""

    @property
    def folder(self) -> Path | None:
        """The reproduction's output folder (None in memory)."""
        return self.root.parent if self.root is not None else None

    # -- what the experiment declares ------------------------------------------------------------
    def expect(self, n: int) -> None:
        """The experiment will train ``n`` models (for "k of n" in progress and reports)."""
        self.expected = int(n)

    # -- one model -------------------------------------------------------------------------------
    def train_spec(
        self,
        model_spec: dict,
        data_spec: dict,
        dataset: FactorDataset,
        train: dict[str, Any],
        seed: int,
        callbacks: Sequence[Callback] = (),
        label: str | None = None,
    ) -> TrainedModel:
        """:meth:`train` on the run config made of ``model_spec``, ``data_spec`` (describing the
        already built ``dataset``), the trainer settings ``train`` (every step logged unless
        they say otherwise) and ``seed``."""
        config = {
            "dataset": data_spec,
            "model": model_spec,
            "train": {"log_every": 1, **train},
            "seed": seed,
        }
        return self.train(config, dataset, callbacks, label)

    def train(
        self,
        config: RunConfig | dict,
        dataset: FactorDataset | None = None,
        callbacks: Sequence[Callback] = (),
        label: str | None = None,
    ) -> TrainedModel:
        """Train (or reuse, or resume) the next model of the experiment; see the module doc."""
        config = self._with_store_settings(config)
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
        return result_cache.cached(self.folder, label, inputs, compute)

    # -- a vectorised ensemble -------------------------------------------------------------------
    def train_ensemble(self, configs: Sequence[RunConfig | dict], labels: Sequence[str]) -> Any:
        """Train ``configs`` as one vectorised ensemble (see
        :func:`~latentatlas.train.ensemble.train_ensemble`) and write each member as a finished
        run folder; when every member's folder is finished already, load them instead. Returns
        an :class:`~latentatlas.train.ensemble.EnsembleResult` either way."""
        from ..train.ensemble import train_ensemble

        self.ensembles += 1
        if len(labels) != len(configs):
            raise ValueError(f"{len(labels)} labels for {len(configs)} ensemble members")
        configs = [self._with_store_settings(c) for c in configs]
        indices = list(range(self.count, self.count + len(configs)))
        self.count += len(configs)
        names = [f"{i + 1:02d}-{_slug(label)}" for i, label in zip(indices, labels)]
        for i, label in zip(indices, labels):
            self._emit("start", i, _slug(label))
        reused = False
        if self.root is None:
            result = train_ensemble(configs, progress=self.progress)
        else:
            folders = [self.root / n for n in names]
            reused = all((f / ckpt.CONFIG).is_file() and reached_end(f) for f in folders)
            result = train_ensemble_into(configs, folders, self.progress, what="reproduction")
        for i, label in zip(indices, labels):
            self._emit("done", i, _slug(label), reused=reused)
        return result

    # -- helpers -----------------------------------------------------------------------------------
    def _with_store_settings(self, config: RunConfig | dict) -> RunConfig:
        """``config`` on the store's device, with the store's progress display."""
        data = config.to_dict() if isinstance(config, RunConfig) else dict(config)
        train = {**data.get("train", {}), "progress": self.progress}
        if self.device is not None:
            train["device"] = self.device
        return RunConfig.from_dict({**data, "train": train})

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
