"""Model presets of the slides' geometry studies (slides 8-20): the disk autoencoder.

The disk autoencoder of slide 9 is made of four operations only: 3×3 convolution, additive bias,
LeakyReLU φ_α and sub- or up-sampling by 2, repeated until the image is one number (d = 1) and
mirrored back. It is an ordinary ``ae`` with a ``conv_encoder`` / ``conv_decoder`` pair; this
module writes its spec. Without biases every layer is positively homogeneous, so the decoder
satisfies D(λz) = λD(z) for λ ≥ 0 (slide 15, eq. 2) and the output is y = h(r)·f.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError


def disk_autoencoder_spec(
    image_size: int = 64,
    channels: int = 8,
    bias: bool = True,
    slope: float = 0.05,
    contraction: float = 0.0,
) -> dict[str, Any]:
    """The slide-9 disk autoencoder as an ``ae`` model spec for ``image_size``² grey images.

    Encoder: log2(size) stride-2 3×3 convs of ``channels`` channels with bias and
    LeakyReLU(``slope``) (conv + bias + φ_α + subsampling; φ_α is pointwise, so subsampling
    after it equals a strided conv), from size×size to 1×1, then one linear map to the scalar
    code. Decoder: the mirror — a linear map from the code to ``channels``×1×1, then log2(size)
    stages of nearest ×2 upsampling, 3×3 conv, bias and LeakyReLU, the last with one channel.
    The papers README gives LeakyReLU 0.05 and a few channels. Loss: squared error (eq. 1).

    ``bias=False`` is the ablation of slide 14: every layer is then positively homogeneous.
    ``image_size`` must be a power of two (the stack halves it down to 1×1).
    ``contraction`` > 0: the same network as a ``contractive_ae`` with that weight λ of the
    encoder's squared Jacobian norm (slide 13's footnote; :mod:`latentatlas.models.contractive`).
    """
    if image_size < 2 or image_size & (image_size - 1):
        raise ConfigError(
            f"image_size: the disk autoencoder halves the image down to 1×1, so the side must be "
            f"a power of two ≥ 2; got {image_size} (use 64 rather than 63)"
        )
    if channels < 1:
        raise ConfigError(f"channels: expected ≥ 1, got {channels}")
    if not slope >= 0:
        raise ConfigError(f"slope: expected the LeakyReLU slope α ≥ 0, got {slope}")
    if not contraction >= 0:
        raise ConfigError(f"contraction: expected a weight λ ≥ 0, got {contraction}")
    layers = int(math.log2(image_size))
    act = f"leaky_relu:{slope}"
    contractive = {"name": "contractive_ae", "contraction": contraction} if contraction else {}
    return {
        "name": "ae",
        **contractive,
        "latent": {"name": "point", "dim": 1},
        "encoder": {
            "name": "conv_encoder",
            "channels": [channels] * layers,
            "kernel": 3,
            "stride": 2,
            "bias": bias,
            "activation": act,
            "dense": [],
        },
        "decoder": {
            "name": "conv_decoder",
            "dense": [],
            "channels": [channels] * layers,
            "kernel": 3,
            "stride": 2,
            "bias": bias,
            "activation": act,
            "upsampling": "nearest",
            "out_activation": act,
        },
        "likelihood": {"name": "squared_error"},
    }
