"""The machinery of reproductions: the registry of experiments and the runner
(:mod:`.catalogue`, ``latent-atlas reproduce``), the store of their models (:mod:`.model_store`,
by the run store's rule), settings and scales (:mod:`.settings`), how far a run falls short of
its paper (:mod:`.protocols`), the claims base and the agreement rule (:mod:`.claims`), the
records (:mod:`.record`), partial reports (:mod:`.partial`) and the result cache
(:mod:`.result_cache`). The experiments themselves live with their paper in
:mod:`latentatlas.papers`."""
