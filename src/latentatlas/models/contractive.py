"""The contractive autoencoder (Rifai et al. 2011), named by the slides' footnote on slide 13.

The slides show that the disk autoencoder's one-number code follows the disk's size and add, in
a footnote, "one can show that the optimal encoding is indeed the area, when a contractive loss
is used". The contractive loss adds to the reconstruction error the squared Frobenius norm of
the encoder's Jacobian at each training point:

    L(x) = ‖x − D(E(x))‖² + λ ‖∂E(x)/∂x‖²_F,

so among the codes that reconstruct equally well it prefers the one that moves least with the
input. For disks the pixel sum (the area, an averaging filter) changes by one unit per added
pixel wherever it is added: the flattest informative code.

The penalty is computed in the :meth:`~latentatlas.models.base.Autoencoder.run_encoder` hook
(it needs the input, which the regulariser hook does not see): with gradients enabled, each code
coordinate's gradient with respect to the batch is taken with ``create_graph`` (one backward
pass per coordinate: samples are independent, so the gradient of the batch sum is each sample's
own gradient), and :meth:`regularizer` returns it. Without gradients (evaluation, encoding) the
encoder runs as in a plain autoencoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributions as D

from ..config import field
from ..registry import MODELS
from .base import Autoencoder, AutoencoderConfig


@dataclass(frozen=True)
class ContractiveConfig(AutoencoderConfig):
    contraction: float = field(
        1e-3, ge=0.0, doc="weight λ of the encoder's squared Jacobian norm ‖∂E(x)/∂x‖²_F"
    )


@MODELS.register("contractive_ae")
class ContractiveAutoencoder(Autoencoder):
    """An autoencoder whose loss adds λ ‖∂E(x)/∂x‖²_F (Rifai et al. 2011; slide 13's footnote)."""

    Config = ContractiveConfig

    def __init__(self, config: ContractiveConfig):
        super().__init__(config)
        self._penalty: torch.Tensor | None = None
        self._input: torch.Tensor | None = None

    def run_encoder(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():  # encoding or evaluating: the penalty only on demand
            self._penalty, self._input = None, x
            return self.encoder(x)
        params, self._penalty = self._encode_with_penalty(x, create_graph=True)
        self._input = None
        return params

    def _encode_with_penalty(
        self, x: torch.Tensor, create_graph: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's output on ``x`` and ‖∂E(x)/∂x‖²_F per sample ``(n,)``."""
        x = x.detach().requires_grad_(True)
        params = self.encoder(x)
        squares = []
        for k in range(params.shape[1]):
            (grad,) = torch.autograd.grad(params[:, k].sum(), x, create_graph=create_graph)
            squares.append(grad.reshape(len(x), -1).pow(2).sum(1))
        return params, torch.stack(squares).sum(0)

    def regularizer(self, posterior: D.Distribution, z: torch.Tensor) -> dict[str, torch.Tensor]:
        penalty = self._penalty
        if penalty is None and self._input is not None:  # a loss evaluated without gradients
            with torch.enable_grad():
                penalty = self._encode_with_penalty(self._input, create_graph=False)[1].detach()
        if penalty is None:
            raise RuntimeError("the contractive penalty needs the encoder's input")
        return {"contraction": penalty}

    def term_weights(self) -> dict[str, float]:
        return {"contraction": self.config.contraction}
