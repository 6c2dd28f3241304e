"""Training callbacks: hooks called by the :class:`~latentatlas.train.Trainer`.

The trainer knows nothing of evaluation or plotting; higher layers pass callbacks in.
:class:`PeriodicCallback` runs a function every N steps and logs what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .trainer import Trainer


class Callback:
    """Base class; override what you need. ``step`` counts completed optimiser steps."""

    def on_train_start(self, trainer: Trainer) -> None: ...

    def on_step_end(self, trainer: Trainer, step: int, scalars: dict[str, float] | None) -> None:
        """After each step; ``scalars`` is the logged record on logging steps, else None."""

    def on_checkpoint(self, trainer: Trainer, step: int) -> None: ...

    def on_train_end(self, trainer: Trainer, step: int) -> None: ...

    def on_log(self, trainer: Trainer, record: dict[str, Any], step: int) -> None:
        """After ``record`` (``{"split", **values}``) was appended to ``metrics.jsonl`` at
        ``step`` (main process, runs with a folder only); what the trackers' loggers use."""

    def on_fit_end(self, trainer: Trainer, status: str) -> None:
        """When ``fit`` returns or raises, whatever the reason: ``status`` is ``finished``,
        ``interrupted``, ``diverged`` or ``failed``. For releasing resources (files, trackers)."""

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to continue exactly (saved in the trainer's checkpoint;
        tensors, numbers and nested dicts only)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` when a run resumes."""


class PeriodicCallback(Callback):
    """Call ``fn(model) -> dict`` every ``every`` steps and at the end; log it as ``split``.

    Runs in ``torch.no_grad`` with the model in eval mode, then restores train mode. The returned
    numbers go to ``metrics.jsonl`` as one record ``{"step", "split", **values}`` and are kept in
    ``records`` (runs without a folder).
    """

    def __init__(self, fn: Callable[[Any], dict[str, float]], every: int, split: str = "eval"):
        self.fn, self.every, self.split = fn, every, split
        self.last_step = -1
        self.records: list[dict[str, float]] = []

    def _run(self, trainer: Trainer, step: int) -> None:
        if step == self.last_step:
            return
        self.last_step = step
        values = trainer.run_on_model(self.fn)
        self.records.append({"step": step, **values})
        trainer.log({"split": self.split, **values}, step)

    def on_step_end(self, trainer: Trainer, step: int, scalars: dict[str, float] | None) -> None:
        if self.every and step % self.every == 0:
            self._run(trainer, step)

    def on_train_end(self, trainer: Trainer, step: int) -> None:
        self._run(trainer, step)

    def state_dict(self) -> dict[str, Any]:
        return {"last_step": self.last_step, "records": [dict(r) for r in self.records]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_step = int(state["last_step"])
        self.records = [dict(r) for r in state["records"]]


class StopAt(Callback):
    """Request a clean stop after ``step`` steps, as Ctrl-C would (used by tests and demos)."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, trainer: Trainer, step: int, scalars: dict[str, float] | None) -> None:
        if step >= self.step:
            trainer.request_stop()


class History(Callback):
    """Keep every logged training record in memory, ``records`` (for runs without a folder)."""

    def __init__(self) -> None:
        self.records: list[dict[str, float]] = []

    def on_step_end(self, trainer: Trainer, step: int, scalars: dict[str, float] | None) -> None:
        if scalars is not None:
            self.records.append({"step": step, **scalars})


class Snapshots(Callback):
    """Copies of the model's weights at chosen steps, ``weights[step]`` (to analyse one training
    at several lengths without a run folder)."""

    def __init__(self, steps: Sequence[int]):
        self.steps = set(int(s) for s in steps)
        self.weights: dict[int, dict[str, Any]] = {}

    def on_step_end(self, trainer: Trainer, step: int, scalars: dict[str, float] | None) -> None:
        if step in self.steps:
            self.weights[step] = {
                k: v.detach().clone() for k, v in trainer.model.state_dict().items()
            }

    def state_dict(self) -> dict[str, Any]:
        return {"weights": {str(step): dict(w) for step, w in self.weights.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights = {int(step): dict(w) for step, w in state["weights"].items()}


class BestWeights(Callback):
    """Keep the weights where ``score(model)`` was lowest and end training with them.

    What the atomic-autoencoder authors do over their long trainings (keep the lowest-loss
    checkpoint): ``score`` (a function of the model returning a number, lower is better, run in
    eval mode without gradients — e.g. the loss on a fixed held-out batch) is evaluated every
    ``every`` steps and at the end; each new lowest value keeps a copy of the weights. At the
    end the model is given the kept weights, and a run folder's ``model.safetensors`` is
    rewritten with them (``best_step`` and ``best_score`` in its metadata and in
    ``metadata.json``); the trainer state keeps the last step's weights, and the score runs on a
    fork of the random generators, so the training itself is unchanged. Each evaluation is
    logged as ``{"split": "best", "score", "best_score"}``.
    A score that is not finite never counts as best.
    """

    def __init__(self, score: Callable[[Any], float], every: int):
        if every < 1:
            raise ValueError(f"BestWeights: every must be >= 1, got {every}")
        self.score, self.every = score, every
        self.best_step = -1
        self.best_score = float("inf")
        self.weights: dict[str, Any] | None = None
        self.last_step = -1

    def _evaluate(self, trainer: Trainer, step: int) -> None:
        if step == self.last_step:
            return
        self.last_step = step
        device = next(trainer.model.parameters()).device
        # a stochastic score (a VAE's loss) must not move the training's random numbers
        accelerated = device.type != "cpu"
        with torch.random.fork_rng(
            devices=[device] if accelerated else [],
            device_type=device.type if accelerated else None,
        ):
            value = float(trainer.run_on_model(self.score))
        if value == value and abs(value) != float("inf") and value < self.best_score:
            self.best_score, self.best_step = value, step
            self.weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        trainer.log({"split": "best", "score": value, "best_score": self.best_score}, step)

    def on_step_end(self, trainer: Trainer, step: int, scalars: dict[str, float] | None) -> None:
        # the last step too, before the final checkpoint, so that the checkpoint holds it
        if step % self.every == 0 or step == trainer.total_steps:
            self._evaluate(trainer, step)

    def on_train_end(self, trainer: Trainer, step: int) -> None:
        self._evaluate(trainer, step)
        if self.weights is None:
            return
        trainer.model.load_state_dict(self.weights)
        if trainer.run_dir is not None and trainer.dist.is_main:
            from . import checkpoint as ckpt

            ckpt.save_weights(
                trainer.run_dir / ckpt.WEIGHTS,
                trainer.model,
                {"step": str(step), "best_step": str(self.best_step)},
            )
            trainer.update_metadata(best_step=self.best_step, best_score=self.best_score)

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "best_step": self.best_step,
            "best_score": self.best_score,
            "last_step": self.last_step,
        }
        if self.weights is not None:
            state["weights"] = dict(self.weights)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_step = int(state["best_step"])
        self.best_score = float(state["best_score"])
        self.last_step = int(state["last_step"])
        weights = state.get("weights")
        self.weights = dict(weights) if weights is not None else None
