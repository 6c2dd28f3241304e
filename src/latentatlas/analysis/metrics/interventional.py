"""Scores from batches with one factor held fixed: the BetaVAE score (Higgins et al. 2017) and the
FactorVAE score (Kim and Mnih 2018), with the defaults of Locatello et al. (2019).

* BetaVAE: for a random factor k, draw a batch of 64 pairs of observations that share the value
  of v_k (the others free) and take the mean absolute difference of their codes; a logistic
  regression (on standardised features) predicts k from that vector. Score = its accuracy on
  held-out points (10 000 train, 5 000 eval).
* FactorVAE: codes are divided by their standard deviation over 10 000 observations; dimensions
  whose standard deviation is below 0.05 are pruned (collapsed latents). For a random k, a batch of
  64 observations with v_k fixed votes for the dimension of least variance; a majority-vote
  classifier maps each dimension to the factor it most often indicates. Score = its accuracy on
  held-out votes (10 000 train, 5 000 eval); 0 when every dimension is pruned.
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DataError
from .ground_truth import GroundTruth, Representation, accepts_codes, encode_all
from .periodic import difference, mask, resultant

PRUNE_THRESHOLD = 0.05
"""Dimensions whose standard deviation is below this are ignored by the FactorVAE score."""


CHUNK = 64
"""Points (each a batch of observations) rendered and encoded together."""


def _check_two_factors(gt: GroundTruth) -> None:
    if gt.num_factors < 2:
        raise DataError(
            "the BetaVAE and FactorVAE scores predict which factor was held fixed: they need at "
            f"least two factors, this dataset has {gt.num_factors}"
        )


def _factor_indices(gt: GroundTruth, n: int, g: torch.Generator) -> np.ndarray:
    _check_two_factors(gt)
    return torch.randint(gt.num_factors, (n,), generator=g).numpy()


@accepts_codes
def beta_vae_score(
    gt: GroundTruth,
    represent: Representation,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """The BetaVAE score (train and eval accuracy of the factor-index classifier)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    g = torch.Generator().manual_seed(seed)

    def points(n: int) -> tuple[np.ndarray, np.ndarray]:
        factors = _factor_indices(gt, n, g)
        feats = []
        for start in range(0, n, CHUNK):
            chunk = factors[start : start + CHUNK]
            a, b = gt.sample_pairs(chunk, batch_size, g)
            za, zb = encode_all(represent, a), encode_all(represent, b)
            diff = difference(za, zb, mask(periodic, za.shape[1]))
            feats.append(diff.reshape(len(chunk), batch_size, -1).mean(1))
        return np.concatenate(feats), factors

    x_train, y_train = points(num_train)
    x_eval, y_eval = points(num_eval)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    return {
        "beta_vae_train": float(clf.score(x_train, y_train)),
        "beta_vae": float(clf.score(x_eval, y_eval)),
    }


@accepts_codes
def factor_vae_score(
    gt: GroundTruth,
    represent: Representation,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    num_variance_estimate: int = 10_000,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """The FactorVAE score (majority-vote accuracy) and the number of active dimensions."""
    _check_two_factors(gt)  # also when no code is active (refused, not scored 0)
    g = torch.Generator().manual_seed(seed)
    x, _, _ = gt.sample(num_variance_estimate, g)
    codes = encode_all(represent, x)
    flags = mask(periodic, codes.shape[1])
    r_global = resultant(codes)
    circular_std = np.sqrt(-2 * np.log(np.clip(r_global, 1e-12, 1.0)))
    scale = np.where(flags, circular_std, codes.std(axis=0, ddof=1))
    active = scale >= PRUNE_THRESHOLD
    if not active.any():
        return {"factor_vae_train": 0.0, "factor_vae": 0.0, "factor_vae_active_dims": 0.0}
    kept = np.flatnonzero(active)

    def votes(n: int) -> np.ndarray:
        table = np.zeros((gt.num_factors, len(scale)), dtype=np.int64)
        factors = _factor_indices(gt, n, g)
        for start in range(0, n, CHUNK):
            chunk = factors[start : start + CHUNK]
            codes = encode_all(represent, gt.sample_fixed(chunk, batch_size, g))[:, kept]
            blocks = codes.reshape(len(chunk), batch_size, -1)
            linear = blocks.var(axis=1, ddof=1) / scale[kept] ** 2
            # periodic codes: circular variance relative to the global one
            circular = (1 - resultant(blocks, axis=1)) / np.maximum(1 - r_global[kept], 1e-12)
            variances = np.where(flags[kept], circular, linear)
            np.add.at(table, (chunk, kept[variances.argmin(1)]), 1)
        return table

    train, evaluation = votes(num_train), votes(num_eval)
    best = train.argmax(axis=0)  # the factor each dimension votes for most
    cols = np.arange(train.shape[1])
    return {
        "factor_vae_train": float(train[best, cols].sum() / max(train.sum(), 1)),
        "factor_vae": float(evaluation[best, cols].sum() / max(evaluation.sum(), 1)),
        "factor_vae_active_dims": float(active.sum()),
    }
