"""Datasets with (optional) ground-truth factors.

Two ways to read a dataset:

* as a ``torch.utils.data.Dataset`` (``len``, ``ds[i] -> (x, factors)``) for DataLoader users;
* by batches, ``ds.get_batch(indices)``, vectorised and without DataLoader overhead — what the
  :class:`~latentatlas.train.Trainer` uses for in-memory and procedural data.

Subclasses implement :meth:`FactorDataset.get_batch` (and :meth:`render` when observations are a
deterministic function of the factors). :class:`InMemoryDataset` holds a tensor of observations.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..config import Config, field
from ..errors import DataError
from ..threads import small_work
from .factors import FactorSpace


@dataclass
class Batch:
    """Observations ``x`` (float32, ``(n, *observation_shape)``) and their factor values or None."""

    x: torch.Tensor
    factors: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        return Batch(self.x.to(device), None if self.factors is None else self.factors.to(device))


def check_observations(x: torch.Tensor, what: str = "data") -> torch.Tensor:
    """Observations as float32 (integers and float64 converted); refuses what is not a tensor of
    shape (n, ...) with n >= 1 finite samples (no NaN/inf)."""
    if not isinstance(x, torch.Tensor):
        raise DataError(f"{what}: expected a tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise DataError(f"{what}: expected shape (n, ...) with n samples, got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise DataError(f"{what}: expected at least one sample, got shape {tuple(x.shape)}")
    if x.dtype != torch.float32:  # models hold float32 weights: ints and float64 are converted
        x = x.float()
    bad = ~torch.isfinite(x)
    if bad.any():
        rows = bad.reshape(x.shape[0], -1).any(1).nonzero().reshape(-1)
        raise DataError(
            f"{what} contains NaN or inf values in {len(rows)} of {x.shape[0]} samples "
            f"(first bad index {int(rows[0])}); clean the data before training"
        )
    return x


#: the largest noise level :func:`noise_sigma_field` accepts: a thousand times the thesis data's
#: amplitude of 1 (beyond that the data are noise alone, and their squared sums leave float32's
#: range: σ = 9.2e18 passed and ended in a NaN loss)
MAX_NOISE_SIGMA = 1000.0


def noise_sigma_field(default: float = 0.1) -> Any:
    """The config field of an added Gaussian noise level σ (:func:`add_noise`), 0 to
    :data:`MAX_NOISE_SIGMA`."""
    return field(
        default,
        ge=0.0,
        le=MAX_NOISE_SIGMA,
        doc=f"standard deviation of the added Gaussian noise, 0 to {MAX_NOISE_SIGMA:g} (the "
        "signal's amplitude is 1)",
    )


def add_noise(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """``x`` plus N(0, σ²) noise drawn with ``generator`` in float64 (x unchanged for σ = 0):
    the observation model of the thesis's benchmarks (eq. 5.2, 11.2)."""
    if sigma <= 0:
        return x
    return x + sigma * torch.randn(x.shape, generator=generator, dtype=torch.float64)


class FactorDataset(torch.utils.data.Dataset):
    """Base class of all datasets. Registered subclasses define a nested ``Config`` class."""

    Config: ClassVar[type[Config]]
    registry_name: ClassVar[str] = ""
    factor_space: FactorSpace | None = None

    # -- to implement ----------------------------------------------------------------------------
    @classmethod
    def estimated_values(cls, config: Config) -> int | None:
        """How many float values a dataset built from ``config`` holds in memory, computed from
        the config alone (no data made), so that an impossible size is refused before it is
        built; None when unknown or small (procedural data rendered on demand, files)."""
        return None

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def observation_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def get_batch(self, indices: torch.Tensor) -> Batch:
        """Observations (and factors) for a 1-D tensor of indices, vectorised."""
        raise NotImplementedError

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """Deterministic (noiseless) observations for factor values ``(n, k)``."""
        raise NotImplementedError(f"{type(self).__name__} cannot render from factors")

    # -- provided --------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Config) -> FactorDataset:
        return cls(config)

    @property
    def has_factors(self) -> bool:
        return self.factor_space is not None

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for dataset of size {n}")
        batch = self.get_batch(torch.tensor([index % n]))
        factors = batch.factors[0] if batch.factors is not None else torch.empty(0)
        return batch.x[0], factors

    def factors_of(self, indices: torch.Tensor) -> torch.Tensor | None:
        """The factor values ``(n, k)`` of rows ``indices`` (None without factors). Datasets
        that read their observations from files override it to read the factors alone (the
        metrics look up every row's factors)."""
        return self.get_batch(indices).factors

    def check_indices(self, indices: torch.Tensor | Any) -> torch.Tensor:
        idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        n = len(self)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise DataError(f"indices out of range [0, {n})")
        return idx

    def sample_batch(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        """A uniformly random batch (with replacement), seeded by ``generator``."""
        return self.get_batch(torch.randint(len(self), (batch_size,), generator=generator))

    def evaluation_set(self) -> Batch:
        """The set on which evaluation numbers are reported (default: up to 1000 fixed samples)."""
        n = min(len(self), 1000)
        g = torch.Generator().manual_seed(0)
        return self.get_batch(torch.randperm(len(self), generator=g)[:n])

    @small_work  # probes rendered on one thread: the same bytes in every process
    def fingerprint(self) -> str:
        """A short hash identifying the data (recorded in a run's metadata)."""
        h = hashlib.sha256(type(self).__name__.encode())
        cfg = getattr(self, "config", None)
        if cfg is not None:
            h.update(cfg.to_json().encode())
        g = torch.Generator().manual_seed(1234)
        probe = self.get_batch(torch.randint(len(self), (min(len(self), 64),), generator=g))
        h.update(probe.x.contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def check_finite(self, chunk: int = 4096) -> None:
        """Raise :class:`DataError` if any observation is NaN or inf (scans in chunks)."""
        for start in range(0, len(self), chunk):
            idx = torch.arange(start, min(start + chunk, len(self)))
            check_observations(self.get_batch(idx).x, f"{type(self).__name__} samples {start}+")


class InMemoryDataset(FactorDataset):
    """Observations held in one tensor, with optional factor values and a :class:`FactorSpace`."""

    def __init__(
        self,
        x: torch.Tensor,
        factors: torch.Tensor | None = None,
        factor_space: FactorSpace | None = None,
    ):
        self.x = check_observations(torch.as_tensor(x), "observations").float().contiguous()
        if factors is not None:
            factors = torch.as_tensor(factors, dtype=torch.float64)
            if factors.ndim == 1:
                factors = factors[:, None]
            if factors.shape[0] != self.x.shape[0]:
                raise DataError(
                    f"factors have {factors.shape[0]} rows but there are "
                    f"{self.x.shape[0]} observations"
                )
            if factor_space is not None:
                factors = factor_space.check_values(factors)
        self.factors = factors
        self.factor_space = factor_space

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def get_batch(self, indices: torch.Tensor) -> Batch:
        idx = self.check_indices(indices)
        return Batch(self.x[idx], None if self.factors is None else self.factors[idx])

    def check_finite(self, chunk: int = 4096) -> None:
        check_observations(self.x, type(self).__name__)

    def fingerprint(self) -> str:
        h = hashlib.sha256(self.x.numpy().tobytes())
        if self.factors is not None:
            h.update(self.factors.numpy().tobytes())
        return h.hexdigest()[:16]
