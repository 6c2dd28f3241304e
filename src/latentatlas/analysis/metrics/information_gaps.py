"""Three repairs of MIG, as the review of Carbonneau et al. (2022, "Measuring disentanglement: a
review of metrics") and its code (ubisoft-laforge-disentanglement-metrics) compute them.

All read the mutual-information matrix m[i, j] = I(code i; factor j) of codes cut into ``bins``
equal-width bins of their range (10, the review's setting; MIG uses 20) and factor labels (as for
every metric here: the grid index, or 20 bins of a continuous factor). Entropies are the plug-in
estimates of the same discretisations; each score is a ratio, so the logarithm's base cancels.

* **MIG-sup** (Li et al. 2020, "Progressive learning and disentanglement of hierarchical
  representations", eq. 9): MIG taken per *code*: for each code, the gap between the two factors
  it informs most, each normalised by the code's entropy, I(c; v)/H(c); the mean over codes. 1
  when every code informs about one factor only; codes that carry nothing count 0.
* **JEMMIG** (Do and Tran 2020, "Theory and evaluation metrics for learning disentangled
  representations", eq. 11-12): for each factor v with best code c* (top information I₁,
  second I₂), the joint-entropy gap H(v, c*) − I₁ + I₂, normalised by H(v) + log(bins); the score
  is 1 minus its mean over factors. It also punishes a c* that carries more than v.
* **DCIMIG** (Sepliarskaia et al. 2019, "Evaluating disentangled representations", sec. 4):
  each code's gap between the two factors it informs most is credited to its top factor; each
  factor keeps the largest gap credited to it (0 for none); the score is their sum over the
  factors' summed entropies.

Checked against the review's code on the inputs of ``tests/reference_inputs.py``
(docs/metrics.md). Deviations: the reference also cuts the *factors* into 10 bins by default
(so a factor with more than 10 values, such as dSprites' 32 positions, is coarsened there);
here factors keep their labels, as for MIG. A code that never varies has H(c) = 0: MIG-sup counts
its gap as 0 where the reference's is NaN (which makes the whole score NaN).
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DataError
from .ground_truth import GroundTruth, Representation, accepts_codes, discretize, encode_all
from .information import entropies, mutual_information
from .periodic import mask

REVIEW_BINS = 10
"""Bins per code in the review's code (MIG uses the study's 20)."""


def _top_two(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """The largest and second-largest values along ``axis`` (0 for the second of one value)."""
    ordered = -np.sort(-values, axis=axis)
    second = np.take(ordered, 1, axis=axis) if values.shape[axis] > 1 else 0 * ordered[0]
    return np.take(ordered, 0, axis=axis), second


def _information(
    codes: np.ndarray, labels: np.ndarray, bins: int, periodic: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """m (codes × factors), the codes' entropies and the factors' entropies (nats)."""
    if len(codes) < bins:
        raise DataError(f"{len(codes)} samples are fewer than the {bins} bins")
    discrete = discretize(codes, bins, mask(periodic, codes.shape[1]))
    return mutual_information(discrete, labels), entropies(discrete), entropies(labels)


def mig_sup_from(
    codes: np.ndarray,
    labels: np.ndarray,
    bins: int = REVIEW_BINS,
    periodic: np.ndarray | None = None,
) -> np.ndarray:
    """The gap of each code (d,) between the two factors it informs most, over H(code)."""
    if labels.shape[1] < 2:
        raise DataError("MIG-sup needs at least two factors (the gap is between the top two)")
    m, h_codes, _ = _information(codes, labels, bins, periodic)
    normalised = m / np.where(h_codes > 0, h_codes, 1.0)[:, None]
    first, second = _top_two(normalised, axis=1)
    return np.where(h_codes > 0, first - second, 0.0)


def jemmig_from(
    codes: np.ndarray,
    labels: np.ndarray,
    bins: int = REVIEW_BINS,
    periodic: np.ndarray | None = None,
) -> np.ndarray:
    """1 − the normalised JEMMIG of each factor (k,): 1 − (H(v, c*) − I₁ + I₂)/(H(v) + log bins)."""
    m, h_codes, h_factors = _information(codes, labels, bins, periodic)
    best = m.argmax(axis=0)
    first, second = _top_two(m, axis=0)
    joint = h_factors + h_codes[best] - first  # H(v, c*) = H(v) + H(c*) − I(v; c*)
    return 1.0 - (joint - first + second) / (h_factors + np.log(bins))


def dcimig_from(
    codes: np.ndarray,
    labels: np.ndarray,
    bins: int = REVIEW_BINS,
    periodic: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """DCIMIG and each factor's kept gap (k,) (its largest credited gap, nats)."""
    if labels.shape[1] < 2:
        raise DataError("DCIMIG needs at least two factors (the gap is between the top two)")
    m, _, h_factors = _information(codes, labels, bins, periodic)
    first, second = _top_two(m, axis=1)
    kept = np.zeros(labels.shape[1])
    np.maximum.at(kept, m.argmax(axis=1), first - second)
    total = h_factors.sum()
    return (float(kept.sum() / total) if total > 0 else 0.0), kept


def _sampled(gt: GroundTruth, represent: Representation, num_train: int, seed: int):
    x, _, labels = gt.sample(num_train, torch.Generator().manual_seed(seed))
    return encode_all(represent, x), labels


@accepts_codes
def mig_sup(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    bins: int = REVIEW_BINS,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """MIG-sup on ``num_train`` sampled observations."""
    gaps = mig_sup_from(*_sampled(gt, represent, num_train, seed), bins, periodic)
    return {"mig_sup": float(gaps.mean())}


@accepts_codes
def jemmig(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    bins: int = REVIEW_BINS,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """JEMMIG (1 − its normalised value, higher is better) on ``num_train`` observations."""
    scores = jemmig_from(*_sampled(gt, represent, num_train, seed), bins, periodic)
    per_factor = {f"jemmig/{n}": float(s) for n, s in zip(gt.names, scores)}
    return {"jemmig": float(scores.mean()), **per_factor}


@accepts_codes
def dcimig(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    bins: int = REVIEW_BINS,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """DCIMIG on ``num_train`` sampled observations."""
    score, _ = dcimig_from(*_sampled(gt, represent, num_train, seed), bins, periodic)
    return {"dcimig": score}
