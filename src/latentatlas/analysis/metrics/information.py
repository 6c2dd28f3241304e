"""Information-based scores: MIG (Chen et al. 2018), modularity and explicitness (Ridgeway and
Zemel 2018), as defined in the study of Locatello et al. (2019).

Codes are discretised into 20 equal-width bins per dimension (histogram discretisation); factors
are their integer labels (``GroundTruth.labels``). m[i, j] is the discrete mutual information
between code i and factor j (natural log; the values of ``sklearn.metrics.mutual_info_score``).

* MIG = mean over factors j of (m[i₁, j] − m[i₂, j]) / H(v_j), i₁ and i₂ the two codes with most
  information about v_j: 1 when one code alone carries each factor, 0 when two codes share it.
* Modularity: for each code, 1 − Σ_{j ≠ best} m[i, j]² / (m[i, best]² (k − 1)), averaged over
  codes (0 for a code with no information).
* Explicitness: one-vs-rest logistic regression of each factor's classes from all codes
  (standardised first, so that the solver converges whatever the codes' scale), the mean ROC AUC
  over classes and factors (train and test).
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DataError
from .ground_truth import GroundTruth, Representation, accepts_codes, discretize, encode_all
from .periodic import features, mask

DEFAULT_BINS = 20


def _one_hot(labels: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Columns of integer labels as one concatenated one-hot matrix (n, Σ classes), and the
    number of classes of each column (labels re-indexed to 0..c−1)."""
    blocks, sizes = [], []
    for j in range(labels.shape[1]):
        _, inverse = np.unique(labels[:, j], return_inverse=True)
        c = int(inverse.max()) + 1 if len(inverse) else 0
        block = np.zeros((len(labels), c))
        block[np.arange(len(labels)), inverse] = 1.0
        blocks.append(block)
        sizes.append(c)
    return np.concatenate(blocks, 1), sizes


def mutual_information(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """m[i, j] = I(code i; factor j) (nats) for integer-labelled codes (n, d) and factors (n, k).

    All joint histograms come from one matrix product of the two one-hot encodings; the values
    equal ``sklearn.metrics.mutual_info_score`` pair by pair (tested), far faster for many pairs
    (``benchmarks/metrics.py``)."""
    n = len(codes)
    a, a_sizes = _one_hot(codes)
    b, b_sizes = _one_hot(labels)
    joint = (a.T @ b) / n  # every joint distribution p(code i = u, factor j = v) at once
    pa, pb = a.mean(0), b.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / np.outer(pa, pb)), 0.0)
    a_edges, b_edges = np.cumsum([0, *a_sizes]), np.cumsum([0, *b_sizes])
    rows = np.add.reduceat(terms, a_edges[:-1], axis=0) if len(a_sizes) else terms
    m = np.add.reduceat(rows, b_edges[:-1], axis=1) if len(b_sizes) else rows
    return np.maximum(m, 0.0)


def entropies(labels: np.ndarray) -> np.ndarray:
    """H(v_j) of each integer-labelled column (nats)."""
    out = []
    for j in range(labels.shape[1]):
        p = np.unique(labels[:, j], return_counts=True)[1] / len(labels)
        out.append(float(-(p * np.log(p)).sum()))
    return np.array(out)


def mig_from(
    codes: np.ndarray,
    labels: np.ndarray,
    bins: int = DEFAULT_BINS,
    periodic: np.ndarray | None = None,
) -> np.ndarray:
    """The gap of each factor (k,) from raw codes and factor labels."""
    if len(codes) < bins:
        raise DataError(f"MIG: {len(codes)} samples are fewer than the {bins} bins")
    if codes.shape[1] < 2:
        raise DataError("MIG needs at least two code dimensions (the gap is between the top two)")
    m = mutual_information(discretize(codes, bins, mask(periodic, codes.shape[1])), labels)
    h = entropies(labels)
    top = np.sort(m, axis=0)[::-1]
    return np.where(h > 0, (top[0] - top[1]) / np.where(h > 0, h, 1.0), 0.0)


@accepts_codes
def mig(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    bins: int = DEFAULT_BINS,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """Mutual Information Gap on ``num_train`` sampled observations."""
    x, _, labels = gt.sample(num_train, torch.Generator().manual_seed(seed))
    gaps = mig_from(encode_all(represent, x), labels, bins, periodic)
    names = gt.names
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
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler, label_binarize

    train, test = [], []
    for j in range(labels_train.shape[1]):
        classes = np.unique(labels_train[:, j])
        if len(classes) < 2:
            continue
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        clf.fit(codes_train, labels_train[:, j])
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


@accepts_codes
def modularity_explicitness(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    num_test: int = 5_000,
    bins: int = DEFAULT_BINS,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """Modularity (on the training codes) and explicitness (train and test AUC)."""
    g = torch.Generator().manual_seed(seed)
    x_train, _, labels_train = gt.sample(num_train, g)
    x_test, _, labels_test = gt.sample(num_test, g)
    codes_train = encode_all(represent, x_train)
    codes_test = encode_all(represent, x_test)
    if len(codes_train) < bins:
        raise DataError(f"modularity: {len(codes_train)} samples are fewer than the {bins} bins")
    flags = mask(periodic, codes_train.shape[1])
    m = mutual_information(discretize(codes_train, bins, flags), labels_train)
    train_auc, test_auc = explicitness(
        features(codes_train, flags)[0], labels_train, features(codes_test, flags)[0], labels_test
    )
    return {
        "modularity": modularity_from(m),
        "explicitness_train": train_auc,
        "explicitness_test": test_auc,
    }
