"""The run store: run folders that a command reuses, resumes or refuses by one rule.

Reproductions (their model store), sweeps and the demo train models into run folders and are
run again: after a finished invocation, after Ctrl-C, after a kill. Each folder they ask for is
in one of four states, and the store treats each the same way for all of them:

- **finished** (its last checkpoint is at its final step): reused, with the state its callbacks
  had at its end (:func:`~latentatlas.train.run.restore_run`);
- **stopped** (a checkpoint before the end, or a config written before the first checkpoint):
  resumed (:func:`~latentatlas.train.run.resume_fit`: from the checkpoint, the same numbers as
  one uninterrupted run; without one, from step 0 with the saved config);
- **missing**: trained (:func:`~latentatlas.train.run.fit_config`);
- **other settings**: refused (:class:`~latentatlas.errors.RunFolderError` naming the first
  difference). The saved config and the one asked for are both completed with the current
  defaults and compared whole, except :data:`FREE_SETTINGS`, which change how a run is carried
  out, not what it computes (the device and the memory layout change the numbers only by float
  rounding).

Members of a vectorised ensemble (:func:`train_ensemble_into`) follow the same rule: every
member's folder is written at each of the ensemble's checkpoints (trainer state and the
per-step losses so far, :data:`LOSSES`), so an ensemble stopped part-way resumes, as one, from
the step its members reached; finished members are reused, missing ones train together.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import first_difference
from ..data.base import FactorDataset
from ..errors import ConfigError, Interrupted, RunFolderError
from . import checkpoint as ckpt
from .callbacks import Callback
from .run import (
    RunConfig,
    build_dataset,
    check_same_data,
    complete_config,
    fit_config,
    load,
    load_config,
    reached_end,
    read_metadata,
    restore_run,
    resume_fit,
)
from .trainer import FitResult

log = logging.getLogger(__name__)

#: settings (dotted) that may differ between invocations on the same folder
FREE_SETTINGS = frozenset(
    {
        "train.device",
        "train.progress",
        "train.progress_every",
        "train.memory_format",
        "train.loggers",
        "train.checkpoint_every",
        "train.eval_every",
    }
)
#: an ensemble member's loss at every step so far (float32 safetensors, key "loss")
LOSSES = "losses.safetensors"


@dataclass
class StoredRun:
    """What :func:`train_or_continue` did: the model, the fit (None when reused) and whether
    the folder's finished run was reused."""

    model: torch.nn.Module
    fit: FitResult | None
    reused: bool


def check_same_config(
    folder: str | Path,
    config: RunConfig,
    dataset: FactorDataset | None = None,
    what: str = "run",
) -> None:
    """Refuse a run folder trained with other settings than ``config`` (see the module doc):
    :class:`RunFolderError` naming the first difference and what to do."""
    folder = Path(folder)
    data = dataset if dataset is not None else build_dataset(config)
    try:
        saved = _comparable(complete_config(load_config(folder), data).to_dict())
    except ConfigError as exc:
        raise RunFolderError(
            f"{folder}: its config no longer fits this {what} ({exc}); pass --force to replace "
            "it, or choose another --out"
        ) from None
    wanted = _comparable(complete_config(config, data).to_dict())
    if saved != wanted:
        key, old, new = first_difference(saved, wanted)
        raise RunFolderError(
            f"{folder} was trained with {key} = {old!r}, this run needs {new!r}: the "
            f"{what}'s settings or code changed since. Rerun with the settings it was started "
            "with, pass --force to replace it, or choose another --out"
        )


def _comparable(config: dict) -> dict:
    out = {**config}
    for dotted in FREE_SETTINGS:
        section, key = dotted.split(".")
        out[section] = {k: v for k, v in out.get(section, {}).items() if k != key}
    return out


def train_or_continue(
    config: RunConfig,
    folder: str | Path,
    callbacks: Sequence[Callback] = (),
    dataset: FactorDataset | None = None,
    *,
    record_data: bool = False,
    what: str = "run",
) -> StoredRun:
    """The model of ``config`` in ``folder``: reused when finished, resumed when stopped,
    trained when missing, refused when trained with other settings (the module doc). A run
    that goes on does so on ``config``'s device; its other free settings stay the folder's.
    ``record_data``: record a ``dataset`` the config cannot rebuild in the folder
    (:func:`fit_config`); callers that pass their data again on every invocation leave it out."""
    folder = Path(folder)
    if not (folder / ckpt.CONFIG).is_file():
        model, fit = fit_config(config, folder, callbacks, dataset, record_data)
        return StoredRun(model, fit, False)
    check_same_config(folder, config, dataset, what)
    if reached_end(folder):
        return StoredRun(restore_run(folder, callbacks, dataset, config.train.device), None, True)
    model, fit = resume_fit(folder, {"train": {"device": config.train.device}}, callbacks, dataset)
    return StoredRun(model, fit, False)


def stop_if_interrupted(fit: FitResult | None, where: str) -> None:
    """A training stopped by Ctrl-C or SIGTERM stops the command (its checkpoint is saved):
    :class:`Interrupted` saying where it stopped (``where``: the run, e.g. its folder)."""
    if fit is not None and fit.status == "interrupted":
        raise Interrupted(fit.signal or "SIGINT", f"{where} stopped at step {fit.step}")


# -- ensembles -------------------------------------------------------------------------------------
def train_ensemble_into(
    configs: Sequence[RunConfig],
    folders: Sequence[str | Path],
    progress: bool = False,
    what: str = "run",
) -> Any:
    """Train ``configs`` as one vectorised ensemble (:func:`~latentatlas.train.ensemble.\
train_ensemble`) with member k's run folder in ``folders[k]``, by the store's rule: finished
    members are reused, members stopped at a checkpoint resume together with those stopped at
    the same step, missing ones train together from the start, and every member's folder is
    written at each checkpoint and at the end. Returns an
    :class:`~latentatlas.train.ensemble.EnsembleResult` of every member, in order, with its
    per-step losses from step 1.

    Ctrl-C / SIGTERM: the members' folders are written at the step reached and
    :class:`Interrupted` says that running again continues from there."""
    from .ensemble import EnsembleResult

    if len(folders) != len(configs):
        raise ValueError(f"{len(folders)} folders for {len(configs)} ensemble members")
    folders = [Path(f) for f in folders]
    data = _Datasets()
    finished: dict[int, tuple[torch.nn.Module, torch.Tensor]] = {}
    stopped: dict[int, list[int]] = {}  # step → members checkpointed there
    states: dict[int, dict] = {}
    fresh: list[int] = []
    for k, (folder, config) in enumerate(zip(folders, configs)):
        if not (folder / ckpt.CONFIG).is_file():
            fresh.append(k)
            continue
        check_same_config(folder, config, data.of(config), what)
        check_same_data(folder, read_metadata(folder), data.of(config), what)
        if reached_end(folder):
            finished[k] = (load(folder), read_losses(folder))
        elif (folder / ckpt.STATE).is_file():
            states[k] = ckpt.load_state(folder / ckpt.STATE)
            stopped.setdefault(int(states[k]["step"]), []).append(k)
        else:  # its config written, killed before its first checkpoint: from the start
            fresh.append(k)
    trained: dict[int, tuple[torch.nn.Module, torch.Tensor]] = {}
    groups = [(members, [states[k] for k in members]) for members in stopped.values()]
    if fresh:
        groups.append((fresh, None))
    for members, start in groups:
        trained.update(_train_members(members, start, configs, folders, data, progress))
    done = {**finished, **trained}
    order = range(len(configs))
    losses = torch.stack([done[k][1] for k in order], 1)
    return EnsembleResult([done[k][0] for k in order], list(configs), losses)


class _Datasets:
    """Members that share a dataset spec share one built copy and one fingerprint."""

    def __init__(self) -> None:
        self.built: dict[str, FactorDataset] = {}
        self.prints: dict[str, str] = {}

    def of(self, config: RunConfig) -> FactorDataset:
        key = json.dumps(config.dataset, sort_keys=True)
        if key not in self.built:
            self.built[key] = build_dataset(config)
        return self.built[key]

    def fingerprint(self, config: RunConfig) -> str:
        key = json.dumps(config.dataset, sort_keys=True)
        if key not in self.prints:
            self.prints[key] = self.of(config).fingerprint()
        return self.prints[key]


def _train_members(
    members: list[int],
    start: list[dict] | None,
    configs: Sequence[RunConfig],
    folders: Sequence[Path],
    data: _Datasets,
    progress: bool,
) -> dict[int, tuple[torch.nn.Module, torch.Tensor]]:
    """Train (``start``: resume) ``members`` as one ensemble; each member's folder written at
    every checkpoint and at the end; member → (model, per-step losses from step 1)."""
    from .ensemble import EnsembleResult, train_ensemble

    earlier = {k: read_losses(folders[k]) if start else torch.zeros(0) for k in members}

    def write(result: EnsembleResult) -> None:
        for j, k in enumerate(members):
            state = result.states[j] if result.states else None
            losses = torch.cat([earlier[k][: result.first_step], result.losses[:, j]])
            fingerprint = data.fingerprint(result.configs[j])
            write_member(
                folders[k],
                result.configs[j],
                result.models[j],
                losses,
                state,
                fingerprint,
                result.total_steps,
            )

    def checkpoint(result: EnsembleResult) -> None:
        if result.states and all(s is not None for s in result.states):  # else: not resumable
            write(result)

    try:
        result = train_ensemble([configs[k] for k in members], progress, checkpoint, start)
    except Interrupted as stop:
        at = stop.result
        if isinstance(at, EnsembleResult) and at.step > at.first_step:
            checkpoint(at)
        raise Interrupted(
            stop.signal,
            f"stopped by {stop.signal} while training an ensemble of {len(members)} models "
            f"({stop}); running the command again continues it from its last checkpoint",
            step=stop.step,
        ) from None
    write(result)
    return {
        k: (result.models[j], torch.cat([earlier[k][: result.first_step], result.losses[:, j]]))
        for j, k in enumerate(members)
    }


def write_member(
    folder: Path,
    config: RunConfig,
    model: torch.nn.Module,
    losses: torch.Tensor,
    state: dict | None,
    fingerprint: str,
    total_steps: int | None = None,
) -> None:
    """An ensemble member's run folder (:func:`~latentatlas.train.ensemble.write_member_run`)
    with its per-step ``losses`` from step 1, which reusing or resuming it reads back."""
    from safetensors.torch import save_file

    from .ensemble import write_member_run

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{LOSSES}.tmp"
    save_file({"loss": losses.detach().float().contiguous().cpu()}, str(tmp))
    tmp.replace(folder / LOSSES)
    # a member resumed from a folder written before LOSSES existed: its unknown (NaN) first
    # steps keep the folder's own records
    unknown = int(torch.isnan(losses).cumprod(0).sum())
    write_member_run(
        folder, config, model, losses[unknown:], state, fingerprint, total_steps, unknown
    )


def read_losses(folder: Path) -> torch.Tensor:
    """An ensemble member's per-step losses (:data:`LOSSES`); a member written before this file
    existed has NaN for the steps it does not know."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(folder) / LOSSES
    if not path.is_file():
        step = int(read_metadata(folder).get("step", 0) or 0)
        return torch.full((step,), float("nan"))
    try:
        return load_file(str(path))["loss"]
    except (SafetensorError, KeyError, OSError) as exc:
        raise RunFolderError(f"{path}: unreadable losses ({exc})") from None
