"""The registered reproductions: what each reproduces, its scales, how to run and write it.

``latent-atlas reproduce NAME`` looks an experiment up in the registry
:data:`latentatlas.registry.EXPERIMENTS` (no dispatch on name prefixes) and calls
:meth:`Experiment.execute`. Entries are registered here, in one light module, rather than in
each experiment's module: those import torch, matplotlib and the models, which only running an
experiment (or ``--list``, for each scale's settings) pays for. Each entry names its code as
``"module:function"``, imported when needed.

An entry's ``scales`` names its named scales (a dict ``{"quick": settings, "full": settings}``
of frozen dataclasses, or a function of the experiment's name returning one); ``--set key=value``
changes single settings, checked by :func:`~latentatlas.experiments.settings.resolve_settings`.
Its ``run`` function is called as ``run(quick=..., scale=settings, progress=..., **options)`` and
returns a result with ``to_markdown()`` and ``seconds``; ``write(result, out)`` writes
``results.json``, ``table.md``, the figures and ``report.html`` and returns the report's path.
:meth:`Experiment.execute` then writes ``reproduction.json``: what ran (experiment, scale, the
resolved settings, the changes to them, seed, command), on what (library version, commit when
run from a git checkout, machine) and for how long; ``reproductions/`` records are built from it.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import first_difference
from ..errors import ConfigError
from ..registry import EXPERIMENTS
from .settings import resolve_settings, settings_of, with_later_defaults

#: the named scales every experiment has
SCALES = ("quick", "full")

#: the documents the experiments reproduce (see README "Papers")
PAPERS = {
    "thesis": "Pérez Rey, Latent Variable Separation with VAEs (thesis)",
    "atomic": "Newson & Traonmilin, atomic autoencoders",
    "slides": "Newson et al., Understanding and Organising the Latent Space of AEs (slides)",
    "directions": "Plumerault et al., continuous factors of variation (ICLR 2020)",
    "intrinsic": "Besserve et al., intrinsic disentanglement",
    "locatello": "Locatello et al. 2019, challenging common assumptions (β-VAE arm)",
}


def _function(path: str) -> Callable[..., Any]:
    module, name = path.split(":")
    return getattr(importlib.import_module(module, __package__), name)


@dataclass(frozen=True)
class Experiment:
    """One registered reproduction.

    Attributes:
        name: the command-line name, e.g. ``"thesis-table-5.1"``.
        paper: key of :data:`PAPERS`.
        reference: the section, table or figure it reproduces.
        run: ``"module:function"`` called as
            ``run(quick=, scale=, progress=, **fixed, **options)``.
        write: ``"module:function"`` called as ``write(result, out)`` → the report's path.
        scales: ``"module:name"`` of a dict of named scales, or of a function taking the
            experiment's name and returning one; each has at least ``quick`` and ``full``.
        fixed: keyword arguments always passed to ``run`` (e.g. which table).
        options: the extra options it accepts (``seed``, ``dataset``, ``published``, ``out``).
        progress: whether ``run`` takes ``progress``.
        reduced: the names of its declared reduced scales beyond ``quick`` and ``full`` (e.g.
            ``cpu``: the largest honest scale that fits a 2-core machine when ``full`` does
            not), listed here so that ``--list`` needs no import of the experiment's code.
    """

    name: str
    paper: str
    reference: str
    run: str
    write: str
    scales: str
    fixed: dict = field(default_factory=dict)
    options: tuple[str, ...] = ()
    progress: bool = True
    reduced: tuple[str, ...] = ()

    def named_scales(self) -> dict[str, Any]:
        """The experiment's named scales: name → settings (a frozen dataclass)."""
        scales = _function(self.scales)
        return dict(scales(self.name) if callable(scales) else scales)

    def settings(self, scale: str, overrides: tuple[str, ...] | list[str] = ()) -> Any:
        """The settings of ``scale`` with ``key=value`` ``overrides`` applied and checked."""
        self.check(scale)
        return resolve_settings(
            self.named_scales()[scale], overrides, f"{self.name} at scale {scale!r}"
        )

    def identity(
        self, scale: str, overrides: tuple[str, ...] | list[str] = (), **options: Any
    ) -> dict[str, Any]:
        """What makes two invocations the same reproduction: experiment, scale, the resolved
        settings and the options given (a rerun with the same identity continues the first)."""
        return {
            "experiment": self.name,
            "scale": scale,
            "settings": settings_of(self.settings(scale, overrides)),
            "options": {k: _plain_option(v) for k, v in options.items() if v is not None},
        }

    def execute(
        self,
        scale: str,
        out: str | Path,
        progress: bool = False,
        overrides: tuple[str, ...] | list[str] = (),
        device: str | None = None,
        **options: Any,
    ) -> tuple[Any, Path]:
        """Run at ``scale`` (with ``overrides`` of single settings) into ``out`` and write the
        outputs, ``reproduction.json`` last; returns the result and the report's path.

        Every model goes into a run folder under ``out/models`` (see
        :mod:`~latentatlas.experiments.model_store`): invoked again on the same folder with the
        same identity it continues, reusing finished models and resuming interrupted ones; with
        another identity it is refused. Models train on ``device`` (default: the CPU); the
        analyses run on the CPU. Ctrl-C or SIGTERM stop it after a checkpoint with
        :class:`~latentatlas.errors.Interrupted`, leaving a partial ``report.html``.
        """
        from ..train.checkpoint import atomic_write_json
        from ..viz.reproduction import set_report_status
        from .model_store import ExperimentProgress, ModelStore, use_store
        from .partial import write_partial_report

        self.check(scale, **options)
        settings = self.settings(scale, overrides)
        identity = self.identity(scale, overrides, **options)
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        earlier = check_continuation(out, identity, settings)
        spent = float(earlier.get("seconds", 0.0))
        invocations = int(earlier.get("invocations", 0)) + 1
        started = earlier.get("started") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

        def save_state(seconds: float, expected: int | None = None) -> None:
            atomic_write_json(
                out / STARTED,
                {
                    "identity": identity,
                    "started": started,
                    "seconds": seconds,
                    "invocations": invocations,
                    "models_expected": expected,
                },
            )

        save_state(spent)
        kwargs = {**self.fixed, **{k: v for k, v in options.items() if v is not None}}
        if "out" in self.options:
            kwargs["out"] = out
        if self.progress:
            kwargs["progress"] = progress
        t0 = time.perf_counter()
        display = ExperimentProgress(self.name, enabled=progress)

        def on_event(event: Any) -> None:
            display.update(event)
            if event.kind == "start" and event.index == 0:  # the count is known by then
                save_state(spent + time.perf_counter() - t0, event.expected)

        store = ModelStore(out, device, on_event=on_event)
        try:
            with use_store(store), display:
                result = _function(self.run)(quick=scale == "quick", scale=settings, **kwargs)
        except BaseException:
            save_state(spent + time.perf_counter() - t0, store.expected)
            write_partial_report(out, self.name, self.describe(), identity, store.expected)
            raise
        report = _function(self.write)(result, out)
        set_report_status(report, self.badge(scale, out, identity["settings"]))
        seconds = spent + time.perf_counter() - t0
        save_state(seconds, store.expected)
        record = {
            "experiment": self.name,
            "paper": PAPERS[self.paper],
            "reference": self.reference,
            "scale": scale,
            "overrides": list(overrides),
            "settings": identity["settings"],
            "options": identity["options"],
            "command": _command_line(),
            "started": started,
            "seconds": seconds,
            "invocations": invocations,
            "models": store.count,
            "device": device or "cpu",
            **provenance(),
        }
        atomic_write_json(out / REPRODUCTION, record)
        return result, Path(report)

    def check(self, scale: str, **options: Any) -> None:
        """Refuse an unknown scale or an option this experiment does not take (None: unset)."""
        names = self.named_scales()
        if scale not in names:
            raise ConfigError(
                f"scale: {self.name} has the scales {', '.join(names)}; got {scale!r}"
            )
        unknown = sorted(k for k, v in options.items() if v is not None and k not in self.options)
        if unknown:
            raise ConfigError(
                f"{unknown[0]}: {self.name} does not take this option "
                f"(it takes: {', '.join(self.options) or 'none'})"
            )

    def badge(self, scale: str, out: Path, settings: dict[str, Any] | None = None) -> str:
        """The report's badge: a quick run is a smoke test and says so; any other scale shows
        its name, the judge's verdicts on the results just written and, from its ``settings``
        (the dict ``--settings`` prints; default: the named scale's), how far it falls short of
        the paper's protocol (:mod:`~latentatlas.experiments.protocols`)."""
        from ..train.checkpoint import read_json
        from .claims import VERDICTS, claims_of, counted, judge
        from .protocols import shortfall

        if scale == "quick":
            return "quick run: a smoke test, not the paper's protocol (no verdicts)"
        verdicts = counted(
            judge(self.name, read_json(Path(out) / "results.json")), claims_of(self.name)
        )
        counts = [
            f"{n} {word}" for word in VERDICTS if (n := sum(v.verdict == word for v in verdicts))
        ]
        if settings is None:
            settings = settings_of(self.named_scales()[scale])
        return (
            f"{scale} scale: "
            + (" · ".join(counts) if counts else "no claims judged")
            + f" · short of the paper by: {shortfall(self.name, settings)}"
        )

    def summary_line(self, result: Any) -> str:
        return f"done in {getattr(result, 'seconds', float('nan')):.0f} s"

    def describe(self) -> str:
        return f"{PAPERS[self.paper].split(',')[0]}: {self.reference}"


#: the file :meth:`Experiment.execute` writes last into the output folder
REPRODUCTION = "reproduction.json"
#: the file it writes first: the reproduction's identity and the time spent so far
STARTED = "experiment.json"


def check_continuation(out: Path, identity: dict[str, Any], settings: Any = None) -> dict[str, Any]:
    """What an earlier invocation into ``out`` recorded ({} when none did); a
    :class:`~latentatlas.errors.RunFolderError` when it was another reproduction (other
    experiment, scale, settings or options), naming the first difference.

    ``settings``: the settings object of ``identity``; a folder started before one of its
    settings existed then continues while that setting keeps its default (what the earlier
    version ran with)."""
    from ..errors import RunFolderError
    from ..train.checkpoint import read_json

    path = out / STARTED
    if not path.is_file():
        if (out / "models").exists() or (out / REPRODUCTION).exists():
            raise RunFolderError(
                f"{out} holds a reproduction without {STARTED} (an earlier version's, or not "
                "latent-atlas's): pass --force to replace it, or choose another --out"
            )
        return {}
    earlier = read_json(path)
    if not isinstance(earlier, dict) or not isinstance(earlier.get("identity"), dict):
        raise RunFolderError(f"{path}: corrupt (expected an object with an 'identity')")
    before = earlier["identity"]
    if settings is not None and isinstance(before.get("settings"), dict):
        before = {**before, "settings": with_later_defaults(before["settings"], settings)}
    if before != identity:
        key, old, new = first_difference(before, identity)
        raise RunFolderError(
            f"{out} holds a reproduction with {key} = {old!r}; this command asks for {new!r}. "
            "Rerun it as it was started to continue, pass --force to replace it, or choose "
            "another --out"
        )
    return earlier


def _plain_option(value: Any) -> Any:
    """An option as JSON data (published scores are summarised by their count)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain_option(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return f"{len(value)} entries"
    return type(value).__name__


def _command_line() -> str:
    """The command as typed (``latent-atlas reproduce ...``), or the Python entry point."""
    name = Path(sys.argv[0]).name if sys.argv else "python"
    return " ".join([name, *sys.argv[1:]])


def _accelerator(torch: Any) -> str | None:
    """The machine's accelerator as "type: name" (torch.accelerator; None without one)."""
    api = getattr(torch, "accelerator", None)
    if api is None or not api.is_available():
        return None
    device = api.current_accelerator()
    name = getattr(getattr(torch, device.type, None), "get_device_name", None)
    return f"{device.type}: {name(0)}" if callable(name) else device.type


def provenance() -> dict[str, Any]:
    """On what a reproduction ran: library and torch versions, the git commit of the source
    when it is a checkout (with ``dirty`` when it has uncommitted changes), and the machine."""
    import torch

    from .. import __version__

    info: dict[str, Any] = {
        "latent_atlas": __version__,
        "torch": torch.__version__,
        "machine": {
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "accelerator": _accelerator(torch),
            # processes waiting for a core over the last 15 min: above the core count, the
            # wall time includes sharing the machine with other work
            "load_average": os.getloadavg()[2] if hasattr(os, "getloadavg") else None,
        },
    }
    source = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, timeout=10
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],
            cwd=source.parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return info
    if commit.returncode == 0:
        info["commit"] = commit.stdout.strip()
        info["dirty"] = bool(status.stdout.strip())
    return info


def _register(*experiments: Experiment) -> None:
    for experiment in experiments:
        assert experiment.paper in PAPERS, experiment.name
        EXPERIMENTS.register(experiment.name)(experiment)


_TABLES = "..papers.thesis.tables:reproduce_table"
_STUDIES = "..papers.thesis.studies:reproduce_study"
_ATOMIC = "..papers.atomic.experiments:reproduce_atomic"
_register(
    Experiment(
        "thesis-table-5.1",
        "thesis",
        "table 5.1 (baseline VAE on the sine circle, ch. 5)",
        _TABLES,
        "..papers.thesis.tables:write_table",
        "..papers.thesis.tables:SCALES",
        {"table": "5.1"},
    ),
    Experiment(
        "thesis-table-7.1",
        "thesis",
        "table 7.1 (diffusion VAE on S¹, ch. 7)",
        _TABLES,
        "..papers.thesis.tables:write_table",
        "..papers.thesis.tables:SCALES",
        {"table": "7.1"},
    ),
    Experiment(
        "thesis-table-9.2",
        "thesis",
        "table 9.2 (Δ-reduction between models, ch. 9)",
        "..papers.thesis.reduction:reproduce_reduction_table",
        "..papers.thesis.reduction:write_reduction_outputs",
        "..papers.thesis.reduction:SCALES",
        options=("seed",),
        progress=False,
    ),
    Experiment(
        "thesis-table-9.2-sigma-0.1",
        "thesis",
        "table 9.2 with every model at σX = 0.1 (the reading the printed values fit)",
        "..papers.thesis.reduction:reproduce_reduction_table",
        "..papers.thesis.reduction:write_reduction_outputs",
        "..papers.thesis.reduction:COMMON_SIGMA_SCALES",
        options=("seed",),
        progress=False,
    ),
    Experiment(
        "thesis-torus",
        "thesis",
        "ch. 11, table 11.1 (torus latents)",
        _STUDIES,
        "..papers.thesis.studies:write_study_outputs",
        "..papers.thesis.studies:study_scales",
        {"name": "thesis-torus"},
        ("seed",),
    ),
    Experiment(
        "thesis-pixel-shift",
        "thesis",
        "§10.1 (pixel shift)",
        _STUDIES,
        "..papers.thesis.studies:write_study_outputs",
        "..papers.thesis.studies:study_scales",
        {"name": "thesis-pixel-shift"},
        ("seed",),
    ),
    Experiment(
        "thesis-rotating-object",
        "thesis",
        "§10.2 (rotating object)",
        _STUDIES,
        "..papers.thesis.studies:write_study_outputs",
        "..papers.thesis.studies:study_scales",
        {"name": "thesis-rotating-object"},
        ("seed",),
    ),
    Experiment(
        "atomic-spikes",
        "atomic",
        "§III-B (spikes)",
        _ATOMIC,
        "..papers.atomic.experiments:write_atomic_outputs",
        "..papers.atomic.experiments:atomic_scales",
        {"name": "atomic-spikes"},
        ("seed", "dataset"),
    ),
    Experiment(
        "atomic-strokes",
        "atomic",
        "§III-A (strokes; MNIST with --mnist)",
        _ATOMIC,
        "..papers.atomic.experiments:write_atomic_outputs",
        "..papers.atomic.experiments:atomic_scales",
        {"name": "atomic-strokes"},
        ("seed", "dataset"),
    ),
    Experiment(
        "slides-disk",
        "slides",
        "slides 8-20 (disk autoencoder)",
        "..papers.slides.disk:reproduce_disk",
        "..papers.slides.disk:write_disk_outputs",
        "..papers.slides.disk:SCALES",
        options=("seed",),
    ),
    Experiment(
        "slides-position",
        "slides",
        "slides 22-30 (position encoding)",
        "..papers.slides.position:reproduce_position",
        "..papers.slides.position:write_position_outputs",
        "..papers.slides.position:SCALES",
        options=("seed",),
        progress=False,
    ),
    Experiment(
        "slides-pca-ae",
        "slides",
        "slides 31-39 (PCA-like autoencoder)",
        "..papers.slides.pca:reproduce_pca",
        "..papers.slides.pca:write_pca_outputs",
        "..papers.slides.pca:SCALES",
        options=("seed",),
    ),
    Experiment(
        "slides-pca-ae-generator",
        "slides",
        "slides 42-46 (PCA-AE on a generator)",
        "..papers.slides.generator:reproduce_generator",
        "..papers.slides.generator:write_generator_outputs",
        "..papers.slides.generator:GENERATOR_SCALES",
        options=("seed",),
    ),
    Experiment(
        "directions-dsprites-beta",
        "directions",
        "§3.3 (β-VAE control on dSprites)",
        "..papers.directions.beta:reproduce_beta",
        "..papers.directions.beta:write_beta_outputs",
        "..papers.directions.beta:SCALES",
        options=("seed",),
        reduced=("cpu",),
    ),
    Experiment(
        "directions-losses",
        "directions",
        "appendix C (inversion losses)",
        "..papers.directions.inversion:reproduce_losses",
        "..papers.directions.inversion:write_losses_outputs",
        "..papers.directions.inversion:LOSS_SCALES",
        options=("seed",),
        reduced=("cpu",),
    ),
    Experiment(
        "directions-inversion",
        "directions",
        "appendix F (naive inversion)",
        "..papers.directions.inversion:reproduce_naive",
        "..papers.directions.inversion:write_naive_outputs",
        "..papers.directions.inversion:NAIVE_SCALES",
        options=("seed",),
        reduced=("cpu",),
    ),
    Experiment(
        "directions-curvature",
        "directions",
        "appendix D (curvature)",
        "..papers.directions.curvature:reproduce_curvature",
        "..papers.directions.curvature:write_curvature_outputs",
        "..papers.directions.curvature:SCALES",
        progress=False,
    ),
    Experiment(
        "intrinsic-stretch",
        "intrinsic",
        "fig. 3a-d (stretching each level)",
        "..papers.intrinsic.stretch:reproduce_stretch",
        "..papers.intrinsic.stretch:write_stretch_outputs",
        "..papers.intrinsic.stretch:SCALES",
        options=("seed",),
        reduced=("cpu",),
    ),
    Experiment(
        "intrinsic-tracking",
        "intrinsic",
        "fig. 4a-b (errors tracked in training)",
        "..papers.intrinsic.training:reproduce_tracking",
        "..papers.intrinsic.training:write_tracking_outputs",
        "..papers.intrinsic.training:SCALES",
        options=("seed",),
        reduced=("cpu",),
    ),
    Experiment(
        "intrinsic-sdr-training",
        "intrinsic",
        "sec. 5.2, fig. 4c and 3e (SDR training)",
        "..papers.intrinsic.training:reproduce_sdr_training",
        "..papers.intrinsic.training:write_tracking_outputs",
        "..papers.intrinsic.training:SCALES",
        options=("seed",),
        reduced=("cpu",),
    ),
    Experiment(
        "locatello-dsprites-betavae",
        "locatello",
        "fig. 7/13 (β-VAE grid on dSprites, every metric)",
        "..papers.locatello.experiments:reproduce_locatello",
        "..papers.locatello.experiments:write_locatello_outputs",
        "..papers.locatello.experiments:SCALES",
        options=("published", "out"),
        progress=False,
        reduced=("cpu",),
    ),
)


def measured_times() -> dict[str, dict[str, float]]:
    """Wall times measured on the project's 2-core machine per experiment and scale, read from
    ``timings.json`` beside this module (written by ``benchmarks/reproduce_times.py``); an
    experiment or scale never timed there is absent."""
    path = Path(__file__).with_name("timings.json")
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data.get("seconds", {}) if isinstance(data, dict) else {}
