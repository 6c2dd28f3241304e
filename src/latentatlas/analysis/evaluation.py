"""Evaluation of a trained (V)AE as in the thesis (eq. 5.7-5.10).

On an evaluation set X (X_Vis for the sine circle):

* MSE (eq. 5.7-5.8): mean over x of ‖x − μX(μZ(x))‖², the squared error of the mean
  reconstruction, summed over dimensions;
* reconstruction (eq. 5.9): the Monte-Carlo estimate with L samples of E_q[−log p(x|z)], with the
  Gaussian constant (D/2) log(2πσX²) included (the likelihood's NLL);
* KL (eq. 5.10): KL(q(z|x) ‖ p(z)) averaged over X (closed form for Gaussian posteriors);
* −ELBO = reconstruction + KL;
* log-likelihood: the importance-weighted estimate of log p(x) with the same L posterior samples
  (Burda et al. 2016, eq. 8: log (1/L) Σₗ p(x|zₗ) p(zₗ) / q(zₗ|x)), a lower bound on log p(x)
  that is at least the ELBO in expectation and tends to log p(x) as L grows: what pythae
  reports beside the ELBO. None for a model without a prior (an autoencoder) or whose posterior
  has no density.

Eq. 5.9 as printed omits the ½ in front of ‖x − μ‖²/σX²; the likelihood of eq. 4.10, which the
model is trained with, has it, so it is included here. Table 5.1 confirms the constant (each
reconstruction entry sits just above (D/2) log(2πσX²): −92.16, −34.59, 22.97 for σX = 0.01, 0.1,
1 and D = 25) but cannot tell the ½ apart; our demo run does (−33.55 with it, −32.51 without,
against the thesis's −33.77 ± 0.06). Results are per data point, averaged over X.

The reconstruction and MSE go through the model's own hooks (``reconstruction_nll``,
``reconstruct``), so a variant that overrides them is evaluated as it is trained.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from ..data.base import check_observations
from ..errors import ConfigError
from ..memory import allocation_errors
from ..threads import thread_count, training_threads


@dataclass(frozen=True)
class EvaluationResult:
    """Per-data-point averages over the evaluation set (thesis table 5.1 columns)."""

    neg_elbo: float | None
    kl: float | None
    reconstruction: float
    mse: float
    n_points: int
    n_samples: int
    log_likelihood: float | None = None
    """the importance-weighted estimate of log p(x) with the n_samples samples (module doc)"""

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


DECODED_VALUES = 2**24
"""The most decoded values (L samples × points × values per observation) evaluated at once:
64 MB of decoder outputs, whose convolutional activations are up to ~16× larger. L = 100
samples of 1000 64×64 images at once asked for ~25 GB and were killed on a 24 GB machine."""


def points_per_block(n_samples: int, values_per_point: int, batch_size: int) -> int:
    """How many points :func:`evaluate` decodes together: ``batch_size``, fewer when their
    ``n_samples`` decodings would exceed :data:`DECODED_VALUES` (at least 1)."""
    return max(1, min(batch_size, DECODED_VALUES // max(1, n_samples * values_per_point)))


def evaluate(
    model: torch.nn.Module,
    x: torch.Tensor,
    n_samples: int = 100,
    seed: int = 0,
    batch_size: int = 1000,
) -> EvaluationResult:
    """−ELBO, KL, reconstruction (L = ``n_samples``) and MSE of ``model`` on ``x``, in blocks
    of at most ``batch_size`` points, fewer for large observations
    (:func:`points_per_block`).

    The sampling noise comes from a private generator seeded by ``seed``, so the result is
    reproducible and does not disturb the global RNG.
    """
    x = check_observations(x, "evaluation data")
    for name, value, low in (
        ("n_samples", n_samples, 1),
        ("batch_size", batch_size, 1),
        ("seed", seed, 0),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**63:
            raise ConfigError(
                f"{name}: expected an integer, at least {low} and below 2**63, got {value!r:.60}"
            )
    model.check_input(x)
    batch_size = points_per_block(n_samples, x[:1].numel(), batch_size)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    totals = {"recon": 0.0, "kl": 0.0, "se": 0.0, "ll": 0.0}
    weighted = True  # whether the posterior has a density (the log-likelihood estimate)
    has_kl = getattr(model.latent, "has_prior", False)
    g = torch.Generator(device=device).manual_seed(seed)
    # threads by the size of the work: n_samples decodes per point weigh like n_samples models
    threads = training_threads(model, x[:batch_size].to(device), members=n_samples)
    try:
        with (
            torch.no_grad(),
            allocation_errors("evaluation (posterior samples × batch)"),
            thread_count(threads),
        ):
            for start in range(0, x.shape[0], batch_size):
                xb = x[start : start + batch_size].to(device)
                posterior = model.encode(xb)
                z = model.latent.sample(posterior, n_samples, g)
                params = model.decode(z)
                totals["recon"] += float(model.reconstruction_nll(xb, params).sum())
                if has_kl:
                    totals["kl"] += float(model.latent.kl(posterior, generator=g).sum())
                    if weighted:
                        try:
                            totals["ll"] += float(_log_likelihood(model, xb, posterior, z, params))
                        except NotImplementedError:
                            weighted = False
                recon = model.reconstruct(xb)
                totals["se"] += float((xb - recon).pow(2).flatten(1).sum(1).sum())
    finally:
        model.train(was_training)
    n = x.shape[0]
    recon, kl = totals["recon"] / n, totals["kl"] / n
    return EvaluationResult(
        neg_elbo=recon + kl if has_kl else None,
        kl=kl if has_kl else None,
        reconstruction=recon,
        mse=totals["se"] / n,
        n_points=n,
        n_samples=n_samples,
        log_likelihood=totals["ll"] / n if has_kl and weighted else None,
    )


def _log_likelihood(
    model: torch.nn.Module, x: torch.Tensor, posterior, z: torch.Tensor, params: torch.Tensor
) -> torch.Tensor:
    """Σ over the batch of log (1/L) Σₗ p(x|zₗ) p(zₗ) / q(zₗ|x) (Burda et al. 2016, eq. 8),
    from the L samples ``z`` ``(L, n, d)`` of ``posterior`` and their decodings ``params``."""
    log_w = (
        -model.likelihood.nll(x, params) + model.latent.prior().log_prob(z) - posterior.log_prob(z)
    )
    samples = torch.tensor(float(z.shape[0]), dtype=log_w.dtype)
    return (torch.logsumexp(log_w, 0) - torch.log(samples)).sum()


def evaluation_metrics(
    x: torch.Tensor, n_samples: int = 10
) -> Callable[[torch.nn.Module], dict[str, float]]:
    """A function model → the float metrics of :func:`evaluate` on ``x`` (for periodic
    evaluation during training, e.g. wrapped in a ``PeriodicCallback``)."""

    def metrics(model: torch.nn.Module) -> dict[str, float]:
        values = evaluate(model, x, n_samples=n_samples).to_dict()
        return {k: v for k, v in values.items() if isinstance(v, float)}

    return metrics
