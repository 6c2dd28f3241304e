"""Locatello et al. (2019), the β-VAE arm of the disentanglement study: the reproduction
(:mod:`.experiments`, a sweep of the study's grid) and the claims (:mod:`.claims`)."""
