"""Networks: MLP, configurable convolutional encoders/decoders and the atomic block sum,
registered by name."""

from .base import Network
from .block_sum import BlockSum, BlockSumConfig
from .blocks import activation
from .conv import ConvDecoder, ConvDecoderConfig, ConvEncoder, ConvEncoderConfig
from .mlp import MLP, MLPConfig

__all__ = [
    "MLP",
    "BlockSum",
    "BlockSumConfig",
    "ConvDecoder",
    "ConvDecoderConfig",
    "ConvEncoder",
    "ConvEncoderConfig",
    "MLPConfig",
    "Network",
    "activation",
]
