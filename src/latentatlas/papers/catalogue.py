"""Every paper's reproductions, registered once in :data:`latentatlas.registry.EXPERIMENTS`
(the registry imports this module on its first lookup). Each paper declares its experiments as
objects in its ``reproductions`` module; this is the one place that lists the papers, in the
order ``latent-atlas reproduce --list`` shows them."""

from __future__ import annotations

from ..registry import EXPERIMENTS
from .atomic.reproductions import EXPERIMENTS as ATOMIC
from .directions.reproductions import EXPERIMENTS as DIRECTIONS
from .intrinsic.reproductions import EXPERIMENTS as INTRINSIC
from .locatello.reproductions import EXPERIMENTS as LOCATELLO
from .slides.reproductions import EXPERIMENTS as SLIDES
from .thesis.reproductions import EXPERIMENTS as THESIS

for _experiment in (*THESIS, *ATOMIC, *SLIDES, *DIRECTIONS, *INTRINSIC, *LOCATELLO):
    EXPERIMENTS.register(_experiment.name)(_experiment)
