"""UDR, Unsupervised Disentanglement Ranking (Duan et al. 2020, "Unsupervised model selection for
variational disentangled representation learning", sec. 3 and eq. 2), as disentanglement_lib's
``compute_udr_sklearn`` computes it.

UDR needs no factors: it compares **models** (typically one setting's seeds) on the same
observations. The idea (sec. 3): a disentangled representation is found again, up to
permutation and sign, by every seed; an entangled one is not.

For every ordered pair of models (a, b):

1. each model's codes (posterior means of the same ``num_points`` observations) are standardised,
   and its dimensions with a mean KL to the prior ≤ ``kl_threshold`` (0.01) are set to 0: they
   are inactive;
2. a similarity matrix R[i, j] ≥ 0 between code i of a and code j of b: the absolute
   coefficients of a Lasso regression (α = 0.1) of b's codes on a's (``"lasso"``), or the
   absolute Spearman correlations (``"spearman"``);
3. with ``filter_low_kl``, R keeps only the rows and columns of active dimensions;
4. the pair's score is eq. 2's relative strength: for each column (max_i R[i, j])² / Σ_i R[i, j]
   and for each row (max_j R[i, j])² / Σ_j R[i, j] (0 for an all-zero row or column), the mean
   of the column mean and the row mean. It is 1 when R is a scaled permutation: each active
   dimension of a matches exactly one of b.

A model's UDR is the median of its pairs' scores with it as b (the regression's target), over
every other model.

Checked against disentanglement_lib's ``udr.py`` on the models of ``tests/reference_inputs.py``
(docs/metrics.md). Deviations: one ``kl_threshold`` both zeroes and filters dimensions (the
reference zeroes at a fixed 0.01 and filters at its ``kl_filter_threshold``, also 0.01 by
default); a constant code's Spearman correlation is 0 where the reference's is NaN, which makes
every unfiltered Spearman score of models with an inactive dimension 0 there; a model with no
active dimension is refused with a clear error (the reference fails inside NumPy). Codes are
read as numbers on a line: models with angle latents are refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ...data.base import FactorDataset
from ...errors import DataError, UnknownNameError
from .ground_truth import check_codes, standardised

CORRELATIONS = ("lasso", "spearman")
"""The similarity matrices UDR can use."""


def gaussian_kl_per_dim(means: np.ndarray, logvars: np.ndarray) -> np.ndarray:
    """Mean over points of KL(N(μ, σ²) ‖ N(0, 1)) per dimension: ½ (μ² + σ² − log σ² − 1)."""
    return (0.5 * (means**2 + np.exp(logvars) - logvars - 1.0)).mean(0)


def relative_strength(r: np.ndarray) -> float:
    """Eq. 2 of Duan et al.: the mean of the columns' and the rows' (max)² / sum of a
    non-negative matrix (0 for an all-zero row or column)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = np.nan_to_num(r.max(0) ** 2 / r.sum(0))
        rows = np.nan_to_num(r.max(1) ** 2 / r.sum(1))
    return float((columns.mean() + rows.mean()) / 2)


def _ranks(codes: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(codes, axis=0)


def similarity(a: np.ndarray, b: np.ndarray, correlation: str, lasso_alpha: float) -> np.ndarray:
    """R[i, j] ≥ 0 between code i of ``a`` and code j of ``b`` (both standardised)."""
    if correlation == "lasso":
        from sklearn.linear_model import Lasso

        return np.abs(Lasso(alpha=lasso_alpha).fit(a, b).coef_).T
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(0), rb - rb.mean(0)
    norms = np.outer(np.linalg.norm(ra, axis=0), np.linalg.norm(rb, axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(np.where(norms > 0, ra.T @ rb / norms, 0.0))


def udr_from(
    codes: Sequence[np.ndarray],
    kls: Sequence[np.ndarray] | None = None,
    correlation: str = "lasso",
    filter_low_kl: bool = True,
    kl_threshold: float = 0.01,
    lasso_alpha: float = 0.1,
) -> dict[str, np.ndarray]:
    """UDR of models given their codes of the same observations (each ``(n, d_m)``) and the mean
    KL of each dimension (``(d_m,)``; None: every dimension active): ``model_scores`` (m,),
    ``pairwise`` (m, m: row a, column b, 0 on the diagonal) and ``active`` (per model)."""
    if correlation not in CORRELATIONS:
        raise UnknownNameError("UDR correlation", correlation, list(CORRELATIONS))
    codes = [check_codes(c, what=f"model {m}'s codes") for m, c in enumerate(codes)]
    if len(codes) < 2:
        raise DataError(f"UDR compares models: expected at least 2, got {len(codes)}")
    n = len(codes[0])
    if any(len(c) != n for c in codes):
        raise DataError(
            "UDR: every model's codes must be of the same observations; got "
            + ", ".join(str(len(c)) for c in codes)
            + " rows"
        )
    if kls is None:
        kls = [np.full(c.shape[1], np.inf) for c in codes]
    kls = [np.asarray(k, dtype=np.float64).reshape(-1) for k in kls]
    if len(kls) != len(codes) or any(len(k) != c.shape[1] for k, c in zip(kls, codes)):
        raise DataError("UDR: expected one KL per code dimension of every model")
    active = [k > kl_threshold for k in kls]
    for m, a in enumerate(active):
        if not a.any():
            raise DataError(
                f"UDR: model {m} has no dimension with a mean KL above {kl_threshold} "
                "(it encodes nothing)"
            )
    prepared = [standardised(c) * a for c, a in zip(codes, active)]
    m = len(codes)
    pairwise = np.zeros((m, m))
    for a in range(m):
        for b in range(m):
            if a == b:
                continue
            r = similarity(prepared[a], prepared[b], correlation, lasso_alpha)
            if filter_low_kl:
                r = r[active[a]][:, active[b]]
            pairwise[a, b] = relative_strength(r)
    scores = np.array([np.median(np.delete(pairwise[:, b], b)) for b in range(m)])
    return {"model_scores": scores, "pairwise": pairwise, "active": active}


def model_codes_and_kl(
    model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """A model's posterior means of ``x`` and the mean KL of each latent dimension."""
    from .periodic import periodic_codes_of

    if periodic_codes_of(model) is not None:
        raise DataError(
            "UDR reads codes as numbers on a line; a model with angle latents (circle, torus) "
            "cannot be compared by it"
        )
    means, kls = [], []
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                posterior = model.encode(x[start : start + batch_size])
                means.append(model.latent.mean(posterior).reshape(len(posterior.mean), -1))
                kls.append(model.latent.kl_per_dim(posterior))
    except NotImplementedError:
        raise DataError(
            f"UDR needs the KL of each latent dimension, and {type(model.latent).__name__} does "
            "not split its KL over dimensions"
        ) from None
    finally:
        model.train(was)
    codes = torch.cat(means).double().numpy()
    kl = torch.cat(kls).double().mean(0).numpy()
    return codes, kl


def udr(
    models: Sequence[torch.nn.Module],
    dataset: FactorDataset,
    num_points: int = 10_000,
    correlation: str = "lasso",
    seed: int = 0,
    filter_low_kl: bool = True,
    kl_threshold: float = 0.01,
) -> dict[str, np.ndarray]:
    """UDR of trained ``models`` on ``num_points`` observations of ``dataset`` drawn once for all
    (distinct rows while the dataset has enough): see :func:`udr_from`, whose result this is,
    with ``kl`` per model added."""
    g = torch.Generator().manual_seed(seed)
    if num_points <= len(dataset):
        idx = torch.randperm(len(dataset), generator=g)[:num_points]
    else:
        idx = torch.randint(len(dataset), (num_points,), generator=g)
    x = dataset.get_batch(idx).x
    pairs = [model_codes_and_kl(model, x) for model in models]
    out = udr_from(
        [c for c, _ in pairs],
        [k for _, k in pairs],
        correlation,
        filter_low_kl,
        kl_threshold,
    )
    out["kl"] = [k for _, k in pairs]
    return out
