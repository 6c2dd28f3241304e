"""The ``latent-atlas`` command line: a thin face over the library.

Commands: ``train``, ``evaluate``, ``report``, ``list``, ``demo``, ``reproduce``,
``directions``. Errors caused by the user
(unknown names, bad config values, missing or corrupt run folders, data with NaN) print one
line and exit with status 2, without a traceback (``--debug`` shows it). A diverged training
exits 1; an interrupted one (Ctrl-C) saves a checkpoint and exits 130.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

import click

from .errors import LatentAtlasError, TrainingDiverged
from .registry import LISTED

log = logging.getLogger("latentatlas")


class Terminated(BaseException):
    """SIGTERM outside a training loop: unwinds like Ctrl-C, so locks are released and output
    folders sealed (a training loop handles SIGTERM itself: checkpoint, then exit 143)."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated


class AtlasGroup(click.Group):
    """Turns library errors into one-line messages and exit codes (2 for bad input, 1 for a
    diverged training, 143 for SIGTERM)."""

    def invoke(self, ctx: click.Context) -> Any:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            return super().invoke(ctx)
        except LatentAtlasError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {_one_line(exc)}", err=True)
            ctx.exit(1 if isinstance(exc, TrainingDiverged) else 2)
        except Terminated:
            click.echo("terminated (SIGTERM); nothing was left half-written", err=True)
            ctx.exit(143)
        except KeyboardInterrupt:  # Ctrl-C outside a training loop (which handles its own)
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo("interrupted (Ctrl-C); nothing was left half-written", err=True)
            ctx.exit(130)
        except OSError as exc:  # a full disk, a read-only folder, a file that is a folder
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {_one_line(_file_error(exc))}", err=True)
            ctx.exit(2)
        except (MemoryError, RuntimeError) as exc:  # an allocation no machine here can make
            from .memory import allocation_error

            error = allocation_error(exc, "the command")
            if error is None or (ctx.obj and ctx.obj.get("debug")):
                raise
            click.echo(f"error: {_one_line(error)}", err=True)
            ctx.exit(2)
        finally:
            # only if it was imported: a SIGTERM while torch was still importing must not
            # import it again from here (torch refuses a second, half-done import)
            distributed = sys.modules.get("latentatlas.train.distributed")
            if distributed is not None:
                distributed.teardown()  # under torchrun: leave the process group cleanly


def _file_error(exc: OSError) -> BaseException:
    """An operating-system error as a message naming the file (the library's own write errors
    already do)."""
    from .errors import LatentAtlasError

    if isinstance(exc, LatentAtlasError) or not exc.filename:
        return exc
    return OSError(f"{exc.filename}: {exc.strerror or type(exc).__name__}")


def _one_line(exc: BaseException, limit: int = 600) -> str:
    """An error message on one line, shortened to ``limit`` characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@click.group(cls=AtlasGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("-v", "--verbose", is_flag=True, help="More log output.")
@click.version_option(package_name="latent-atlas")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """latent-atlas: train, inspect and organise the latent spaces of generative models."""
    ctx.obj = {"debug": debug}
    _one_line_warnings()
    # our own messages from INFO (DEBUG with -v); other libraries' only from WARNING (torch logs
    # its fake-tensor cache statistics at INFO when the process exits) unless -v
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(message)s")
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


def _one_line_warnings() -> None:
    """The library's own warnings as ``warning: ...`` lines, without a file and line number."""
    import warnings

    show = warnings.showwarning
    if getattr(show, "latent_atlas", False):
        return

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("latentatlas"):
            click.echo(f"warning: {_one_line(message)}", err=True)
        else:
            show(message, category, filename, lineno, file, line)

    showwarning.latent_atlas = True
    warnings.showwarning = showwarning


def _seed_option(help_text: str = "Seed of the random draws."):
    """``--seed``: an integer torch's generators accept (0 .. 2**63 - 1), 0 by default."""
    return click.option(
        "--seed", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1), help=help_text
    )


def _metric_size_options(command):
    """``--num-train``, ``--num-test``, ``--batch-size``: the metrics' sample sizes, changing
    the preset's (:func:`latentatlas.analysis.metrics.evaluate_metrics`'s ``sizes``)."""
    sizes = [
        ("--num-train", "Training points of every metric that has them (the preset's otherwise)."),
        ("--num-test", "Test points of DCI, SAP and modularity (the preset's otherwise)."),
        (
            "--batch-size",
            "Observations per BetaVAE/FactorVAE/Z-max-var point (the preset's otherwise).",
        ),
    ]
    for flag, text in reversed(sizes):
        command = click.option(flag, type=click.IntRange(min=1), help=text)(command)
    return command


def _sizes(num_train: int | None, num_test: int | None, batch_size: int | None) -> dict:
    given = {"num_train": num_train, "num_test": num_test, "batch_size": batch_size}
    return {k: v for k, v in given.items() if v is not None}


# -- train ------------------------------------------------------------------------------------
@cli.command(short_help="Train a model from a config file and/or options.")
@click.argument("arguments", nargs=-1, metavar="[CONFIG_FILE] [KEY=VALUE]...")
@click.option("--dataset", "dataset_name", help="Dataset name (see `latent-atlas list datasets`).")
@click.option("--model", "model_name", help="Model name (see `latent-atlas list models`).")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set train.steps=500 --set model.beta=4.",
)
@click.option(
    "--out", type=click.Path(file_okay=False), help="Run folder (default runs/NAME-TIME)."
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option(
    "--eval-samples",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Posterior samples L for the periodic evaluation during training.",
)
@click.option(
    "--logger",
    "loggers",
    multiple=True,
    metavar="NAME",
    help="Also send every metrics record to a tracker: csv, tensorboard, wandb (offline unless "
    "WANDB_MODE=online) or mlflow; repeat for several (sets train.loggers).",
)
@click.option(
    "--preset",
    type=click.Choice(["mlp", "conv", "locatello"]),
    help="Model settings by name (the config's own values win): mlp (the models' own "
    "defaults), conv (convolutional nets), locatello (the study's 64×64 network). Without it, "
    "settings the config leaves out are chosen from the data (conv nets for images, latent "
    "size 10, Bernoulli for data in [0, 1]) and printed.",
)
def train(
    arguments, dataset_name, model_name, overrides, out, resume, eval_samples, loggers, preset
) -> None:
    """Train a model from a YAML/JSON CONFIG_FILE and/or options; write a run folder.

    KEY=VALUE arguments change the config like --set KEY=VALUE (Hydra's style:
    `latent-atlas train dataset=image_folder dataset.path=shots train.steps=500`); a bare
    `dataset=NAME` or `model=NAME` picks the dataset or model like --dataset / --model."""
    from .config import apply_overrides, read_config_file
    from .runs import resume_run, train_run
    from .train import FolderLock, RunConfig, build_dataset, check_new_run_dir
    from .train.loggers import check_loggers_installed

    config_file, positional = _config_and_overrides(arguments)
    names = {
        k: v
        for k, _, v in (o.partition("=") for o in positional)
        if k in ("dataset", "model") and _plain_name(v)
    }
    for key, flag, given in (
        ("dataset", "--dataset", dataset_name),
        ("model", "--model", model_name),
    ):
        if key in names and given and names[key] != given:
            raise click.UsageError(f"{key}={names[key]} and {flag} {given} disagree")
    dataset_name = dataset_name or names.get("dataset")
    model_name = model_name or names.get("model")
    overrides = (*[o for o in positional if o.partition("=")[0] not in names], *overrides)

    if resume:
        if not out:
            raise click.UsageError("--resume needs --out RUN_DIR")
        if config_file or dataset_name or model_name or preset:
            raise click.UsageError(
                "--resume takes the run's own config; only --set train.* applies"
            )
        changes = apply_overrides({}, overrides)
        if loggers:
            changes.setdefault("train", {})["loggers"] = list(loggers)
        with _resume_hint(out), FolderLock(out):  # for the whole command, data building too
            _, fit = resume_run(out, changes, evaluate=True, eval_samples=eval_samples)
        _finish_training(out, fit)
        return
    data: dict[str, Any] = read_config_file(config_file) if config_file else {}
    if dataset_name:
        data["dataset"] = {**_section(data, "dataset"), "name": dataset_name}
    if model_name:
        data["model"] = {**_section(data, "model"), "name": model_name}
    apply_overrides(data, overrides)
    if loggers:
        data["train"] = {**_section(data, "train"), "loggers": list(loggers)}
    config = RunConfig.from_dict(data)
    if not out:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = f"runs/{config.dataset['name']}-{config.model['name']}-{stamp}"
    # the lock checks that --out can be written; held until the run ends
    with _resume_hint(out), FolderLock(out):
        check_new_run_dir(out)  # before building the data, which may take a while
        check_loggers_installed(config.train.loggers)
        dataset = build_dataset(config)
        click.echo(f"training {config.model['name']} on {config.dataset['name']} → {out}", err=True)
        _, fit = train_run(
            config,
            out,
            dataset=dataset,
            defaults=preset or "data",
            evaluate=True,
            eval_samples=eval_samples,
        )
    _finish_training(out, fit)


_OVERRIDE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*=")


def _config_and_overrides(arguments: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """The config file (at most one) and the KEY=VALUE overrides among positional arguments;
    an existing file whose name has a "=" is a file."""
    files, overrides = [], []
    for argument in arguments:
        if _OVERRIDE.match(argument) and not Path(argument).is_file():
            overrides.append(argument)
        else:
            files.append(argument)
    if len(files) > 1:
        raise click.UsageError(
            f"one CONFIG_FILE at most, got {', '.join(files)} (overrides are KEY=VALUE)"
        )
    if files and Path(files[0]).is_dir():
        raise click.UsageError(f"CONFIG_FILE {files[0]!r} is a folder, not a config file")
    return (files[0] if files else None), overrides


def _plain_name(value: str) -> bool:
    """A registry name (``image_folder``), not a mapping or a list."""
    return bool(re.fullmatch(r"[A-Za-z0-9_\-]+", value))


def _section(data: dict, key: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        from .errors import ConfigError

        raise ConfigError(f"{key}: expected a mapping, got {value!r}")
    return value


@contextlib.contextmanager
def _resume_hint(out: str | Path, again: str = "Resume with: latent-atlas train --resume --out"):
    """A training stopped by Ctrl-C or SIGTERM (the library raises
    :class:`~latentatlas.errors.Interrupted` once its checkpoint is saved): print where it
    stopped and how to continue, and exit with 130 or 143."""
    from .errors import Interrupted

    try:
        yield
    except Interrupted as stop:
        at = f" at step {stop.step}" if stop.step is not None else ""
        click.echo(
            f"interrupted ({stop.signal}){at}; checkpoint saved in {out}. {again} {out}",
            err=True,
        )
        sys.exit(stop.exit_code)


def _finish_training(out: str, fit) -> None:
    if fit.status == "interrupted":
        click.echo(
            f"interrupted ({fit.signal}) at step {fit.step}; checkpoint saved in {out}. "
            f"Resume with: latent-atlas train --resume --out {out}",
            err=True,
        )
        sys.exit(fit.exit_code)
    click.echo(f"finished {fit.step} steps; run folder: {out}", err=True)
    click.echo(out)


# -- evaluate / report --------------------------------------------------------------------------
@cli.command(short_help="Disentanglement metrics of codes you already have.")
@click.argument("codes_file", type=click.Path(dir_okay=False))
@click.option("--codes-key", default="codes", show_default=True, help="Array of codes (n, d).")
@click.option(
    "--factors-key",
    default="factors",
    show_default=True,
    help="Array of factors (n,) or (n, k); an array 'factor_names' (k strings) names them.",
)
@click.option(
    "--metrics",
    "metric_names",
    default="all",
    show_default=True,
    help="'all' or a comma-separated list of metric names (docs/metrics.md: beta_vae, "
    "factor_vae, mig, dci, sap, modularity, irs, mig_sup, jemmig, dcimig, z_max_var, "
    "unsupervised, ...).",
)
@click.option(
    "--preset",
    default="standard",
    show_default=True,
    type=click.Choice(["standard", "fast", "study"]),  # analysis.metrics.PRESETS
    help="Metric sample sizes (as for evaluate); 'fast' for a few thousand rows.",
)
@click.option("--periodic-factors", help="Comma-separated names of the factors that are angles.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the scores as JSON here.")
@_seed_option()
@_metric_size_options
def score(
    codes_file,
    codes_key,
    factors_key,
    metric_names,
    preset,
    periodic_factors,
    out,
    seed,
    num_train,
    num_test,
    batch_size,
):
    """Disentanglement metrics of codes you already have: CODES_FILE is a .npz with the codes
    (n, d) and their factors, from any model or method."""
    from .analysis.metrics import evaluate_metrics
    from .analysis.metrics import metric_names as checked
    from .data.files import read_npz_arrays
    from .errors import DataError
    from .train.checkpoint import atomic_write_json

    names = "all" if metric_names == "all" else checked(_names(metric_names) or [])
    arrays = read_npz_arrays(codes_file, [codes_key, factors_key], optional=["factor_names"])
    factors = arrays[factors_key]
    if "factor_names" in arrays:
        labels = [str(v) for v in arrays["factor_names"].reshape(-1)]
        columns = factors.reshape(len(factors), -1)
        if len(labels) != columns.shape[1]:
            raise DataError(
                f"{codes_file}: {len(labels)} factor_names for {columns.shape[1]} factor columns"
            )
        factors = {name: columns[:, j] for j, name in enumerate(labels)}
    periodic = _names(periodic_factors) or []
    drawn: dict = {}
    scores = evaluate_metrics(
        arrays[codes_key],
        factors,
        names,
        preset,
        seed,
        periodic_factors=periodic,
        sizes=_sizes(num_train, num_test, batch_size),
        details=drawn,
    )
    record = {
        "file": str(codes_file),
        "preset": preset,
        "seed": seed,
        "scores": scores,
        "drawn": drawn,
    }
    if out:
        atomic_write_json(Path(out), record)
    click.echo(json.dumps(record, indent=2))


@cli.command(short_help="Rank models by UDR (Duan et al. 2020): no factors needed.")
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option(
    "--correlation",
    default="lasso",
    show_default=True,
    type=click.Choice(["lasso", "spearman"]),  # analysis.metrics.udr.CORRELATIONS
    help="How codes of two models are compared.",
)
@click.option(
    "--num-points",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=2),
    help="Observations every run encodes (the same for all).",
)
@click.option("--no-filter", is_flag=True, help="Keep inactive dimensions in the comparison.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the scores as JSON here.")
@_seed_option("Seed of the draw of observations.")
def udr(sources, correlation, num_points, no_filter, out, seed):
    """Unsupervised Disentanglement Ranking of several models: SOURCES are run folders trained
    on the same dataset (typically one setting's seeds), or one .npz with 'codes' (m, n, d:
    m models' codes of the same n observations) and, optionally, 'kl' (m, d: each dimension's
    mean KL; without it every dimension counts as active)."""
    from .analysis.metrics.udr import udr as udr_of_models
    from .analysis.metrics.udr import udr_from
    from .data.files import read_npz_arrays
    from .errors import DataError
    from .train import load, load_config, load_dataset
    from .train.checkpoint import atomic_write_json, check_run_dir

    filtered = not no_filter
    from_file = len(sources) == 1 and str(sources[0]).endswith(".npz")
    if from_file:
        arrays = read_npz_arrays(sources[0], ["codes"], optional=["kl"])
        codes = arrays["codes"]
        if codes.ndim != 3:
            raise DataError(f"{sources[0]}: 'codes' must be (models, n, d), got {codes.shape}")
        kls = list(arrays["kl"]) if "kl" in arrays else None
        result = udr_from(list(codes), kls, correlation, filtered)
        names = [f"model {m}" for m in range(len(codes))]
    else:
        dirs = [check_run_dir(s) for s in sources]
        datasets = [load_config(d).dataset for d in dirs]
        for d, dataset in zip(dirs[1:], datasets[1:]):
            if dict(dataset) != dict(datasets[0]):
                raise DataError(
                    f"{d} was trained on another dataset than {dirs[0]}; UDR compares models "
                    "on the same observations"
                )
        models = [load(d) for d in dirs]
        result = udr_of_models(
            models, load_dataset(dirs[0]), num_points, correlation, seed, filtered
        )
        names = [str(d) for d in dirs]
    record = {
        "metric": "udr",
        "correlation": correlation,
        "filter_low_kl": filtered,
        "num_points": None if from_file else num_points,
        "seed": seed,
        "models": [
            {"source": name, "udr": float(score), "active_dims": int(active.sum())}
            for name, score, active in zip(names, result["model_scores"], result["active"])
        ],
        "pairwise": result["pairwise"].tolist(),
    }
    if out:
        atomic_write_json(Path(out), record)
    click.echo(json.dumps(record, indent=2))


@cli.command(short_help="Evaluate a run: ELBO terms, MSE and metrics.")
@click.argument("run_dir", type=click.Path())
@click.option(
    "--samples",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Posterior samples L (eq. 5.9).",
)
@_seed_option("Seed of the sampling noise.")
@click.option(
    "--metrics",
    "metric_names",
    help="Also compute disentanglement metrics: 'all' or a comma-separated list of metric names "
    "(docs/metrics.md: beta_vae, factor_vae, mig, dci, sap, modularity, irs, mig_sup, jemmig, "
    "dcimig, z_max_var, unsupervised, ...); written to RUN_DIR/disentanglement.json.",
)
@click.option(
    "--preset",
    default="standard",
    show_default=True,
    type=click.Choice(["standard", "fast", "study"]),  # analysis.metrics.PRESETS
    help="Metric settings: the sample sizes of Locatello et al. (2019) (standard), a tenth of "
    "them (fast), or their sizes with DCI by the study's estimator (study: scikit-learn's "
    "gradient boosting, minutes).",
)
@click.option("--sample", is_flag=True, help="Metrics read a posterior sample, not the mean.")
@_metric_size_options
def evaluate(
    run_dir: str,
    samples: int,
    seed: int,
    metric_names: str | None,
    preset: str,
    sample: bool,
    num_train: int | None,
    num_test: int | None,
    batch_size: int | None,
) -> None:
    """Evaluate a run on its evaluation set (thesis eq. 5.7-5.10), writing evaluation.json; with
    --metrics also the disentanglement metrics, writing disentanglement.json."""
    from .analysis.evaluation import evaluate as run_evaluation
    from .analysis.metrics import evaluate_metrics, periodic_codes_of, posterior_mean
    from .analysis.metrics import metric_names as checked
    from .train import FolderLock, load, load_dataset
    from .train.checkpoint import atomic_write_json, check_run_dir

    names = None
    if metric_names is not None:  # unknown names fail before any work
        names = "all" if metric_names == "all" else checked(_names(metric_names) or [])
    check_run_dir(run_dir)
    with FolderLock(run_dir):  # no training or other evaluation writes meanwhile
        model = load(run_dir)
        dataset = load_dataset(run_dir)
        points = dataset.evaluation_set().x
        log.info(
            "ELBO terms and MSE with L = %d posterior samples on %d points", samples, len(points)
        )
        result = run_evaluation(model, points, samples, seed)
        record = None
        if names is not None:
            periodic = periodic_codes_of(model)  # circle/torus latents: periodic-aware metrics
            represent = posterior_mean(model, sample=sample, seed=seed)
            drawn: dict = {}
            sizes = _sizes(num_train, num_test, batch_size)
            scores = evaluate_metrics(
                dataset, represent, names, preset, seed, periodic, sizes=sizes, details=drawn
            )
            record = {
                "preset": preset,
                "seed": seed,
                "representation": "sample" if sample else "mean",
                "periodic_codes": None if periodic is None else periodic.tolist(),
                "scores": scores,
                "drawn": drawn,
            }
        # written only once everything succeeded: a failing metric leaves the old files as they were
        atomic_write_json(Path(run_dir) / "evaluation.json", result.to_dict())
        if record is not None:
            atomic_write_json(Path(run_dir) / "disentanglement.json", record)
    click.echo(json.dumps(result.to_dict(), indent=2))
    if record is not None:
        click.echo(json.dumps(record, indent=2))


@cli.command(short_help="Write a run's self-contained report.html.")
@click.argument("run_dir", type=click.Path())
@click.option(
    "--png",
    is_flag=True,
    help="Also screenshot the report to RUN_DIR/report.png with headless Chromium "
    "(Debian package `chromium`), to look at it without a browser.",
)
@click.option("--hue", help="The factor that colours the latent figures (default: the first).")
def report(run_dir: str, png: bool, hue: str | None) -> None:
    """Write RUN_DIR/report.html (self-contained: config, metrics, figures).

    RUN_DIR may also be the folder of a reproduction that did not finish (killed, say): the
    page then shows what exists, "k of n models finished"; or a sweep's folder (finished or
    not): its report is written again from results.json or, for an interrupted sweep, from the
    trial folders.
    """
    from .experiments.runner import REPRODUCTION, STARTED
    from .tools.sweep import is_sweep_folder
    from .train.checkpoint import check_run_dir
    from .train.outputs import FolderLock
    from .viz.report import write_report

    if (Path(run_dir) / STARTED).is_file():
        if (Path(run_dir) / REPRODUCTION).is_file():
            raise click.UsageError(
                f"{run_dir} is a finished reproduction: its report is "
                f"{Path(run_dir) / 'report.html'} (rerunning the reproduce command rewrites it)"
            )
        from .experiments.runner import report_unfinished

        with FolderLock(run_dir):
            page = report_unfinished(run_dir)
        click.echo(str(page))
        return
    if is_sweep_folder(run_dir):
        from .tools.sweep import read_sweep, write_sweep_outputs

        with FolderLock(run_dir):  # not while the sweep itself writes there
            page = write_sweep_outputs(read_sweep(run_dir), run_dir)
    else:
        check_run_dir(run_dir)
        with FolderLock(run_dir):  # not while a training or an evaluation writes there
            page = write_report(run_dir, hue=hue)
    click.echo(str(page))
    if png:
        from .viz.snapshot import render_html_to_png

        with FolderLock(run_dir):
            click.echo(str(render_html_to_png(page, page.with_suffix(".png"), width=1280)))


# -- list ---------------------------------------------------------------------------------------
@cli.command("list", short_help="List registered datasets, models, networks and more.")
@click.argument("what", type=click.Choice(sorted(LISTED)))
@click.option("--fields", is_flag=True, help="Also show each entry's config fields.")
def list_entries(what: str, fields: bool) -> None:
    """List registered datasets, models, latent spaces, networks, ..."""
    from . import registry

    reg = getattr(registry, LISTED[what])
    for name, obj in reg.items():
        doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
        click.echo(f"{name:<16} {doc[0] if doc else ''}")
        for file_name in getattr(obj, "published_files", ()):
            from .data.published.checksums import PUBLISHED

            published = PUBLISHED[file_name]
            md5 = f"md5 {published.md5}" if published.md5 else "no published hash"
            click.echo(f"    {published.name}: {published.url}; {md5}")
        config_cls = getattr(obj, "Config", None)
        if fields and config_cls is not None:
            for field_name, default, doc in config_cls.field_table():
                click.echo(f"    {field_name} {default}  {doc}")


# -- demo ---------------------------------------------------------------------------------------
@cli.command(short_help="The main job: a VAE on the sine circle, with its report.")
@click.option("--out", default="runs/demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--steps", default=5000, show_default=True, help="Training steps of each model.")
@click.option("--quick", is_flag=True, help="A few hundred steps only (for tests).")
@click.option(
    "--force",
    is_flag=True,
    help="Replace a demo at --out that cannot be continued (other settings); never other files.",
)
def demo(out: str, steps: int, quick: bool, force: bool) -> None:
    """The main job: VAE on the sine circle (thesis ch. 5), evaluated, with a report.

    Run again on the same --out, it continues: finished models are reused, an interrupted one
    resumes from its last checkpoint. --force replaces a demo of other settings there."""

    from .papers.thesis.demo import (
        REFERENCE_NAME,
        THESIS_TABLE_5_1_X01_SX01_TEXT,
        demo_config,
        run_demo,
    )
    from .train import OutputFolder

    if quick:
        steps = min(steps, 300)
    config = demo_config(steps)  # bad settings fail here, before anything on disk is touched
    again = f"Continue it with: latent-atlas demo{' --quick' if quick else ''} --out"
    continuing = force and _demo_continues(Path(out), config)
    with (
        _resume_hint(out, again),
        OutputFolder(out, "demo", force and not continuing, resumable=_same_demo(config)),
    ):
        result = run_demo(out, steps=steps, progress=True, reduction_steps=100 if quick else 500)
    if result.status != "finished":
        click.echo(f"demo {result.status}; checkpoint saved in {out}", err=True)
        sys.exit(result.exit_code)
    ev = result.evaluation.to_dict()
    click.echo(f"\n{'metric':<16}{'latent-atlas':>14}   {REFERENCE_NAME}", err=True)
    for key, reference in THESIS_TABLE_5_1_X01_SX01_TEXT.items():
        click.echo(f"{key:<16}{ev[key]:>14.4g}   {reference}", err=True)
    if result.circle_evaluation is not None:
        from .papers.thesis.tables import THESIS_TABLES

        circle = result.circle_evaluation.to_dict()
        click.echo(f"\n{'diffusion VAE':<16}{'latent-atlas':>14}   thesis table 7.1", err=True)
        for key, reference in THESIS_TABLES["7.1"][(0.1, 0.1)].items():
            click.echo(f"{key:<16}{circle[key]:>14.4g}   {reference}", err=True)
        click.echo(
            "(our KL is about twice the thesis's by construction: its printed density, "
            "eq. 7.5, is half uniform, an erratum; model.latent.thesis_compatible=true "
            "trains with the printed formulas — docs/circular.md, docs/errata.md)",
            err=True,
        )
    if result.reduction is not None:
        click.echo("\nΔ-reduction (eq. 9.2), rows Z₁, columns Z₂:", err=True)
        click.echo(result.reduction.to_markdown(), err=True)
    click.echo(f"\nreport: {result.report}", err=True)
    click.echo(str(result.report))


# -- reproduce ----------------------------------------------------------------------------------
def _same_demo(config):
    """The check that a folder holds a demo of ``config`` (or none yet), to continue it."""

    def check(folder: Path) -> None:
        from .train import checkpoint as ckpt
        from .train.store import check_same_config

        if (folder / ckpt.CONFIG).is_file():
            check_same_config(folder, config, None, what="demo")

    return check


def _demo_continues(folder: Path, config) -> bool:
    """Whether ``folder`` holds a demo that this one continues (same settings): then --force
    keeps it instead of replacing it."""
    from .errors import RunFolderError
    from .train.outputs import read_marker

    if not folder.is_dir() or (read_marker(folder) or {}).get("kind") != "demo":
        return False
    try:
        _same_demo(config)(folder)
    except RunFolderError:
        return False
    return True


def _list_experiments() -> None:
    """Each registered experiment with its paper reference and measured wall times."""
    from .experiments.experiment import SCALES
    from .experiments.protocols import shortfall
    from .experiments.result_files import duration_text
    from .experiments.runner import measured_times
    from .experiments.scales import settings_of
    from .registry import EXPERIMENTS

    times = measured_times()
    header = "  ".join(f"{scale:>8}" for scale in (*SCALES, "reduced"))
    click.echo(f"{'experiment':<28}{header}  reproduces")
    for name, experiment in EXPERIMENTS.items():
        seconds = times.get(name, {})
        scales = (*SCALES, *experiment.reduced)
        cells = [f"{duration_text(seconds[s]):>8}" if s in seconds else f"{'—':>8}" for s in scales]
        extra = ", ".join(f"{s} {c.strip()}" for s, c in zip(scales[2:], cells[2:]))
        click.echo(f"{name:<28}{'  '.join(cells[:2])}  {extra or '':>8}  {experiment.describe()}")
    click.echo(
        "\ntimes: wall time measured on a 2-core CPU machine (— : not measured there; full and "
        "reduced times are those of the records in reproductions/, some made while the cores "
        "were shared, see each record); reduced: a declared reduced scale (--scale cpu) where "
        "the full protocol does not fit one"
    )
    click.echo(
        "\nshort of the paper's protocol by (paper / ours, per quantity the paper "
        "states; see docs/reproduce.md):"
    )
    for name, experiment in EXPERIMENTS.items():
        for scale in ("full", *experiment.reduced):
            settings = settings_of(experiment.scales[scale])
            click.echo(f"  {name:<28}{scale:<6}{shortfall(experiment.protocol, settings)}")


@cli.command(short_help="Reproduce a published experiment beside the paper.")
@click.argument("experiment", required=False)
@click.option("--list", "list_all", is_flag=True, help="List the experiments and exit.")
@click.option(
    "--scale",
    help="quick: minutes, for a first look; full: the paper's protocol (default); some "
    "experiments have more (--list shows them).",
)
@click.option("--quick", is_flag=True, help="The same as --scale quick.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change one setting of the scale, e.g. --set steps=500 (--settings lists them).",
)
@click.option(
    "--settings",
    "show_settings",
    is_flag=True,
    help="Print the scale's settings (after --set) and exit without running.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    help="Seed of the experiment's models (experiments that take one; default 0).",
)
@click.option(
    "--device",
    help="Torch device the models and ensembles train on (cpu, cuda, cuda:1, mps, ...; default "
    "cpu); the analyses run on the CPU.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder (default runs/EXPERIMENT); running the same command again continues there.",
)
@click.option("--force", is_flag=True, help="Replace an earlier reproduction in --out.")
@click.option(
    "--mnist",
    type=click.Path(),
    help="A folder with the MNIST IDX files, to train on real digits (atomic-strokes).",
)
@click.option(
    "--published",
    type=click.Path(),
    help="disentanglement_lib's result files of the study's models (a folder searched for "
    "results/aggregate/evaluation.json, or an aggregated JSON), shown beside ours "
    "(locatello-dsprites-betavae).",
)
def reproduce(
    experiment: str | None,
    list_all: bool,
    scale: str | None,
    quick: bool,
    overrides: tuple[str, ...],
    show_settings: bool,
    seed: int | None,
    device: str | None,
    out: str | None,
    force: bool,
    mnist: str | None,
    published: str | None,
) -> None:
    """Reproduce a published experiment: results.json, table.md, figures and report.html.

    EXPERIMENT is one of the registered experiments (`latent-atlas reproduce --list` shows
    each with the paper section it reproduces and its measured time per scale). Each model it
    trains is a run folder under OUT/models; the same command run again continues: finished
    models are reused, interrupted ones resume (Ctrl-C and SIGTERM stop after a checkpoint).
    """
    from .registry import EXPERIMENTS
    from .train import OutputFolder

    if list_all:
        _list_experiments()
        return
    if experiment is None:
        raise click.UsageError("name an EXPERIMENT, or --list to see them")
    entry = EXPERIMENTS.get(experiment)  # an unknown name lists the valid ones
    if quick and scale not in (None, "quick"):
        raise click.UsageError("--quick is --scale quick; do not give both")
    scale = "quick" if quick else (scale or "full")
    settings = entry.settings(scale, overrides)
    if show_settings:
        import yaml

        from .experiments.scales import settings_of

        shown = yaml.safe_dump(settings_of(settings), sort_keys=False, allow_unicode=True)
        click.echo(shown, nl=False)
        return
    # each option the experiment declares reads and checks its value before anything is
    # written (a missing file fails here); one it does not take is refused
    given = {"seed": seed, "mnist": mnist, "published": published}
    options = entry.read_options(given, settings)
    identity = entry.identity(scale, settings, options)
    if device is not None:
        from .train.trainer import check_device_available, parse_device

        check_device_available(parse_device(device, "--device"), "--device")
    from .errors import Interrupted
    from .experiments.runner import check_continuation, reproduce

    target = Path(out or f"runs/{experiment}{'' if scale == 'full' else '-' + scale}")
    same = lambda folder: check_continuation(folder, identity, settings)  # noqa: E731
    try:
        with OutputFolder(target, "reproduction", force, resumable=same):
            result, report = reproduce(entry, scale, target, True, overrides, device, options)
    except (Interrupted, KeyboardInterrupt, Terminated) as exc:
        stop = (
            exc
            if isinstance(exc, Interrupted)
            else Interrupted(
                "SIGTERM" if isinstance(exc, Terminated) else "SIGINT", "between two trainings"
            )
        )
        click.echo(
            f"{stop.signal}: {experiment} stopped ({stop}); {target / 'report.html'} shows what "
            "is done. Run the same command again to continue.",
            err=True,
        )
        sys.exit(stop.exit_code)
    click.echo(result.to_markdown(), err=True)
    seconds = getattr(result, "seconds", float("nan"))
    click.echo(f"\ndone in {seconds:.0f} s; report: {report}", err=True)
    click.echo(str(report))


@cli.command(short_help="Record a finished reproduction in reproductions/.")
@click.argument("out", type=click.Path(file_okay=False))
@click.option(
    "--into",
    type=click.Path(file_okay=False),
    help="Record folder (default reproductions/EXPERIMENT).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the record there even when it is of a larger scale than this run.",
)
@click.option(
    "--rejudge",
    is_flag=True,
    help="OUT is a record folder (reproductions/EXPERIMENT): judge its results.json again with "
    "the current judges and rewrite its verdicts, README and the index (nothing is rerun).",
)
def record(out: str, into: str | None, replace: bool, rejudge: bool) -> None:
    """Record a finished reproduction for the repository: settings, command, commit, machine,
    time, one verdict per claim of the paper, tables and small figures (no weights).

    OUT is the folder of a finished `latent-atlas reproduce`. A record is replaced only by a
    run of the same or a larger scale (quick < reduced < full), unless --replace.
    """
    from .experiments.record import check_replacement, make_record, read_run, rejudge_record
    from .train.outputs import FolderLock

    if rejudge:
        if into or replace:
            raise click.UsageError("--rejudge rewrites the record OUT itself: no --into/--replace")
        with FolderLock(out):
            click.echo(str(rejudge_record(out)))
        return
    run, _ = read_run(out)
    target = Path(into or Path("reproductions") / run["experiment"])
    with FolderLock(target):  # two records into one folder would mix their files
        replaced = check_replacement(run, target, replace)  # refused before anything is written
        if replaced is not None:
            click.echo(f"replacing {replaced}", err=True)
        click.echo(str(make_record(out, target, replace=replace)))


# -- directions ----------------------------------------------------------------------------------
def _amounts(value: str) -> tuple[float, ...] | str:
    if value.strip() == "auto":
        return "auto"
    try:
        return tuple(float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}") from None


def _generator_options(command):
    """``--generator MODULE:CALLABLE`` and ``--latent-dim``: a user's own generator instead of a
    run folder (analysis.generators.import_generator)."""
    command = click.option(
        "--latent-dim",
        type=click.IntRange(min=1),
        help="Latent size of --generator when it has no latent_dim attribute.",
    )(command)
    return click.option(
        "--generator",
        "generator_spec",
        help="Your own generator instead of RUN_DIR: MODULE:CALLABLE or FILE.py:CALLABLE, a "
        "callable returning an nn.Module (codes (n, d) → images), or a pair (module, sampler).",
    )(command)


def _source(run_dir: str | None, generator_spec: str | None, latent_dim: int | None):
    """The run folder (checked) or the user's generator, exactly one of them."""
    if (run_dir is None) == (generator_spec is None):
        raise click.UsageError("give either RUN_DIR or --generator MODULE:CALLABLE")
    if generator_spec is not None:
        from .analysis.generators import import_generator

        return import_generator(generator_spec, latent_dim)
    from .train.checkpoint import check_run_dir

    check_run_dir(run_dir)
    return run_dir


@cli.command(short_help="Find the latent direction of an image transformation.")
@click.argument("run_dir", type=click.Path(file_okay=False), required=False)
@_generator_options
@click.option(
    "--transform",
    "transformation",
    required=True,
    help="translate-x, translate-y, scale, rotation, brightness or contrast.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder (default RUN_DIR/directions-T, or directions-T here with --generator).",
)
@click.option("--force", is_flag=True, help="Replace an earlier result in --out.")
@click.option("--trajectories", default=256, show_default=True, type=click.IntRange(min=2))
@click.option(
    "--amounts",
    default="auto",
    show_default=True,
    help="Increasing magnitudes δt of one trajectory, in the transformation's units (±), e.g. "
    "0.1,0.2,0.3,0.4,0.5 (the paper's); auto: five up to the spread of the factor over the "
    "model's images.",
)
@click.option(
    "--steps",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Adam steps per point.",
)
@click.option("--lr", default=0.01, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--loss", default="gaussian", show_default=True, help="gaussian, mse or dssim.")
@click.option("--sigma", default=3.0, show_default=True, help="Gaussian filter σ in pixels.")
@click.option("--traversals", default=50, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--method",
    default="minimal-move",
    show_default=True,
    type=click.Choice(["minimal-move", "paper"]),
    help="Direction estimator: the image-changing part of the moves (docs/directions.md), or "
    "the paper's fit (eq. 8-9).",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Run the other estimator too and show both side by side (twice the time).",
)
@_seed_option()
@click.option("--quick", is_flag=True, help="32 trajectories, 20 steps: a first look in seconds.")
@click.option(
    "--compile",
    "compile_generator",
    is_flag=True,
    help="Run the generator through torch.compile (faster inversion after seconds of compiling).",
)
def directions(
    run_dir,
    generator_spec,
    latent_dim,
    transformation,
    out,
    force,
    trajectories,
    amounts,
    steps,
    lr,
    loss,
    sigma,
    traversals,
    method,
    compare,
    seed,
    quick,
    compile_generator,
) -> None:
    """Find the latent direction of an image transformation in RUN_DIR's model (or your own
    --generator), without labels or encoder (directions paper); write direction.safetensors,
    results.json and report.html."""

    from .data.transforms import get_transformation
    from .train import OutputFolder

    source = _source(run_dir, generator_spec, latent_dim)
    name = get_transformation(transformation).name
    target = Path(out or Path(run_dir or ".") / f"directions-{name}")
    if quick:
        trajectories, steps = min(trajectories, 32), min(steps, 20)
    settings = dict(
        n=trajectories,
        amounts=_amounts(amounts),
        steps=steps,
        lr=lr,
        loss=loss,
        sigma=sigma,
        traversals=traversals,
        seed=seed,
        method=method,
    )
    with OutputFolder(target, "direction result", force):
        _find_direction(source, name, target, compile_generator, compare, settings)


def _find_direction(source, name, target, compile_generator, compare, settings) -> Path:
    """Run the direction search, write its outputs into ``target`` and print the summary."""
    from .tools.directions import run_directions, write_direction_outputs

    report = run_directions(source, name, compile=compile_generator, compare=compare, **settings)
    path = write_direction_outputs(report, target)
    click.echo(report.to_markdown(), err=True)
    click.echo(f"\ndirection: {target / 'direction.safetensors'}; report: {path}", err=True)
    click.echo(str(path))
    return path


# -- probe ---------------------------------------------------------------------------------------
def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise click.BadParameter("expected comma-separated layer names")
    return names


@cli.command(short_help="Test whether a generator's layers are modular.")
@click.argument("run_dir", type=click.Path(file_okay=False), required=False)
@_generator_options
@click.option(
    "--layers",
    help="Comma-separated layers to stretch, as in model.named_modules() (default: every map "
    "of the decoder). A wrong name lists the valid ones.",
)
@click.option(
    "--sdr-layers",
    help="Comma-separated (transposed) convolutions for the SDR (default: every one of the "
    "decoder; 'none' for no SDR).",
)
@click.option("--stretch", default=1.5, show_default=True, type=float, help="Horizontal factor.")
@click.option("--samples", default=64, show_default=True, type=click.IntRange(min=2))
@click.option(
    "--levels",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Haar levels: levels + 1 scales.",
)
@click.option(
    "--averaging",
    default="power",
    show_default=True,
    type=click.Choice(["power", "mean"]),
    help="Spectrum estimate: eq. 8 or eq. 9.",
)
@click.option("--codes", default="prior", show_default=True, type=click.Choice(["prior", "data"]))
@_seed_option()
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder (default RUN_DIR/probe, or probe here with --generator).",
)
@click.option("--force", is_flag=True, help="Replace an earlier result in --out.")
def probe(
    run_dir,
    generator_spec,
    latent_dim,
    layers,
    sdr_layers,
    stretch,
    samples,
    levels,
    averaging,
    codes,
    seed,
    out,
    force,
) -> None:
    """Test whether RUN_DIR's generator (or your own --generator) is modular (intrinsic paper):
    stretch each layer's maps vs stretch the output, by wavelet scale, and the SDR between maps
    and filters."""

    from .tools.probe import run_probe, write_probe_outputs
    from .train import OutputFolder

    source = _source(run_dir, generator_spec, latent_dim)
    target = Path(out or Path(run_dir or ".") / "probe")
    sdr = [] if sdr_layers == "none" else _names(sdr_layers)
    with OutputFolder(target, "probe result", force):
        report = run_probe(
            source, _names(layers), sdr, stretch, samples, levels, averaging, codes, seed
        )
        path = write_probe_outputs(report, target)
    click.echo(report.to_markdown(), err=True)
    click.echo(f"\nreport: {path}", err=True)
    click.echo(str(path))


# -- explore -------------------------------------------------------------------------------------
@cli.command(short_help="Serve a local page to move in a run's latent space.")
@click.argument("run_dir", type=click.Path(file_okay=False), required=False)
@_generator_options
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--device", default="cpu", show_default=True, help="Torch device of the decoder.")
@_seed_option("Seed of the start code.")
def explore(run_dir, generator_spec, latent_dim, port: int, host: str, device: str, seed) -> None:
    """Serve a local web page to move in RUN_DIR's latent space (sliders, dials for angles), or
    in the latent space of your own generator (--generator MODULE:CALLABLE)."""
    from .explorer.app import serve

    source = _source(run_dir, generator_spec, latent_dim)
    serve(source, host, port, device, seed, echo=lambda text: click.echo(text, err=True))


# -- sweep ---------------------------------------------------------------------------------------
@cli.command(short_help="Train a grid of models, settings and seeds.")
@click.argument("sweep_file", required=False, type=click.Path())
@click.option(
    "--study",
    metavar="DATASET",
    help="Instead of SWEEP_FILE, the grid of Locatello et al. (2019) on DATASET: six methods × "
    "six hyper-parameter values × --seeds, the study's networks, training and metrics.",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    help="With --study: seeds 0 … N−1 of every grid point (the study's 50 by default).",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    help="With --study: training steps per model (the study's 300 000 by default).",
)
@click.option(
    "--methods",
    help="With --study: a comma-separated subset of the study's methods (beta_vae, "
    "annealed_vae, factor_vae, dip_vae_i, dip_vae_ii, beta_tcvae).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change the sweep's settings (repeatable), e.g. base.dataset.path=/data/3dshapes.h5, "
    "resources.gpus=0.5, published=/data/dlib_results.",
)
@click.option("--out", type=click.Path(file_okay=False), help="Folder (default runs/sweep-NAME).")
@click.option(
    "--executor",
    default="local",
    show_default=True,
    type=click.Choice(["local", "ray"]),
    help="local: ensembles and processes on this machine; ray: one Ray task per trial.",
)
@click.option("--jobs", type=click.IntRange(min=1), help="Local processes (default: the cores).")
@click.option(
    "--address", help="Ray cluster address, e.g. auto (default: start a local Ray instance)."
)
def sweep(
    sweep_file, study, seeds, steps, methods, overrides, out, executor, jobs, address
) -> None:
    """Train a grid of models × hyper-parameters × seeds from SWEEP_FILE (or the study of
    Locatello et al. with --study DATASET), score each with the disentanglement metrics, and
    write results.csv, results.json and report.html. Running it again on the same --out
    continues an interrupted sweep: each finished trial is kept."""
    from .config import apply_overrides, read_config_file
    from .errors import ConfigError
    from .tools.sweep import SweepConfig, run_sweep, write_sweep_outputs
    from .train import FolderLock

    if (sweep_file is None) == (study is None):
        raise ConfigError("sweep: give SWEEP_FILE or --study DATASET (one of them)")
    if study is None and (seeds or steps or methods):
        raise ConfigError("--seeds, --steps and --methods go with --study")
    if study is not None:
        from .papers.locatello.study import study_sweep

        given = {"seeds": seeds, "steps": steps, "methods": _names(methods)}
        data = study_sweep(study, **{k: v for k, v in given.items() if v is not None})
        name = f"study-{study}"
    else:
        data, name = read_config_file(sweep_file), Path(sweep_file).stem
    config = SweepConfig.from_dict(apply_overrides(data, overrides))
    target = Path(out or f"runs/sweep-{name}")
    with FolderLock(target):  # a second sweep into the same folder would mix the trials
        echo = lambda line: click.echo(line, err=True)  # noqa: E731
        result = run_sweep(config, target, executor, jobs, address, echo)
        report = write_sweep_outputs(result, target)
    click.echo(result.to_markdown(), err=True)
    click.echo(f"\n{len(result.rows)} trials in {result.seconds:.0f} s; report: {report}", err=True)
    if result.failed:
        first = result.failed[0]
        raise click.ClickException(
            f"{len(result.failed)} trial(s) failed (first: {first['trial']}: {first['error']}); "
            f"see {target / 'results.csv'}"
        )
    click.echo(str(report))


def main() -> None:
    try:
        cli(prog_name="latent-atlas")
    finally:
        _forget_generated_code_interrupt()


def _forget_generated_code_interrupt() -> None:
    """Keep the exit status the CLI chose after a Ctrl-C (130).

    CPython remembers, in a flag no Python API reads, a ``KeyboardInterrupt`` that left any
    code run from a string (``exec``/``eval``: a dataclass or a namedtuple being made while a
    lazy import runs when Ctrl-C comes); under ``python -m`` it then ends the process by SIGINT
    whatever status was asked for. Running a string that completes clears that flag; a
    Ctrl-C nobody handled still ends the program as Python does, since the interpreter sets
    the flag again when the exception leaves the main module."""
    exec("pass")


if __name__ == "__main__":
    main()
