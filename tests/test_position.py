"""The position network E_L of the slides: E_L(δ_a) = 2^L − a exactly (slides 25-26)."""

from __future__ import annotations

import pytest
import torch

from latentatlas.errors import ConfigError, DataError
from latentatlas.nets.position import PositionNetwork, diracs


def test_table_1_of_the_slides():
    # slide 25: the eight one-hot vectors of size 8 end at 8, 7, …, 1 after three layers
    assert PositionNetwork(3)(diracs(8)).tolist() == [8, 7, 6, 5, 4, 3, 2, 1]
    # and the intermediate layer u(1) of δ_1 is [1, 1, 0, 0]
    assert PositionNetwork(1)(diracs(2)).tolist() == [2, 1]


@pytest.mark.parametrize("levels", range(1, 13))
def test_identity_holds_for_every_position_up_to_l_12(levels):
    n = 2**levels
    out = PositionNetwork(levels)(diracs(n))
    assert torch.equal(out, (n - torch.arange(n)).double())
    scaled = PositionNetwork(levels, scale=0.5)(diracs(n))
    torch.testing.assert_close(scaled, 0.5**levels * (n - torch.arange(n)).double())


@pytest.mark.parametrize("levels", range(1, 6))
def test_two_dimensional_extension(levels):
    n = 2**levels
    out = PositionNetwork(levels, dims=2)(diracs(n, dims=2)).reshape(n, n)
    inv = (n - torch.arange(n)).double()
    assert torch.equal(out, torch.outer(inv, inv))


def test_max_pooling_loses_the_position():
    out = PositionNetwork(4, pooling="max")(diracs(16))
    assert len(set(out.tolist())) < 16  # no longer injective (slide 29)


def test_bad_input_is_refused():
    with pytest.raises(ConfigError, match="levels"):
        PositionNetwork(0)
    with pytest.raises(ConfigError, match="pooling"):
        PositionNetwork(2, pooling="mean")
    with pytest.raises(DataError, match=r"shape \(n, 8\) for L = 3"):
        PositionNetwork(3)(torch.zeros(2, 7))


def test_continuous_diracs_keep_the_identity_by_linearity():
    from latentatlas.data.synthetic.diracs import continuous_diracs
    from latentatlas.registry import DATASETS, build

    a = torch.tensor([0.0, 0.25, 3.0, 6.5, 7.0])
    x = continuous_diracs(a, 8)
    assert x.sum(1).tolist() == [1.0] * 5 and x[1, :2].tolist() == [0.75, 0.25]
    assert x[2].tolist() == [0, 0, 0, 1, 0, 0, 0, 0] and x[4, 7] == 1.0
    torch.testing.assert_close(PositionNetwork(3)(x), 8 - a.double())
    ds = build(DATASETS, {"name": "diracs", "n": 50, "size": 16}, "dataset")
    batch = ds.get_batch(torch.arange(50))
    torch.testing.assert_close(
        PositionNetwork(4)(batch.x), 16 - batch.factors[:, 0], atol=1e-5, rtol=0
    )
