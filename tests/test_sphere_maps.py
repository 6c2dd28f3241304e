"""The degree and alignment of a map between spheres: ±1 for rotations and reflections, 2 for a
double cover, 0 for a map onto a cap, folds counted, bad input refused."""

from __future__ import annotations

import math

import pytest
import torch

from latentatlas.analysis.sphere_maps import signed_solid_angles, sphere_map_summary
from latentatlas.data.synthetic.lit_sphere import fibonacci_directions
from latentatlas.errors import DataError
from latentatlas.rotations import random_quaternions, rotation_matrix

POINTS = fibonacci_directions(800)


def _spherical(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.atan2(v[:, 1], v[:, 0]), torch.arccos(v[:, 2].clamp(-1, 1))


def _from_spherical(azimuth: torch.Tensor, polar: torch.Tensor) -> torch.Tensor:
    return torch.stack(
        [
            torch.sin(polar) * torch.cos(azimuth),
            torch.sin(polar) * torch.sin(azimuth),
            torch.cos(polar),
        ],
        -1,
    )


def test_an_octant_has_a_solid_angle_of_half_pi():
    a, b, c = torch.eye(3, dtype=torch.float64)
    assert float(signed_solid_angles(a, b, c)) == pytest.approx(math.pi / 2)
    assert float(signed_solid_angles(a, c, b)) == pytest.approx(-math.pi / 2)


def test_rotations_have_degree_one_and_reflections_minus_one_with_zero_error():
    r = rotation_matrix(random_quaternions(1, torch.Generator().manual_seed(0)))[0]
    codes = POINTS @ r.T
    s = sphere_map_summary(POINTS, 3 * codes)  # lengths do not matter
    assert (s.degree, s.folded, s.reflected) == (1, 0.0, False)
    assert s.covers == pytest.approx(1.0, abs=1e-9) and s.aligned_error < 1e-7
    mirrored = sphere_map_summary(
        POINTS, codes * torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)
    )
    assert (mirrored.degree, mirrored.reflected) == (-1, True) and mirrored.aligned_error < 1e-7


def test_a_double_cover_has_degree_two_and_a_cap_degree_zero():
    azimuth, polar = _spherical(POINTS)
    double = sphere_map_summary(POINTS, _from_spherical(2 * azimuth, polar))
    assert double.degree == 2 and double.aligned_error > 0.3
    cap = sphere_map_summary(POINTS, _from_spherical(azimuth, polar / 3))  # the northern cap
    assert cap.degree == 0 and abs(cap.covers) < 0.05
    # a smooth non-rotation of degree 1 (polar angle squeezed towards the poles) has no folds
    squeezed = sphere_map_summary(
        POINTS, _from_spherical(azimuth, polar + 0.3 * torch.sin(2 * polar))
    )
    assert squeezed.degree == 1 and squeezed.folded == 0.0 and squeezed.aligned_error > 0.05


def test_noise_folds_some_triangles_and_bad_input_is_refused():
    noisy = POINTS + 0.2 * torch.randn(
        POINTS.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    s = sphere_map_summary(POINTS, noisy)
    assert s.folded > 0.01
    with pytest.raises(DataError, match=r"\(n, 3\)"):
        sphere_map_summary(POINTS[:, :2], POINTS[:, :2])
    with pytest.raises(DataError, match="origin"):
        sphere_map_summary(POINTS, torch.zeros_like(POINTS))
    with pytest.raises(DataError, match="800 factor directions but 10"):
        sphere_map_summary(POINTS, POINTS[:10])
