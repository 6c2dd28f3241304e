from __future__ import annotations

import math

import pytest
import torch

from latentatlas.data.synthetic.sine_circle import SineCircle, SineCircleConfig
from latentatlas.errors import DataError
from latentatlas.registry import DATASETS, build


def test_matches_eq_5_1_and_noise_level():
    ds = SineCircle(SineCircleConfig(n=2000, dim=25, sigma=0.1, seed=1))
    assert len(ds) == 2000 and ds.observation_shape == (25,)
    j = torch.arange(1, 26, dtype=torch.float64)
    clean = torch.sin(2 * math.pi * j / 25 + ds.factors)  # eq. 5.1, j = 1..D
    noise = ds.x.double() - clean
    assert abs(float(noise.std()) - 0.1) < 0.005
    assert abs(float(noise.mean())) < 0.005
    assert ds.factors.min() >= -math.pi and ds.factors.max() < math.pi


def test_x_vis_is_the_noiseless_grid_of_eq_5_4():
    ds = build(DATASETS, {"name": "sine_circle", "n": 10})
    vis = ds.evaluation_set()
    phases = -math.pi + 2 * math.pi * torch.arange(100, dtype=torch.float64) / 100
    assert torch.allclose(vis.factors[:, 0], phases)
    assert torch.allclose(vis.x.double(), ds.render(phases[:, None]), atol=1e-6)
    assert vis.x.shape == (100, 25)


def test_same_seed_same_data_and_fingerprint():
    a, b = SineCircle(SineCircleConfig(n=50, seed=2)), SineCircle(SineCircleConfig(n=50, seed=2))
    c = SineCircle(SineCircleConfig(n=50, seed=3))
    assert torch.equal(a.x, b.x) and a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


def test_torch_dataset_protocol():
    ds = SineCircle(SineCircleConfig(n=20))
    x, f = ds[3]
    assert torch.equal(x, ds.x[3]) and torch.equal(f, ds.factors[3])
    loader = torch.utils.data.DataLoader(ds, batch_size=8)
    xb, fb = next(iter(loader))
    assert xb.shape == (8, 25) and fb.shape == (8, 1)


def test_render_refuses_bad_phases():
    ds = SineCircle(SineCircleConfig(n=10))
    assert ds.render(torch.zeros(3)).shape == (3, 25)  # (n,) is read as (n, 1)
    with pytest.raises(DataError, match=r"shape \(n, 1\)"):
        ds.render(torch.zeros(3, 2))
    with pytest.raises(DataError, match="NaN"):
        ds.render(torch.tensor([[float("nan")]]))
