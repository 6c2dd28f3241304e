"""How far each reproduction's scale falls short of its paper's protocol, per quantity.

A reproduction named ``full`` is the library's largest CPU protocol, not the paper's: most train
far shorter, some with narrower networks or smaller images. This module states, per experiment,
the paper's own numbers (training steps, training images, layer width, image side, models; each
with where the paper, or the authors' code as listed in the papers' errata, says so) and how to
read the same quantity from a run's settings, so that a record, the index of
``reproductions/`` and ``latent-atlas reproduce --list`` can show the factor by which a run falls
short: paper / ours. A quantity the paper does not state is left out (never guessed); an
experiment whose paper states no protocol at all says so.

Epochs are turned into optimiser steps with the batch the source gives (the thesis states none;
the author's notebooks use 100, as docs/errata.md lists). The settings are read as the
plain dicts ``--settings`` prints, so that records made by earlier versions are measured too;
quantities the settings do not carry (hard-coded in the experiment's code, e.g. the thesis
tables' 8-unit layers) are constants here, cross-checked against the code by
``tests/test_protocols.py``.

This module imports nothing heavy: ``reproduce --list`` uses it.
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


def _get(path: str) -> Callable[[Mapping[str, Any]], float]:
    """A reader of the setting at dotted ``path`` ("vae.steps")."""

    def read(settings: Mapping[str, Any]) -> float:
        value: Any = settings
        for key in path.split("."):
            value = value[key]
        return float(value)

    return read


def _const(value: float) -> Callable[[Mapping[str, Any]], float]:
    return lambda settings: float(value)


_BATCH_100 = "the batch of the author's notebooks, 100 (the thesis states none)"

_THESIS_TABLE = (
    Quantity(
        "training steps",
        1e5 * 10_000 / 100,
        f"§5.3 (and §7.2): 10⁵ epochs of 10 000 points; {_BATCH_100}",
        _get("steps"),
    ),
    Quantity("training points", 10_000, "§5.3: N = 10 000 per data set", _get("n")),
    Quantity("layer width", 8, "§5.3: two dense layers of ⌊25/3⌋ = 8", _const(8)),
    Quantity("trainings per cell", 5, "§5.3: five repetitions", _get("repetitions")),
)

_THESIS_REDUCTION = (
    Quantity(
        "VAE training steps",
        1e5 * 10_000 / 100,
        "the ch. 5/7 models (§9.4 names them; their training: §5.3), 10⁵ epochs; " + _BATCH_100,
        _get("vae_steps"),
    ),
    Quantity("map updates", 10_000, "§9.4: 10 000 epochs of Algorithm 2", _get("reduction_steps")),
    Quantity("prior samples per update", 10_000, "§9.4: L = 10 000 samples", _const(1000)),
    Quantity("training points", 10_000, "§9.4: X_0.1 (N = 10 000, §5.3)", _get("n")),
)


#: the atomic and slides authors' code trains with batch 64 (the papers' errata list)
_AUTHORS_BATCH = Quantity("batch", 64, "the authors' code: batch 64", _get("batch_size"))


def _study(epoch_steps: float, width: int, side: int, points: int, what: str) -> tuple:
    return (
        Quantity(
            "training steps",
            1e5 * epoch_steps,
            f"{what}: 10⁵ epochs of {points} points; {_BATCH_100}"
            + (" (one step per epoch: the data fit in one batch)" if epoch_steps == 1 else ""),
            _get("steps"),
        ),
        Quantity(
            "layer width", width, f"{what}: dense layers of ⌊{side}²/3⌋ = {width}", _get("hidden")
        ),
    )


PROTOCOLS: dict[str, tuple[Quantity, ...]] = {
    "thesis-table-5.1": _THESIS_TABLE,
    "thesis-table-7.1": _THESIS_TABLE,
    "thesis-table-9.2": _THESIS_REDUCTION,
    "thesis-table-9.2-sigma-0.1": _THESIS_REDUCTION,
    "thesis-torus": (
        *_study(2500 / 100, 208, 25, 2500, "§11.3"),
        Quantity("training points", 2500, "§11.3: 2500 images", _get("dataset.n")),
    ),
    "thesis-pixel-shift": _study(1, 1365, 64, 64, "§10.1.1"),
    "thesis-rotating-object": _study(1, 5461, 128, 72, "§10.2.1"),
    "atomic-spikes": (
        Quantity("image side", 128, "the authors' code: 128×128 images", _get("dataset.size")),
        _AUTHORS_BATCH,
    ),
    "atomic-strokes": (
        Quantity("image side", 128, "§III-A: MNIST downscaled to 128×128", _get("dataset.size")),
        _AUTHORS_BATCH,
    ),
    "slides-disk": (
        Quantity(
            "training steps", 10_000, "the authors' code: about 10k iterations", _get("steps")
        ),
        Quantity("training images", 1000, "the authors' code: 1000 images", _get("images")),
        Quantity("image side", 64, "the slides: images of size 64 × 64", _get("size")),
        _AUTHORS_BATCH,
    ),
    "slides-pca-ae": (
        Quantity(
            "epochs per stage",
            100,
            "the authors' code: about 100 epochs per stage",
            lambda s: (
                float(s["steps"])
                / float(s["components"])
                * float(s["batch_size"])
                / float(s["images"])
            ),
        ),
        Quantity(
            "components", 3, "the authors' notebook: the first three components", _get("components")
        ),
    ),
    "slides-pca-ae-generator": (
        Quantity("components", 4, "the slides: z1 vs z4 shown (at least four)", _get("components")),
    ),
    "directions-dsprites-beta": (
        Quantity("β-VAE training steps", 1e5, "§3: Adam during 10⁵ steps", _get("vae.steps")),
        Quantity("batch", 128, "§3: batch size 128", _get("vae.batch_size")),
        Quantity("training images", 737_280, "§3: dSprites, 737 280 images", _get("vae.images")),
    ),
    "directions-losses": (
        Quantity("inversion steps", 3000, "appendix C: a budget of 3000 iterations", _get("steps")),
        Quantity("targets", 1000, "appendix C: one image per category, 1000", _get("targets")),
    ),
    "directions-inversion": (
        Quantity(
            "naive inversion steps",
            4500,
            "appendix F, fig. 10: the naive run's axis to 4500",
            lambda s: 10.0 * float(s["steps"]),
        ),
    ),
    "intrinsic-stretch": (
        Quantity(
            "training steps",
            50_000,
            "§5.1, fig. 3: 10 000 + 40 000 iterations",
            lambda s: float(max(s["lengths"])),
        ),
    ),
    "intrinsic-tracking": (
        Quantity(
            "training steps",
            50_000,
            "§5.1: modularity deteriorates after 50 000 iterations (fig. 4's length is not stated)",
            _get("model.steps"),
        ),
    ),
    "intrinsic-sdr-training": (
        Quantity("training steps", 50_000, "§5.2, fig. 3e: 50 000 iterations", _get("model.steps")),
    ),
    "locatello-dsprites-betavae": (
        Quantity(
            "training steps",
            300_000,
            "Locatello et al.'s study (docs/metrics.md): 300 000 steps",
            _get("steps"),
        ),
        Quantity(
            "models",
            6 * 50,
            "Locatello et al.'s study (docs/metrics.md): 6 β × 50 seeds",
            lambda s: float(len(s["betas"]) * len(s["seeds"])),
        ),
    ),
}
"""Experiment → the quantities its paper states. Sources: the sections of each paper, and "the
authors' code" for the numbers read from the authors' public code (docs/errata.md lists them)."""

#: experiments whose paper states no protocol to measure against, with why
UNSTATED = {
    "slides-position": "the slides state no training protocol (one table for n = 8)",
    "directions-curvature": "no training: images rendered along transformation paths",
}


def gaps(experiment: str, settings: Mapping[str, Any]) -> list[Gap]:
    """Each stated quantity of ``experiment``'s paper against ``settings`` (the dict
    ``--settings`` prints); [] for an experiment with no stated protocol. A setting missing from
    an old record's settings leaves its quantity out."""
    found = []
    for q in PROTOCOLS.get(experiment, ()):
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


def shortfall(experiment: str, settings: Mapping[str, Any]) -> str:
    """One line: the quantities where ``settings`` fall short of the paper, with their factors
    ("training steps 500×, layer width 5.33×"); or that none do, or that nothing is stated."""
    if experiment not in PROTOCOLS:
        return "no protocol stated: " + UNSTATED.get(experiment, "not tabulated")
    short = [g for g in gaps(experiment, settings) if g.short]
    if not short:
        return "none (as far as the paper states its protocol)"
    return ", ".join(f"{g.name} {_factor(g.factor)}" for g in short)


def gap_table(experiment: str, settings: Mapping[str, Any]) -> list[str]:
    """Markdown lines: each stated quantity, the paper's value, ours and the factor."""
    rows = gaps(experiment, settings)
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


__all__ = ["PROTOCOLS", "UNSTATED", "Gap", "Quantity", "gap_table", "gaps", "shortfall"]
