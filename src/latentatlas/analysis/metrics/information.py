"""Information-based scores: MIG (Chen et al. 2018), modularity and explicitness (Ridgeway and
Zemel 2018), as defined in the study of Locatello et al. (2019).

Codes are discretised into 20 equal-width bins per dimension (histogram discretisation); factors
are their integer labels (``GroundTruth.labels``). m[i, j] is the discrete mutual information
between code i and factor j (natural log, ``sklearn.metrics.mutual_info_score``).

* MIG = mean over factors j of (m[i₁, j] − m[i₂, j]) / H(v_j), i₁ and i₂ the two codes with most
  information about v_j: 1 when one code alone carries each factor, 0 when two codes share it.
* Modularity: for each code, 1 − Σ_{j ≠ best} m[i, j]² / (m[i, best]² (k − 1)), averaged over
  codes (0 for a code with no information).
* Explicitness: one-vs-rest logistic regression of each factor's classes from all codes, the mean
  ROC AUC over classes and factors (train and test).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import mutual_info_score

from ...errors import DataError
from .ground_truth import GroundTruth, Representation, discretize, encode_all

DEFAULT_BINS = 20


def mutual_information(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """m[i, j] = I(code i; factor j) for integer-labelled codes (n, d) and factors (n, k)."""
    return np.array(
        [
            [mutual_info_score(labels[:, j], codes[:, i]) for j in range(labels.shape[1])]
            for i in range(codes.shape[1])
        ]
    )


def entropies(labels: np.ndarray) -> np.ndarray:
    """H(v_j) of each integer-labelled column (natural log)."""
    return np.array([mutual_info_score(labels[:, j], labels[:, j]) for j in range(labels.shape[1])])


def mig_from(codes: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """The gap of each factor (k,) from raw codes and factor labels."""
    if len(codes) < bins:
        raise DataError(f"MIG: {len(codes)} samples are fewer than the {bins} bins")
    if codes.shape[1] < 2:
        raise DataError("MIG needs at least two code dimensions (the gap is between the top two)")
    m = mutual_information(discretize(codes, bins), labels)
    h = entropies(labels)
    top = np.sort(m, axis=0)[::-1]
    return np.where(h > 0, (top[0] - top[1]) / np.where(h > 0, h, 1.0), 0.0)


def mig(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    bins: int = DEFAULT_BINS,
    seed: int = 0,
) -> dict[str, float]:
    """Mutual Information Gap on ``num_train`` sampled observations."""
    x, _, labels = gt.sample(num_train, torch.Generator().manual_seed(seed))
    gaps = mig_from(encode_all(represent, x), labels, bins)
    names = gt.space.names
    return {"mig": float(gaps.mean()), **{f"mig/{n}": float(g) for n, g in zip(names, gaps)}}


def modularity_from(m: np.ndarray) -> float:
    """Modularity of a mutual-information matrix m (codes × factors)."""
    squared = m**2
    best = squared.max(axis=1)
    k = squared.shape[1]
    if k < 2:
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (squared.sum(axis=1) - best) / (best * (k - 1))
    score = np.where(best > 0, 1.0 - delta, 0.0)
    return float(score.mean())


def explicitness(
    codes_train: np.ndarray,
    labels_train: np.ndarray,
    codes_test: np.ndarray,
    labels_test: np.ndarray,
) -> tuple[float, float]:
    """Mean one-vs-rest ROC AUC of a logistic regression per factor (train, test)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import label_binarize

    train, test = [], []
    for j in range(labels_train.shape[1]):
        classes = np.unique(labels_train[:, j])
        if len(classes) < 2:
            continue
        clf = LogisticRegression(max_iter=1000).fit(codes_train, labels_train[:, j])
        for codes, labels, out in (
            (codes_train, labels_train, train),
            (codes_test, labels_test, test),
        ):
            proba = clf.predict_proba(codes)
            truth = label_binarize(labels[:, j], classes=classes)
            if len(classes) == 2:
                truth, proba = truth[:, 0], proba[:, 1]
                keep = len(np.unique(truth)) == 2
            else:
                present = truth.sum(0) > 0
                truth, proba = truth[:, present], proba[:, present]
                keep = present.sum() >= 2
            if keep:
                out.append(roc_auc_score(truth, proba, average="macro"))
    return float(np.mean(train)) if train else 0.0, float(np.mean(test)) if test else 0.0


def modularity_explicitness(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    num_test: int = 5_000,
    bins: int = DEFAULT_BINS,
    seed: int = 0,
) -> dict[str, float]:
    """Modularity (on the training codes) and explicitness (train and test AUC)."""
    g = torch.Generator().manual_seed(seed)
    x_train, _, labels_train = gt.sample(num_train, g)
    x_test, _, labels_test = gt.sample(num_test, g)
    codes_train = encode_all(represent, x_train)
    codes_test = encode_all(represent, x_test)
    if len(codes_train) < bins:
        raise DataError(f"modularity: {len(codes_train)} samples are fewer than the {bins} bins")
    m = mutual_information(discretize(codes_train, bins), labels_train)
    train_auc, test_auc = explicitness(codes_train, labels_train, codes_test, labels_test)
    return {
        "modularity": modularity_from(m),
        "explicitness_train": train_auc,
        "explicitness_test": test_auc,
    }
