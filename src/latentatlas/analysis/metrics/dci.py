"""DCI: disentanglement, completeness and informativeness (Eastwood and Williams 2018), with the
gradient-boosted trees of Locatello et al. (2019).

For each factor a gradient-boosting classifier predicts its labels from all codes; R[i, j] =
|importance of code i for factor j|, each factor's importances summing to 1. With P the rows
normalised to sum 1,

* disentanglement = Σ_i ρ_i (1 − H_k(P_i·)), ρ_i = Σ_j R[i, j] / Σ R, H_k the entropy in base k
  (number of factors): 1 when each code matters for one factor only;
* completeness = Σ_j ρ̃_j (1 − H_d(P̃_·j)), P̃ the columns normalised, ρ̃_j = Σ_i R[i, j] / Σ R,
  H_d in base d (number of codes): 1 when each factor is captured by one code;
* informativeness = the classifiers' mean accuracy (train and test).

:func:`dci_from_importance` is the part that depends on R only (tested on hand-built matrices).

Two implementations of the trees (``trees=``), with the same main settings — 100 stages of
depth-3 trees, learning rate 0.1, leaves of one sample or more, importance = the total gain of the
splits on each code:

* ``"lightgbm"`` (default): LightGBM's histogram trees (features binned, 255 bins;
  second-order split gains) on the cores given — 7 s instead of 230 s at the study's sizes on
  dSprites-like factors (2 cores); the scores differ from the study's estimator by up to about
  0.07, in either direction (``benchmarks/metrics.py`` measures both side by side);
* ``"sklearn"``: scikit-learn's ``GradientBoostingClassifier()``, the study's exact estimator
  (the ``study`` preset), one tree per class and stage fitted on the exact feature values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from ...errors import DataError, UnknownNameError
from .ground_truth import GroundTruth, Representation, accepts_codes, encode_all
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


TREES = ("lightgbm", "sklearn")
"""The implementations of the gradient-boosted trees (see the module docstring)."""


def _classifier(trees: str, threads: int):
    """An unfitted gradient-boosting classifier with the study's settings."""
    if trees == "sklearn":
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(random_state=0)  # the study's defaults, exactly
    import lightgbm

    return lightgbm.LGBMClassifier(
        n_estimators=100,
        learning_rate=0.1,
        max_depth=3,
        num_leaves=8,  # = sklearn's depth 3
        min_child_samples=1,
        importance_type="gain",
        random_state=0,
        deterministic=True,
        force_row_wise=True,
        n_jobs=threads,
        verbose=-1,
    )


def _fit_factor(
    codes_train, y, codes_test, y_test, trees: str = "lightgbm", threads: int = 1
) -> tuple[np.ndarray, float, float]:
    """Importances (summing to 1) and train/test accuracy of one factor's classifier."""
    if len(np.unique(y)) < 2:  # a constant factor: nothing to predict, no importance
        return np.zeros(codes_train.shape[1]), 1.0, float(np.mean(y_test == y[0]))
    model = _classifier(trees, threads).fit(codes_train, y)
    importance = np.abs(np.asarray(model.feature_importances_, dtype=np.float64))
    if importance.sum() > 0:  # LightGBM's gains are totals; sklearn's already sum to 1
        importance = importance / importance.sum()
    return importance, float(model.score(codes_train, y)), float(model.score(codes_test, y_test))


def importance_matrix(
    codes_train: np.ndarray,
    labels_train: np.ndarray,
    codes_test: np.ndarray,
    labels_test: np.ndarray,
    n_jobs: int = 1,
    trees: str = "lightgbm",
) -> tuple[np.ndarray, float, float]:
    """R (codes × factors) from one gradient-boosting classifier per factor, and the mean train
    and test accuracies. ``n_jobs`` is the number of cores (−1: torch's thread count, which a
    sweep's worker process sets to its share, so workers do not oversubscribe the machine):
    LightGBM's threads, or for scikit-learn's trees, parallel processes over the factors."""
    if trees not in TREES:
        raise UnknownNameError("DCI trees", trees, list(TREES))
    cores = torch.get_num_threads() if n_jobs < 1 else n_jobs
    columns = range(labels_train.shape[1])
    args = [(codes_train, labels_train[:, j], codes_test, labels_test[:, j]) for j in columns]
    if trees == "lightgbm" or cores == 1:
        fits = [_fit_factor(*a, trees, cores) for a in args]
    else:
        from joblib import Parallel, delayed

        workers = min(cores, len(args))
        fits = Parallel(n_jobs=workers)(delayed(_fit_factor)(*a, trees) for a in args)
    r = np.stack([f[0] for f in fits], 1)
    return r, float(np.mean([f[1] for f in fits])), float(np.mean([f[2] for f in fits]))


@accepts_codes
def dci(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    num_test: int = 5_000,
    seed: int = 0,
    n_jobs: int = 1,
    periodic: np.ndarray | None = None,
    trees: str = "lightgbm",
) -> dict[str, float]:
    """DCI disentanglement, completeness and informativeness (train, test). ``trees`` picks the
    gradient-boosting implementation (:data:`TREES`); ``n_jobs`` the cores (the same numbers)."""
    split = probe_split(gt, represent, num_train, num_test, seed, periodic)
    r_inputs, train_acc, test_acc = importance_matrix(*split.inputs, n_jobs, trees)
    return {
        **dci_from_importance(split.per_code(r_inputs)),
        "dci_informativeness_train": train_acc,
        "dci_informativeness_test": test_acc,
    }


@dataclass(frozen=True)
class ProbeSplit:
    """Training and test points for classifiers that read all codes (DCI, DCI-ES): the
    classifiers' inputs (angles as (cos, sin)), the labels, and which code owns each input."""

    inputs_train: np.ndarray
    labels_train: np.ndarray
    inputs_test: np.ndarray
    labels_test: np.ndarray
    owner: np.ndarray
    codes: int

    @property
    def inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.inputs_train, self.labels_train, self.inputs_test, self.labels_test

    def per_code(self, importance: np.ndarray) -> np.ndarray:
        """Importances of the inputs (inputs × factors) summed per code: (cos, sin) of a
        periodic code count as that code."""
        r = np.zeros((self.codes, importance.shape[1]))
        np.add.at(r, self.owner, importance)
        return r


def probe_split(
    gt: GroundTruth,
    represent: Representation,
    num_train: int,
    num_test: int,
    seed: int,
    periodic: np.ndarray | None,
) -> ProbeSplit:
    """``num_train`` then ``num_test`` sampled observations, encoded, as :class:`ProbeSplit`."""
    g = torch.Generator().manual_seed(seed)
    x_train, _, labels_train = gt.sample(num_train, g)
    x_test, _, labels_test = gt.sample(num_test, g)
    codes_train, codes_test = encode_all(represent, x_train), encode_all(represent, x_test)
    flags = mask(periodic, codes_train.shape[1])
    inputs_train, owner = features(codes_train, flags)
    inputs_test, _ = features(codes_test, flags)
    return ProbeSplit(
        inputs_train, labels_train, inputs_test, labels_test, owner, codes_train.shape[1]
    )
