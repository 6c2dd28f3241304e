"""InfoMEC: InfoM (modularity), InfoC (compactness) and InfoE (explicitness) (Hsu et al. 2023,
"Disentanglement via latent quantization", sec. 5 and appendix), as the authors' standalone
``infomec.py`` computes them.

* Normalised mutual information NMI[j, i] = I(v_j; z_i) / H(v_j) between each factor (its labels)
  and each standardised code, I by the k-nearest-neighbour estimator of a continuous code and a
  discrete factor (scikit-learn's ``mutual_info_classif``, 10 neighbours; Ross 2014), H the
  plug-in entropy of the labels.
* Codes whose range is at most 1/20 of the largest code's range are inactive and left out.
* InfoM = (mean over active codes of max_j NMI / Σ_j NMI − 1/K) / (1 − 1/K): 1 when each code
  informs about one factor, 0 when it informs about all equally (K factors).
* InfoC = (mean over factors of max_i NMI / Σ_i NMI − 1/L) / (1 − 1/L) over the L active codes:
  1 when each factor is captured by one code.
* InfoE: per factor, an unpenalised multinomial logistic regression (classes weighted by their
  inverse frequency, 100 L-BFGS iterations) on the standardised codes, and the same fit on zeros;
  (H_zeros − H_codes) / H_zeros of their log losses on the same rows, averaged over factors: the
  share of the factor's uncertainty a linear read-out removes.

Checked against the authors' code on the inputs of ``tests/reference_inputs.py``
(docs/metrics.md). Deviations: a code that carries no information about any factor (Σ_j NMI = 0)
is left out of InfoM here, where the reference's 0/0 makes InfoM NaN; InfoE's fits stop after 100
iterations as the reference's do, so scikit-learn versions differ in its fourth decimal.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ...errors import DataError
from .ground_truth import GroundTruth, Representation, accepts_codes, encode_all, standardised
from .periodic import features, mask

ACTIVE_FRACTION = 1 / 20
"""A code is active when its range exceeds this fraction of the largest code's range."""


def normalised_mutual_information(
    codes: np.ndarray, labels: np.ndarray, seed: int = 0
) -> np.ndarray:
    """NMI (factors × codes): I(v_j; z_i) / H(v_j), I by the 10-nearest-neighbour estimator."""
    from sklearn.feature_selection import mutual_info_classif
    from sklearn.metrics import mutual_info_score

    z = standardised(codes)
    out = np.zeros((labels.shape[1], codes.shape[1]))
    for j in range(labels.shape[1]):
        entropy = mutual_info_score(labels[:, j], labels[:, j])
        if entropy <= 0:
            continue
        information = mutual_info_classif(
            z, labels[:, j], discrete_features=False, n_neighbors=10, random_state=seed
        )
        out[j] = information / entropy
    return out


def _ratio_score(nmi: np.ndarray, axis: int) -> float:
    """(mean of max/sum along ``axis`` − 1/n) / (1 − 1/n), n the length along ``axis``; rows or
    columns without information are left out."""
    n = nmi.shape[axis]
    totals = nmi.sum(axis)
    keep = totals > 0
    if n < 2 or not keep.any():
        return 0.0 if not keep.any() else 1.0
    ratio = (nmi.max(axis)[keep] / totals[keep]).mean()
    return float((ratio - 1.0 / n) / (1.0 - 1.0 / n))


def info_explicitness(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """InfoE of each factor: (H_zeros − H_codes)/H_zeros of a linear read-out's log loss."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    z = standardised(codes)
    out = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        y = labels[:, j]
        if len(np.unique(y)) < 2:
            continue
        losses = []
        for x in (z, np.zeros_like(z)):
            # unpenalised (C = ∞; scikit-learn ≥ 1.8 spells penalty=None so)
            model = LogisticRegression(C=np.inf, max_iter=100, tol=1e-4, class_weight="balanced")
            with warnings.catch_warnings():  # the reference stops at 100 iterations too
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(x, y)
            losses.append(log_loss(y, model.predict_proba(x), labels=model.classes_))
        out[j] = (losses[1] - losses[0]) / losses[1]
    return out


def infomec_from(
    codes: np.ndarray, labels: np.ndarray, seed: int = 0
) -> dict[str, float | np.ndarray]:
    """InfoM, InfoC, InfoE of raw codes ``(n, d)`` and integer labels ``(n, k)``, with the
    ``nmi`` matrix of the active codes and which codes are ``active``."""
    if labels.shape[1] < 2:
        raise DataError("InfoM compares factors: it needs at least two")
    ranges = codes.max(0) - codes.min(0)
    if ranges.max() <= 0:
        raise DataError("InfoMEC: every code is constant")
    active = ranges > ranges.max() * ACTIVE_FRACTION
    nmi = normalised_mutual_information(codes[:, active], labels, seed)
    return {
        "infom": _ratio_score(nmi, axis=0),
        "infoc": _ratio_score(nmi, axis=1),
        "infoe": float(info_explicitness(codes[:, active], labels).mean()),
        "nmi": nmi,
        "active": active,
    }


@accepts_codes
def infomec(
    gt: GroundTruth,
    represent: Representation,
    num_train: int = 10_000,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """InfoM, InfoC and InfoE on ``num_train`` sampled observations. An angle code enters as
    (cos, sin), two codes."""
    x, _, labels = gt.sample(num_train, torch.Generator().manual_seed(seed))
    codes = encode_all(represent, x)
    inputs, _ = features(codes, mask(periodic, codes.shape[1]))
    out = infomec_from(inputs, labels, seed)
    return {
        "infom": out["infom"],
        "infoc": out["infoc"],
        "infoe": out["infoe"],
        "infomec_active_dims": float(out["active"].sum()),
    }
