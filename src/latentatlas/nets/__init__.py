"""Networks: MLP and configurable convolutional encoders/decoders, registered by name."""

from .base import Network
from .blocks import activation
from .conv import ConvDecoder, ConvDecoderConfig, ConvEncoder, ConvEncoderConfig
from .mlp import MLP, MLPConfig

__all__ = [
    "MLP",
    "ConvDecoder",
    "ConvDecoderConfig",
    "ConvEncoder",
    "ConvEncoderConfig",
    "MLPConfig",
    "Network",
    "activation",
]
