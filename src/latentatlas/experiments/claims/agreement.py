"""The one rule by which a measured "mean ± spread" agrees with a paper's printed one.

Both sides are means over a few independent values (trainings, model seeds, fits): ours over
``n`` runs of this library, the paper's over its own repetitions (five trainings for the
thesis's tables 5.1 and 7.1, three fits for the Δ of tables 9.2 and 11.1). What can be compared
is the two **means**, with their **standard errors** s/√n — not the spreads themselves: a rule on
the standard deviations lets a cell whose own spread is huge "agree" with anything (−ELBO
5075 ± 3844 with the thesis's −79.90 ± 0.19), and one on the means alone fails every noisy
value.

1. **Precision.** Each mean must be known well enough to judge: three standard errors at most
   half of its magnitude, 3·s/√n ≤ ½·|mean|. Otherwise the comparison is *inconclusive* (too
   noisy to judge) — neither agreement nor disagreement.
2. **Agreement.** The means agree when they differ by at most three standard errors of the
   difference plus 5 % of the paper's value:
   |m_ours − m_paper| ≤ 3·√(s_ours²/n_ours + s_paper²/n_paper) + 0.05·|m_paper|.
   The 5 % covers the rounding of the print and what a different training schedule changes.

:func:`compare` applies it; the judges of every table-like claim use it, and a claim's verdict
counts its parts with :func:`~latentatlas.experiments.claims.by_counts`. docs/reproduce.md states
the same rule for readers of the records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: how many standard errors of the difference two agreeing means may be apart
SIGMAS = 3.0
#: the slack, relative to the paper's value, for rounding and schedule differences
SLACK = 0.05
#: three standard errors may use at most this fraction of a mean's magnitude
PRECISION = 0.5
#: outcomes of a comparison
OUTCOMES = ("agree", "disagree", "inconclusive")


@dataclass(frozen=True)
class Estimate:
    """A mean, the standard deviation of the values behind it, and their number."""

    mean: float
    std: float
    n: int

    @property
    def error(self) -> float:
        """The standard error of the mean, s/√n (s itself for a single value)."""
        return self.std / math.sqrt(max(self.n, 1))

    def precise(self) -> bool:
        """Whether three standard errors use at most :data:`PRECISION` of the mean."""
        return SIGMAS * self.error <= PRECISION * abs(self.mean)


@dataclass(frozen=True)
class Comparison:
    """How two estimates compare: ``outcome`` one of :data:`OUTCOMES`, ``used`` the fraction of
    the tolerance the difference uses (≤ 1: agree; NaN when inconclusive), ``reason`` why they
    do not agree (empty when they do)."""

    outcome: str
    used: float
    reason: str = ""

    def __post_init__(self) -> None:
        assert self.outcome in OUTCOMES, self.outcome


def compare(ours: Estimate, paper: Estimate) -> Comparison:
    """Apply the module's rule to our estimate and the paper's."""
    for who, estimate in (("our", ours), ("the paper's", paper)):
        if not (math.isfinite(estimate.mean) and math.isfinite(estimate.std)):
            return Comparison("inconclusive", math.nan, f"{who} value is not a finite number")
        if not estimate.precise():
            return Comparison(
                "inconclusive",
                math.nan,
                f"too noisy to judge: 3 standard errors of {who} mean "
                f"({SIGMAS * estimate.error:.3g}, over {estimate.n} values) exceed half of it "
                f"({abs(estimate.mean):.3g})",
            )
    tolerance = SIGMAS * math.hypot(ours.error, paper.error) + SLACK * abs(paper.mean)
    difference = abs(ours.mean - paper.mean)
    used = difference / tolerance if tolerance > 0 else (0.0 if difference == 0 else math.inf)
    if used <= 1.0:
        return Comparison("agree", used)
    return Comparison(
        "disagree",
        used,
        f"the means differ by {difference:.4g}, more than 3 standard errors of the difference "
        f"plus 5 % ({tolerance:.4g})",
    )


__all__ = ["Comparison", "Estimate", "compare"]
