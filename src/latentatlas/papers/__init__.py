"""The papers latent-atlas reproduces, one package each: its experiments, their scales, its
claims and the helpers its experiments share.

- :mod:`.thesis` — Pérez Rey, *Latent variable separation with VAEs* (the thesis): tables 5.1,
  7.1 and 9.2, the torus, the pixel shift, the rotating object, and the demo built on them;
- :mod:`.slides` — Newson et al., *Understanding and organising the latent space of
  autoencoders*: the disk autoencoder, position encoding, the PCA-like autoencoder;
- :mod:`.directions` — Plumerault et al., *Controlling generative models with continuous
  factors of variations* (ICLR 2020);
- :mod:`.intrinsic` — Besserve et al., *Intrinsic disentanglement*;
- :mod:`.atomic` — Newson & Traonmilin, atomic autoencoders;
- :mod:`.locatello` — Locatello et al. (2019), the β-VAE arm of the disentanglement study.

The registry of experiments and the runner (``latent-atlas reproduce``) are in
:mod:`latentatlas.experiments`; the tools the CLI exposes beside reproductions (sweeps, the
directions tool, the probe) in :mod:`latentatlas.tools`.
"""
