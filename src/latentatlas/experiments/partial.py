"""The report of a reproduction that stopped before its end: "k of n models finished".

Written when a reproduction is interrupted (Ctrl-C, SIGTERM) or fails: ``report.html`` lists
every model run folder under ``models/`` with its status, steps and last training loss, and
plots the loss curves of those that have any. Rerunning the command continues the reproduction
and replaces this page with the full report.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..train import checkpoint as ckpt
from ..train.store import LOSSES
from .model_store import MODELS


def model_rows(out: str | Path) -> list[dict[str, Any]]:
    """One row per model run folder under ``out/models``: label, status, step, total, last loss
    and the loss curve (``[]`` when none was logged)."""
    from ..errors import LatentAtlasError
    from ..train.run import read_metadata, run_status

    rows = []
    root = Path(out) / MODELS
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        try:
            meta = read_metadata(folder)
            status = run_status(folder) if meta else "not started"
            curve = _losses(folder)
        except LatentAtlasError as exc:  # a damaged folder is shown, not fatal
            meta, status, curve = {}, f"unreadable ({exc})", []
        rows.append(
            {
                "model": folder.name,
                "status": status,
                "step": meta.get("step", 0),
                "total": meta.get("total_steps"),
                "loss": curve[-1] if curve else None,
                "curve": curve,
            }
        )
    return rows


def _losses(folder: Path) -> list[float]:
    if (folder / LOSSES).is_file():
        from safetensors.torch import load_file

        return [float(v) for v in load_file(str(folder / LOSSES))["loss"]]
    return [
        float(r["loss"])
        for r in ckpt.read_metrics(folder)
        if r.get("split") == "train" and isinstance(r.get("loss"), (int, float))
    ]


def write_partial_report(
    out: str | Path, name: str, reference: str, identity: dict, expected: int | None
) -> Path:
    """``out/report.html`` for a reproduction stopped before its end; returns its path."""
    from ..viz.reproduction import write_reproduction_report

    rows = model_rows(out)
    finished = sum(r["status"] == "finished" for r in rows)
    of = f"{finished} of {expected}" if expected is not None else f"{finished}"
    cells = "".join(
        f"<tr><td>{html.escape(r['model'])}</td><td>{html.escape(str(r['status']))}</td>"
        f"<td>{r['step']:,}{' / ' + format(r['total'], ',') if r['total'] else ''}</td>"
        f"<td>{'' if r['loss'] is None else format(r['loss'], '.4g')}</td></tr>"
        for r in rows
    )
    table = (
        "<table><caption>Models trained so far (run folders under models/)</caption>"
        "<thead><tr><th>model</th><th>status</th><th>steps</th><th>last loss</th></tr></thead>"
        f"<tbody>{cells}</tbody></table>"
    )
    figures = []
    curves = {r["model"]: r["curve"] for r in rows if r["curve"]}
    if curves:
        from ..viz.curves import plot_loss_panels

        figures.append(
            (
                "losses",
                "Training losses so far",
                "One line per model.",
                plot_loss_panels({"models so far": curves}),
            )
        )
    return write_reproduction_report(
        out,
        title=f"{name} (unfinished)",
        subtitle=html.escape(reference),
        facts={"models finished": of, "scale": str(identity.get("scale"))},
        settings=identity,
        lead=(
            f"<p>This reproduction stopped before its end: {of} models finished. Run the "
            "same command again to continue it: finished models are reused, interrupted ones "
            "resume from their last checkpoint.</p>"
        ),
        tables_html=table,
        figures=figures,
        status=f"partial: {of} models finished",
    )
