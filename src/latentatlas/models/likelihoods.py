"""Decoder likelihoods p(x | z): the reconstruction term of the loss.

Each likelihood reads the decoder output ("params", same shape as x) and returns the negative
log-likelihood per sample, summed over all observation dimensions, with normalising constants
included so that numbers compare with the papers' tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from ..config import Config, field
from ..registry import LIKELIHOODS


class Likelihood(nn.Module):
    Config: ClassVar[type[Config]]
    registry_name: ClassVar[str] = ""

    def __init__(self, config: Config):
        super().__init__()
        self.config = config

    @classmethod
    def from_config(cls, config: Config) -> Likelihood:
        return cls(config)

    def nll(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """−log p(x | params) per sample, shape ``params.shape[:-len(x.shape[1:])]``."""
        raise NotImplementedError

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """The expected observation (the reconstruction shown to users)."""
        raise NotImplementedError


def _sum_event(t: torch.Tensor, event_dims: int) -> torch.Tensor:
    return t.flatten(start_dim=t.ndim - event_dims).sum(-1)


@dataclass(frozen=True)
class GaussianConfig(Config):
    sigma: float = field(0.1, gt=0.0, doc="fixed decoder standard deviation σX")


@LIKELIHOODS.register("gaussian")
class FixedGaussian(Likelihood):
    """N(x; μ, σX² I) with fixed σX: ½‖x − μ‖²/σX² + (D/2) log(2πσX²) (thesis eq. 4.10)."""

    Config = GaussianConfig

    def __init__(self, config: GaussianConfig):
        super().__init__(config)
        # a (non-persistent) buffer, not a Python float: an ensemble of models with different
        # σX stacks it like a parameter (train/ensemble.py)
        self.register_buffer("sigma", torch.tensor(float(config.sigma)), persistent=False)

    def nll(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        var = self.sigma.pow(2)
        event = x.ndim - 1
        d = math.prod(x.shape[1:])
        sq = _sum_event((x - params).pow(2), event)
        return 0.5 * sq / var + 0.5 * d * torch.log(2 * math.pi * var)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return params


@dataclass(frozen=True)
class SquaredErrorConfig(Config):
    pass


@LIKELIHOODS.register("squared_error")
class SquaredError(Likelihood):
    """Plain squared error ‖x − x̂‖² summed over the observation (atomic paper eq. 1).

    Not a normalised likelihood: the reconstruction loss of deterministic autoencoders, whose
    minimiser equals that of a fixed-σ Gaussian; reported numbers are sums of squared errors.
    """

    Config = SquaredErrorConfig

    def nll(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return _sum_event((x - params).pow(2), x.ndim - 1)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return params


@dataclass(frozen=True)
class BernoulliConfig(Config):
    pass


@LIKELIHOODS.register("bernoulli")
class Bernoulli(Likelihood):
    """Bernoulli on logits: binary cross-entropy summed over pixels (x may be in [0, 1])."""

    Config = BernoulliConfig

    def nll(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        target = x.expand_as(params)
        bce = F.binary_cross_entropy_with_logits(params, target, reduction="none")
        return _sum_event(bce, x.ndim - 1)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(params)
