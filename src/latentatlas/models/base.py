"""The Autoencoder contract and its base implementation.

``encode(x) -> posterior``, ``decode(z) -> likelihood params``, ``forward(x) -> Output``. The
training step is written once, in :meth:`Autoencoder.forward`; variants override small hooks:

* :meth:`Autoencoder.regularizer` — the terms added to the reconstruction (none for a plain AE,
  β·KL for a β-VAE, ...);
* :meth:`Autoencoder.reconstruction_nll` — the reconstruction term (the likelihood's NLL).

The loss is the mean over the batch of reconstruction + regulariser, with the reconstruction
averaged over ``n_samples`` (L) posterior samples (thesis eq. 4.11).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import distributions as D
from torch import nn

from ..config import Config, field
from ..errors import ConfigError, DataError
from ..latent.base import LatentSpace
from ..registry import LATENT_SPACES, LIKELIHOODS, NETWORKS, build, check_spec


@dataclass
class Output:
    """What ``forward`` returns: the loss to minimise and its named terms (batch means)."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor]
    posterior: D.Distribution | None = None
    params: torch.Tensor | None = None

    def scalars(self) -> dict[str, float]:
        """Loss and terms as Python floats (for logging)."""
        return {
            "loss": float(self.loss.detach()),
            **{k: float(v.detach()) for k, v in self.terms.items()},
        }


@dataclass
class AuxiliaryStep:
    """A step a model takes besides its loss (e.g. FactorVAE's discriminator): after each
    training step the trainer makes one Adam step of ``loss(model, x)`` on ``parameters`` with
    the batch just used (``train.auxiliary``; its optimiser state is checkpointed)."""

    name: str
    loss: Any
    parameters: list
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)


@dataclass(frozen=True)
class AutoencoderConfig(Config):
    input_shape: tuple[int, ...] = field((), ge=1, doc="observation shape; filled from the dataset")
    latent: dict = field(
        default_factory=lambda: {"name": "point", "dim": 2},
        spec=LATENT_SPACES,
        doc="latent space {name, ...}",
    )
    encoder: dict = field(
        default_factory=lambda: {"name": "mlp"}, spec=NETWORKS, doc="encoder network {name, ...}"
    )
    decoder: dict = field(
        default_factory=lambda: {"name": "mlp"}, spec=NETWORKS, doc="decoder network {name, ...}"
    )
    likelihood: dict = field(
        default_factory=lambda: {"name": "gaussian", "sigma": 0.1},
        spec=LIKELIHOODS,
        doc="p(x|z) {name, ...}",
    )
    n_samples: int = field(1, ge=1, doc="posterior samples L per data point in the loss")

    def validate(self) -> None:
        check_spec(LATENT_SPACES, self.latent, "latent")
        check_spec(NETWORKS, self.encoder, "encoder")
        check_spec(NETWORKS, self.decoder, "decoder")
        check_spec(LIKELIHOODS, self.likelihood, "likelihood")


class Autoencoder(nn.Module):
    """Encoder → posterior on a latent space → decoder → likelihood. Registered as ``ae``."""

    Config: ClassVar[type[Config]] = AutoencoderConfig
    registry_name: ClassVar[str] = ""

    def __init__(self, config: AutoencoderConfig):
        super().__init__()
        if not config.input_shape:
            raise ConfigError(
                "input_shape: must be set (it is filled from the dataset when training)"
            )
        self.config = config
        self.regularizer_scale = 1.0
        """Multiplies every regulariser term's weight; the trainer lowers it during
        ``train.regularizer_warmup`` (a plain attribute, not state: a function of the step)."""
        self.latent = self.build_latent()
        self.likelihood = build(LIKELIHOODS, dict(config.likelihood), "likelihood")
        self.encoder = self.build_encoder()
        self.decoder = self.build_decoder()

    def build_latent(self) -> LatentSpace:
        """The latent space from ``config.latent`` (a variant may complete the spec)."""
        return build(LATENT_SPACES, dict(self.config.latent), "latent")

    def build_encoder(self) -> nn.Module:
        """The encoder from ``config.encoder``: observation shape → posterior parameters."""
        return build(
            NETWORKS,
            dict(self.config.encoder),
            "encoder",
            in_shape=tuple(self.config.input_shape),
            out_shape=(self.latent.param_size,),
        )

    def build_decoder(self) -> nn.Module:
        """The decoder from ``config.decoder``: latent embedding → observation shape."""
        return build(
            NETWORKS,
            dict(self.config.decoder),
            "decoder",
            in_shape=(self.latent.embed_dim,),
            out_shape=tuple(self.config.input_shape),
        )

    @classmethod
    def from_config(cls, config: Config) -> Autoencoder:
        return cls(config)

    # -- the contract --------------------------------------------------------------------------
    def check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Refuse inputs whose shape is not ``(n, *input_shape)``."""
        shape = tuple(self.config.input_shape)
        if (
            not isinstance(x, torch.Tensor)
            or tuple(x.shape[1:]) != shape
            or x.ndim != len(shape) + 1
        ):
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise DataError(f"expected input of shape (n, {', '.join(map(str, shape))}), got {got}")
        return x

    def encode(self, x: torch.Tensor) -> D.Distribution:
        """The posterior q(z | x) for a batch."""
        return self.latent.posterior(self.run_encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Likelihood parameters for latent samples ``(..., dim)`` (extra leading axes allowed)."""
        lead = z.shape[:-1]
        out = self.run_decoder(self.latent.embed(z).reshape(-1, self.latent.embed_dim))
        return out.reshape(*lead, *out.shape[1:])

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """The point representation used for evaluation: the posterior location ``(n, dim)``."""
        return self.latent.mean(self.encode(x))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean reconstruction from the posterior location, μX(μZ(x)) (thesis eq. 5.7)."""
        return self.likelihood.mean(self.decode(self.representation(x)))

    def generate(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean observations decoded from ``n`` prior samples."""
        if not self.latent.has_prior:
            raise TypeError(f"{type(self).__name__} has no prior to sample from")
        z = self.latent.sample(self.latent.prior(), n, generator)
        return self.likelihood.mean(self.decode(z))

    # -- hooks -----------------------------------------------------------------------------------
    def run_encoder(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior parameters of a batch ``(n, param_size)`` (a variant may route the call)."""
        return self.encoder(x)

    def run_decoder(self, embedded: torch.Tensor) -> torch.Tensor:
        """Likelihood parameters of embedded codes ``(n, embed_dim)``."""
        return self.decoder(embedded)

    def curriculum(self, step: int, total: int) -> None:
        """Called by the trainer before every step (``step`` of ``total``, 0-based): a model
        whose training has phases (the PCA-like autoencoder's stages) switches them here."""

    def optimized_parameters(self) -> list[nn.Parameter]:
        """The parameters the trainer's optimiser updates (all; a variant with its own
        auxiliary step keeps those out)."""
        return list(self.parameters())

    def auxiliary_steps(self) -> list[AuxiliaryStep]:
        """Steps the trainer takes after each training step (none by default)."""
        return []

    def reconstruction_nll(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Reconstruction term per sample; ``params`` has a leading axis of L samples."""
        return self.likelihood.nll(x, params).mean(0)

    def regularizer(self, posterior: D.Distribution, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named, unweighted regularisation terms per sample ``(n,)`` (none for a plain AE).

        The loss adds each term times its weight from :meth:`term_weights`.
        """
        return {}

    def term_weights(self) -> dict[str, float]:
        """Weight of each regulariser term in the loss (1 where not listed)."""
        return {}

    # -- the step, written once ------------------------------------------------------------------
    def forward(
        self, x: torch.Tensor, n_samples: int | None = None, noise: torch.Tensor | None = None
    ) -> Output:
        """The loss and its terms on a batch. ``noise``: the standard noise of the L posterior
        samples (``latent.noise``); by default drawn from the global RNG."""
        x = self.check_input(x)
        posterior = self.encode(x)
        if noise is None:
            noise = self.latent.noise(posterior, n_samples or self.config.n_samples)
        z = self.latent.reparameterize(posterior, noise)
        params = self.decode(z)
        recon = self.reconstruction_nll(x, params)
        reg = self.regularizer(posterior, z)
        weights = self.term_weights()
        total = recon
        scale = self.regularizer_scale
        for name, value in reg.items():
            total = total + scale * weights.get(name, 1.0) * value
        terms = {"reconstruction": recon.mean(), **{k: v.mean() for k, v in reg.items()}}
        if "kl" in reg:  # the negative ELBO, whatever the weights (thesis eq. 5.9 + 5.10)
            terms["neg_elbo"] = (recon + reg["kl"]).mean()
        return Output(total.mean(), terms, posterior, params)

    def describe(self) -> dict[str, Any]:
        """Name, parameter count and latent layout (for reports)."""
        return {
            "model": self.registry_name or type(self).__name__,
            "parameters": sum(p.numel() for p in self.parameters()),
            "latent": self.latent.registry_name,
            "latent_dim": self.latent.dim,
        }
