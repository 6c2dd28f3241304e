"""The files every reproduction writes first: ``results.json`` and ``table.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_result_files(result: Any, out: str | Path) -> dict[str, Path]:
    """``result.to_dict()`` as results.json and ``result.to_markdown()`` as table.md into ``out``
    (created if needed), each written atomically; returns their paths."""
    from ..train.checkpoint import atomic_write_json, atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json", "table": out / "table.md"}
    atomic_write_json(paths["results"], result.to_dict())
    atomic_write_text(paths["table"], result.to_markdown() + "\n")
    return paths


def duration_text(seconds: float) -> str:
    """A duration for people: seconds below two minutes, minutes below two hours, else hours."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
