"""Run a registered reproduction into an output folder: ``latent-atlas reproduce NAME``.

:func:`reproduce` resolves the experiment's settings at a scale (``--set key=value`` changes
single settings, checked by :func:`~latentatlas.experiments.scales.resolve_settings`), checks
that the output folder holds nothing or the same reproduction (:func:`check_continuation`: a
rerun continues it), calls the experiment's ``run(settings, store, **options)`` with a
:class:`~latentatlas.experiments.model_store.ModelStore` on the folder, then its
``write(result, out)`` (``results.json``, ``table.md``, the figures and ``report.html``, whose
badge shows the judge's verdicts and how far the scale falls short of the paper), and last
``reproduction.json``: what ran (experiment, scale, the resolved settings, the changes to them,
options, command), on what (library version, commit when run from a git checkout, machine) and
for how long; ``reproductions/`` records are built from it. The experiments themselves are
declared by their papers (:mod:`.experiment`, :mod:`latentatlas.papers`).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import first_difference
from .experiment import Experiment
from .scales import settings_of, with_later_defaults

#: the file :func:`reproduce` writes last into the output folder
REPRODUCTION = "reproduction.json"
#: the file it writes first: the reproduction's identity and the time spent so far
STARTED = "experiment.json"


def reproduce(
    experiment: Experiment,
    scale: str,
    out: str | Path,
    progress: bool = False,
    overrides: Sequence[str] = (),
    device: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[Any, Path]:
    """Run ``experiment`` at ``scale`` (with ``overrides`` of single settings and ``options``,
    ``run``'s keywords as :meth:`~.experiment.Experiment.read_options` gives them) into ``out``
    and write the outputs, ``reproduction.json`` last; returns the result and the report's path.

    Every model goes into a run folder under ``out/models`` (see
    :mod:`~latentatlas.experiments.model_store`): invoked again on the same folder with the
    same identity it continues, reusing finished models and resuming interrupted ones; with
    another identity it is refused. Models train on ``device`` (default: the CPU); the
    analyses run on the CPU. Ctrl-C or SIGTERM stop it after a checkpoint with
    :class:`~latentatlas.errors.Interrupted`, leaving a partial ``report.html``.
    """
    from ..train.checkpoint import atomic_write_json
    from ..viz.reproduction import set_report_status
    from .model_store import ExperimentProgress, ModelStore
    from .partial import write_partial_report

    options = dict(options or {})
    settings = experiment.settings(scale, overrides)
    identity = experiment.identity(scale, settings, options)
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
    t0 = time.perf_counter()
    display = ExperimentProgress(experiment.name, enabled=progress)

    def on_event(event: Any) -> None:
        display.update(event)
        if event.kind == "start" and event.index == 0:  # the count is known by then
            save_state(spent + time.perf_counter() - t0, event.expected)

    store = ModelStore(out, device, on_event=on_event, progress=progress)
    try:
        with display:
            result = experiment.run(settings, store, **options)
    except BaseException:
        save_state(spent + time.perf_counter() - t0, store.expected)
        write_partial_report(out, experiment.name, experiment.describe(), identity, store.expected)
        raise
    report = experiment.write(result, out)
    set_report_status(report, badge(experiment, scale, out, identity["settings"]))
    seconds = spent + time.perf_counter() - t0
    save_state(seconds, store.expected)
    record = {
        "experiment": experiment.name,
        "paper": experiment.paper,
        "reference": experiment.reference,
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


def badge(
    experiment: Experiment, scale: str, out: Path, settings: dict[str, Any] | None = None
) -> str:
    """The report's badge: a quick run is a smoke test and says so; any other scale shows
    its name, the judge's verdicts on the results just written and, from its ``settings``
    (the dict ``--settings`` prints; default: the named scale's), how far it falls short of
    the paper's protocol (:mod:`~latentatlas.experiments.protocols`)."""
    from ..train.checkpoint import read_json
    from .claims import VERDICTS, counted
    from .protocols import shortfall

    if scale == "quick":
        return "quick run: a smoke test, not the paper's protocol (no verdicts)"
    verdicts = counted(
        experiment.verdicts(read_json(Path(out) / "results.json")), experiment.claims
    )
    counts = [f"{n} {word}" for word in VERDICTS if (n := sum(v.verdict == word for v in verdicts))]
    if settings is None:
        settings = settings_of(experiment.scales[scale])
    return (
        f"{scale} scale: "
        + (" · ".join(counts) if counts else "no claims judged")
        + f" · short of the paper by: {shortfall(experiment.protocol, settings)}"
    )


def report_unfinished(out: str | Path) -> Path:
    """The partial report of the unfinished reproduction in ``out``, from its
    ``experiment.json`` (what an interrupted command writes itself; for one that was killed)."""
    from ..errors import RunFolderError
    from ..registry import EXPERIMENTS
    from ..train.checkpoint import read_json
    from .partial import write_partial_report

    state = read_json(Path(out) / STARTED)
    identity = state.get("identity") if isinstance(state, dict) else None
    if not isinstance(identity, dict) or identity.get("experiment") not in EXPERIMENTS:
        raise RunFolderError(f"{Path(out) / STARTED}: corrupt (no known experiment)")
    entry = EXPERIMENTS.get(identity["experiment"])
    expected = state.get("models_expected")
    expected = expected if isinstance(expected, int) and expected >= 0 else None
    return write_partial_report(out, entry.name, entry.describe(), identity, expected)


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


def measured_times() -> dict[str, dict[str, float]]:
    """Wall times measured on the project's 2-core machine per experiment and scale, read from
    ``timings.json`` beside this module (written by ``benchmarks/reproduce_times.py``); an
    experiment or scale never timed there is absent."""
    path = Path(__file__).with_name("timings.json")
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data.get("seconds", {}) if isinstance(data, dict) else {}
