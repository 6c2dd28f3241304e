"""latent-atlas: understand, disentangle and organise the latent spaces of generative models."""

__version__ = "0.1.0"
