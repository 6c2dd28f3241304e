"""Besserve et al., *Intrinsic disentanglement*: stretching each level (:mod:`.stretch`), the
SDR-tracked and SDR-regularised trainings (:mod:`.training`), their shared helpers
(:mod:`.common`) and the claims (:mod:`.claims`)."""
