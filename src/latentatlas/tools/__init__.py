"""Tools the command line exposes beside reproductions: sweeps (:mod:`.sweep`), the
directions tool (:mod:`.directions`: factor directions in a trained generator) and the probe
(:mod:`.probe`: intrinsic-disentanglement measurements on a trained model)."""
