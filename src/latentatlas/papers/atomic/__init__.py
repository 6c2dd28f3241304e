"""Newson & Traonmilin, atomic autoencoders: the spikes and strokes experiments
(:mod:`.experiments`) and the claims (:mod:`.claims`)."""
