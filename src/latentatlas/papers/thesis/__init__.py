"""Pérez Rey, *Latent variable separation with VAEs* (the thesis): tables 5.1 / 7.1
(:mod:`.tables`), the ch. 9-10 studies (:mod:`.studies`), table 9.2 (:mod:`.reduction`), the
claims (:mod:`.claims`) and the demo (:mod:`.demo`)."""
