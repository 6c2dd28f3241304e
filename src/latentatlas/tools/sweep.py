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
A trial whose folder already holds scores of the same metrics, preset and sizes
(:class:`Scoring`) is not run again, so an interrupted sweep continues where it stopped (a trial
interrupted after a checkpoint resumes from it); a finished trial scored otherwise is scored
again, not retrained; a trial folder whose saved config the sweep contradicts is refused (the
run store's rule, :func:`latentatlas.train.store.check_same_config`); a failing trial is
recorded with its error and the others go on.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..config import field as config_field
from ..errors import ConfigError
from ..experiments.result_files import duration_text
from ..registry import MODELS

if TYPE_CHECKING:
    import torch

SCORES_FILE = "disentanglement.json"
SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class Scoring:
    """How every trial of a sweep is scored: the metrics, their preset, and sizes that change
    the preset's (:func:`latentatlas.analysis.metrics.evaluate_metrics`)."""

    metrics: str | list[str]
    preset: str
    sizes: dict = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """What a trial's scores file records of the scoring (and a rerun compares)."""
        return {"preset": self.preset, "metrics": _names(self.metrics), "sizes": dict(self.sizes)}


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
    sizes: dict = config_field(
        default_factory=dict,
        doc="the metrics' sample sizes that change the preset's: num_train, num_test, batch_size",
    )
    defaults: str | None = config_field(
        "data",
        doc="the model settings a trial's config leaves out: chosen from the data ('data', as "
        "latent-atlas train does), a preset (mlp, conv, locatello), or null for the models' own",
    )
    resources: dict = config_field(
        default_factory=lambda: {"cpus": 1, "gpus": 0},
        doc="what each trial takes on Ray: cpus (its torch threads) and gpus (a fraction "
        "shares a GPU; with gpus > 0 the trial trains on the GPU Ray assigns it)",
    )
    udr: str | None = config_field(
        None,
        choices=(None, "lasso", "spearman"),
        doc="also rank the seeds of each grid point by UDR (Duan et al. 2020): lasso or "
        "spearman; a trial's udr score compares it with its grid point's other seeds",
    )
    published: str | None = config_field(
        None,
        doc="the study's result files (a folder or an aggregated JSON of disentanglement_lib): "
        "the report puts the published scores beside the sweep's",
    )
    published_dataset: str | None = config_field(
        None, doc="the data set's name in those files (e.g. dsprites_full, shapes3d)"
    )

    def validate(self) -> None:
        from ..analysis.metrics import check_sizes, metric_names

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
        check_sizes(self.sizes)
        from ..runs import check_defaults

        check_defaults(self.defaults)
        if "seed" in self.base:
            raise ConfigError("base.seed: seeds come from the sweep's seeds list")
        _ = self.trial_resources  # refuses bad resources
        if self.published is not None and not self.published_dataset:
            raise ConfigError(
                "published_dataset: name the data set as the published files do (e.g. "
                "dsprites_full, shapes3d, cars3d) to compare with them"
            )

    @property
    def trial_resources(self) -> tuple[float, float]:
        """(cpus, gpus) of each trial on Ray, checked."""
        unknown = set(self.resources) - {"cpus", "gpus"}
        cpus, gpus = self.resources.get("cpus", 1), self.resources.get("gpus", 0)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (cpus, gpus))
        if unknown or not numbers or cpus < 1 or gpus < 0:
            raise ConfigError(
                "resources: expected {cpus: a number >= 1, gpus: a number >= 0}, got "
                f"{self.resources}"
            )
        return float(cpus), float(gpus)

    @property
    def scoring(self) -> Scoring:
        """How every trial is scored."""
        return Scoring(self.metric_list, self.preset, dict(self.sizes))

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


def with_model_defaults(trials: list[Trial], defaults: str | None) -> list[Trial]:
    """``trials`` with the model settings each config leaves out chosen by ``defaults``, the
    step :func:`latentatlas.train_run` takes (``"data"``: from the data set, which every trial
    shares and which is built once here; a preset name; None: as written), so that a sweep
    trains the model ``latent-atlas train`` trains from the same config. The choice is logged
    once per model."""
    if defaults is None or not trials:
        return trials
    from ..runs import with_model_defaults as chosen_for
    from ..train.run import RunConfig, build_dataset

    dataset = build_dataset(RunConfig.from_dict(trials[0].config))
    announced: set[str] = set()
    completed = []
    for trial in trials:
        config = RunConfig.from_dict(trial.config)
        config = chosen_for(config, dataset, defaults, announce=trial.model not in announced)
        announced.add(trial.model)
        completed.append(replace(trial, config=config.to_dict()))
    return completed


# -- one trial ----------------------------------------------------------------------------------
def _score(run_dir: Path, scoring: Scoring, seed: int) -> dict[str, float]:
    from ..analysis.metrics import evaluate_metrics, periodic_codes_of, posterior_mean
    from ..train.checkpoint import atomic_write_json
    from ..train.run import load, load_dataset

    model = load(run_dir)
    drawn: dict = {}
    scores = evaluate_metrics(
        load_dataset(run_dir),
        posterior_mean(model),
        scoring.metrics,
        scoring.preset,
        seed,
        periodic_codes_of(model),
        sizes=scoring.sizes,
        details=drawn,
    )
    record = {
        **scoring.record(),
        "seed": seed,
        "representation": "mean",
        "scores": scores,
        "drawn": drawn,
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


def _done(run_dir: Path, scoring: Scoring) -> dict | None:
    """The scores of an earlier run of this trial when they were computed with the same metrics,
    preset and sizes (a rerun with other ones scores again)."""
    try:
        record = json.loads((run_dir / SCORES_FILE).read_text())
        asked = scoring.record()
        same = all(record.get(k, {} if k == "sizes" else None) == v for k, v in asked.items())
        return record["scores"] if same else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _settled(trial: Trial, root: str, scoring: Scoring) -> dict | None:
    """The row of a trial that needs no training: its folder trained with settings the sweep
    now contradicts (failed, naming the first difference: the run store's rule,
    :mod:`latentatlas.train.store`), or scored earlier with the same metrics; else None."""
    from ..train import checkpoint as ckpt
    from ..train.run import RunConfig
    from ..train.store import check_same_config

    run_dir = Path(root) / "trials" / trial.name
    try:
        if (run_dir / ckpt.CONFIG).is_file():
            check_same_config(run_dir, RunConfig.from_dict(trial.config), what="sweep")
    except Exception as exc:
        return _failed(trial, exc)
    scores = _done(run_dir, scoring)
    return _row(trial, "done (earlier)", scores) if scores is not None else None


def _failed(trial: Trial, exc: BaseException) -> dict:
    return _row(trial, "failed", error=traceback.format_exception_only(type(exc), exc)[-1].strip())


def run_trial(
    trial: Trial,
    root: str,
    scoring: Scoring,
    threads: int = 0,
    device: torch.device | None = None,
) -> dict:
    """Train and score one trial into ``root/trials/<name>``; returns its row. The folder is
    reused, resumed, trained or refused by the run store's rule (:mod:`latentatlas.train.\
store`: a trial stopped at a checkpoint resumes from it, one killed before its first starts
    again; a folder trained with settings the sweep now contradicts is a failed row that says
    which). ``device`` replaces the config's ``train.device`` (a setting that changes how a run
    is carried out, not what it computes: a trial begun on a GPU may resume on a CPU). Never
    raises but for Ctrl-C / SIGTERM: a failure is the row's status."""
    import torch

    from ..train.run import RunConfig
    from ..train.store import stop_if_interrupted, train_or_continue

    if threads:
        torch.set_num_threads(threads)
    settled = _settled(trial, root, scoring)
    if settled is not None:
        return settled
    run_dir = Path(root) / "trials" / trial.name
    config = trial.config
    if device is not None:
        config = {**config, "train": {**config.get("train", {}), "device": str(device)}}
    try:
        run = train_or_continue(RunConfig.from_dict(config), run_dir, what="sweep")
        stop_if_interrupted(run.fit, f"trial {trial.name}")
        return _row(trial, "done", _score(run_dir, scoring, trial.seed))
    except Exception as exc:  # one failing trial must not stop the sweep
        return _failed(trial, exc)


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
    group: list[Trial], root: str, scoring: Scoring, progress: SweepProgress
) -> list[dict]:
    """One ensemble for trials that differ only in seed; each member gets a full run folder
    (metrics, trainer state, metadata: ``train --resume`` continues it)."""
    progress.start(len(group))
    rows = _train_group_rows(group, root, scoring)
    for row in rows:
        progress.finish(row)
    return rows


def _train_group_rows(group: list[Trial], root: str, scoring: Scoring) -> list[dict]:
    """Trials that differ only in their seed: those scored earlier or trained with other
    settings get their rows; the others train as one ensemble by the run store's rule
    (:func:`~latentatlas.train.store.train_ensemble_into`: finished members reused, members
    stopped at one step resumed together, missing ones trained together, every member's folder
    written at each checkpoint), then are scored. An ensemble that fails trains its trials one
    by one (the error shows there, per trial)."""
    from ..errors import Interrupted
    from ..train.run import RunConfig
    from ..train.store import train_ensemble_into

    rows = {t.name: _settled(t, root, scoring) for t in group}
    pending = [t for t in group if rows[t.name] is None]
    if pending:
        folders = [Path(root) / "trials" / t.name for t in pending]
        try:
            configs = [RunConfig.from_dict(t.config) for t in pending]
            train_ensemble_into(configs, folders, what="sweep")
        except Interrupted:  # every member's folder resumes on the next run
            raise
        except Exception:
            rows.update({t.name: run_trial(t, root, scoring) for t in pending})
        else:
            for trial, run_dir in zip(pending, folders):
                try:
                    rows[trial.name] = _row(trial, "done", _score(run_dir, scoring, trial.seed))
                except Exception as exc:
                    rows[trial.name] = _failed(trial, exc)
    return [rows[t.name] for t in group]


Echo = Callable[[str], None]


def run_local(
    trials: Sequence[Trial],
    root: str,
    scoring: Scoring,
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
        rows += _train_group(group, root, scoring, progress)
    if jobs == 1:
        for trial in singles:
            progress.start()
            rows.append(run_trial(trial, root, scoring))
            progress.finish(rows[-1])
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        threads = max(1, (os.cpu_count() or 1) // jobs)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = [pool.submit(run_trial, t, root, scoring, threads) for t in singles]
            for finished, future in enumerate(as_completed(futures)):
                progress.running = min(jobs, len(singles) - finished)  # the pool's busy workers
                rows.append(future.result())
                progress.finish(rows[-1])
    order = {t.name: i for i, t in enumerate(trials)}
    return sorted(rows, key=lambda r: order[r["trial"]])


def run_ray(
    trials: Sequence[Trial],
    root: str,
    scoring: Scoring,
    address: str | None = None,
    echo: Echo | None = None,
    resources: tuple[float, float] = (1.0, 0.0),
) -> list[dict]:
    """Each trial as a Ray task on ``address`` (a running cluster: ``auto``, ``ray://host:10001``)
    or a local instance, taking ``resources`` = (cpus, gpus): its torch threads are its CPUs,
    and with GPUs it trains on the one Ray assigns it (Ray sets ``CUDA_VISIBLE_DEVICES`` per
    task). ``root`` must be a folder every worker sees (a shared file system on a cluster)."""
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
        cpus, gpus = resources
        has = ray.cluster_resources()
        for name, asked, key in (("cpus", cpus, "CPU"), ("gpus", gpus, "GPU")):
            if asked > has.get(key, 0):  # Ray would wait for them for ever
                raise ConfigError(
                    f"resources.{name}: each trial asks {asked:g} and the Ray cluster has "
                    f"{has.get(key, 0):g} {key}(s) in all"
                )
        task = ray.remote(num_cpus=cpus, num_gpus=gpus)(_ray_trial)
        pending = [task.remote(t, root, scoring, max(1, int(cpus)), gpus > 0) for t in trials]
        slots = ray.available_resources().get("CPU", 1) / cpus
        if gpus > 0:
            slots = min(slots, ray.available_resources().get("GPU", 0) / gpus)
        progress = SweepProgress(len(trials), echo, max(1, int(slots)))
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


def _ray_trial(
    trial: Trial, root: str, scoring: Scoring, threads: int, on_accelerator: bool
) -> dict:
    """:func:`run_trial` inside a Ray task: with ``on_accelerator``, on the device Ray assigned
    to the task — the only one it makes visible, so index 0 of the machine's accelerator type,
    whatever that type is (read in the task: the driver may have none)."""
    import torch

    device = torch.device(0) if on_accelerator else None
    return run_trial(trial, root, scoring, threads, device)


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
    if sweep.published is not None and not Path(sweep.published).exists():
        raise ConfigError(f"published: {sweep.published!r} does not exist")
    t0 = time.perf_counter()
    trials = with_model_defaults(expand(sweep), sweep.defaults)
    root = str(Path(out).resolve())
    Path(root, "trials").mkdir(parents=True, exist_ok=True)
    atomic_write_json(Path(root) / SWEEP_FILE, sweep.to_dict())
    if executor == "local":
        rows = run_local(trials, root, sweep.scoring, jobs, echo)
    else:
        rows = run_ray(trials, root, sweep.scoring, address, echo, sweep.trial_resources)
    if sweep.udr is not None:
        rank_seeds_by_udr(rows, root, sweep.udr, sweep.sizes.get("num_train", 10_000))
    return SweepResult(sweep, rows, time.perf_counter() - t0, executor, _score_names(rows))


def rank_seeds_by_udr(rows: list[dict], root: str, correlation: str, num_points: int) -> None:
    """Add to each scored trial its UDR among the scored seeds of its grid point (same model
    and hyper-parameters; two seeds at least), on ``num_points`` observations of the sweep's
    data set (:func:`latentatlas.analysis.metrics.udr.udr`); a grid point UDR cannot compare
    (angle latents, a model that encodes nothing) gets none, and the reason is logged."""
    import logging

    from ..analysis.metrics.udr import udr
    from ..errors import DataError
    from ..train.run import load, load_dataset

    points: dict[str, list[dict]] = {}
    for row in rows:
        if row["scores"]:
            key = json.dumps([row["model"], row["hyper"]], sort_keys=True)
            points.setdefault(key, []).append(row)
    dataset = None
    for group in points.values():
        if len(group) < 2:
            continue
        folders = [Path(root) / "trials" / r["trial"] for r in group]
        dataset = dataset or load_dataset(folders[0])
        try:
            result = udr([load(f) for f in folders], dataset, num_points, correlation)
        except DataError as exc:
            logging.getLogger(__name__).warning("UDR of %s: %s", group[0]["trial"], exc)
            continue
        for row, value in zip(group, result["model_scores"]):
            row["scores"] = {**row["scores"], "udr": float(value)}


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
        scores = _done(run_dir, sweep.scoring)
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
    from ..experiments.result_files import write_result_files
    from ..train.checkpoint import atomic_write_text
    from ..viz.reproduction import markdown_tables_html, write_reproduction_report
    from ..viz.sweep_plots import plot_score_distributions, plot_scores_against, swept_values

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
    tables = result.to_markdown()
    if result.sweep.published is not None:
        tables = _published_tables(result, out) + "\n\n" + tables
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
        tables_html=markdown_tables_html(tables),
        figures=figures,
        eyebrow="sweep",
        status=status,
    )


def _published_tables(result: SweepResult, out: Path) -> str:
    """The comparison with the study's published scores as markdown (also kept in
    ``published.json``)."""
    from ..train.checkpoint import atomic_write_json
    from .published_comparison import compare_with_published, comparison_markdown

    sweep = result.sweep
    rows, notes = compare_with_published(result.rows, sweep.published, sweep.published_dataset)
    record = {"published": sweep.published, "dataset": sweep.published_dataset}
    atomic_write_json(out / "published.json", {**record, "rows": rows, "notes": notes})
    if not rows:
        return "No trial of the study's models has scores to compare yet." + "".join(
            f"\n\n{n}" for n in notes
        )
    return comparison_markdown(rows) + "".join(f"\n\n{n}" for n in notes)
