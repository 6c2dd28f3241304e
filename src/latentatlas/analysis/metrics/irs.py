"""IRS, the Interventional Robustness Score (Suter et al. 2019, "Robustly disentangled causal
mechanisms", eq. 6-8 and their scalable estimate), as disentanglement_lib computes it.

For a code dimension d and a factor i, the effect of fixing factor i to a value v is the spread
of code d among the points that share v: the ``diff_quantile`` quantile (0.99; 1 gives the paper's
maximum) of |z_d − E[z_d | v_i = v]| over those points. Averaged over the values v (each value
counts once, whatever its number of points), and relative to the code's largest deviation from
its overall mean, max_n |z_d − E z_d|:

    IRS[d, i] = 1 − mean_v quantile_q |z_d − E[z_d | v]| / max_n |z_d − E z_d|

A code dimension's score is its best factor's (its "parent"), max_i IRS[d, i]; the score is the
mean of the dimensions' scores weighted by their largest deviation (dimensions that barely move
count little). Dimensions that do not vary are left out; with none left the score is 0.

Periodic codes (angles): the means are circular means and the deviations are wrapped into
[−π, π) (:mod:`.periodic`), so an angle fixed near the cut at ±π reads as fixed.

Checked against disentanglement_lib's ``irs.py`` on the inputs of ``tests/reference_inputs.py``
(docs/metrics.md, "Agreement with the reference implementations"). Deviation: the reference's
``num_active_dims`` is the sum of the active codes' values (a bug); ``irs/active_dims`` here is
their number.
"""

from __future__ import annotations

import numpy as np
import torch

from .ground_truth import GroundTruth, Representation, accepts_codes, encode_all
from .periodic import mask, resultant, wrap


def _deviations(z: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """|z − mean z| per column, with circular means and wrapped differences for angles."""
    linear = np.abs(z - z.mean(0))
    if not periodic.any():
        return linear
    center = np.arctan2(np.sin(z).mean(0), np.cos(z).mean(0))
    return np.where(periodic, np.abs(wrap(z - center)), linear)


def _varies(codes: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """Which code columns vary (angles: a mean resultant length below 1)."""
    spread = np.where(periodic, 1.0 - resultant(codes), codes.var(0))
    return spread > 1e-15


def irs_from(
    codes: np.ndarray,
    labels: np.ndarray,
    diff_quantile: float = 0.99,
    periodic: np.ndarray | None = None,
) -> dict[str, np.ndarray | float]:
    """IRS of raw codes ``(n, d)`` and integer factor labels ``(n, k)``: ``score``, the
    ``matrix`` IRS[d, i] (rows: the codes that vary, listed in ``active``), each such code's
    ``per_code`` score, its ``parents`` and ``max_deviations``."""
    flags = mask(periodic, codes.shape[1])
    active = np.flatnonzero(_varies(codes, flags))
    if len(active) == 0:
        empty = np.zeros(0)
        return {
            "score": 0.0,
            "active": active,
            "matrix": np.zeros((0, labels.shape[1])),
            "per_code": empty,
            "parents": active,
            "max_deviations": empty,
        }
    z, flags = codes[:, active], flags[active]
    max_dev = _deviations(z, flags).max(0)
    matrix = np.empty((len(active), labels.shape[1]))
    for i in range(labels.shape[1]):
        spreads = [
            np.quantile(_deviations(z[labels[:, i] == v], flags), diff_quantile, axis=0)
            for v in np.unique(labels[:, i])
        ]
        matrix[:, i] = 1.0 - np.mean(spreads, axis=0) / max_dev
    per_code = matrix.max(1)
    weights = max_dev if max_dev.sum() > 0 else None
    return {
        "score": float(np.average(per_code, weights=weights)),
        "active": active,
        "matrix": matrix,
        "per_code": per_code,
        "parents": matrix.argmax(1),
        "max_deviations": max_dev,
    }


@accepts_codes
def irs(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    diff_quantile: float = 0.99,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """Interventional Robustness Score on ``num_train`` sampled observations (the study's
    10 000, ``diff_quantile`` 0.99)."""
    x, _, labels = gt.sample(num_train, torch.Generator().manual_seed(seed))
    out = irs_from(encode_all(represent, x), labels, diff_quantile, periodic)
    return {"irs": out["score"], "irs/active_dims": float(len(out["active"]))}
