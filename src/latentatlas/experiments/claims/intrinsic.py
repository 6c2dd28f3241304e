"""Claims of the intrinsic experiments (see :mod:`latentatlas.experiments.claims`)."""

from __future__ import annotations

CLAIMS: dict = {}
JUDGES: dict = {}
