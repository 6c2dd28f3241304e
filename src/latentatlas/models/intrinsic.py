"""Model preset of the intrinsic paper: the VAE of table 1 and fig. 2b, and its levels.

A dense layer from the latent code to 64 maps of (size/8)² (the *coarse* level), transposed
convolutions (4×4, stride 2) to 64 maps of (size/4)² (*intermediate*), 32 of (size/2)² (*fine*) and
16 of size² (*image* level), and a last size-keeping 3×3 transposed convolution to the 3 colour
channels: the paper's "4 deconv layers, channels (64, 64, 32, 16, 3), maps (8, 16, 32, 64)" at
size 64. Least-squares reconstruction (squared error) with a KL weight of 5e-4. The encoder has
four stride-2 convs (16, 32, 64, 64 channels) and a 256-unit dense layer. Kernel sizes and the
encoder are not given in the paper. Train it with Adam β1 = 0.5, batch 64 (table 1).
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

LEVELS = ("coarse", "intermediate", "fine", "image")
"""The four levels of fig. 2b, from the latent side to the image side."""


def intrinsic_vae_spec(size: int, latent_dim: int, kl_weight: float = 5e-4) -> dict:
    """The table-1 VAE as a ``vae`` model spec for ``size``² colour images (maps size/8 … size)."""
    if size < 16 or size % 16:
        raise ConfigError(f"size: the table-1 VAE needs a multiple of 16 (≥ 16), got {size}")
    return {
        "name": "vae",
        "beta": kl_weight,
        "latent": {"name": "euclidean", "dim": latent_dim},
        "encoder": {"name": "conv_encoder", "channels": [16, 32, 64, 64], "dense": [256]},
        "decoder": {
            "name": "conv_decoder",
            "channels": [64, 64, 32, 16],
            "dense": [],
            "output_kernel": 3,
        },
        "likelihood": {"name": "squared_error"},
    }


def level_layers(model: torch.nn.Module) -> dict[str, str]:
    """{level: module name inside the model} for the four levels of fig. 2b."""
    names = model.decoder.level_names()
    return {level: f"decoder.{name}" for level, name in zip(LEVELS, names)}


def sdr_layers(model: torch.nn.Module) -> dict[str, str]:
    """{level: the transposed conv that reads that level's maps} for the levels whose filters
    sec. 5.2 optimises (intermediate, fine, image)."""
    convs = [
        n for n, m in model.decoder.conv.named_children() if isinstance(m, torch.nn.ConvTranspose2d)
    ]
    # conv i reads the maps of level i (level 0 = coarse, read by the first transposed conv)
    return {level: f"decoder.conv.{convs[i]}" for i, level in enumerate(LEVELS) if i > 0}
