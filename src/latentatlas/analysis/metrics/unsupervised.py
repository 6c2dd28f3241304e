"""Unsupervised scores of a representation (Locatello et al. 2019, sec. 3): no factors needed.

From the codes of ``num_train`` observations (posterior means) with covariance Σ:

* Gaussian total correlation: KL(N(0, Σ) ‖ N(0, diag Σ)) = ½ (Σ log Σ_ii − log det Σ);
* Gaussian Wasserstein correlation: the squared 2-Wasserstein distance between the same two
  Gaussians, 2 tr Σ − 2 tr (Σ diag(Σ))^{1/2};
* mutual information: the mean discrete mutual information between pairs of distinct codes (20
  bins each).

All are 0 for independent codes.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

from ...data.base import FactorDataset
from ...errors import DataError
from .ground_truth import Representation, codes_dataset, discretize, encode_all, identity
from .information import mutual_information
from .periodic import features, mask


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """TC of a Gaussian with covariance ``cov``: ½ (Σ log Σᵢᵢ − log det Σ) = −½ log det R for
    the correlation matrix R. Computed from R's eigenvalues, so that a singular covariance
    (duplicated or collinear codes) is +inf whatever rounding and memory layout give: an
    eigenvalue below ``d`` × 1e-12 counts as zero (``slogdet`` of a near-singular matrix
    returns a finite value that depends on the floating-point path)."""
    cov = np.asarray(cov, dtype=np.float64)
    var = np.diag(cov)
    if np.any(var <= 0) or not np.all(np.isfinite(cov)):
        return float("inf")
    scale = 1.0 / np.sqrt(var)
    corr = cov * scale[:, None] * scale[None, :]
    eigenvalues = np.linalg.eigvalsh((corr + corr.T) / 2)
    if eigenvalues.min() <= len(var) * 1e-12:
        return float("inf")
    return float(-0.5 * np.log(eigenvalues).sum())


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    root = scipy.linalg.sqrtm(cov * np.diag(cov)[None, :])
    return float(2 * np.trace(cov) - 2 * np.trace(np.real(root)))


def unsupervised_scores(
    data: FactorDataset | np.ndarray | torch.Tensor,
    represent: Representation | None = None,
    num_train: int = 10_000,
    bins: int = 20,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """Gaussian total correlation, Wasserstein correlation and mean pairwise mutual information.
    ``data`` may be codes ``(n, d)`` themselves (``represent`` is then unused: factors are not
    needed)."""
    if not isinstance(data, FactorDataset):
        data, represent = codes_dataset(data), identity
    g = torch.Generator().manual_seed(seed)
    if num_train <= len(data):  # distinct rows, as the supervised metrics draw them
        idx = torch.randperm(len(data), generator=g)[:num_train]
    else:
        idx = torch.randint(len(data), (num_train,), generator=g)
    codes = encode_all(represent, data.get_batch(idx).x)
    if codes.shape[1] < 2:
        raise DataError("the unsupervised scores need at least two code dimensions")
    if len(codes) < bins:
        raise DataError(f"{len(codes)} samples are fewer than the {bins} bins")
    flags = mask(periodic, codes.shape[1])
    cov = np.cov(features(codes, flags)[0], rowvar=False)  # angles as (cos, sin)
    discrete = discretize(codes, bins, flags)
    m = mutual_information(discrete, discrete)
    d = codes.shape[1]
    np.fill_diagonal(m, 0.0)
    return {
        "gaussian_total_correlation": gaussian_total_correlation(cov),
        "gaussian_wasserstein_correlation": gaussian_wasserstein_correlation(cov),
        "mutual_info_score": float(m.sum() / (d * d - d)),
    }
