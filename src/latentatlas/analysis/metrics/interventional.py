"""Scores from batches with factors held fixed: the BetaVAE score (Higgins et al. 2017) and the
FactorVAE score (Kim and Mnih 2018), with the defaults of Locatello et al. (2019), and Z-max-var
(Kim et al. 2019), with the defaults of the review of Carbonneau et al. (2022).

* BetaVAE: for a random factor k, draw a batch of 64 pairs of observations that share the value
  of v_k (the others free) and take the mean absolute difference of their codes; a logistic
  regression (on standardised features) predicts k from that vector. Score = its accuracy on
  held-out points (10 000 train, 5 000 eval).
* FactorVAE: codes are divided by their standard deviation over 10 000 observations; dimensions
  whose standard deviation is below 0.05 are pruned (collapsed latents). For a random k, a batch of
  64 observations with v_k fixed votes for the dimension of least variance; a majority-vote
  classifier maps each dimension to the factor it most often indicates. Score = its accuracy on
  held-out votes (10 000 train, 5 000 eval); 0 when every dimension is pruned.
* Z-max-var: the reverse intervention. A batch of 200 observations shares every factor but k;
  the code varying most relative to its global variance votes for k (dimensions spreading less
  than 0.02 pruned); the majority-vote accuracy over 800 + 800 votes, rescaled so that chance is
  0. On data that are rows, a batch is the rows of one combination of the other factors found in
  at least two rows (chosen uniformly among such combinations), repeated in shuffled passes to
  fill the batch, as the review's code does.
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


def _variance_votes(
    gt: GroundTruth,
    represent: Representation,
    batches,
    pick_largest: bool,
    batch_size: int,
    num_train: int,
    num_eval: int,
    num_variance_estimate: int,
    threshold: float,
    seed: int,
    periodic: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The vote tables (factors × codes; train, eval) of the variance-vote scores, and which
    codes are active, or None when no code is: codes scaled by their spread over
    ``num_variance_estimate`` observations, those spreading less than ``threshold`` pruned; each
    point is a batch from ``batches(factors, batch_size, g)`` (block i about factor
    ``factors[i]``) and votes for the code whose variance relative to its global one is least
    (FactorVAE) or largest (``pick_largest``: Z-max-var)."""
    _check_two_factors(gt)  # also when no code is active (refused, not scored 0)
    g = torch.Generator().manual_seed(seed)
    x, _, _ = gt.sample(num_variance_estimate, g)
    codes = encode_all(represent, x)
    flags = mask(periodic, codes.shape[1])
    r_global = resultant(codes)
    circular_std = np.sqrt(-2 * np.log(np.clip(r_global, 1e-12, 1.0)))
    scale = np.where(flags, circular_std, codes.std(axis=0, ddof=1))
    active = scale >= threshold
    if not active.any():
        return None
    kept = np.flatnonzero(active)

    def votes(n: int) -> np.ndarray:
        table = np.zeros((gt.num_factors, len(scale)), dtype=np.int64)
        factors = _factor_indices(gt, n, g)
        for start in range(0, n, CHUNK):
            chunk = factors[start : start + CHUNK]
            codes = encode_all(represent, batches(chunk, batch_size, g))[:, kept]
            blocks = codes.reshape(len(chunk), batch_size, -1)
            linear = blocks.var(axis=1, ddof=1) / scale[kept] ** 2
            # periodic codes: circular variance relative to the global one
            circular = (1 - resultant(blocks, axis=1)) / np.maximum(1 - r_global[kept], 1e-12)
            variances = np.where(flags[kept], circular, linear)
            chosen = variances.argmax(1) if pick_largest else variances.argmin(1)
            np.add.at(table, (chunk, kept[chosen]), 1)
        return table

    return votes(num_train), votes(num_eval), active


def _vote_accuracies(train: np.ndarray, evaluation: np.ndarray) -> tuple[float, float]:
    """Train and eval accuracy of the majority-vote classifier (each code → the factor it voted
    for most in training)."""
    best = train.argmax(axis=0)
    cols = np.arange(train.shape[1])
    return (
        float(train[best, cols].sum() / max(train.sum(), 1)),
        float(evaluation[best, cols].sum() / max(evaluation.sum(), 1)),
    )


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
    tables = _variance_votes(
        gt,
        represent,
        gt.sample_fixed,
        False,
        batch_size,
        num_train,
        num_eval,
        num_variance_estimate,
        PRUNE_THRESHOLD,
        seed,
        periodic,
    )
    if tables is None:
        return {"factor_vae_train": 0.0, "factor_vae": 0.0, "factor_vae_active_dims": 0.0}
    train, evaluation, active = tables
    train_accuracy, eval_accuracy = _vote_accuracies(train, evaluation)
    return {
        "factor_vae_train": train_accuracy,
        "factor_vae": eval_accuracy,
        "factor_vae_active_dims": float(active.sum()),
    }


@accepts_codes
def z_max_var(
    gt: GroundTruth,
    represent: Representation,
    batch_size: int = 200,
    num_train: int = 800,
    num_eval: int = 800,
    num_variance_estimate: int = 10_000,
    threshold: float = 0.02,
    seed: int = 0,
    periodic: np.ndarray | None = None,
) -> dict[str, float]:
    """Z-max-var (Kim et al. 2019, the Relevance Factor VAE's score) as the review of Carbonneau
    et al. (2022) computes it: every factor but one held fixed in a batch of ``batch_size``, the
    vote goes to the code that varies most relative to its global variance; the majority-vote
    accuracy rescaled so that chance is 0, (acc − 1/K)/(1 − 1/K) for K factors. Defaults: the
    review's settings (800 + 800 votes of 200 observations, codes spreading less than 0.02
    pruned)."""
    tables = _variance_votes(
        gt,
        represent,
        gt.sample_others_fixed,
        True,
        batch_size,
        num_train,
        num_eval,
        num_variance_estimate,
        threshold,
        seed,
        periodic,
    )
    if tables is None:
        return {"z_max_var_train": 0.0, "z_max_var": 0.0, "z_max_var_active_dims": 0.0}
    train, evaluation, active = tables
    chance = 1.0 / gt.num_factors
    train_accuracy, eval_accuracy = (
        (a - chance) / (1 - chance) for a in _vote_accuracies(train, evaluation)
    )
    return {
        "z_max_var_train": train_accuracy,
        "z_max_var": eval_accuracy,
        "z_max_var_active_dims": float(active.sum()),
    }
