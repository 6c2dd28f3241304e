"""Claims of the atomic experiments (see :mod:`latentatlas.experiments.claims`)."""

from __future__ import annotations

CLAIMS: dict = {}
JUDGES: dict = {}
