"""The committed record of a finished reproduction: ``reproductions/<experiment>/``.

``latent-atlas record OUT`` turns the output folder of a finished ``latent-atlas reproduce``
into a small folder meant for the repository (no weights, well under 2 MB):

- ``record.json`` — the experiment, its scale and exact settings, the command, commit, machine
  and wall time (all from the run's ``reproduction.json``), and one verdict per claim of the
  paper (see :mod:`latentatlas.experiments.claims`);
- ``results.json`` and ``table.md`` — the run's own outputs, unchanged;
- ``figures/`` — the run's figures that fit the size budget;
- ``README.md`` — all of the above for a reader: what was run, on what, and per claim the
  paper's value beside ours with the verdict and, where they differ, the reason.

Nothing in a record comes from anywhere but the run: a record is refused for a folder whose
reproduction did not finish, and ``tests/test_records.py`` checks that every record's settings
are those of a named scale of the current code, so a record cannot silently go stale.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ..errors import RunFolderError
from .claims import VERDICTS, Claim, Verdict, claims_of, counted, judge, not_judged
from .protocols import Protocol, gap_table, gaps, shortfall
from .runner import REPRODUCTION

#: the largest figure copied into a record, and the budget for all of them
FIGURE_LIMIT = 400_000
FIGURES_BUDGET = 1_500_000
RECORD = "record.json"
#: the first line of the index ``record`` writes beside the records (and only over itself)
INDEX_TITLE = "# Reproductions: the record of each experiment's largest CPU run"
#: the first lines of every index ``record`` has written, earlier versions' too: the only
#: README beside the records it may replace
INDEX_TITLES = (INDEX_TITLE, "# Reproductions: the record of full runs")


def read_run(out: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``reproduction.json`` and ``results.json`` of a finished reproduction in ``out``."""
    from ..train.checkpoint import read_json

    out = Path(out)
    if not (out / REPRODUCTION).is_file():
        raise RunFolderError(
            f"{out}: no {REPRODUCTION}; only a finished `latent-atlas reproduce` can be recorded"
        )
    run, results = read_json(out / REPRODUCTION), read_json(out / "results.json")
    if not isinstance(run, dict) or not isinstance(results, dict):
        raise RunFolderError(f"{out}: {REPRODUCTION} and results.json must be JSON objects")
    return run, results


def scale_rank(scale: Any, overrides: Any = ()) -> tuple[int, int]:
    """How much of the paper's protocol a run followed, to compare two records: ``quick`` below
    a declared reduced scale (``cpu``) below ``full``; at one scale, a run changed with
    ``--set`` below the named scale's own settings."""
    rank = 0 if scale == "quick" else 2 if scale == "full" else 1
    return rank, 0 if overrides else 1


def _scale_text(record: dict[str, Any]) -> str:
    scale = f"{record.get('scale')!s}-scale"
    return f"{scale} (changed with --set)" if record.get("overrides") else scale


def describe_record(record: dict[str, Any]) -> str:
    """One line for an existing record: its scale, verdict counts (the paper's claims, not the
    library's informational readings, as the index counts them) and start time."""
    verdicts = record.get("verdicts") if isinstance(record.get("verdicts"), list) else []
    name = record.get("experiment")
    informational = (
        {c.id for c in _claims_or_none(name) if c.informational} if isinstance(name, str) else set()
    )
    verdicts = [
        v for v in verdicts if not (isinstance(v, dict) and v.get("claim") in informational)
    ]
    counts = [
        f"{sum(isinstance(v, dict) and v.get('verdict') == k for v in verdicts)} {k}"
        for k in VERDICTS
    ]
    return f"a {_scale_text(record)} record ({', '.join(counts)}; started {record.get('started')})"


def check_replacement(run: dict[str, Any], into: Path, replace: bool) -> str | None:
    """Refuse to replace the record in ``into`` with a run of a smaller scale (or the named
    scale changed with ``--set``) unless ``replace``; returns what is replaced (None: nothing).
    Raises :class:`~latentatlas.errors.RunFolderError` naming both scales."""
    from ..train.checkpoint import read_json

    if not (into / RECORD).is_file():
        return None
    old = read_json(into / RECORD)
    if not isinstance(old, dict):
        raise RunFolderError(f"{into / RECORD} is not a JSON object; move it away first")
    replaced = f"{into}: {describe_record(old)}"
    smaller = scale_rank(run.get("scale"), run.get("overrides")) < scale_rank(
        old.get("scale"), old.get("overrides")
    )
    if smaller and not replace:
        raise RunFolderError(
            f"{into} holds {describe_record(old)}; this run is {_scale_text(run)}, smaller, so it "
            "was not recorded (pass --replace to replace the record anyway, or --into another "
            "folder)"
        )
    return replaced


def make_record(out: str | Path, into: str | Path, replace: bool = False) -> Path:
    """Write the record of the finished reproduction in ``out`` into folder ``into`` (replacing
    an earlier record there: one of a larger scale only with ``replace``, see
    :func:`check_replacement`); returns the README's path."""
    from ..train.checkpoint import atomic_write_json, atomic_write_text

    out, into = Path(out), Path(into)
    run, results = read_run(out)
    check_replacement(run, into, replace)
    name = run["experiment"]
    claims = claims_of(name)
    verdicts = judge(name, results)
    into.mkdir(parents=True, exist_ok=True)
    for old in (into / "figures").glob("*.png") if (into / "figures").is_dir() else []:
        old.unlink()
    figures, left_out = _copy_figures(out / "figures", into / "figures")
    record = {
        **{k: run[k] for k in ("experiment", "paper", "reference", "scale", "settings")},
        "overrides": run.get("overrides", []),
        "options": run.get("options", {}),
        "command": run["command"],
        "commit": run.get("commit"),
        "dirty": run.get("dirty"),
        "machine": run.get("machine", {}),
        "device": run.get("device", "cpu"),
        "latent_atlas": run.get("latent_atlas"),
        "torch": run.get("torch"),
        "started": run.get("started"),
        "seconds": run.get("seconds"),
        "invocations": run.get("invocations", 1),
        "protocol": [g.to_dict() for g in gaps(_protocol(name), run["settings"])],
        "verdicts": [v.to_dict() for v in verdicts],
        "figures": figures,
        "figures_left_out": left_out,
    }
    atomic_write_json(into / RECORD, record)
    shutil.copyfile(out / "results.json", into / "results.json")
    if (out / "table.md").is_file():
        shutil.copyfile(out / "table.md", into / "table.md")
    path = into / "README.md"
    table = (out / "table.md").read_text(encoding="utf-8") if (out / "table.md").is_file() else ""
    atomic_write_text(path, readme(record, claims, verdicts, table.strip()))
    write_index(into.parent)
    return path


def index(root: str | Path) -> str:
    """``reproductions/README.md``: every record with its scale, verdicts and time, and the
    registered experiments that have none yet."""
    from ..registry import EXPERIMENTS

    root = Path(root)
    records = {}
    for path in sorted(root.glob(f"*/{RECORD}")):
        records[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        INDEX_TITLE,
        "",
        "One folder per experiment, written by `latent-atlas record` from a finished",
        "`latent-atlas reproduce` of the library itself (see docs/reproduce.md): the exact",
        "command, commit, machine and time, and per claim of the paper a verdict with the",
        "paper's value beside ours. This index is written by the same command.",
        "",
        "Scale: no scale is named `paper`. `full` is the library's largest CPU protocol for an",
        "experiment and `cpu` a declared reduced one; a run that matches every number its",
        "paper states (slides-disk) still differs where the paper is silent (the width).",
        "The column *short of the paper by* gives, per quantity the paper states (training",
        "steps, data, layer width, image side, models), the factor paper / ours where the run",
        "falls short; each record tabulates every stated quantity with its source. Other",
        "deviations (stand-in data, a trained generator for a pretrained one) are in each",
        "paper's docs (docs/reproduce.md links them).",
        "",
        "Inconclusive: too noisy, not converged, or not testable on this data; counted as",
        "neither reproduced nor not. The library's own readings of a paper (marked",
        "informational in a record) are not counted.",
        "",
        "| experiment | reproduces | scale | short of the paper by | reproduced | partly "
        "| not reproduced | inconclusive | wall time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, record in records.items():
        informational = {c.id for c in _claims_or_none(name) if c.informational}
        verdicts = [v for v in record["verdicts"] if v["claim"] not in informational]
        counts = [sum(v["verdict"] == k for v in verdicts) for k in VERDICTS]
        lines.append(
            f"| [{name}]({name}/README.md) | {_cell(record['reference'])} | {record['scale']} | "
            f"{_cell(shortfall(_protocol(name), record.get('settings') or {}))} | "
            + " | ".join(str(c) for c in counts)
            + f" | {_duration(record.get('seconds'))} |"
        )
    missing = [n for n in EXPERIMENTS.names() if n not in records]
    if missing:
        lines += ["", "Not recorded yet: " + ", ".join(f"`{n}`" for n in missing) + "."]
    return "\n".join(lines) + "\n"


def _claims_or_none(experiment: str) -> tuple[Claim, ...]:
    """The declared claims of ``experiment``; none for a name the library no longer has."""
    try:
        return claims_of(experiment)
    except (KeyError, ImportError):
        return ()


def rejudge_record(folder: str | Path) -> Path:
    """Judge a committed record again from its own ``results.json`` with the current judges
    (after a judge or the verdict rules changed; the run's numbers are what they were) and
    rewrite its ``record.json``, ``README.md`` and the index beside it; returns the README's
    path. Raises :class:`~latentatlas.errors.RunFolderError` for a folder that is not a record."""
    from ..train.checkpoint import atomic_write_json, atomic_write_text, read_json

    folder = Path(folder)
    if not (folder / RECORD).is_file():
        raise RunFolderError(
            f"{folder}: no {RECORD}; --rejudge takes a record folder (reproductions/EXPERIMENT)"
        )
    record, results = read_json(folder / RECORD), read_json(folder / "results.json")
    if not isinstance(record, dict) or not isinstance(results, dict):
        raise RunFolderError(f"{folder}: {RECORD} and results.json must be JSON objects")
    name = record["experiment"]
    verdicts = judge(name, results)
    record["verdicts"] = [v.to_dict() for v in verdicts]
    record["protocol"] = [g.to_dict() for g in gaps(_protocol(name), record.get("settings") or {})]
    atomic_write_json(folder / RECORD, record)
    table = (
        (folder / "table.md").read_text(encoding="utf-8") if (folder / "table.md").is_file() else ""
    )
    path = folder / "README.md"
    atomic_write_text(path, readme(record, claims_of(name), verdicts, table.strip()))
    write_index(folder.parent)
    return path


def write_index(records: Path) -> None:
    """The index ``records/README.md``, written only where none is or where it is one that
    ``record`` wrote (never over another file's README)."""
    from ..train.checkpoint import atomic_write_text

    parent = records / "README.md"
    if not parent.exists() or parent.read_text(encoding="utf-8").startswith(INDEX_TITLES):
        atomic_write_text(parent, index(records))


def _copy_figures(source: Path, target: Path) -> tuple[list[str], list[str]]:
    """Copy the figures, smallest first, while they fit the budget; the rest are listed."""
    pngs = sorted(source.glob("*.png"), key=lambda p: p.stat().st_size) if source.is_dir() else []
    kept, left_out, used = [], [], 0
    for png in pngs:
        size = png.stat().st_size
        if size > FIGURE_LIMIT or used + size > FIGURES_BUDGET:
            left_out.append(png.name)
            continue
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target / png.name)
        kept.append(png.name)
        used += size
    return sorted(kept), sorted(left_out)


def _machine(record: dict[str, Any]) -> str:
    m = record.get("machine") or {}
    device = record.get("device", "cpu")
    gpu = f", accelerator {m['accelerator']}" if m.get("accelerator") else ""
    load = m.get("load_average")
    shared = ""
    if load is not None and m.get("cores") and load > m["cores"]:
        shared = (
            f"; load average {load:.1f} over the last 15 min on {m['cores']} cores: the "
            "wall time includes sharing the machine with other work"
        )
    return (
        f"{m.get('cores', '?')} CPU cores ({m.get('processor', '?')}, {m.get('platform', '?')}), "
        f"torch {record.get('torch')} with {m.get('torch_threads', '?')} "
        f"thread{'' if m.get('torch_threads') == 1 else 's'}{gpu}; "
        f"models trained on {device}{shared}"
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def readme(
    record: dict[str, Any], claims: tuple[Claim, ...], verdicts: list[Verdict], table: str = ""
) -> str:
    """The record's README.md (``table``: the run's table.md)."""
    name = record["experiment"]
    by_id = {c.id: c for c in claims}
    lines = [
        f"# {name}: {record['reference']}",
        "",
        f"*{record['paper']}* — reproduced by latent-atlas {record.get('latent_atlas')}.",
        "",
        "## What ran",
        "",
        f"- command: `{record['command']}`",
        f"- scale: **{record['scale']}**"
        + _scale_note(record)
        + (
            f", changed with `--set {' --set '.join(record['overrides'])}` (so not exactly the "
            "named scale)"
            if record.get("overrides")
            else ""
        ),
        "- short of the paper's protocol by: "
        + shortfall(_protocol(name), record.get("settings") or {}),
        f"- commit: `{record.get('commit') or 'not a git checkout'}`"
        + (" (with uncommitted changes)" if record.get("dirty") else ""),
        f"- machine: {_machine(record)}",
        f"- wall time: {_duration(record.get('seconds'))}{_invocations(record)}",
        f"- started: {record.get('started')}",
        "",
        "Settings (`latent-atlas reproduce "
        + name
        + " --scale "
        + record["scale"]
        + " --settings` prints them):",
        "",
        "```json",
        json.dumps(record["settings"], indent=2, ensure_ascii=False),
        "```",
        "",
    ]
    protocol = gap_table(_protocol(name), record.get("settings") or {})
    if protocol:
        lines += [
            "The paper's protocol beside this run's (paper / ours > 1: this run falls short):",
            "",
            *protocol,
            "",
        ]
    lines += [
        "## Verdicts",
        "",
    ]
    own = counted(verdicts, claims)
    readings = [v for v in verdicts if v not in own]
    if own:
        lines += _verdict_table(own, by_id)
        counts = {k: sum(v.verdict == k for v in own) for k in VERDICTS}
        lines += ["", "In all: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + "."]
    else:
        lines.append("No claims of this experiment are judged yet.")
    if readings:
        lines += [
            "",
            "### Our readings of the paper (informational, not counted)",
            "",
            "How the library reads the paper's printed numbers; not claims the paper makes.",
            "",
        ]
        lines += _verdict_table(readings, by_id)
    for text in not_judged(name):
        lines += ["", f"Not judged: {text}"]
    lines += [
        "",
        "## Results",
        "",
        "The run's table (`table.md`; every number in `results.json`):",
        "",
    ]
    if table:
        lines += [table, ""]
    if record.get("figures"):
        lines += ["## Figures", ""]
        lines += [f"![{f}](figures/{f})" for f in record["figures"]]
        lines.append("")
    if record.get("figures_left_out"):
        lines.append(
            "Figures left out for size (they are in the run's folder): "
            + ", ".join(record["figures_left_out"])
            + "."
        )
        lines.append("")
    return "\n".join(lines)


def _verdict_table(verdicts: list[Verdict], by_id: dict[str, Claim]) -> list[str]:
    lines = ["| claim | where | paper | ours | verdict | reason |", "|---|---|---|---|---|---|"]
    for v in verdicts:
        c = by_id[v.claim]
        cells = [c.statement, c.where, c.paper, v.ours, f"**{v.verdict}**", v.reason or "—"]
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return lines


def _invocations(record: dict[str, Any]) -> str:
    n = record.get("invocations", 1)
    return f" over {n} invocations (interrupted and continued)" if n > 1 else ""


def _scale_note(record: dict[str, Any]) -> str:
    if record["scale"] == "full":
        return " (the library's largest CPU protocol, not the paper's: see the factors below)"
    if record["scale"] == "quick":
        return " (minutes, for a first look: not the paper's protocol)"
    return " (a declared reduced scale: the full protocol does not fit this machine)"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _protocol(experiment: str) -> Protocol:
    """The paper's protocol as ``experiment`` declares it ("" for a name the library no longer
    has: nothing to measure against)."""
    from ..registry import EXPERIMENTS

    return EXPERIMENTS.get(experiment).protocol if experiment in EXPERIMENTS else ""


__all__ = ["check_replacement", "make_record", "read_run", "readme", "rejudge_record", "scale_rank"]
