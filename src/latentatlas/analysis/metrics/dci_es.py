"""DCI-ES: DCI extended with explicitness and size (Eastwood et al. 2023, "DCI-ES: an extended
disentanglement framework with connections to identifiability"), with the random-forest probes
of the authors' code.

Explicitness asks how *easily* the factors can be read from the codes: probes of growing capacity
predict each factor, and the loss-capacity curve is summarised by the area above its lowest loss.
For each factor j, random forests of 100 trees at depths κ ∈ (1, 2, 3, 4, 8, 10, 12, 14, 16, 18,
20, 32) give the test loss ℓ_j(κ) = 1 − accuracy; with the curve made non-increasing (its
running minimum) and ℓ*_j its lowest value,

    AULCC_j = ∫ (ℓ_j(κ) − ℓ*_j) dκ      (trapezoids over the depths)
    E_j = 1 − 2 AULCC_j / ((κ_max − κ_min) b_j)

with b_j = 1 − 1/K_j, the loss of guessing among K_j classes (the baseline the authors' code
uses for a factor of K_j values). E is the mean over factors: 1 when the shallowest probe already
does as well as any, lower when capacity is needed. D, C and I are those of DCI
(:func:`~.dci.dci_from_importance`) from the forests' impurity importances at the depth with the
best mean test accuracy; I is that accuracy.

Size S = K / d (factors over code dimensions): 1 for a representation as small as the factors.
The authors' code does not compute S, so it is compared with nothing.

Checked against the authors' code (its random-forest pipeline) on the inputs of
``tests/reference_inputs.py`` (docs/metrics.md). Deviations: continuous factors are classified
by their 20 bins (as for DCI here) where the authors regress them and use 1 − R²; only the
random-forest probes are offered (the paper's MLP probes, 14 widths trained for ~26 000 steps
each with SAGE importances, are far beyond a CPU metric).
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DataError
from .dci import dci_from_importance, probe_split
from .ground_truth import GroundTruth, Representation, accepts_codes

DEPTHS = (1, 2, 3, 4, 8, 10, 12, 14, 16, 18, 20, 32)
"""The probes' capacities: the forests' depths in the authors' configuration."""


def explicitness_from(capacities: np.ndarray, losses: np.ndarray, baseline: float) -> float:
    """E of one loss-capacity curve: 1 − 2 · (area above its lowest loss, the curve made
    non-increasing) / ((capacity range) · ``baseline``)."""
    x = np.asarray(capacities, dtype=np.float64)
    y = np.minimum.accumulate(np.asarray(losses, dtype=np.float64))
    if baseline <= 0 or x[-1] <= x[0]:
        return 1.0  # nothing to gain: a factor with one class, or a single capacity
    above = y - y.min()
    area = float(np.sum(np.diff(x) * (above[1:] + above[:-1]) / 2))
    return 1.0 - 2.0 * area / ((x[-1] - x[0]) * baseline)


def _forest(depth: int, trees: int, seed: int, threads: int):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=trees, max_depth=depth, random_state=seed, n_jobs=threads
    )


def dci_es_from(
    codes_train: np.ndarray,
    labels_train: np.ndarray,
    codes_test: np.ndarray,
    labels_test: np.ndarray,
    depths: tuple[int, ...] = DEPTHS,
    trees: int = 100,
    seed: int = 0,
    n_jobs: int = -1,
) -> dict[str, float | np.ndarray]:
    """DCI-ES from codes and integer labels: ``explicitness`` (and ``per_factor``), D, C and I
    at the best depth (``best_depth``), ``size``, and the test ``losses`` (depths × factors)."""
    if len(depths) < 2 or list(depths) != sorted(set(depths)):
        raise DataError(f"DCI-ES: expected at least two increasing depths, got {list(depths)}")
    threads = torch.get_num_threads() if n_jobs < 1 else n_jobs
    k = labels_train.shape[1]
    losses = np.zeros((len(depths), k))
    importances = np.zeros((len(depths), codes_train.shape[1], k))
    for a, depth in enumerate(depths):
        for j in range(k):
            if len(np.unique(labels_train[:, j])) < 2:
                losses[a, j] = float(np.mean(labels_test[:, j] != labels_train[0, j]))
                continue
            forest = _forest(depth, trees, seed, threads).fit(codes_train, labels_train[:, j])
            losses[a, j] = 1.0 - forest.score(codes_test, labels_test[:, j])
            importances[a, :, j] = forest.feature_importances_
    classes = [
        len(np.unique(np.concatenate([labels_train[:, j], labels_test[:, j]]))) for j in range(k)
    ]
    per_factor = np.array(
        [
            explicitness_from(np.array(depths), losses[:, j], 1.0 - 1.0 / c)
            for j, c in enumerate(classes)
        ]
    )
    best = int((1.0 - losses).mean(1).argmax())
    return {
        "explicitness": float(per_factor.mean()),
        "per_factor": per_factor,
        **dci_from_importance(importances[best]),
        "informativeness": float(1.0 - losses[best].mean()),
        "best_depth": depths[best],
        "size": k / codes_train.shape[1],
        "losses": losses,
        "importances": importances[best],
    }


@accepts_codes
def dci_es(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    num_test: int = 5_000,
    trees: int = 100,
    seed: int = 0,
    n_jobs: int = -1,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """DCI-ES on ``num_train`` training and ``num_test`` test observations (DCI's sizes)."""
    split = probe_split(gt, represent, num_train, num_test, seed, periodic)
    out = dci_es_from(*split.inputs, trees=trees, seed=seed, n_jobs=n_jobs)
    scores = dci_from_importance(split.per_code(out["importances"]))
    k = split.labels_train.shape[1]
    return {
        "dci_es_explicitness": out["explicitness"],
        "dci_es_size": k / split.codes,
        "dci_es_disentanglement": scores["dci_disentanglement"],
        "dci_es_completeness": scores["dci_completeness"],
        "dci_es_informativeness": out["informativeness"],
        "dci_es_best_depth": float(out["best_depth"]),
        **{f"dci_es_explicitness/{n}": float(e) for n, e in zip(gt.names, out["per_factor"])},
    }
