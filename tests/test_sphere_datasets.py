"""Data sets whose factors live on S² and SO(3): a ball lit from a direction, and an object
under uniformly random rotations. Their factors are sampled uniformly on their manifold, the
images are deterministic and depend on the factor alone, and different factors give different
images (the factor can be read back from the image)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from latentatlas.data.synthetic.lit_sphere import (
    LitSphere,
    LitSphereConfig,
    factors_of_directions,
    fibonacci_directions,
    light_directions,
)
from latentatlas.data.synthetic.rotating_object import TumblingObject, TumblingObjectConfig
from latentatlas.errors import DataError
from latentatlas.rotations import rotation_angle


def test_lit_sphere_directions_are_uniform_and_read_back_from_the_images():
    data = LitSphere(LitSphereConfig(n=4000, size=16))
    assert data.x.shape == (4000, 2, 16, 16) and data.factors.shape == (4000, 2)
    directions = light_directions(data.factors)
    torch.testing.assert_close(factors_of_directions(directions), data.factors)
    # uniform on S²: each coordinate of l is uniform on [−1, 1] (Archimedes)
    for k in range(3):
        assert stats.kstest(directions[:, k].numpy(), "uniform", args=(-1, 2)).pvalue > 1e-3
    # the same seed gives the same images; render(factors) is what the data set holds
    again = LitSphere(LitSphereConfig(n=4000, size=16))
    torch.testing.assert_close(again.x, data.x)
    torch.testing.assert_close(data.render(data.factors[:5]).float(), data.x[:5])
    # distinct directions, distinct images: nearest-neighbour lookup among lattice images
    # recovers each direction from its image
    lattice = fibonacci_directions(300)
    images = data.render(factors_of_directions(lattice)).flatten(1)
    probes = torch.nn.functional.normalize(
        lattice + 0.02 * torch.randn(300, 3, dtype=torch.float64), dim=-1
    )
    probe_images = data.render(factors_of_directions(probes)).flatten(1)
    nearest = torch.cdist(probe_images, images).argmin(1)
    assert (nearest == torch.arange(300)).float().mean() > 0.95
    # light from straight behind lights only the back view
    behind = data.render(factors_of_directions(torch.tensor([[0.0, 0.0, -1.0]])))
    assert float(behind[0, 0].max()) == pytest.approx(0.1) and float(behind[0, 1].max()) > 0.9


def test_tumbling_object_rotations_are_haar_and_every_view_is_its_own():
    data = TumblingObject(TumblingObjectConfig(n=1500, size=16, supersample=1))
    assert data.x.shape == (1500, 1, 16, 16) and data.factors.shape == (1500, 3)
    rotations = data.rotations(data.factors)
    eye = torch.eye(3, dtype=torch.float64).expand_as(rotations)
    omega = rotation_angle(eye, rotations).numpy()
    # Haar measure: the rotation angle has the CDF (ω − sin ω)/π
    assert stats.kstest(omega, lambda w: (w - np.sin(w)) / math.pi).pvalue > 1e-3
    torch.testing.assert_close(data.render(data.factors[:4]), data.x[:4])
    # views of rotations more than 20° apart differ, so the rotation is identifiable
    first = data.x[:300].flatten(1)
    distances = torch.cdist(first, first)
    apart = rotation_angle(rotations[:300, None], rotations[None, :300]) > math.radians(20)
    assert float(distances[apart].min()) > 0.5
    assert data.evaluation_set().x.shape == (500, 1, 16, 16)


def test_bad_factors_are_refused():
    data = LitSphere(LitSphereConfig(n=2, size=8))
    with pytest.raises(DataError, match="shape"):
        data.render(torch.tensor([[0.0, 0.5, 1.0]]))  # three numbers for two factors
    with pytest.raises(DataError):
        TumblingObject(TumblingObjectConfig(n=2, size=8)).render(
            torch.tensor([[0.0, float("nan"), 0.0]])
        )
