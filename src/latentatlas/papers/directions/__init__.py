"""Plumerault et al., *Controlling generative models with continuous factors of variations*
(ICLR 2020): the β study (:mod:`.beta`), curvature (:mod:`.curvature`), the inversions
(:mod:`.inversion`), their shared helpers (:mod:`.common`) and the claims (:mod:`.claims`)."""
