"""SAP, the Separated Attribute Predictability score (Kumar et al. 2018).

A score matrix S[i, j] says how well code i alone predicts factor j; SAP is the mean over factors
of the gap between the best and the second-best code. Following the SAP paper, a factor with an
order (a grid of positions, scales, angles, or a continuous factor) is scored by the R² of a
linear fit of its values on the code (S = cov² / (var_code var_factor), 0 for a constant code); a
categorical factor (one with labels, such as a shape) by the test accuracy of a linear SVM on
the code alone (C = 0.01), as the study of Locatello et al. (2019) does for its factors.
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DataError, UnknownNameError
from .ground_truth import GroundTruth, Representation, accepts_codes, encode_all
from .periodic import circular_circular_r2, circular_linear_r2, mask


def r2_matrix(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """S[i, j] = squared correlation of code i and factor value j (0 for constant columns)."""
    c = codes - codes.mean(0)
    v = values - values.mean(0)
    cov = c.T @ v / len(codes)
    var = np.outer(c.var(0), v.var(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, cov**2 / var, 0.0)


def svm_accuracy(
    code_train: np.ndarray, y_train: np.ndarray, code_test: np.ndarray, y_test: np.ndarray
) -> float:
    """Test accuracy of a linear SVM predicting classes from one code (C = 0.01 and classes
    weighted by their inverse frequency, as the study's reference code)."""
    from sklearn.svm import LinearSVC

    if len(np.unique(y_train)) < 2:
        return 0.0
    clf = LinearSVC(C=0.01, class_weight="balanced").fit(code_train[:, None], y_train)
    return float(clf.score(code_test[:, None], y_test))


def sap_from(scores: np.ndarray) -> float:
    """Mean over factors of best − second-best code (scores: codes × factors)."""
    if scores.shape[0] < 2:
        raise DataError("SAP needs at least two code dimensions (the gap is between the top two)")
    top = np.sort(scores, axis=0)[::-1]
    return float((top[0] - top[1]).mean())


@accepts_codes
def sap(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    num_test: int = 5_000,
    seed: int = 0,
    periodic: np.ndarray | None = None,
    classify: str = "categorical",
) -> dict[str, float]:
    """The SAP score. ``classify``: which factors are scored by a classifier — the
    ``"categorical"`` ones (the others by R², the SAP paper's reading), or ``"all"``, as the
    study's code does (``continuous_factors=False``; the ``study`` preset)."""
    if classify not in ("categorical", "all"):
        raise UnknownNameError("SAP classify", classify, ["categorical", "all"])
    g = torch.Generator().manual_seed(seed)
    x_train, values_train, labels_train = gt.sample(num_train, g)
    x_test, _, labels_test = gt.sample(num_test, g)
    codes_train, codes_test = encode_all(represent, x_train), encode_all(represent, x_test)
    values_train = torch.as_tensor(values_train).double().numpy()
    scores = r2_matrix(codes_train, values_train)
    flags = mask(periodic, codes_train.shape[1])
    if periodic is not None:  # the periodic-aware version: circular correlations
        for j, factor in enumerate(gt.factors):
            theta = None
            if factor.periodic:
                theta = 2 * np.pi * (values_train[:, j] - factor.low) / factor.period
            for i in range(codes_train.shape[1]):
                code = codes_train[:, i]
                if theta is not None and flags[i]:
                    scores[i, j] = circular_circular_r2(theta, code)
                elif theta is not None:
                    scores[i, j] = circular_linear_r2(theta, code)
                elif flags[i]:
                    scores[i, j] = circular_linear_r2(code, values_train[:, j])
    for j, factor in enumerate(gt.factors):
        if factor.labels is not None or classify == "all":  # accuracy of one code alone
            scores[:, j] = [
                svm_accuracy(
                    codes_train[:, i], labels_train[:, j], codes_test[:, i], labels_test[:, j]
                )
                for i in range(codes_train.shape[1])
            ]
    return {"sap": sap_from(scores)}
