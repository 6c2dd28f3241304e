"""Synthetic datasets with known factors; one family per module, registered on import."""

from . import (  # noqa: F401
    diracs,
    dsprites,
    dsprites_variants,
    lit_sphere,
    pixel_shift,
    rotating_object,
    scenes,
    shapes,
    sine_circle,
    spikes,
    strokes,
    torus_sines,
)
