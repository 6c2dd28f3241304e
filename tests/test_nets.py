from __future__ import annotations

import pytest
import torch

from latentatlas.errors import ConfigError
from latentatlas.nets import (
    MLP,
    ConvDecoder,
    ConvDecoderConfig,
    ConvEncoder,
    ConvEncoderConfig,
    MLPConfig,
)


def test_directions_appendix_b_network():
    """Appendix B: 4 convs 32×4×4 stride 2, dense 256-256, μ/σ of 10; mirrored decoder."""
    enc = ConvEncoder(ConvEncoderConfig(), (1, 64, 64), (20,))
    dec = ConvDecoder(ConvDecoderConfig(), (10,), (1, 64, 64))
    convs = [m for m in enc.conv if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(32, (4, 4), (2, 2))] * 4
    linears = [m for m in enc.head if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [256, 256, 20]
    dec_linears = [m for m in dec.head if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in dec_linears] == [256, 256, 512]  # 512 = 4·4·32
    assert dec.start == (32, 4, 4)
    x = torch.zeros(2, 1, 64, 64)
    assert enc(x).shape == (2, 20) and dec(torch.zeros(2, 10)).shape == (2, 1, 64, 64)


@pytest.mark.parametrize("upsampling", ["transposed", "nearest"])
@pytest.mark.parametrize("kernel", [3, 4, 5])
def test_decoder_reaches_the_image_size(upsampling, kernel):
    dec = ConvDecoder(
        ConvDecoderConfig(channels=(8, 4, 4), kernel=kernel, upsampling=upsampling),
        (3,),
        (3, 24, 32),
    )
    assert dec(torch.zeros(2, 3)).shape == (2, 3, 24, 32)


def test_bias_off_removes_every_bias():
    enc = ConvEncoder(ConvEncoderConfig(bias=False, channels=(4,), dense=(8,)), (1, 8, 8), (2,))
    mlp = MLP(MLPConfig(bias=False), (5,), (2,))
    for net in (enc, mlp):
        assert all("bias" not in n for n, _ in net.named_parameters())
        z = torch.randn(3, *net.in_shape).clamp(min=0)
        assert torch.allclose(net(2 * z), 2 * net(z), atol=1e-5)  # ReLU net without bias


def test_errors():
    with pytest.raises(ConfigError, match="not divisible"):
        ConvDecoder(ConvDecoderConfig(), (2,), (1, 60, 60))
    with pytest.raises(ConfigError, match="image shape"):
        ConvEncoder(ConvEncoderConfig(), (64,), (2,))
    with pytest.raises(ConfigError, match="activation"):
        MLPConfig(activation="swishy")
    with pytest.raises(ConfigError, match="name:number"):
        MLPConfig(activation="leaky_relu:abc")
    assert isinstance(
        MLP(MLPConfig(activation="leaky_relu:0.2"), (3,), (1,)).net[2], torch.nn.LeakyReLU
    )
