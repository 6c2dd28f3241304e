"""Newson et al., *Understanding and organising the latent space of autoencoders* (slides):
the disk autoencoder (:mod:`.disk`), position encoding (:mod:`.position`), the PCA-like
autoencoder (:mod:`.pca`) and on a generator (:mod:`.generator`), the claims (:mod:`.claims`)."""
