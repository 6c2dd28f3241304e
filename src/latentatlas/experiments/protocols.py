r"""How far each reproduction's scale falls short of its paper's protocol, per quantity.

A reproduction named ``full`` is the library's largest CPU protocol, not the paper's: most train
far shorter, some with narrower networks or smaller images. Each experiment declares its
paper's own numbers as its ``protocol`` (training steps, training images, layer width, image
side, models; each with where the paper, or the authors' code as listed in the papers' errata,
says so) with how to read the same quantity from a run's settings, so that a record, the index
of ``reproductions/`` and ``latent-atlas reproduce --list`` can show the factor by which a run
falls short: paper / ours. A quantity the paper does not state is left out (never guessed); an
experiment whose paper states no protocol at all says why instead.

Epochs are turned into optimiser steps with the batch the source gives (the thesis states none;
the author's notebooks use 100, as docs/errata.md lists). The settings are read as the
plain dicts ``--settings`` prints, so that records made by earlier versions are measured too;
quantities the settings do not carry (hard-coded in the experiment's code, e.g. the thesis
tables' 8-unit layers) are :func:`constant`\ s, cross-checked against the code by
``tests/test_protocols.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: a factor within this of 1 is "as the paper"
TOLERANCE = 0.05


@dataclass(frozen=True)
class Quantity:
    """One quantity of a paper's protocol: its value there, where it is stated, and how to read
    ours from a run's settings (``ours(settings) -> number``)."""

    name: str
    paper: float
    source: str
    ours: Callable[[Mapping[str, Any]], float]


@dataclass(frozen=True)
class Gap:
    """One quantity of one run against the paper: ``factor`` = paper / ours (> 1: short)."""

    name: str
    paper: float
    ours: float
    source: str

    @property
    def factor(self) -> float:
        return self.paper / self.ours if self.ours else math.inf

    @property
    def short(self) -> bool:
        return self.factor > 1 + TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.name,
            "paper": self.paper,
            "ours": self.ours,
            "factor": self.factor,
            "source": self.source,
        }


def setting(path: str) -> Callable[[Mapping[str, Any]], float]:
    """A reader of the setting at dotted ``path`` ("vae.steps")."""

    def read(settings: Mapping[str, Any]) -> float:
        value: Any = settings
        for key in path.split("."):
            value = value[key]
        return float(value)

    return read


def constant(value: float) -> Callable[[Mapping[str, Any]], float]:
    return lambda settings: float(value)


#: what an experiment declares: the quantities its paper states, or why it states none
Protocol = tuple[Quantity, ...] | str


def gaps(protocol: Protocol, settings: Mapping[str, Any]) -> list[Gap]:
    """Each quantity of ``protocol`` against ``settings`` (the dict ``--settings`` prints); []
    for a paper that states no protocol. A setting missing from an old record's settings leaves
    its quantity out."""
    found = []
    for q in () if isinstance(protocol, str) else protocol:
        try:
            ours = q.ours(settings)
        except (KeyError, TypeError, ValueError):
            continue
        found.append(Gap(q.name, float(q.paper), ours, q.source))
    return found


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3g}"


def _factor(value: float) -> str:
    return f"{value:.3g}×" if value < 100 else f"{value:,.0f}×"


def shortfall(protocol: Protocol, settings: Mapping[str, Any]) -> str:
    """One line: the quantities where ``settings`` fall short of the paper, with their factors
    ("training steps 500×, layer width 5.33×"); or that none do, or that nothing is stated."""
    if isinstance(protocol, str) or not protocol:
        return "no protocol stated: " + (protocol or "not tabulated")
    short = [g for g in gaps(protocol, settings) if g.short]
    if not short:
        return "none (as far as the paper states its protocol)"
    return ", ".join(f"{g.name} {_factor(g.factor)}" for g in short)


def gap_table(protocol: Protocol, settings: Mapping[str, Any]) -> list[str]:
    """Markdown lines: each stated quantity, the paper's value, ours and the factor."""
    rows = gaps(protocol, settings)
    if not rows:
        return []
    lines = [
        "| quantity | paper | ours | paper / ours | where the paper says so |",
        "|---|---|---|---|---|",
    ]
    for g in rows:
        lines.append(
            f"| {g.name} | {_number(g.paper)} | {_number(g.ours)} | {_factor(g.factor)} | "
            f"{g.source} |"
        )
    return lines


__all__ = [
    "Gap",
    "Protocol",
    "Quantity",
    "constant",
    "gap_table",
    "gaps",
    "setting",
    "shortfall",
]
