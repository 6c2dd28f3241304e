"""Configurable strided convolutional encoder and decoder for C×H×W images.

Defaults reproduce the 64×64 β-VAE of the directions paper (appendix B, table 1): four 4×4
convolutions of 32 channels with stride 2 and ReLU, dense 256-256, and the mirrored decoder with
transposed convolutions. The decoder table reshapes 256 units to 4×4×32 = 512, which cannot work;
as noted in the papers README we add a 512-unit dense layer before the reshape (as in the decoder
of Burgess et al.), so the decoder's dense layers are 256-256-512 (``dense`` lists the hidden ones;
the last layer always maps to the size of the first feature map).

Padding is ⌊(k−1)/2⌋, which gives the same output sizes as TensorFlow's SAME padding for the
kernels used here (e.g. 64→32 for k = 4, s = 2). The last layer has no activation unless
``out_activation`` says so: likelihoods read logits or means from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import Config, field
from ..errors import ConfigError
from ..registry import NETWORKS
from .base import Network
from .blocks import activation, check_activation, numel


def _check_image_shape(shape: tuple[int, ...], role: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ConfigError(f"{role}: expected an image shape (C, H, W), got {shape}")
    return shape


@dataclass(frozen=True)
class ConvEncoderConfig(Config):
    channels: tuple[int, ...] = field((32, 32, 32, 32), ge=1, doc="channels of each conv layer")
    kernel: int = field(4, ge=1, doc="kernel size")
    stride: int = field(2, ge=1, doc="stride of every conv layer")
    bias: bool = field(True, doc="use biases")
    activation: str = field("relu", doc="activation name, e.g. relu or leaky_relu:0.2")
    dense: tuple[int, ...] = field((256, 256), ge=1, doc="dense layers after the convolutions")
    out_activation: str = field("identity", doc="activation of the output (identity: none)")

    def validate(self) -> None:
        check_activation("activation", self.activation)
        check_activation("out_activation", self.out_activation)


@NETWORKS.register("conv_encoder")
class ConvEncoder(Network):
    """Strided convs → flatten → dense layers → ``out_shape`` (e.g. the posterior parameters)."""

    Config = ConvEncoderConfig

    def __init__(self, config: ConvEncoderConfig, in_shape, out_shape):
        super().__init__(config, in_shape, out_shape)
        c = _check_image_shape(self.in_shape, "conv_encoder input")[0]
        layers: list[nn.Module] = []
        pad = (config.kernel - 1) // 2
        for ch in config.channels:
            layers += [
                nn.Conv2d(c, ch, config.kernel, config.stride, pad, bias=config.bias),
                activation(config.activation),
            ]
            c = ch
        self.conv = nn.Sequential(*layers)
        too_small = ConfigError(
            f"conv_encoder: input {self.in_shape} is too small for {len(config.channels)} "
            f"stride-{config.stride} layers of kernel {config.kernel}; use fewer channels entries"
        )
        try:
            with torch.no_grad():
                conv_out = self.conv(torch.zeros(1, *self.in_shape)).shape[1:]
        except RuntimeError:  # torch refuses a kernel larger than the (padded) input
            raise too_small from None
        if numel(conv_out) == 0:
            raise too_small
        dense: list[nn.Module] = [nn.Flatten()]
        width = numel(conv_out)
        for units in config.dense:
            dense += [nn.Linear(width, units, bias=config.bias), activation(config.activation)]
            width = units
        dense += [nn.Linear(width, numel(self.out_shape), bias=config.bias)]
        dense += [activation(config.out_activation)]
        self.head = nn.Sequential(*dense)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x)).reshape(x.shape[0], *self.out_shape)


@dataclass(frozen=True)
class ConvDecoderConfig(Config):
    dense: tuple[int, ...] = field(
        (256, 256), ge=1, doc="hidden dense layers; one more maps to the reshaped map's size"
    )
    channels: tuple[int, ...] = field(
        (32, 32, 32, 32), ge=1, doc="channels of the reshaped map and of each upsampling stage"
    )
    kernel: int = field(4, ge=1, doc="kernel size")
    stride: int = field(2, ge=2, doc="upsampling factor of each stage")
    bias: bool = field(True, doc="use biases")
    activation: str = field("relu", doc="activation name")
    upsampling: str = field(
        "transposed",
        choices=("transposed", "nearest", "conv_nearest"),
        doc="how a stage grows the map: transposed conv; nearest upsampling then conv; or conv "
        "then nearest upsampling (the atomic paper's decoder block; cheaper)",
    )
    convs_per_stage: int = field(
        1, ge=1, doc="convolutions per stage; the ones after the first keep channels and size"
    )
    output_kernel: int = field(
        0,
        ge=0,
        doc="0: the last stage outputs the image; k > 0 (odd): the stages end at channels[-1] "
        "and one size-keeping k×k transposed conv maps them to the image (the intrinsic paper's "
        "generator, table 1)",
    )
    out_activation: str = field("identity", doc="activation of the output (identity: logits)")

    def validate(self) -> None:
        check_activation("activation", self.activation)
        check_activation("out_activation", self.out_activation)
        if self.output_kernel and self.output_kernel % 2 == 0:
            raise ConfigError(
                f"output_kernel: expected 0 or an odd size (a centred size-keeping kernel), "
                f"got {self.output_kernel}"
            )
        if self.output_kernel and len(self.channels) < 2:
            raise ConfigError("channels: an output_kernel needs at least two entries")


@NETWORKS.register("conv_decoder")
class ConvDecoder(Network):
    """Dense layers → reshape to (channels[0], H/sⁿ, W/sⁿ) → n upsampling stages → C×H×W.

    With n = len(channels) stages, the last one outputting the image's C channels; or, with
    ``output_kernel``, n = len(channels) − 1 stages ending at ``channels[-1]`` and a size-keeping
    transposed conv to C channels. The reshape is a module (``head``'s last), so every map the
    decoder computes, from the first one on, is some module's output: forward hooks can read and
    replace it (``analysis.interventions``); :meth:`level_names` lists them.
    """

    Config = ConvDecoderConfig

    def __init__(self, config: ConvDecoderConfig, in_shape, out_shape):
        super().__init__(config, in_shape, out_shape)
        c_out, h, w = _check_image_shape(self.out_shape, "conv_decoder output")
        stages = len(config.channels) - (1 if config.output_kernel else 0)
        factor = config.stride**stages
        if h % factor or w % factor:
            raise ConfigError(
                f"conv_decoder: output {h}×{w} is not divisible by stride^stages = {factor}; "
                "change channels (the number of stages) or stride"
            )
        self.start = (config.channels[0], h // factor, w // factor)
        dense: list[nn.Module] = [nn.Flatten()]
        width = numel(self.in_shape)
        for units in config.dense:
            dense += [nn.Linear(width, units, bias=config.bias), activation(config.activation)]
            width = units
        dense += [nn.Linear(width, numel(self.start), bias=config.bias)]
        dense += [activation(config.activation), nn.Unflatten(1, self.start)]
        self.head = nn.Sequential(*dense)
        outs = [*config.channels[1:]] if config.output_kernel else [*config.channels[1:], c_out]
        layers: list[nn.Module] = []
        self._levels = ["head"]
        c = config.channels[0]
        for i, ch in enumerate(outs):
            last = i == len(outs) - 1 and not config.output_kernel
            layers += self._stage(c, ch, config.out_activation if last else config.activation)
            self._levels.append(f"conv.{len(layers) - 1}")
            c = ch
        if config.output_kernel:
            k = config.output_kernel
            layers += [
                nn.ConvTranspose2d(c, c_out, k, 1, (k - 1) // 2, bias=config.bias),
                activation(config.out_activation),
            ]
            self._levels.append(f"conv.{len(layers) - 1}")
        self.conv = nn.Sequential(*layers)

    def _stage(self, c_in: int, c_out: int, act: str) -> list[nn.Module]:
        """One stage: the map grows ×stride and goes from ``c_in`` to ``c_out`` channels, then
        ``convs_per_stage − 1`` size-keeping convs follow; ``act`` closes the stage."""
        cfg = self.config
        k, s = cfg.kernel, cfg.stride
        if cfg.upsampling == "transposed":
            # out = (in − 1)s − 2p + k + extra = s·in exactly
            pad = max((k - s + 1) // 2, 0)
            extra = 2 * pad - (k - s)
            layers: list[nn.Module] = [
                nn.ConvTranspose2d(c_in, c_out, k, s, pad, output_padding=extra, bias=cfg.bias)
            ]
        elif cfg.upsampling == "nearest":
            layers = [nn.Upsample(scale_factor=s, mode="nearest"), self._conv(c_in, c_out)]
        else:
            layers = [self._conv(c_in, c_out), nn.Upsample(scale_factor=s, mode="nearest")]
        for _ in range(cfg.convs_per_stage - 1):
            layers += [activation(cfg.activation), self._conv(c_out, c_out)]
        return [*layers, activation(act)]

    def _conv(self, c_in: int, c_out: int) -> nn.Module:
        """A size-keeping convolution (explicit padding for odd kernels, 'same' for even)."""
        k = self.config.kernel
        pad: int | str = (k - 1) // 2 if k % 2 else "same"
        return nn.Conv2d(c_in, c_out, k, 1, pad, bias=self.config.bias)

    def level_names(self) -> list[str]:
        """Names (relative to this decoder) of the modules whose outputs are its successive maps,
        from the first reshaped map to the output image: the places where an intervention or an
        SDR analysis reads a layer (the intrinsic paper's coarse … image levels, fig. 2b)."""
        return list(self._levels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv(self.head(z))
