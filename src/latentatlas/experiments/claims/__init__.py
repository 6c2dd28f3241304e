"""The papers' claims each reproduction tests, and how a finished run is judged against them.

A :class:`Claim` is one statement of a paper a reproduction can confirm or not: what the paper
says (its value as printed, or the property it asserts) and where. A judge reads a run's
``results.json`` and returns one :class:`Verdict` per claim: *reproduced*, *partly*, *not
reproduced* or *inconclusive* (too noisy, not converged, or not testable on this data: never
counted as reproduced or not), with our value beside the paper's and, where they differ, the
reason as far as it was measured. A claim marked ``informational`` is the library's own reading
of the paper (how it printed its numbers), not something the paper claims: its verdict is shown
apart and counted nowhere. "Mean ± spread" values are compared by one rule,
:mod:`.agreement`. The records in ``reproductions/`` are made of these (see
:mod:`latentatlas.experiments.record`), and a test checks that every verdict there answers a
claim declared here.

Each paper's claims live in its package (``latentatlas.papers.<paper>.claims``); each
experiment declares its claims and judge on its
:class:`~latentatlas.experiments.experiment.Experiment`. :func:`claims_of`, :func:`judge` and
:func:`not_judged` look them up by the experiment's registered name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

VERDICTS = ("reproduced", "partly", "not reproduced", "inconclusive")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper: ``id`` (unique within the experiment), what it states, the paper's
    value or property as printed, and where (table, figure, slide, section)."""

    id: str
    statement: str
    paper: str
    where: str
    informational: bool = False
    """the library's reading of the paper, not a claim it makes: reported apart, not counted"""


@dataclass(frozen=True)
class Verdict:
    """The judgement of one claim on one run: ``claim`` is the claim's id."""

    claim: str
    ours: str
    verdict: str
    reason: str = ""

    def __post_init__(self) -> None:
        assert self.verdict in VERDICTS, self.verdict

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def by_counts(passed: int, failed: int, unjudged: int = 0) -> str:
    """The verdict of a claim made of parts (cells, settings, models): every part passed:
    reproduced; fewer than half of them judged at all (the rest too noisy, not converged,
    not testable): inconclusive; at least half passed: partly; else not reproduced."""
    total = passed + failed + unjudged
    if total == 0 or 2 * (passed + failed) < total:
        return "inconclusive"
    if passed == total:
        return "reproduced"
    return "partly" if 2 * passed >= total else "not reproduced"


def by_fraction(passed: int, total: int) -> str:
    """:func:`by_counts` with every part judged: ``passed`` of ``total``."""
    return by_counts(passed, total - passed)


def counted(verdicts: Sequence[Verdict], claims: Sequence[Claim]) -> list[Verdict]:
    """The verdicts of the paper's own claims (not of the library's informational readings)."""
    informational = {c.id for c in claims if c.informational}
    return [v for v in verdicts if v.claim not in informational]


def claims_of(experiment: str) -> tuple[Claim, ...]:
    """The claims declared for the registered ``experiment`` (empty when none are yet)."""
    return _experiment(experiment).claims


def not_judged(experiment: str) -> list[str]:
    """Claims of the paper this reproduction cannot judge here, each with why."""
    return list(_experiment(experiment).not_judged)


def judge(experiment: str, results: dict[str, Any]) -> list[Verdict]:
    """The verdicts of a finished run of the registered ``experiment`` given its
    ``results.json``."""
    return _experiment(experiment).verdicts(results)


def _experiment(name: str) -> Any:
    from ...registry import EXPERIMENTS

    return EXPERIMENTS.get(name)
