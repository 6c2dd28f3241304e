"""What the disentanglement metrics read: observations with known factors, and a representation.

Every supervised metric is a pure function of a dataset with ground-truth factors and a
representation function ``represent(x) -> codes (n, d)`` (by default the posterior mean of a
trained model, :func:`posterior_mean`). :class:`GroundTruth` gives the metrics what they sample:

* ``sample(n, generator)`` — observations, their factor values and their factor *labels* (integer
  classes: the grid index of a discrete factor; for a continuous factor one of ``bins`` equal-width
  bins over its range);
* ``sample_fixed(n, factor, generator)`` — a batch whose ``factor`` has one common value and whose
  other factors vary (the BetaVAE and FactorVAE scores).

Datasets that can render observations from factor values (procedural ones) draw fresh factors;
others (files, arrays) draw rows: a fixed factor is obtained by choosing one of its classes
present in the data and rows that have it. Successive ``sample`` calls with one generator (a
metric's training and test points) draw **distinct rows** — a permutation of the rows, read on
— until every row is used; a draw past that starts a new permutation and is recorded
(``repeated``), so that a score on test rows that repeat training rows is never silent. Metrics
that need no factors (the unsupervised scores) only call ``represent`` on observations.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np
import torch

from ...data.base import FactorDataset, InMemoryDataset
from ...data.factors import FactorSpace
from ...data.files import factor_space_from_values
from ...errors import DataError, UnknownNameError
from ...threads import small_work

Representation = Callable[[torch.Tensor], torch.Tensor]


def check_codes(
    codes: object, n: int | None = None, what: str = "the representation"
) -> np.ndarray:
    """Refuse codes that are not a finite (n, d) array; returns float64 NumPy."""
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().double().numpy()
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or (n is not None and codes.shape[0] != n):
        raise DataError(f"{what} must return codes of shape (n, d) for n = {n}, got {codes.shape}")
    bad = ~np.isfinite(codes)
    if bad.any():
        raise DataError(
            f"{what} returned NaN or inf in {int(bad.any(1).sum())} of {len(codes)} codes; "
            "the model may have diverged"
        )
    return codes


def posterior_mean(
    model: torch.nn.Module, batch_size: int = 256, sample: bool = False, seed: int = 0
) -> Representation:
    """``represent(x)``: the posterior mean of ``model`` (or one posterior sample, seeded),
    computed in batches without gradients, in eval mode."""
    generator = torch.Generator().manual_seed(seed)

    def represent(x: torch.Tensor) -> torch.Tensor:
        was = model.training
        model.eval()
        out = []
        try:
            with torch.no_grad():
                for start in range(0, len(x), batch_size):
                    posterior = model.encode(x[start : start + batch_size])
                    if sample:
                        out.append(model.latent.sample(posterior, 1, generator)[0])
                    else:
                        out.append(model.latent.mean(posterior))
        finally:
            model.train(was)
        return torch.cat(out).reshape(len(x), -1)

    return represent


def encode_all(represent: Representation, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Codes of ``x`` as a checked (n, d) float64 array."""
    parts = [represent(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    codes = torch.cat([torch.as_tensor(p) for p in parts]) if parts else torch.zeros(0, 0)
    return check_codes(codes, len(x))


def standardised(codes: np.ndarray) -> np.ndarray:
    """Each column centred and divided by its (population) standard deviation; a constant
    column is only centred."""
    std = codes.std(0)
    return (codes - codes.mean(0)) / np.where(std > 0, std, 1.0)


def discretize(codes: np.ndarray, bins: int = 20, periodic: np.ndarray | None = None) -> np.ndarray:
    """Each column into ``bins`` equal-width bins over its own range (the histogram
    discretisation of Locatello et al. 2019), or over the full turn [−π, π) for the columns
    flagged ``periodic``: integer labels (n, d)."""
    if bins < 2:
        raise DataError(f"bins: expected at least 2, got {bins}")
    out = np.empty(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        if periodic is not None and periodic[j]:
            turn = np.remainder(codes[:, j] + np.pi, 2 * np.pi) / (2 * np.pi)
            out[:, j] = np.minimum((turn * bins).astype(np.int64), bins - 1)
            continue
        edges = np.histogram(codes[:, j], bins)[1]
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def supervised_metrics() -> list[str]:
    """The names of the metrics that need ground-truth factors (``Metric.supervised``)."""
    from . import METRICS

    return [name for name, metric in METRICS.items() if metric.supervised]


class GroundTruth:
    """A dataset with factors as the metrics sample it (see the module docstring)."""

    def __init__(self, dataset: FactorDataset, bins: int = 20, metric: str = "this metric"):
        if not dataset.has_factors or dataset.factor_space is None:
            raise DataError(
                f"{metric} needs ground-truth factors, and {type(dataset).__name__} has none; "
                f"metrics that need them: {', '.join(supervised_metrics())} (the unsupervised "
                "scores work without)"
            )
        self.dataset = dataset
        self.space = dataset.factor_space
        # a factor with a single value (dSprites' colour) is not a factor of variation
        self.varying = [j for j, f in enumerate(self.space.factors) if f.size != 1]
        if not self.varying:
            raise DataError(f"{metric}: no factor of this dataset varies")
        self.factors = [self.space.factors[j] for j in self.varying]
        self.names = [f.name for f in self.factors]
        self.bins = bins
        self.renders = type(dataset).render is not FactorDataset.render
        self._rows: tuple[torch.Tensor, np.ndarray] | None = None
        # per generator (a metric's draws): its permutation of the rows and how far it was read;
        # the generator itself is the key (kept alive, so its id is never another's)
        self._streams: dict[torch.Generator, tuple[torch.Tensor, int]] = {}
        self._others_groups: dict[int, list[np.ndarray]] = {}  # per factor: sample_others_fixed
        self.repeated = False
        """whether some draw used a row twice (more rows asked than the dataset holds)"""

    @property
    def num_factors(self) -> int:
        """The number of varying factors (the columns of labels and values)."""
        return len(self.varying)

    def labels(self, values: torch.Tensor) -> np.ndarray:
        """Integer class labels (n, k) of the varying factors, from full factor rows: grid
        classes, or equal-width bins for continuous factors."""
        values = torch.as_tensor(values, dtype=torch.float64)
        out = np.empty((len(values), self.num_factors), dtype=np.int64)
        for j, (f, column) in enumerate(zip(self.factors, self.varying)):
            v = values[:, column]
            if f.discrete:
                grid = f.grid()
                d = v[:, None] - grid[None]
                if f.periodic:
                    d = torch.remainder(d + f.period / 2, f.period) - f.period / 2
                out[:, j] = d.abs().argmin(1).numpy()
            else:
                scaled = (v - f.low) / max(f.high - f.low, 1e-12) * self.bins
                out[:, j] = scaled.floor().clamp(0, self.bins - 1).long().numpy()
        return out

    def _all_rows(self) -> tuple[torch.Tensor, np.ndarray]:
        if self._rows is None:
            n = len(self.dataset)
            factors = self.dataset.factors_of(torch.arange(n))
            self._rows = (factors, self.labels(factors))
        return self._rows

    def sample(
        self, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """``n`` observations, the values and the labels of their varying factors."""
        if self.renders:
            values = self.space.sample(n, generator)
            x = self.dataset.render(values).float()
        else:
            batch = self.dataset.get_batch(self.distinct_rows(n, generator))
            x, values = batch.x, batch.factors
        return x, values[:, self.varying], self.labels(values)

    def distinct_rows(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` row indices, distinct from each other and from every earlier draw with the same
        ``generator`` while rows last (then a new permutation starts: :attr:`repeated`)."""
        perm, used = self._streams.get(generator, (torch.empty(0, dtype=torch.long), 0))
        parts = []
        while n > 0:
            if used == len(perm):
                self.repeated = self.repeated or len(perm) > 0
                perm, used = torch.randperm(len(self.dataset), generator=generator), 0
            take = min(n, len(perm) - used)
            parts.append(perm[used : used + take])
            used, n = used + take, n - take
        self._streams[generator] = (perm, used)
        return torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)

    def _rows_like(self, labels_of: np.ndarray, factor_of: np.ndarray, g: torch.Generator):
        """For each target row label (per its own factor), a random dataset row sharing it."""
        _, labels = self._all_rows()
        out = np.empty(len(factor_of), dtype=np.int64)
        for k in np.unique(factor_of):
            where = np.flatnonzero(factor_of == k)
            column = labels[:, k]
            order = np.argsort(column, kind="stable")
            sorted_col = column[order]
            lo = np.searchsorted(sorted_col, labels_of[where], "left")
            hi = np.searchsorted(sorted_col, labels_of[where], "right")
            u = torch.rand(len(where), generator=g, dtype=torch.float64).numpy()
            out[where] = order[lo + np.floor(u * (hi - lo)).astype(np.int64)]
        return torch.from_numpy(out)

    @small_work  # called once per point of BetaVAE/FactorVAE: small batches, many calls
    def sample_fixed(
        self, factors: np.ndarray, batch: int, generator: torch.Generator
    ) -> torch.Tensor:
        """Blocks of ``batch`` observations, block i sharing one value of factor ``factors[i]``
        (the value differs between blocks; the other factors vary): ``(len(factors)·batch,
        ...)``."""
        factors = np.repeat(np.asarray(factors, dtype=np.int64), batch)
        blocks = np.arange(len(factors)) // batch
        if self.renders:
            values = self.space.sample(len(factors), generator)
            anchor = values[torch.from_numpy(blocks * batch)]
            rows = torch.arange(len(factors))
            k = torch.tensor(self.varying)[torch.from_numpy(factors)]
            values[rows, k] = anchor[rows, k]
            return self.dataset.render(values).float()
        first = torch.randint(len(self.dataset), (len(factors) // batch,), generator=generator)
        _, labels = self._all_rows()
        targets = labels[first.numpy()][blocks, factors]
        return self.dataset.get_batch(self._rows_like(targets, factors, generator)).x

    @small_work
    def sample_others_fixed(
        self, factors: np.ndarray, batch: int, generator: torch.Generator
    ) -> torch.Tensor:
        """Blocks of ``batch`` observations, block i sharing the value of every factor except
        ``factors[i]``, which varies (Z-max-var): ``(len(factors)·batch, ...)``. From rows, a
        block is the rows of one combination of the other factors that at least two rows share
        (chosen uniformly among those combinations), repeated in shuffled passes."""
        factors = np.asarray(factors, dtype=np.int64)
        if self.renders:
            repeated = np.repeat(factors, batch)
            values = self.space.sample(len(repeated), generator)
            anchor = values[torch.from_numpy(np.arange(len(repeated)) // batch * batch)]
            keep = torch.ones(len(repeated), values.shape[1], dtype=torch.bool)
            keep[torch.arange(len(repeated)), torch.tensor(self.varying)[repeated]] = False
            return self.dataset.render(torch.where(keep, anchor, values)).float()
        rows = []
        for k in factors:
            groups = self._groups_without(int(k))
            group = groups[int(torch.randint(len(groups), (1,), generator=generator))]
            passes = -(-batch // len(group))
            order = torch.rand(passes, len(group), generator=generator).argsort(1)
            rows.append(group[order.reshape(-1)[:batch].numpy()])
        return self.dataset.get_batch(torch.from_numpy(np.concatenate(rows))).x

    def _groups_without(self, k: int) -> list[np.ndarray]:
        """The row groups that share every factor label except factor ``k``'s (at least two
        rows each), cached per factor."""
        cache = self._others_groups
        if k not in cache:
            _, labels = self._all_rows()
            others = np.delete(labels, k, axis=1)
            _, inverse, counts = np.unique(others, axis=0, return_inverse=True, return_counts=True)
            inverse = inverse.reshape(-1)
            order = np.argsort(inverse, kind="stable")
            starts = np.concatenate([[0], np.cumsum(counts)])
            cache[k] = [order[starts[c] : starts[c + 1]] for c in np.flatnonzero(counts >= 2)]
            if not cache[k]:
                raise DataError(
                    f"Z-max-var holds every factor but {self.names[k]!r} fixed, and no two rows "
                    "share all the other factors' values"
                )
        return cache[k]

    @small_work
    def sample_pairs(
        self, factors: np.ndarray, batch: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Two sets of ``len(factors)·batch`` observations; pair r of block i shares the value of
        factor ``factors[i]`` (a different value for every pair), the other factors are free."""
        factors = np.repeat(np.asarray(factors, dtype=np.int64), batch)
        rows = torch.arange(len(factors))
        k = torch.tensor(self.varying)[torch.from_numpy(factors)]
        if self.renders:
            first = self.space.sample(len(factors), generator)
            second = self.space.sample(len(factors), generator)
            second[rows, k] = first[rows, k]
            return self.dataset.render(first).float(), self.dataset.render(second).float()
        idx = torch.randint(len(self.dataset), (len(factors),), generator=generator)
        _, labels = self._all_rows()
        targets = labels[idx.numpy(), factors]
        partner = self._rows_like(targets, factors, generator)
        return self.dataset.get_batch(idx).x, self.dataset.get_batch(partner).x


# -- codes you already have -----------------------------------------------------------------------
Factors = Mapping[str, Any] | np.ndarray | torch.Tensor


def _array(values: Any, what: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what}: expected numbers, got {type(values).__name__}") from None
    if not np.isfinite(out).all():
        raise DataError(f"{what} contain NaN or inf")
    return out


def codes_dataset(
    codes: Any, factors: Factors | None = None, periodic_factors: Collection[str] = ()
) -> InMemoryDataset:
    """A dataset whose observations are ``codes`` ``(n, d)`` (arrays or tensors) with the
    ``factors`` of each row: a mapping name → ``(n,)`` values, or an array ``(n,)`` / ``(n, k)``
    (named ``factor_0`` …). Integer columns with few values are discrete factors, others
    continuous over their range (as for array files); ``periodic_factors`` names the angles."""
    z = _array(codes, "codes")
    if z.ndim != 2 or len(z) == 0:
        raise DataError(f"codes: expected an array (n, d) with n ≥ 1, got shape {z.shape}")
    if factors is None:
        return InMemoryDataset(torch.from_numpy(z))
    if isinstance(factors, Mapping):
        names = [str(k) for k in factors]
        columns = [_array(v, f"factor {k!r}").reshape(-1) for k, v in factors.items()]
        for name, column in zip(names, columns):
            if len(column) != len(z):
                raise DataError(f"factor {name!r} has {len(column)} values for {len(z)} codes")
        values = np.stack(columns, 1) if columns else np.zeros((len(z), 0))
    else:
        values = _array(factors, "factors")
        values = values[:, None] if values.ndim == 1 else values
        if values.ndim != 2 or len(values) != len(z):
            raise DataError(
                f"factors: expected ({len(z)},) or ({len(z)}, k) values, got {values.shape}"
            )
        names = [f"factor_{j}" for j in range(values.shape[1])]
    if values.shape[1] == 0:
        raise DataError("factors: expected at least one factor")
    tensor = torch.from_numpy(values)
    space = factor_space_from_values(tensor, tuple(names))
    unknown = [name for name in periodic_factors if name not in names]
    if unknown:
        raise UnknownNameError("factor", unknown[0], names)
    space = FactorSpace(
        [dataclasses.replace(f, periodic=f.name in periodic_factors) for f in space.factors]
    )
    return InMemoryDataset(torch.from_numpy(z), tensor, space)


def identity(x: torch.Tensor) -> torch.Tensor:
    """The representation of a :func:`codes_dataset`: its observations are the codes."""
    return x


def _is_codes(value: Any) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor, list, tuple))


def metric_inputs(data: Any, second: Any, metric: str) -> tuple[GroundTruth, Representation]:
    """``(GroundTruth, represent)`` from what a metric was given: a ground truth or a dataset
    with a representation, or codes with their factors (arrays, tensors)."""
    if isinstance(data, GroundTruth):
        return data, second
    if isinstance(data, FactorDataset):
        return GroundTruth(data, metric=metric), second
    if _is_codes(data):
        return GroundTruth(codes_dataset(data, second), metric=metric), identity
    raise DataError(
        f"{metric}: expected a dataset with a representation, or codes (n, d) with factors; "
        f"got {type(data).__name__}"
    )


def accepts_codes(metric: Callable[..., dict[str, float]]) -> Callable[..., dict[str, float]]:
    """Let a supervised metric take ``(codes, factors, ...)`` as well as ``(ground truth or
    dataset, represent, ...)``; it returns the same flat dict."""

    @functools.wraps(metric)
    def wrapper(data: Any, second: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        gt, represent = metric_inputs(data, second, metric.__name__)
        return metric(gt, represent, *args, **kwargs)

    return wrapper
