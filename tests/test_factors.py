from __future__ import annotations

import json
import math

import pytest
import torch

from latentatlas.data import Factor, FactorSpace
from latentatlas.errors import DataError


@pytest.fixture
def space():
    return FactorSpace(
        [
            Factor("shape", 1, 3, size=3),
            Factor("angle", 0, 2 * math.pi, size=8, periodic=True),
            Factor("pos", 0, 1, size=5),
        ]
    )


def test_index_classes_values_round_trip(space):
    assert space.num_combinations == 3 * 8 * 5
    idx = torch.arange(space.num_combinations)
    classes = space.index_to_classes(idx)
    assert torch.equal(space.classes_to_index(classes), idx)
    values = space.classes_to_values(classes)
    assert torch.equal(space.values_to_classes(values), classes)
    # the last factor varies fastest
    assert classes[:6, 2].tolist() == [0, 1, 2, 3, 4, 0]
    assert classes[5].tolist() == [0, 1, 0]


def test_periodic_grid_excludes_the_end_and_wraps(space):
    grid = space.factors[1].grid()
    assert len(grid) == 8 and grid[-1] < 2 * math.pi
    assert torch.allclose(grid[1] - grid[0], torch.tensor(2 * math.pi / 8, dtype=torch.float64))
    near_end = torch.tensor([[1.0, 2 * math.pi - 1e-3, 0.0]])
    assert space.values_to_classes(near_end)[0, 1] == 0


def test_seeded_sampling_is_reproducible(space):
    a = space.sample(50, torch.Generator().manual_seed(4))
    b = space.sample(50, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    cont = FactorSpace([Factor("t", -1, 2)])
    s = cont.sample(1000, torch.Generator().manual_seed(0))
    assert s.min() >= -1 and s.max() <= 2 and abs(float(s.mean()) - 0.5) < 0.1


def test_traversal_changes_one_factor(space):
    base = space.index_to_values(17)[0]
    rows = space.traversal(base, "angle")
    assert rows.shape == (8, 3)
    assert torch.equal(rows[:, 0], base[0].repeat(8)) and torch.equal(rows[:, 2], base[2].repeat(8))
    assert torch.equal(rows[:, 1], space.factors[1].grid())


def test_grid_shape(space):
    assert space.grid().shape == (space.num_combinations, 3)
    with pytest.raises(DataError, match="needs a number of grid steps"):
        FactorSpace([Factor("t", 0, 1)]).grid()


def test_grid_steps_apply_to_continuous_factors_only():
    mixed = FactorSpace([Factor("shape", 1, 3, size=3), Factor("t", 0, 1)])
    grid = mixed.grid(5)  # the discrete factor keeps its 3 values
    assert grid.shape == (15, 2)
    assert sorted(set(grid[:, 0].tolist())) == [1.0, 2.0, 3.0]
    assert torch.allclose(grid[:5, 1], torch.linspace(0, 1, 5, dtype=torch.float64))
    coarse = mixed.grid([2, 3])  # explicit counts resample the discrete factor too
    assert coarse.shape == (6, 2) and sorted(set(coarse[:, 0].tolist())) == [1.0, 3.0]
    with pytest.raises(DataError, match="expected 2 step counts"):
        mixed.grid([2])


def test_errors(space):
    with pytest.raises(DataError, match="out of range"):
        space.index_to_classes([space.num_combinations])
    with pytest.raises(DataError, match="shape"):
        space.check_values(torch.zeros(4, 2))
    with pytest.raises(DataError, match="NaN"):
        space.check_values(torch.tensor([[1.0, float("nan"), 0.0]]))
    with pytest.raises(DataError, match="unknown factor"):
        space.index_of("colour")
    with pytest.raises(DataError, match="unique"):
        FactorSpace([Factor("a"), Factor("a")])


def test_dict_round_trip_keeps_explicit_values_and_labels(space):
    odd = FactorSpace(
        [Factor("shape", 1, 3, values=(1, 2, 3), labels=("a", "b", "c")), Factor("t", 0, 1)]
    )
    for original in (space, odd):
        data = json.loads(json.dumps(original.to_dict()))
        assert FactorSpace.from_dict(data).factors == original.factors
    with pytest.raises(DataError, match="not a factor-space description"):
        FactorSpace.from_dict({"factor": []})
