"""The machinery of reproductions, shared by every paper: the contract of an experiment
(:mod:`.experiment`: one declared object per experiment, with its scales, run, write, claims,
options and protocol), the runner (:mod:`.runner`, ``latent-atlas reproduce``), the store of
their models (:mod:`.model_store`, by the run store's rule), scales and ``--set``
(:mod:`.scales`), how far a run falls short of its paper (:mod:`.protocols`), the claims base and
the agreement rule (:mod:`.claims`), the records (:mod:`.record`), partial reports
(:mod:`.partial`), the files every result writes (:mod:`.result_files`) and the result cache
(:mod:`.result_cache`). The experiments themselves live with their paper in
:mod:`latentatlas.papers`, registered by :mod:`latentatlas.papers.catalogue`."""
