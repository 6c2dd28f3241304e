"""The VAE variants of the disentanglement study of Locatello et al. (2019), each a small hook over
the VAE (its regulariser, and for FactorVAE a discriminator trained in its own steps).

=================  ==========================================================================
``beta_vae``       β·KL (Higgins et al. 2017; ``models.vae``)
``annealed_vae``   γ·|KL − C|, C rising linearly from 0 to ``c_max`` over ``iteration_threshold``
                   steps (Burgess et al. 2018); KL is the batch mean
``beta_tcvae``     KL + (β − 1)·TC, TC estimated on the batch with minibatch-weighted sampling
                   (Chen et al. 2018, eq. 8), using the dataset size N
``dip_vae``        KL + λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)², C the covariance of the
                   posterior means over the batch (type i) or that plus the mean posterior
                   variance (type ii) (Kumar et al. 2018)
``factor_vae``     KL + γ·TC, TC = E[log D(z) − log(1 − D(z))] from a discriminator D that
                   tells q(z) from the product of its marginals (the batch with each dimension
                   permuted) and trains in its own Adam step after each VAE step (Kim and Mnih
                   2018)
=================  ==========================================================================

Batch-level terms (|KL − C|, TC, the DIP penalty) are returned per sample as the batch value, so
the loss (the batch mean of the per-sample terms) is exactly the published objective. Defaults are
those of the study: batch 64, 10 latents, Adam 1e-4; FactorVAE's discriminator 6 dense layers of
1000 units (LeakyReLU 0.2), Adam 1e-4 with β = (0.5, 0.9). :func:`locatello_spec` writes the
study's 64×64 conv encoder/decoder and Bernoulli likelihood around any of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import distributions as D
from torch import nn

from ..config import field
from ..errors import ConfigError
from ..registry import MODELS
from .base import AuxiliaryStep
from .vae import VAE, VAEConfig


def _batch_value(value: torch.Tensor, n: int) -> torch.Tensor:
    """A batch-level scalar as a per-sample vector whose mean is the scalar."""
    return value.expand(n)


def _gaussian(posterior: D.Distribution) -> tuple[torch.Tensor, torch.Tensor]:
    base = getattr(posterior, "base_dist", None)
    if not isinstance(base, D.Normal):
        raise ConfigError("this model needs a Gaussian posterior: use the euclidean latent space")
    return base.loc, base.scale


# -- annealed capacity --------------------------------------------------------------------------
@dataclass(frozen=True)
class AnnealedVAEConfig(VAEConfig):
    gamma: float = field(1000.0, ge=0.0, doc="weight γ of |KL − C|")
    c_max: float = field(25.0, ge=0.0, doc="final capacity C (nats)")
    iteration_threshold: int = field(100_000, ge=1, doc="steps over which C grows from 0 to c_max")


@MODELS.register("annealed_vae")
class AnnealedVAE(VAE):
    """Annealed-capacity VAE (Burgess et al. 2018): γ·|KL − C(step)|."""

    Config = AnnealedVAEConfig

    def __init__(self, config: AnnealedVAEConfig):
        super().__init__(config)
        self.capacity = 0.0

    def curriculum(self, step: int, total: int) -> None:
        cfg = self.config
        self.capacity = min(cfg.c_max, cfg.c_max * step / cfg.iteration_threshold)

    def regularizer(self, posterior: D.Distribution, z: torch.Tensor) -> dict[str, torch.Tensor]:
        kl = self.latent.kl(posterior)
        gap = (kl.mean() - self.capacity).abs()
        return {"kl": kl, "capacity_gap": _batch_value(gap, len(kl))}

    def term_weights(self) -> dict[str, float]:
        return {"kl": 0.0, "capacity_gap": self.config.gamma}


# -- β-TCVAE --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BetaTCVAEConfig(VAEConfig):
    beta: float = field(6.0, ge=0.0, doc="weight β of the total correlation (KL + (β − 1)·TC)")
    dataset_size: int = field(0, ge=0, doc="N, the number of training samples (0: filled in)")


def minibatch_weighted_tc(
    z: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, dataset_size: int
) -> torch.Tensor:
    """TC = E[log q(z) − Σ_j log q(z_j)] with the minibatch-weighted sampling estimator:
    log q(z_i) ≈ logsumexp_k log q(z_i | x_k) − log(N·M) (Chen et al. 2018, eq. 8), and the
    same per dimension for the marginals; M is the batch size.

    The estimator is biased (the bias shows in its value more than in its gradient): for
    posteriors equal to the prior it returns (d − 1)·log N, not 0 (tested). Compare TC values
    between runs with the same N and d only."""
    m = len(z)
    # no argument validation: a NaN must reach the loss, where the trainer reports divergence
    log_q = D.Normal(loc[None], scale[None], validate_args=False).log_prob(z[:, None])  # (M, M, d)
    constant = math.log(max(dataset_size, m) * m)
    log_qz = torch.logsumexp(log_q.sum(2), dim=1) - constant
    log_marginals = (torch.logsumexp(log_q, dim=1) - constant).sum(1)
    return (log_qz - log_marginals).mean()


@MODELS.register("beta_tcvae")
class BetaTCVAE(VAE):
    """β-TCVAE (Chen et al. 2018): KL + (β − 1)·TC."""

    Config = BetaTCVAEConfig

    def regularizer(self, posterior: D.Distribution, z: torch.Tensor) -> dict[str, torch.Tensor]:
        kl = self.latent.kl(posterior)
        loc, scale = _gaussian(posterior)
        tc = minibatch_weighted_tc(z[0], loc, scale, self.config.dataset_size)
        return {"kl": kl, "total_correlation": _batch_value(tc, len(kl))}

    def term_weights(self) -> dict[str, float]:
        return {"kl": 1.0, "total_correlation": self.config.beta - 1.0}


# -- DIP-VAE --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DIPVAEConfig(VAEConfig):
    beta: float = field(1.0, ge=0.0, doc="weight of the KL term")
    dip_type: str = field(
        "i", choices=("i", "ii"), doc="i: covariance of the means; ii: + variances"
    )
    lambda_od: float = field(10.0, ge=0.0, doc="weight λ_od of the off-diagonal penalty")
    lambda_d: float | None = field(
        None, ge=0.0, doc="weight λ_d of the diagonal penalty (default 10·λ_od for i, λ_od for ii)"
    )


def dip_penalty(
    loc: torch.Tensor, scale: torch.Tensor, dip_type: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ_{i≠j} C_ij², Σ_i (C_ii − 1)²) of the batch covariance C of q(z) (DIP-VAE i or ii)."""
    centred = loc - loc.mean(0)
    cov = centred.T @ centred / len(loc)
    if dip_type == "ii":
        cov = cov + torch.diag(scale.pow(2).mean(0))
    diag = torch.diagonal(cov)
    off = cov - torch.diag(diag)
    return off.pow(2).sum(), (diag - 1).pow(2).sum()


@MODELS.register("dip_vae")
class DIPVAE(VAE):
    """DIP-VAE (Kumar et al. 2018), type i or ii."""

    Config = DIPVAEConfig

    def regularizer(self, posterior: D.Distribution, z: torch.Tensor) -> dict[str, torch.Tensor]:
        kl = self.latent.kl(posterior)
        loc, scale = _gaussian(posterior)
        off, diag = dip_penalty(loc, scale, self.config.dip_type)
        n = len(kl)
        return {
            "kl": kl,
            "dip_off_diagonal": _batch_value(off, n),
            "dip_diagonal": _batch_value(diag, n),
        }

    def term_weights(self) -> dict[str, float]:
        cfg = self.config
        lambda_d = cfg.lambda_d
        if lambda_d is None:
            lambda_d = 10 * cfg.lambda_od if cfg.dip_type == "i" else cfg.lambda_od
        return {"kl": cfg.beta, "dip_off_diagonal": cfg.lambda_od, "dip_diagonal": lambda_d}


# -- FactorVAE ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FactorVAEConfig(VAEConfig):
    beta: float = field(1.0, ge=0.0, doc="weight of the KL term")
    gamma: float = field(10.0, ge=0.0, doc="weight γ of the total correlation")
    discriminator_units: int = field(1000, ge=1, doc="units of each discriminator layer")
    discriminator_layers: int = field(6, ge=1, doc="dense layers of the discriminator")
    discriminator_lr: float = field(1e-4, gt=0.0, doc="Adam learning rate of the discriminator")
    discriminator_betas: tuple[float, float] = field(
        (0.5, 0.9), ge=0.0, lt=1.0, doc="Adam betas of the discriminator"
    )


def permute_dims(z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each dimension shuffled independently over the batch: samples of Π_j q(z_j)."""
    idx = torch.stack([torch.randperm(len(z), generator=generator) for _ in range(z.shape[1])], 1)
    return torch.gather(z, 0, idx.to(z.device))


@MODELS.register("factor_vae")
class FactorVAE(VAE):
    """FactorVAE (Kim and Mnih 2018): KL + γ·TC with a density-ratio discriminator."""

    Config = FactorVAEConfig

    def __init__(self, config: FactorVAEConfig):
        super().__init__(config)
        layers: list[nn.Module] = []
        width = self.latent.dim
        for _ in range(config.discriminator_layers):
            layers += [nn.Linear(width, config.discriminator_units), nn.LeakyReLU(0.2)]
            width = config.discriminator_units
        layers.append(nn.Linear(width, 2))  # logits of (q(z), Π_j q(z_j))
        self.discriminator = nn.Sequential(*layers)

    def regularizer(self, posterior: D.Distribution, z: torch.Tensor) -> dict[str, torch.Tensor]:
        kl = self.latent.kl(posterior)
        logits = self.discriminator(z[0])
        tc = (logits[:, 0] - logits[:, 1]).mean()
        return {"kl": kl, "total_correlation": _batch_value(tc, len(kl))}

    def term_weights(self) -> dict[str, float]:
        return {"kl": self.config.beta, "total_correlation": self.config.gamma}

    def optimized_parameters(self) -> list[nn.Parameter]:
        """The VAE's parameters: the discriminator trains in its own step."""
        own = {id(p) for p in self.discriminator.parameters()}
        return [p for p in self.parameters() if id(p) not in own]

    def discriminator_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of D on codes of ``x`` (class 0) and their dimension-permuted copies
        (class 1); codes without gradient: only D learns from it."""
        with torch.no_grad():
            posterior = self.encode(x)
            z = self.latent.sample(posterior, 1)[0]
            shuffled = permute_dims(z)
        logits = self.discriminator(torch.cat([z, shuffled]))
        target = torch.cat([torch.zeros(len(z)), torch.ones(len(z))]).long().to(logits.device)
        return nn.functional.cross_entropy(logits, target)

    def auxiliary_steps(self) -> list[AuxiliaryStep]:
        cfg = self.config
        return [
            AuxiliaryStep(
                "discriminator",
                lambda model, x: model.discriminator_loss(x),
                list(self.discriminator.parameters()),
                cfg.discriminator_lr,
                tuple(cfg.discriminator_betas),
            )
        ]


# -- the study's networks ---------------------------------------------------------------------
def locatello_spec(model: str = "beta_vae", channels: int = 1, **hyper) -> dict:
    """A model of the study with its 64×64 conv encoder and decoder and Bernoulli likelihood:
    encoder convs 32, 32, 64, 64 (4×4, stride 2, ReLU), dense 256, 10 Gaussian latents; decoder
    dense 256 → 4×4×64, transposed convs 64, 32, 32, ``channels``."""
    if model not in ("beta_vae", "annealed_vae", "beta_tcvae", "dip_vae", "factor_vae", "vae"):
        raise ConfigError(f"model: {model!r} is not one of the study's models")
    return {
        "name": model,
        "latent": {"name": "euclidean", "dim": hyper.pop("latent_dim", 10)},
        "encoder": {"name": "conv_encoder", "channels": [32, 32, 64, 64], "dense": [256]},
        "decoder": {"name": "conv_decoder", "dense": [256], "channels": [64, 64, 32, 32]},
        "likelihood": {"name": "bernoulli"},
        **hyper,
    }


STUDY_TRAINING = {"batch_size": 64, "lr": 1e-4, "optimizer": "adam", "steps": 300_000}
"""The study's training settings (Adam 1e-4, batch 64, 300 000 steps)."""
