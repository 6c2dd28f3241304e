"""Ground-truth factors of variation: :class:`Factor` and :class:`FactorSpace`.

A factor is either *discrete* (``size`` values on a grid, addressable by class index) or
*continuous* (a range ``[low, high]``). A periodic factor wraps: its range is half-open
``[low, high)`` and its grid never repeats the end point. Factor values are float tensors of
shape ``(n, num_factors)``; class indices are long tensors of the same shape.

For a space whose factors are all discrete, every combination has a flat index in
``[0, num_combinations)`` in row-major order (the last factor varies fastest), which is how
dSprites numbers its 737 280 images. Index ↔ factors conversions never materialise the grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import DataError


@dataclass(frozen=True)
class Factor:
    """One factor of variation.

    Args:
        name: identifier, e.g. ``"phase"`` or ``"pos_x"``.
        low, high: value range. For a discrete factor the grid is ``values`` if given, else
            ``size`` points from ``low`` to ``high`` (end excluded when periodic).
        size: number of discrete values, or ``None`` for a continuous factor.
        periodic: whether the factor wraps around (an angle, a phase).
        values: explicit grid values of a discrete factor (overrides low/high spacing).
        labels: optional names of the discrete values (e.g. shape names).
    """

    name: str
    low: float = 0.0
    high: float = 1.0
    size: int | None = None
    periodic: bool = False
    values: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.values is not None:
            object.__setattr__(self, "values", tuple(float(v) for v in self.values))
            if self.size is None:
                object.__setattr__(self, "size", len(self.values))
            if len(self.values) != self.size:
                raise DataError(
                    f"factor {self.name!r}: {len(self.values)} values for size {self.size}"
                )
        if self.size is not None and self.size < 1:
            raise DataError(f"factor {self.name!r}: size must be >= 1, got {self.size}")
        if not self.high >= self.low:
            raise DataError(
                f"factor {self.name!r}: expected low <= high, got {self.low}, {self.high}"
            )
        if self.labels is not None and self.size is not None and len(self.labels) != self.size:
            raise DataError(f"factor {self.name!r}: {len(self.labels)} labels for size {self.size}")

    @property
    def discrete(self) -> bool:
        return self.size is not None

    @property
    def period(self) -> float:
        """Length of one turn of a periodic factor (``high - low``)."""
        return self.high - self.low

    def linspace(self, steps: int) -> torch.Tensor:
        """``steps`` evenly spaced values over the range (a full turn, no repeat, if periodic)."""
        if self.periodic:
            return self.low + self.period * torch.arange(steps, dtype=torch.float64) / steps
        return torch.linspace(self.low, self.high, steps, dtype=torch.float64)

    def grid(self) -> torch.Tensor:
        """All values of a discrete factor (float64)."""
        if not self.discrete:
            raise DataError(f"factor {self.name!r} is continuous and has no grid; use linspace")
        if self.values is not None:
            return torch.tensor(self.values, dtype=torch.float64)
        if self.size == 1:
            return torch.tensor([self.low], dtype=torch.float64)
        return self.linspace(self.size)


class FactorSpace:
    """An ordered collection of factors with seeded sampling, index conversion and traversals."""

    def __init__(self, factors: Sequence[Factor]):
        self.factors = tuple(factors)
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise DataError(f"factor names must be unique, got {names}")
        self._grids = [f.grid() if f.discrete else None for f in self.factors]

    # -- description ---------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def sizes(self) -> list[int | None]:
        return [f.size for f in self.factors]

    @property
    def periodic(self) -> list[bool]:
        return [f.periodic for f in self.factors]

    @property
    def all_discrete(self) -> bool:
        return all(f.discrete for f in self.factors)

    @property
    def num_combinations(self) -> int:
        """Number of distinct factor combinations (discrete spaces only)."""
        self._require_discrete("num_combinations")
        return math.prod(f.size for f in self.factors)

    def __len__(self) -> int:
        return len(self.factors)

    def index_of(self, name: str) -> int:
        """Position of the factor called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise DataError(f"unknown factor {name!r}; factors: {', '.join(self.names)}") from None

    def to_dict(self) -> dict:
        """A JSON-ready description; :meth:`from_dict` rebuilds an equal space."""
        return {
            "factors": [
                {
                    "name": f.name,
                    "low": f.low,
                    "high": f.high,
                    "size": f.size,
                    "periodic": f.periodic,
                    **({"values": list(f.values)} if f.values is not None else {}),
                    **({"labels": list(f.labels)} if f.labels else {}),
                }
                for f in self.factors
            ]
        }

    @classmethod
    def from_dict(cls, data: dict) -> FactorSpace:
        """Inverse of :meth:`to_dict`."""
        try:
            factors = [
                Factor(
                    **{
                        **f,
                        "values": tuple(f["values"]) if f.get("values") is not None else None,
                        "labels": tuple(f["labels"]) if f.get("labels") else None,
                    }
                )
                for f in data["factors"]
            ]
        except (KeyError, TypeError) as exc:
            raise DataError(f"not a factor-space description ({exc}): {data!r}") from None
        return cls(factors)

    def __repr__(self) -> str:
        parts = []
        for f in self.factors:
            kind = f"{f.size} values" if f.discrete else "continuous"
            parts.append(f"{f.name}: [{f.low:g}, {f.high:g}{')' if f.periodic else ']'} {kind}")
        return "FactorSpace(" + "; ".join(parts) + ")"

    # -- index <-> classes <-> values ------------------------------------------------------------
    def _require_discrete(self, what: str) -> None:
        if not self.all_discrete:
            cont = [f.name for f in self.factors if not f.discrete]
            raise DataError(f"{what} needs all factors discrete; continuous: {', '.join(cont)}")

    def _strides(self) -> torch.Tensor:
        sizes = [f.size for f in self.factors]
        strides = [1] * len(sizes)
        for i in range(len(sizes) - 2, -1, -1):
            strides[i] = strides[i + 1] * sizes[i + 1]
        return torch.tensor(strides, dtype=torch.long)

    def index_to_classes(self, index: torch.Tensor | Sequence[int] | int) -> torch.Tensor:
        """Flat indices ``(n,)`` → class indices ``(n, k)`` (last factor fastest)."""
        self._require_discrete("index_to_classes")
        idx = torch.as_tensor(index, dtype=torch.long).reshape(-1)
        n = self.num_combinations
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise DataError(
                f"index out of range [0, {n}): got {idx.min().item()}..{idx.max().item()}"
            )
        sizes = torch.tensor([f.size for f in self.factors], dtype=torch.long)
        return (idx[:, None] // self._strides()) % sizes

    def classes_to_index(self, classes: torch.Tensor) -> torch.Tensor:
        """Class indices ``(n, k)`` → flat indices ``(n,)``."""
        self._require_discrete("classes_to_index")
        classes = self._check_classes(classes)
        return (classes * self._strides()).sum(-1)

    def _check_classes(self, classes: torch.Tensor) -> torch.Tensor:
        classes = torch.as_tensor(classes, dtype=torch.long)
        if classes.ndim != 2 or classes.shape[1] != len(self):
            raise DataError(
                f"expected class indices of shape (n, {len(self)}), got {tuple(classes.shape)}"
            )
        sizes = torch.tensor([f.size for f in self.factors], dtype=torch.long)
        if classes.numel() and ((classes < 0).any() or (classes >= sizes).any()):
            raise DataError(f"class indices out of range for sizes {self.sizes}")
        return classes

    def classes_to_values(self, classes: torch.Tensor) -> torch.Tensor:
        """Class indices ``(n, k)`` → factor values ``(n, k)`` (float64)."""
        self._require_discrete("classes_to_values")
        classes = self._check_classes(classes)
        cols = [grid[classes[:, j]] for j, grid in enumerate(self._grids)]
        return torch.stack(cols, dim=1) if cols else torch.zeros(classes.shape[0], 0)

    def index_to_values(self, index: torch.Tensor | Sequence[int] | int) -> torch.Tensor:
        return self.classes_to_values(self.index_to_classes(index))

    def values_to_classes(self, values: torch.Tensor) -> torch.Tensor:
        """Nearest grid class for each value (periodic factors wrap)."""
        self._require_discrete("values_to_classes")
        values = self.check_values(values)
        cols = []
        for j, (f, grid) in enumerate(zip(self.factors, self._grids)):
            d = values[:, j : j + 1] - grid[None, :]
            if f.periodic:
                d = torch.remainder(d + f.period / 2, f.period) - f.period / 2
            cols.append(d.abs().argmin(dim=1))
        return torch.stack(cols, dim=1)

    def check_values(self, values: torch.Tensor) -> torch.Tensor:
        """Validate a ``(n, k)`` tensor of factor values; returns it as float64."""
        values = torch.as_tensor(values, dtype=torch.float64)
        if values.ndim == 1 and len(self) == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(self):
            raise DataError(
                f"expected factor values of shape (n, {len(self)}) for factors {self.names}, "
                f"got {tuple(values.shape)}"
            )
        if not torch.isfinite(values).all():
            raise DataError("factor values contain NaN or inf")
        return values

    # -- sampling, grids, traversals ------------------------------------------------------------
    def sample_classes(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` uniformly random class-index rows (discrete spaces)."""
        self._require_discrete("sample_classes")
        cols = [torch.randint(f.size, (n,), generator=generator) for f in self.factors]
        return torch.stack(cols, dim=1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` factor-value rows, uniform over each factor (grid values for discrete ones)."""
        cols = []
        for f, grid in zip(self.factors, self._grids):
            if grid is not None:
                cols.append(grid[torch.randint(len(grid), (n,), generator=generator)])
            else:
                u = torch.rand(n, generator=generator, dtype=torch.float64)
                cols.append(f.low + (f.high - f.low) * u)
        return torch.stack(cols, dim=1)

    def grid(self, steps: int | Sequence[int | None] | None = None) -> torch.Tensor:
        """Cartesian grid of factor values, one row per combination (first factor slowest).

        ``steps`` None: every factor's own grid (discrete factors only). An int: discrete
        factors keep their own grid, continuous ones get ``steps`` evenly spaced values (a
        periodic one without repeating its start). A sequence: one entry per factor, where None
        means the factor's own grid and a number that many evenly spaced values.
        """
        if steps is None or isinstance(steps, int):
            per = [None if g is not None else steps for g in self._grids]
        else:
            per = list(steps)
            if len(per) != len(self):
                raise DataError(
                    f"grid: expected {len(self)} step counts for factors {self.names}, got {per}"
                )
        axes = []
        for f, grid, s in zip(self.factors, self._grids, per):
            if s is None:
                if grid is None:
                    raise DataError(f"continuous factor {f.name!r} needs a number of grid steps")
                axes.append(grid)
            else:
                axes.append(f.linspace(int(s)))
        mesh = torch.meshgrid(*axes, indexing="ij")
        return torch.stack([m.reshape(-1) for m in mesh], dim=1)

    def traversal(
        self, base: torch.Tensor, factor: str | int, steps: int | None = None
    ) -> torch.Tensor:
        """Rows equal to ``base`` (``(k,)``) except factor ``factor`` sweeping its range.

        A discrete factor sweeps its whole grid unless ``steps`` is given; a periodic factor
        sweeps a full turn without repeating the start.
        """
        j = self.index_of(factor) if isinstance(factor, str) else int(factor)
        base = self.check_values(torch.as_tensor(base, dtype=torch.float64).reshape(1, -1))[0]
        f = self.factors[j]
        if steps is None:
            if not f.discrete:
                raise DataError(f"continuous factor {f.name!r} needs a number of traversal steps")
            sweep = self._grids[j]
        else:
            sweep = f.linspace(steps)
        rows = base.repeat(len(sweep), 1)
        rows[:, j] = sweep
        return rows
