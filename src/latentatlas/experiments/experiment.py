"""The contract of a reproduction: one declared :class:`Experiment` object per experiment.

Each paper's package declares its experiments in its ``reproductions`` module, e.g.
:mod:`latentatlas.papers.thesis.reproductions`, as objects holding everything the runner and the
records need, by import (an IDE follows each to its code):

- ``scales``: the named scales, ``{"quick": settings, "full": settings, ...}``, each a frozen
  dataclass of plain values (:mod:`.scales` checks ``--set key=value`` against it);
- ``run(settings, store, **options) -> result``: trains the experiment's models through
  ``store`` (a :class:`~latentatlas.experiments.model_store.ModelStore`: run folders under the
  output, reused or resumed when rerun; in memory without one) and returns a result with
  ``to_dict()``, ``to_markdown()`` and ``seconds``;
- ``write(result, out) -> report path``: ``results.json``, ``table.md``, figures, ``report.html``;
- ``claims`` and ``judge(results) -> verdicts`` (:mod:`.claims`), ``not_judged`` (claims of the
  paper this reproduction cannot judge, each with why);
- ``options``: the extra options it takes beyond its settings (``--seed``, ``--mnist``,
  ``--published``), each an :class:`Option` that reads and checks its value before anything runs;
- ``protocol``: the paper's own numbers (:mod:`.protocols`), to say how far a scale falls short.

:mod:`latentatlas.papers.catalogue` registers every paper's experiments, once, in
:data:`latentatlas.registry.EXPERIMENTS`; :func:`latentatlas.experiments.runner.reproduce` runs
one into an output folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ConfigError
from .claims import Claim, Verdict
from .protocols import Quantity
from .scales import resolve_settings, settings_of

#: the named scales every experiment has; an experiment may declare reduced ones beside them
SCALES = ("quick", "full")


@dataclass(frozen=True)
class Option:
    """An option an experiment takes beyond its scale's settings.

    Attributes:
        flag: the option's name on the command line (``--seed``, ``--mnist``).
        keyword: the keyword of the experiment's ``run`` it becomes.
        default: its value when not given (``--seed 0`` and no ``--seed`` are one reproduction).
        read: turns the value given into ``run``'s argument, checking it before anything runs
            (a missing file fails here, not after an hour of training): ``read(value,
            settings)``; None passes the value on as given.
    """

    flag: str
    keyword: str
    default: Any = None
    read: Callable[[Any, Any], Any] | None = None


#: the seed of an experiment's models (most experiments take one)
SEED = Option("seed", "seed", default=0)


@dataclass(frozen=True)
class Experiment:
    """One reproduction of a paper's table, figure or claim (see the module doc).

    Attributes:
        name: the command-line name, e.g. ``"thesis-table-5.1"``.
        paper: the paper's short citation (author, title).
        reference: the section, table or figure it reproduces.
        scales: named scales → settings; at least ``quick`` and ``full``.
        run: ``run(settings, store, **options) -> result``.
        write: ``write(result, out) -> Path`` of the report.
        claims: the paper's claims it tests.
        judge: ``judge(results.json as a dict) -> verdicts``, one per claim; None: no judge yet.
        not_judged: claims of the paper it cannot judge here, each with why.
        options: the extra options it takes.
        protocol: the quantities the paper states about its own protocol, or, when it states
            none, why.
    """

    name: str
    paper: str
    reference: str
    scales: Mapping[str, Any]
    run: Callable[..., Any]
    write: Callable[[Any, Path], Path]
    claims: tuple[Claim, ...] = ()
    judge: Callable[[dict[str, Any]], Sequence[Verdict]] | None = None
    not_judged: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    protocol: tuple[Quantity, ...] | str = ()

    def __post_init__(self) -> None:
        missing = [s for s in SCALES if s not in self.scales]
        assert not missing, f"{self.name}: no {missing[0]} scale"

    @property
    def reduced(self) -> tuple[str, ...]:
        """Its declared scales beyond ``quick`` and ``full`` (e.g. ``cpu``: the largest honest
        scale that fits a 2-core machine when ``full`` does not)."""
        return tuple(s for s in self.scales if s not in SCALES)

    def settings(self, scale: str, overrides: Sequence[str] = ()) -> Any:
        """The settings of ``scale`` with ``key=value`` ``overrides`` applied and checked."""
        self.check(scale)
        return resolve_settings(self.scales[scale], overrides, f"{self.name} at scale {scale!r}")

    def check(self, scale: str) -> None:
        """Refuse a scale this experiment does not have."""
        if scale not in self.scales:
            raise ConfigError(
                f"scale: {self.name} has the scales {', '.join(self.scales)}; got {scale!r}"
            )

    def read_options(self, given: Mapping[str, Any], settings: Any) -> dict[str, Any]:
        """``run``'s keyword arguments from the options ``given`` by flag (None: not given):
        each read and checked by its :class:`Option`, the defaults filled in; a
        :class:`ConfigError` naming an option this experiment does not take."""
        flags = {o.flag: o for o in self.options}
        unknown = sorted(f for f, v in given.items() if v is not None and f not in flags)
        if unknown:
            takes = ", ".join(f"--{f}" for f in flags) or "none"
            raise ConfigError(
                f"--{unknown[0]}: {self.name} does not take this option (it takes: {takes})"
            )
        chosen = {}
        for option in self.options:
            value = given.get(option.flag)
            if value is None:
                value = option.default
            elif option.read is not None:
                value = option.read(value, settings)
            if value is not None:
                chosen[option.keyword] = value
        return chosen

    def identity(
        self, scale: str, settings: Any, options: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """What makes two invocations the same reproduction: experiment, scale, the resolved
        ``settings`` (:meth:`settings`) and ``options`` (``run``'s keywords; a rerun with the
        same identity continues the first)."""
        return {
            "experiment": self.name,
            "scale": scale,
            "settings": settings_of(settings),
            "options": {k: _plain_option(v) for k, v in (options or {}).items() if v is not None},
        }

    def verdicts(self, results: dict[str, Any]) -> list[Verdict]:
        """The judge's verdicts on a finished run's ``results.json`` ([] without a judge); a
        verdict for a claim not declared here is a bug of the judge."""
        if self.judge is None:
            return []
        verdicts = list(self.judge(results))
        declared = {c.id for c in self.claims}
        unknown = [v.claim for v in verdicts if v.claim not in declared]
        assert not unknown, f"{self.name}: verdicts for undeclared claims {unknown}"
        return verdicts

    def describe(self) -> str:
        """``"<first author>: <reference>"``, for lists and report subtitles."""
        return f"{self.paper.split(',')[0]}: {self.reference}"


def _plain_option(value: Any) -> Any:
    """An option as JSON data (published scores are summarised by their count)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain_option(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return f"{len(value)} entries"
    return type(value).__name__


def judged_by(claims: ModuleType, name: str) -> dict[str, Any]:
    """The ``claims``, ``judge`` and ``not_judged`` of experiment ``name`` from its paper's
    claims module (its ``CLAIMS``, ``JUDGES`` and, where it has one, ``NOT_JUDGED``, keyed by
    experiment), for ``Experiment(..., **judged_by(claims, name))``."""
    return {
        "claims": tuple(claims.CLAIMS.get(name, ())),
        "judge": claims.JUDGES.get(name),
        "not_judged": tuple(getattr(claims, "NOT_JUDGED", {}).get(name, ())),
    }
