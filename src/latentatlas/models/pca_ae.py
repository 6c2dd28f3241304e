"""The PCA-like autoencoder (slides 33-37): an ordered, decorrelated latent space grown one
component at a time, and its use on a pretrained generator's local latent space (slides 42-46).

Training runs in K stages. Stage k adds a new one-dimensional encoder head E⁽ᵏ⁾, keeps the heads
E⁽¹⁾ … E⁽ᵏ⁻¹⁾ fixed (their outputs are detached and their BatchNorm uses its running statistics)
and trains a fresh decoder D_k on all k components (slide 35: "the decoder is thrown away, and a
new one is trained"). Each head ends with a BatchNorm without learned affine parameters, so every
component has zero mean and unit variance (slide 37). The stage-k loss is eq. 15,

    L⁽ᵏ⁾(x) = ‖x − D_k∘E⁽ᵏ⁾(x)‖² + λ L_cov⁽ᵏ⁾,

with the covariance loss of the newest component against the older ones. Eq. 14 writes it with
the zero-mean simplification (eq. 13) and a factor 1/k; following the papers README we divide by
k − 1, the number of terms, and we use the batch covariance of eq. 12 (which equals eq. 13 when
the means are zero, as BatchNorm makes them in training):

    L_cov⁽ᵏ⁾ = 1/(k − 1) Σ_{i<k} ( (1/m) Σ_j z_i⁽ʲ⁾ z_k⁽ʲ⁾ − (1/m²) Σ_j z_i⁽ʲ⁾ Σ_j z_k⁽ʲ⁾ )².

It is a statistic of the batch: the regulariser reports it for every sample of the batch.

The stages are switched by :meth:`PCAAutoencoder.curriculum`, which the trainer calls before
every step: the ``steps`` (or ``epochs``) of a run are split evenly over the K stages, stage k
covering steps [(k − 1)T/K, kT/K). A resumed run is in the same stage as the uninterrupted one.

:class:`GeneratorPCAAutoencoder` organises the local latent space of a pretrained generator G
around a point z̃: the data are offsets η ~ N(0, σ²I) and the reconstruction term is
‖G(η + z̃) − G(D∘E(η) + z̃)‖² (eq. 16), measured in image space.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import distributions as D
from torch import nn

from ..config import field
from ..errors import ConfigError, DataError
from ..registry import LATENT_SPACES, LIKELIHOODS, MODELS, NETWORKS, build
from .base import Autoencoder, AutoencoderConfig


@dataclass(frozen=True)
class PCAAEConfig(AutoencoderConfig):
    latent: dict = field(
        default_factory=lambda: {"name": "point"},
        spec=LATENT_SPACES,
        doc="always point codes of size components (filled in)",
    )
    components: int = field(3, ge=1, doc="latent size K = number of stages")
    cov_weight: float = field(1.0, ge=0.0, doc="weight λ of the covariance loss (eq. 15)")
    likelihood: dict = field(
        default_factory=lambda: {"name": "squared_error"},
        spec=LIKELIHOODS,
        doc="reconstruction loss: squared_error (L2) or bernoulli (BCE on logits)",
    )
    encoder: dict = field(
        default_factory=lambda: {"name": "mlp"}, spec=NETWORKS, doc="one head: data → 1 number"
    )
    decoder: dict = field(
        default_factory=lambda: {"name": "mlp"},
        spec=NETWORKS,
        doc="the decoder of each stage: k components → data",
    )
    bn_momentum: float = field(
        0.1, gt=0.0, le=1.0, doc="momentum of the heads' BatchNorm running statistics"
    )

    def validate(self) -> None:
        # the latent space is always R^K with point codes; a user-given one must agree
        latent = dict(self.latent)
        if latent.get("name") != "point" or latent.get("dim", self.components) != self.components:
            raise ConfigError(
                f"latent: the PCA-like autoencoder has point codes of size components = "
                f"{self.components}; got {latent}"
            )
        object.__setattr__(self, "latent", {"name": "point", "dim": self.components})
        super().validate()


class ProgressiveEncoder(nn.Module):
    """K one-dimensional heads, each a network followed by a BatchNorm without affine."""

    def __init__(self, heads: list[nn.Module], momentum: float):
        super().__init__()
        self.heads = nn.ModuleList(heads)
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(1, affine=False, momentum=momentum) for _ in heads
        )

    def component(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Component i (0-based) of a batch, ``(n, 1)``."""
        return self.norms[i](self.heads[i](x).reshape(x.shape[0], 1))

    def forward(self, x: torch.Tensor, stage: int) -> torch.Tensor:
        """The codes ``(n, K)``: components < stage − 1 frozen (no gradient), component
        stage − 1 trained, the rest zero (not yet learned)."""
        if self.training and x.shape[0] < 2:
            raise DataError(
                "the PCA-like autoencoder normalises each component over the batch (BatchNorm) "
                f"in training: expected batches of at least 2, got {x.shape[0]}"
            )
        parts = []
        with torch.no_grad():
            parts += [self.component(i, x) for i in range(stage - 1)]
        parts.append(self.component(stage - 1, x))
        out = torch.cat(parts, 1)
        missing = len(self.heads) - stage
        if missing:
            out = torch.cat([out, out.new_zeros(x.shape[0], missing)], 1)
        return out


def covariance_loss(z: torch.Tensor, k: int) -> torch.Tensor:
    """L_cov⁽ᵏ⁾ of a batch of codes ``(m, ≥k)``: mean over i < k of Cov(z_i, z_k)², with the
    batch covariance of eq. 12 (0 for k = 1)."""
    if z.ndim != 2 or z.shape[1] < k or k < 1:
        raise DataError(f"covariance_loss: expected codes (m, ≥{k}), got {tuple(z.shape)}")
    if k == 1:
        return z.new_zeros(())
    centred = z[:, :k] - z[:, :k].mean(0)
    cov = (centred[:, : k - 1] * centred[:, k - 1 : k]).mean(0)
    return cov.pow(2).sum() / (k - 1)


@MODELS.register("pca_ae")
class PCAAutoencoder(Autoencoder):
    """The PCA-like autoencoder: progressive 1-D heads, fresh decoders, covariance loss."""

    Config = PCAAEConfig

    def __init__(self, config: PCAAEConfig):
        super().__init__(config)
        self.register_buffer("stage_buffer", torch.tensor(1))

    def build_encoder(self) -> nn.Module:
        heads = [
            build(
                NETWORKS,
                dict(self.config.encoder),
                "encoder",
                in_shape=tuple(self.config.input_shape),
                out_shape=(1,),
            )
            for _ in range(self.config.components)
        ]
        return ProgressiveEncoder(heads, self.config.bn_momentum)

    def build_decoder(self) -> nn.Module:
        """One decoder per stage; decoder k − 1 reads the first k components."""
        return nn.ModuleList(
            build(
                NETWORKS,
                dict(self.config.decoder),
                "decoder",
                in_shape=(k,),
                out_shape=tuple(self.config.input_shape),
            )
            for k in range(1, self.config.components + 1)
        )

    # -- stages ----------------------------------------------------------------------------------
    @property
    def stage(self) -> int:
        """The current stage k (1 … K): components 1 … k are in use."""
        return int(self.stage_buffer)

    def set_stage(self, k: int) -> None:
        """Switch to stage ``k``: heads before k are frozen, decoder k is the one in use."""
        if not 1 <= k <= self.config.components:
            raise ConfigError(f"stage: expected 1 … {self.config.components}, got {k}")
        self.stage_buffer.fill_(k)
        self.train(self.training)

    def trained_parameter_names(self) -> set[str]:
        """Names of the parameters the current stage trains: head k and decoder k (the other
        heads are frozen, the other decoders unused)."""
        i = self.stage - 1
        prefixes = (f"encoder.heads.{i}.", f"decoder.{i}.")
        return {n for n, _ in self.named_parameters() if n.startswith(prefixes)}

    def curriculum(self, step: int, total: int) -> None:
        """Stage k covers steps [(k − 1)T/K, kT/K) of the T = ``total`` steps."""
        k = min(self.config.components, 1 + step * self.config.components // max(total, 1))
        if k != self.stage:
            self.set_stage(k)

    def train(self, mode: bool = True) -> PCAAutoencoder:
        """Train mode for the newest head and the decoders; frozen heads always evaluate."""
        super().train(mode)
        for i in range(self.stage - 1):
            self.encoder.heads[i].eval()
            self.encoder.norms[i].eval()
        return self

    # -- hooks -----------------------------------------------------------------------------------
    def run_encoder(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x, self.stage)

    def run_decoder(self, embedded: torch.Tensor) -> torch.Tensor:
        k = self.stage
        return self.decoder[k - 1](embedded[:, :k])

    def regularizer(self, posterior: D.Distribution, z: torch.Tensor) -> dict[str, torch.Tensor]:
        codes = posterior.mean
        cov = covariance_loss(codes, self.stage)
        return {"covariance": cov.expand(codes.shape[0])}

    def term_weights(self) -> dict[str, float]:
        return {"covariance": self.config.cov_weight}

    def describe(self) -> dict:
        return {**super().describe(), "stage": self.stage}


class GeneratorPCAAutoencoder(PCAAutoencoder):
    """The PCA-like autoencoder on a generator's local latent space (slides 43-44, eq. 16).

    Inputs are offsets η ``(n, d)`` around ``centre`` z̃ ``(d,)``; the reconstruction term is
    ‖G(η + z̃) − G(η̂ + z̃)‖² summed over the generator's output, with η̂ = D∘E(η). The generator
    is frozen in place (``requires_grad_(False)``, eval mode) and kept as a submodule so it moves
    with the model; it is not trained. ``config.input_shape`` must be ``(d,)``.
    """

    def __init__(self, config: PCAAEConfig, generator: nn.Module, centre: torch.Tensor):
        centre = torch.as_tensor(centre, dtype=torch.float32).reshape(-1)
        if tuple(config.input_shape) != (centre.shape[0],):
            raise ConfigError(
                f"input_shape: the offsets η live in the generator's latent space of size "
                f"{centre.shape[0]} (the size of z̃); got {tuple(config.input_shape)}"
            )
        super().__init__(config)
        generator.requires_grad_(False)
        generator.eval()
        try:
            with torch.no_grad():
                generator(centre[None])
        except Exception as exc:  # any failure here means G cannot take z̃
            raise ConfigError(
                f"the generator does not accept a code of size {centre.shape[0]} (z̃ has that "
                f"size): {type(exc).__name__}: {exc}"
            ) from None
        self.generator = generator
        self.register_buffer("centre", centre)

    def train(self, mode: bool = True) -> GeneratorPCAAutoencoder:
        super().train(mode)
        self.generator.eval()  # G is frozen: never in training mode
        return self

    def render(self, offsets: torch.Tensor) -> torch.Tensor:
        """G(η + z̃) for offsets ``(n, d)``."""
        return self.generator(offsets + self.centre)

    def reconstruction_nll(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.render(x)
        lead = params.shape[0]
        images = self.render(params.reshape(-1, params.shape[-1]))
        images = images.reshape(lead, *target.shape)
        return (images - target).pow(2).flatten(2).sum(-1).mean(0)
