"""Positive posterior scales (times, concentrations) from unbounded encoder outputs."""

from __future__ import annotations

import math

import torch


def bounded_log_scale(output: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """exp(log low + (log high − log low)·sigmoid(output)): a scale inside [low, high] that moves
    evenly in log space, never underflows to 0 or overflows, and whose gradient vanishes only
    once the output saturates far beyond a bound (the published ΔVAE code bounds log t the same
    way, 1.25·tanh(h) − 6.25)."""
    log_low, log_high = math.log(low), math.log(high)
    return torch.exp(log_low + (log_high - log_low) * torch.sigmoid(output))
