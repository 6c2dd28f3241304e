"""``latent-atlas sweep SWEEP.yaml``: train a grid of models × hyper-parameters × seeds, score each
with the disentanglement metrics, and gather one table and report.

A sweep file::

    base:                      # a run config shared by every trial (dataset, model nets, train)
      dataset: {name: dsprites}
      model: {latent: {name: euclidean, dim: 10}}
      train: {steps: 10000, batch_size: 64, lr: 0.0001}
    models:                    # model name → hyper-parameters; a list is a grid axis
      beta_vae: {beta: [1, 4, 16]}
      factor_vae: {gamma: [10, 40]}
    seeds: [0, 1, 2]
    metrics: all               # or a list: [mig, dci]
    preset: fast               # metric preset: standard, fast or study

Every trial is an ordinary run folder under ``OUT/trials/<model>-<k=v…>-seed<s>/`` with its
``disentanglement.json`` (a full run folder: metrics, trainer state, metadata);
``OUT/results.csv`` (one column per hyper-parameter) and ``results.json`` hold one row per trial
(model, hyper-parameters, seed, status, every score) and ``report.html`` the distributions of the
scores per model and hyper-parameter values, and each score against each swept hyper-parameter.
A trial whose folder already holds scores of the same metrics and preset is not run again, so
an interrupted sweep continues where it stopped (a trial interrupted after a checkpoint resumes
from it); a finished trial scored with other metrics or another preset is scored again, not
retrained; a trial folder whose saved config the sweep contradicts is refused
(:func:`config_conflict`); a failing trial is recorded with its error and the others go on.

Executors: ``local`` trains the trials that differ only in their seed as one vectorised ensemble
(``train.ensemble``) when the model allows it (no training phases, no auxiliary step), and the
others in up to ``jobs`` processes; ``ray`` submits each trial as a Ray task (``ray`` is an
optional extra: ``pip install 'latent-atlas[ray]'``), to a running cluster (``address``) or a
local instance.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..config import field as config_field
from ..errors import ConfigError
from ..registry import MODELS
from .outputs import duration_text

SCORES_FILE = "disentanglement.json"
SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class SweepConfig(Config):
    base: dict = config_field(default_factory=dict, doc="run config shared by all trials")
    models: dict = config_field(
        default_factory=dict, doc="model name → {hyper-parameter: value or list of values}"
    )
    seeds: tuple[int, ...] = config_field((0,), ge=0, doc="seeds of every grid point")
    metrics: tuple[str, ...] = config_field(
        ("all",),
        convert=lambda v: (v,) if isinstance(v, str) else v,
        doc="metric names, or all",
    )
    preset: str = config_field(
        "fast", choices=("standard", "fast", "study"), doc="metric preset (analysis.metrics)"
    )

    def validate(self) -> None:
        from ..analysis.metrics import metric_names

        if not self.models:
            raise ConfigError(
                "models: expected at least one model, e.g. {beta_vae: {beta: [1, 4]}}"
            )
        for name, hyper in self.models.items():
            MODELS.get(name)  # an unknown model lists the valid ones
            if not isinstance(hyper, dict):
                raise ConfigError(f"models.{name}: expected a mapping of hyper-parameters")
        if not self.seeds:
            raise ConfigError("seeds: expected at least one seed")
        metric_names(self.metric_list)
        if "seed" in self.base:
            raise ConfigError("base.seed: seeds come from the sweep's seeds list")

    @property
    def metric_list(self) -> str | list[str]:
        """``"all"`` or the list of metric names."""
        return "all" if tuple(self.metrics) == ("all",) else list(self.metrics)


@dataclass(frozen=True)
class Trial:
    """One grid point and seed: its folder name and full run config."""

    name: str
    model: str
    hyper: dict
    seed: int
    config: dict


def _label(value: Any) -> str:
    return json.dumps(value, separators=(",", ":")).strip('"').replace("/", "_")


def expand(sweep: SweepConfig) -> list[Trial]:
    """Every trial of the grid, in a fixed order (model, hyper-parameters, seed); each run
    config is validated now, so a bad value fails before anything trains."""
    from ..train.run import RunConfig

    trials = []
    for model, hyper in sweep.models.items():
        keys = sorted(hyper)
        axes = [v if isinstance(v, list) else [v] for v in (hyper[k] for k in keys)]
        for values in itertools.product(*axes):
            point = dict(zip(keys, values))
            for seed in sweep.seeds:
                base_model = dict(sweep.base.get("model", {}))
                config = {
                    **sweep.base,
                    "model": {**base_model, "name": model, **point},
                    "seed": seed,
                }
                config.setdefault("train", {})
                config["train"] = {**config["train"], "progress": False}
                RunConfig.from_dict(config)
                parts = [model, *(f"{k}={_label(v)}" for k, v in point.items()), f"seed{seed}"]
                trials.append(Trial("-".join(parts), model, point, seed, config))
    return trials


# -- one trial ----------------------------------------------------------------------------------
def _score(run_dir: Path, metrics: Any, preset: str, seed: int) -> dict[str, float]:
    from ..analysis.metrics import evaluate_metrics, periodic_codes_of, posterior_mean
    from ..train.checkpoint import atomic_write_json
    from ..train.run import load, load_dataset

    model = load(run_dir)
    scores = evaluate_metrics(
        load_dataset(run_dir),
        posterior_mean(model),
        metrics,
        preset,
        seed,
        periodic_codes_of(model),
    )
    record = {
        "preset": preset,
        "metrics": _names(metrics),
        "seed": seed,
        "representation": "mean",
        "scores": scores,
    }
    atomic_write_json(run_dir / SCORES_FILE, record)
    return scores


def _names(metrics: Any) -> list[str]:
    from ..analysis.metrics import metric_names

    return metric_names(metrics)


def _row(trial: Trial, status: str, scores: dict | None = None, error: str = "") -> dict:
    return {
        "trial": trial.name,
        "model": trial.model,
        "hyper": trial.hyper,
        "seed": trial.seed,
        "status": status,
        "error": error,
        "scores": scores or {},
    }


class SweepProgress:
    """One line per finished trial on ``echo`` (stderr from the CLI): trials done, running and
    failed, the time left (the mean time of the trials run so far, shared by the processes),
    the trial and its outcome."""

    def __init__(self, total: int, echo: Callable[[str], None] | None, parallel: int = 1):
        self.total, self.echo, self.parallel = total, echo, max(1, parallel)
        self.done = self.failed = self.running = self.ran = 0
        self.t0 = time.perf_counter()

    def start(self, count: int = 1) -> None:
        self.running += count

    def finish(self, row: dict) -> None:
        """Count ``row``'s trial as finished (it was running) and print the line."""
        self.running = max(0, self.running - 1)
        self.done += 1
        self.failed += row["status"] == "failed"
        self.ran += row["status"] != "done (earlier)"
        if self.echo is None:
            return
        left = self.total - self.done
        if left and self.ran:
            per_trial = (time.perf_counter() - self.t0) / self.ran
            eta = f", about {duration_text(per_trial * left / self.parallel)} left"
        else:
            eta = ""
        outcome = row["status"] + (f" ({row['error']})" if row["error"] else "")
        self.echo(
            f"[{self.done}/{self.total} done, {self.running} running, {self.failed} failed"
            f"{eta}] {row['trial']}: {outcome}"
        )


def _done(run_dir: Path, metrics: Any, preset: str) -> dict | None:
    """The scores of an earlier run of this trial when they were computed with the same metrics
    and preset (a rerun with other ones scores again)."""
    try:
        record = json.loads((run_dir / SCORES_FILE).read_text())
        same = record["preset"] == preset and record.get("metrics") == _names(metrics)
        return record["scores"] if same else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _trained(run_dir: Path) -> bool:
    """Whether the trial's training finished (its weights can be scored again)."""
    from ..train import checkpoint as ckpt

    try:
        metadata = json.loads((run_dir / ckpt.METADATA).read_text())
    except (OSError, ValueError):
        return False
    return metadata.get("status") == "finished" and (run_dir / ckpt.WEIGHTS).is_file()


#: settings a trial may change between invocations without making its model another one
FREE_SETTINGS = {
    "train.progress",
    "train.loggers",
    "train.log_every",
    "train.eval_every",
    "train.checkpoint_every",
    "train.device",
}


def config_conflict(run_dir: Path, trial: Trial) -> str | None:
    """The first setting of ``trial``'s config that the config saved in ``run_dir`` contradicts
    (``"train.steps: 1000 saved, 2000 now"``), or None (no saved config, or none contradicted;
    the saved config also holds every default, which the trial's need not name)."""
    try:
        saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _first_conflict(trial.config, saved, "")


def _first_conflict(given: Any, saved: Any, path: str) -> str | None:
    if path in FREE_SETTINGS:
        return None
    if isinstance(given, dict):
        if not isinstance(saved, dict):
            return f"{path}: {saved!r} saved, {given!r} now"
        for key, value in given.items():
            if key in saved:
                conflict = _first_conflict(value, saved[key], f"{path}.{key}" if path else key)
                if conflict:
                    return conflict
        return None
    if (path.endswith(".path") or path.endswith("_path")) and isinstance(given, str):
        given = str(Path(given).expanduser().resolve())  # saved configs hold absolute paths
    same = (
        given == saved
        if not (isinstance(given, (list, tuple)) and isinstance(saved, (list, tuple)))
        else len(given) == len(saved) and all(a == b for a, b in zip(given, saved))
    )
    return None if same else f"{path}: {saved!r} saved, {given!r} now"


def run_trial(trial: Trial, root: str, metrics: Any, preset: str, threads: int = 0) -> dict:
    """Train and score one trial into ``root/trials/<name>``; returns its row. A trial
    interrupted after a checkpoint resumes from it (a folder without one starts again); a folder
    trained with settings the sweep now contradicts is a failed row that says which. Never
    raises but for Ctrl-C / SIGTERM: a failure is the row's status."""
    import shutil

    import torch

    from ..runs import resume_run, train_run
    from ..train import checkpoint as ckpt
    from ..train.run import RunConfig, reached_end, restore_run

    if threads:
        torch.set_num_threads(threads)
    run_dir = Path(root) / "trials" / trial.name
    try:
        conflict = config_conflict(run_dir, trial)
        if conflict is not None:
            return _row(
                trial,
                "failed",
                error=(
                    f"{run_dir} was trained with other settings ({conflict}); delete it or sweep "
                    "into another --out"
                ),
            )
        scores = _done(run_dir, metrics, preset)
        if scores is not None:
            return _row(trial, "done (earlier)", scores)
        if not _trained(run_dir):
            if reached_end(run_dir):  # killed right after its last checkpoint: complete it
                restore_run(run_dir)
            elif (run_dir / ckpt.STATE).is_file():  # interrupted: continue from its checkpoint
                _stop_if_interrupted(resume_run(run_dir, evaluate=False)[1], trial)
            else:  # killed before its first checkpoint: nothing to keep
                if run_dir.exists():
                    shutil.rmtree(run_dir)
                _stop_if_interrupted(
                    train_run(
                        RunConfig.from_dict(trial.config), run_dir, defaults=None, evaluate=False
                    )[1],
                    trial,
                )
        return _row(trial, "done", _score(run_dir, metrics, preset, trial.seed))
    except Exception as exc:  # one failing trial must not stop the sweep
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return _row(trial, "failed", error=last)


def _stop_if_interrupted(fit: Any, trial: Trial) -> None:
    """Ctrl-C / SIGTERM during a trial stops the sweep (its checkpoint is saved; rerunning the
    sweep resumes it) and scores nothing."""
    if fit.status == "interrupted":
        from ..errors import Interrupted

        raise Interrupted(fit.signal or "SIGINT", f"trial {trial.name} at step {fit.step}")


# -- executors ------------------------------------------------------------------------------------
def _ensemble_key(trial: Trial) -> str | None:
    """Trials with the same key differ only in their seed and can train as one ensemble: the
    model must have no training phases and no auxiliary step."""
    from ..train.ensemble import ensemble_obstacle

    if ensemble_obstacle(MODELS.get(trial.model)) is not None:
        return None
    train = trial.config.get("train", {})
    if train.get("grad_clip") is not None or train.get("precision", "fp32") != "fp32":
        return None
    if train.get("memory_format", "auto") == "channels_last":  # auto: an ensemble is contiguous
        return None
    shared = {k: v for k, v in trial.config.items() if k != "seed"}
    return json.dumps(shared, sort_keys=True)


def _train_group(
    group: list[Trial], root: str, metrics: Any, preset: str, progress: SweepProgress
) -> list[dict]:
    """One ensemble for trials that differ only in seed; each member gets a full run folder
    (metrics, trainer state, metadata: ``train --resume`` continues it)."""
    progress.start(len(group))
    rows = _train_group_rows(group, root, metrics, preset)
    for row in rows:
        progress.finish(row)
    return rows


def _train_group_rows(group: list[Trial], root: str, metrics: Any, preset: str) -> list[dict]:
    """Trials without a folder train as one ensemble; trials whose folders are checkpoints of
    one step (an ensemble stopped part-way) resume as one; any other folder is scored, resumed,
    completed or refused one by one (:func:`run_trial`)."""
    existing = [t for t in group if (Path(root) / "trials" / t.name / "config.json").is_file()]
    together = _resumable_together(existing, root)
    grouped = {t.name for trials, _ in together for t in trials}
    rows = [run_trial(t, root, metrics, preset) for t in existing if t.name not in grouped]
    for trials, start in together:
        rows += _ensemble_rows(trials, start, root, metrics, preset)
    fresh = [t for t in group if t not in existing]
    return rows + _ensemble_rows(fresh, None, root, metrics, preset)


def _resumable_together(trials: list[Trial], root: str) -> list[tuple[list[Trial], list[dict]]]:
    """The trials whose folders are unscored checkpoints that their sweep settings and data
    still fit, grouped by their step, with their trainer states: each group of two or more
    resumes as one ensemble (a lone one resumes alone, through :func:`run_trial`)."""
    from ..train import checkpoint as ckpt
    from ..train.run import RunConfig, build_dataset, check_same_data, reached_end, read_metadata

    found: list[tuple[Trial, dict, int]] = []
    built: dict[str, Any] = {}
    for trial in trials:
        run_dir = Path(root) / "trials" / trial.name
        try:
            if config_conflict(run_dir, trial) is not None or _trained(run_dir):
                continue
            if not (run_dir / ckpt.STATE).is_file() or reached_end(run_dir):
                continue
            config = RunConfig.from_dict(trial.config)
            key = json.dumps(config.dataset, sort_keys=True)
            if key not in built:
                built[key] = build_dataset(config)
            check_same_data(run_dir, read_metadata(run_dir), built[key])
            state = ckpt.load_state(run_dir / ckpt.STATE)
            found.append((trial, state, int(state["step"])))
        except Exception:  # run_trial reports it, one by one
            continue
    by_step: dict[int, list[tuple[Trial, dict]]] = {}
    for trial, state, step in found:
        by_step.setdefault(step, []).append((trial, state))
    return [
        ([t for t, _ in members], [state for _, state in members])
        for members in by_step.values()
        if len(members) >= 2
    ]


def _ensemble_rows(
    trials: list[Trial], start: list[dict] | None, root: str, metrics: Any, preset: str
) -> list[dict]:
    """Train ``trials`` as one ensemble (from their checkpoints' ``start`` states, if given),
    writing every member's folder at each checkpoint, then score them. Ctrl-C / SIGTERM: the
    folders are written at the step reached and :class:`Interrupted` stops the sweep."""
    from ..errors import Interrupted
    from ..train.ensemble import EnsembleResult, train_ensemble, write_member_run
    from ..train.run import RunConfig, build_dataset

    if not trials:
        return []
    prints: dict[str, str] = {}

    def write(k: int, result: EnsembleResult) -> Path:
        """Member k's run folder as it is now: finished, or a checkpoint to resume from."""
        run_dir = Path(root) / "trials" / trials[k].name
        config = result.configs[k]
        key = json.dumps(config.dataset, sort_keys=True)
        if key not in prints:
            prints[key] = build_dataset(config).fingerprint()
        state = result.states[k] if result.states else None
        write_member_run(
            run_dir,
            config,
            result.models[k],
            result.losses[:, k],
            state,
            prints[key],
            result.total_steps,
            result.first_step,
        )
        return run_dir

    def checkpoint(result: EnsembleResult) -> None:
        for k in range(len(trials)):  # a member without a trainer state could not resume
            if result.states and result.states[k] is not None:
                write(k, result)

    try:
        configs = [RunConfig.from_dict(t.config) for t in trials]
        result = train_ensemble(configs, on_checkpoint=checkpoint, start=start)
    except Interrupted as stop:  # every member's folder resumes on the next run
        stopped = stop.result
        if isinstance(stopped, EnsembleResult) and stopped.step > stopped.first_step:
            checkpoint(stopped)
        raise Interrupted(
            stop.signal, f"{len(trials)} trials trained as one ensemble, {stop}", step=stop.step
        ) from None
    except Exception:  # one by one (the error shows there, per trial; a checkpoint resumes)
        return [run_trial(t, root, metrics, preset) for t in trials]
    written: list[Path | Exception] = []
    for k in range(len(trials)):  # every member finished on disk before any is scored
        try:
            written.append(write(k, result))
        except Exception as exc:
            written.append(exc)
    rows = []
    for trial, run_dir in zip(trials, written):
        if isinstance(run_dir, Exception):
            rows.append(_row(trial, "failed", error=f"{type(run_dir).__name__}: {run_dir}"))
            continue
        try:
            rows.append(_row(trial, "done", _score(run_dir, metrics, preset, trial.seed)))
        except Exception as exc:
            rows.append(_row(trial, "failed", error=f"{type(exc).__name__}: {exc}"))
    return rows


Echo = Callable[[str], None]


def run_local(
    trials: Sequence[Trial],
    root: str,
    metrics: Any,
    preset: str,
    jobs: int | None = None,
    echo: Echo | None = None,
) -> list[dict]:
    """Ensembles where possible, then the rest in up to ``jobs`` processes; one progress line
    per finished trial on ``echo``."""
    groups: dict[str, list[Trial]] = {}
    singles: list[Trial] = []
    for trial in trials:
        key = _ensemble_key(trial)
        if key is None:
            singles.append(trial)
        else:
            groups.setdefault(key, []).append(trial)
    for key in [k for k, g in groups.items() if len(g) == 1]:
        singles.append(groups.pop(key)[0])
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(singles) or 1))
    progress = SweepProgress(len(trials), echo, jobs)
    rows: list[dict] = []
    for group in groups.values():
        rows += _train_group(group, root, metrics, preset, progress)
    if jobs == 1:
        for trial in singles:
            progress.start()
            rows.append(run_trial(trial, root, metrics, preset))
            progress.finish(rows[-1])
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        threads = max(1, (os.cpu_count() or 1) // jobs)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = [pool.submit(run_trial, t, root, metrics, preset, threads) for t in singles]
            for finished, future in enumerate(as_completed(futures)):
                progress.running = min(jobs, len(singles) - finished)  # the pool's busy workers
                rows.append(future.result())
                progress.finish(rows[-1])
    order = {t.name: i for i, t in enumerate(trials)}
    return sorted(rows, key=lambda r: order[r["trial"]])


def run_ray(
    trials: Sequence[Trial],
    root: str,
    metrics: Any,
    preset: str,
    address: str | None = None,
    echo: Echo | None = None,
) -> list[dict]:
    """Each trial as a Ray task (one CPU each) on ``address`` or a local instance."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the ray executor needs Ray: pip install 'latent-atlas[ray]' (or pip install ray)"
        ) from None
    started = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        task = ray.remote(num_cpus=1)(run_trial)
        pending = [task.remote(t, root, metrics, preset, 1) for t in trials]
        progress = SweepProgress(len(trials), echo, int(ray.available_resources().get("CPU", 1)))
        progress.start(len(pending))
        rows = []
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            rows.append(ray.get(ready[0]))
            progress.finish(rows[-1])
        order = {t.name: i for i, t in enumerate(trials)}
        return sorted(rows, key=lambda r: order[r["trial"]])
    finally:
        if started:
            ray.shutdown()


# -- the sweep -------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    sweep: SweepConfig
    rows: list[dict]
    seconds: float
    executor: str
    score_names: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "sweep": self.sweep.to_dict(),
            "executor": self.executor,
            "seconds": self.seconds,
            "trials": self.rows,
        }

    @property
    def hyper_names(self) -> list[str]:
        """Every hyper-parameter the sweep sets, over all its models (sorted)."""
        return sorted({k for r in self.rows for k in r["hyper"]})

    def to_csv(self) -> str:
        """One row per trial: trial, model, one column per hyper-parameter (empty where the
        model has none of that name; lists as JSON), seed, status, the scores, the error."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        hyper = self.hyper_names
        writer.writerow(["trial", "model", *hyper, "seed", "status", *self.score_names, "error"])
        for r in self.rows:
            values = [_cell(r["hyper"][k]) if k in r["hyper"] else "" for k in hyper]
            scores = [r["scores"].get(k, "") for k in self.score_names]
            writer.writerow(
                [r["trial"], r["model"], *values, r["seed"], r["status"], *scores, r["error"]]
            )
        return buffer.getvalue()

    def to_markdown(self) -> str:
        head = [k for k in self.score_names if "/" not in k][:8]
        lines = ["| trial | status | " + " | ".join(head) + " |", "|---|---|" + "---|" * len(head)]
        for r in self.rows:
            cells = " | ".join(f"{r['scores'][k]:.3f}" if k in r["scores"] else "–" for k in head)
            lines.append(f"| {r['trial']} | {r['status']} | {cells} |")
        return "\n".join(lines)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "failed"]


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def load_sweep(path: str | Path) -> SweepConfig:
    """A sweep file (YAML or JSON)."""
    from ..config import read_config_file

    return SweepConfig.from_dict(read_config_file(path))


def run_sweep(
    sweep: SweepConfig,
    out: str | Path,
    executor: str = "local",
    jobs: int | None = None,
    address: str | None = None,
    echo: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run every trial and gather the rows (see the module docstring); ``echo`` receives one
    progress line per finished trial. The sweep's config is kept in ``OUT/sweep.json`` first,
    so that ``latent-atlas report OUT`` can show an interrupted sweep."""
    from ..train.checkpoint import atomic_write_json

    if executor not in ("local", "ray"):
        raise ConfigError(f"executor: expected 'local' or 'ray', got {executor!r}")
    t0 = time.perf_counter()
    trials = expand(sweep)
    root = str(Path(out).resolve())
    Path(root, "trials").mkdir(parents=True, exist_ok=True)
    atomic_write_json(Path(root) / SWEEP_FILE, sweep.to_dict())
    if executor == "local":
        rows = run_local(trials, root, sweep.metric_list, sweep.preset, jobs, echo)
    else:
        rows = run_ray(trials, root, sweep.metric_list, sweep.preset, address, echo)
    return SweepResult(sweep, rows, time.perf_counter() - t0, executor, _score_names(rows))


def _score_names(rows: Sequence[dict]) -> list[str]:
    return sorted({k for r in rows for k in r["scores"]})


def is_sweep_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is the output of a sweep (its sweep.json or results.json)."""
    folder = Path(folder)
    if (folder / SWEEP_FILE).is_file():
        return True
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"sweep", "trials"} <= set(data)


def read_sweep(folder: str | Path) -> SweepResult:
    """A sweep's result from its folder: results.json when the sweep finished; otherwise (an
    interrupted sweep) rows gathered from sweep.json and the trial folders: scored trials with
    their scores, the others with their training status (``not started`` when absent)."""
    from ..errors import RunFolderError

    folder = Path(folder)
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        sweep = SweepConfig.from_dict(data["sweep"], path="sweep")
        rows = list(data["trials"])
        return SweepResult(
            sweep,
            rows,
            float(data.get("seconds", 0.0)),
            str(data.get("executor", "local")),
            _score_names(rows),
        )
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunFolderError(f"{folder / 'results.json'}: not a sweep's results ({exc})") from None
    try:
        sweep = SweepConfig.from_dict(json.loads((folder / SWEEP_FILE).read_text("utf-8")))
    except (OSError, ValueError) as exc:
        raise RunFolderError(
            f"{folder}: not a sweep folder (no readable {SWEEP_FILE}: {exc})"
        ) from None
    rows = []
    for trial in expand(sweep):
        run_dir = folder / "trials" / trial.name
        scores = _done(run_dir, sweep.metric_list, sweep.preset)
        if scores is not None:
            rows.append(_row(trial, "done", scores))
            continue
        try:
            status = json.loads((run_dir / "metadata.json").read_text("utf-8")).get("status", "?")
        except (OSError, ValueError):
            status = "not started"
        rows.append(_row(trial, f"{status}, not scored" if status != "not started" else status))
    return SweepResult(sweep, rows, 0.0, "unknown", _score_names(rows))


def write_sweep_outputs(result: SweepResult, out: str | Path) -> Path:
    """results.json, results.csv, table.md, figures and report.html into ``out``."""
    from ..train.checkpoint import atomic_write_text
    from ..viz.reproduction import markdown_tables_html, write_reproduction_report
    from ..viz.sweep_plots import plot_score_distributions, plot_scores_against, swept_values
    from .outputs import write_result_files

    out = Path(out)
    write_result_files(result, out)
    atomic_write_text(out / "results.csv", result.to_csv())
    done = [r for r in result.rows if r["scores"]]
    main = [k for k in result.score_names if "/" not in k and not k.endswith("_train")]
    figures = []
    if done and main:
        figures.append(
            (
                "scores",
                "Scores per model and hyper-parameters",
                "Each score's distribution over the trials of each model and hyper-parameter "
                "values (violin and box; points are trials, i.e. seeds).",
                plot_score_distributions(done, main),
            )
        )
        for name in result.hyper_names:
            if len(swept_values(done, name)) > 1:
                figures.append(
                    (
                        f"scores-vs-{name}",
                        f"Scores against {name}",
                        f"Each trial's score against {name} (points), the mean over seeds joined; "
                        "one colour per model.",
                        plot_scores_against(done, main, name),
                    )
                )
    n_failed = len(result.failed)
    pending = [r for r in result.rows if not r["scores"] and r["status"] != "failed"]
    status = (
        "finished"
        if not (n_failed or pending)
        else (
            f"{n_failed} failed" if n_failed else f"{len(done)} of {len(result.rows)} trials scored"
        )
    )
    return write_reproduction_report(
        out,
        title="Disentanglement sweep",
        subtitle=f"{len(result.rows)} trials: " + ", ".join(result.sweep.models) + ".",
        facts={
            "trials": str(len(result.rows)),
            "failed": str(n_failed),
            "time": f"{result.seconds:.0f} s" if result.seconds else "–",
        },
        settings={
            "executor": result.executor,
            "preset": result.sweep.preset,
            "seeds": list(result.sweep.seeds),
        },
        lead=f"{len(done)} trials scored"
        + (f", {n_failed} failed (see the table)." if n_failed else "."),
        tables_html=markdown_tables_html(result.to_markdown()),
        figures=figures,
        eyebrow="sweep",
        status=status,
    )
