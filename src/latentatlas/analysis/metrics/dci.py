"""DCI: disentanglement, completeness and informativeness (Eastwood and Williams 2018), with the
gradient-boosted trees of Locatello et al. (2019).

For each factor a gradient-boosting classifier (scikit-learn defaults) predicts its labels from
all codes; R[i, j] = |importance of code i for factor j|. With P the rows normalised to sum 1,

* disentanglement = Σ_i ρ_i (1 − H_k(P_i·)), ρ_i = Σ_j R[i, j] / Σ R, H_k the entropy in base k
  (number of factors): 1 when each code matters for one factor only;
* completeness = Σ_j ρ̃_j (1 − H_d(P̃_·j)), P̃ the columns normalised, ρ̃_j = Σ_i R[i, j] / Σ R,
  H_d in base d (number of codes): 1 when each factor is captured by one code;
* informativeness = the classifiers' mean accuracy (train and test).

:func:`dci_from_importance` is the part that depends on R only (tested on hand-built matrices).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from ...errors import DataError
from .ground_truth import GroundTruth, Representation, encode_all
from .periodic import features, mask


def _one_minus_entropy(p: np.ndarray, base: int) -> np.ndarray:
    """1 − H(p) in ``base`` for each column of the non-negative matrix p (normalised here)."""
    if base < 2:
        return np.ones(p.shape[1])
    return 1.0 - stats.entropy(p + 1e-11, base=base, axis=0)


def dci_from_importance(importance: np.ndarray) -> dict[str, float]:
    """Disentanglement and completeness of an importance matrix R (codes × factors)."""
    r = np.abs(np.asarray(importance, dtype=np.float64))
    if r.ndim != 2 or r.size == 0:
        raise DataError(f"DCI: expected an importance matrix (codes, factors), got {r.shape}")
    if r.sum() == 0:  # no code matters: nothing is disentangled
        return {"dci_disentanglement": 0.0, "dci_completeness": 0.0}
    d, k = r.shape
    per_code = _one_minus_entropy(r.T, k)
    per_factor = _one_minus_entropy(r, d)
    code_weight = r.sum(1) / r.sum()
    factor_weight = r.sum(0) / r.sum()
    return {
        "dci_disentanglement": float((per_code * code_weight).sum()),
        "dci_completeness": float((per_factor * factor_weight).sum()),
    }


def _fit_factor(codes_train, y, codes_test, y_test) -> tuple[np.ndarray, float, float]:
    """Importances and train/test accuracy of one factor's gradient-boosting classifier."""
    from sklearn.ensemble import GradientBoostingClassifier

    if len(np.unique(y)) < 2:  # a constant factor: nothing to predict, no importance
        return np.zeros(codes_train.shape[1]), 1.0, float(np.mean(y_test == y[0]))
    model = GradientBoostingClassifier(random_state=0).fit(codes_train, y)
    return (
        np.abs(model.feature_importances_),
        float(model.score(codes_train, y)),
        float(model.score(codes_test, y_test)),
    )


def importance_matrix(
    codes_train: np.ndarray,
    labels_train: np.ndarray,
    codes_test: np.ndarray,
    labels_test: np.ndarray,
    n_jobs: int = 1,
) -> tuple[np.ndarray, float, float]:
    """R (codes × factors) from one gradient-boosting classifier per factor, and the mean train
    and test accuracies; ``n_jobs`` ≠ 1 fits the factors in parallel processes (joblib; −1: one
    per core)."""
    columns = range(labels_train.shape[1])
    args = [(codes_train, labels_train[:, j], codes_test, labels_test[:, j]) for j in columns]
    if n_jobs == 1:
        fits = [_fit_factor(*a) for a in args]
    else:
        from joblib import Parallel, delayed

        fits = Parallel(n_jobs=n_jobs)(delayed(_fit_factor)(*a) for a in args)
    r = np.stack([f[0] for f in fits], 1)
    return r, float(np.mean([f[1] for f in fits])), float(np.mean([f[2] for f in fits]))


def dci(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    num_test: int = 5_000,
    seed: int = 0,
    n_jobs: int = 1,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """DCI disentanglement, completeness and informativeness (train, test); ``n_jobs`` fits the
    per-factor classifiers in parallel (the same numbers)."""
    g = torch.Generator().manual_seed(seed)
    x_train, _, labels_train = gt.sample(num_train, g)
    x_test, _, labels_test = gt.sample(num_test, g)
    codes_train, codes_test = encode_all(represent, x_train), encode_all(represent, x_test)
    flags = mask(periodic, codes_train.shape[1])
    inputs_train, owner = features(codes_train, flags)
    inputs_test, _ = features(codes_test, flags)
    r_inputs, train_acc, test_acc = importance_matrix(
        inputs_train, labels_train, inputs_test, labels_test, n_jobs
    )
    r = np.zeros((codes_train.shape[1], r_inputs.shape[1]))
    np.add.at(r, owner, r_inputs)  # (cos, sin) of a periodic code count as that code
    return {
        **dci_from_importance(r),
        "dci_informativeness_train": train_acc,
        "dci_informativeness_test": test_acc,
    }
