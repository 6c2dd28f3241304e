"""Gauss-Legendre rules on [0, 1], computed once per size."""

from __future__ import annotations

from functools import cache

import numpy as np
import torch


@cache
def _rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return (nodes + 1) / 2, weights / 2


def gauss_legendre(
    n: int, dtype: torch.dtype = torch.float64, device: torch.device | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``n``-point Gauss-Legendre nodes and weights on [0, 1] (exact for polynomials of
    degree 2n − 1)."""
    nodes, weights = _rule(n)
    return (
        torch.tensor(nodes, dtype=dtype, device=device),
        torch.tensor(weights, dtype=dtype, device=device),
    )
