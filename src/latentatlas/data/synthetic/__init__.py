"""Synthetic datasets with known factors; one family per module, registered on import."""

from . import dsprites, pixel_shift, rotating_object, sine_circle, torus_sines  # noqa: F401
