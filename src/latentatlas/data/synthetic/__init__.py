"""Synthetic datasets with known factors; one family per module, registered on import."""

from . import dsprites, sine_circle  # noqa: F401
