"""The alignment of codes in SO(3) to a rotation factor: exact up to fixed rotations on both
sides (and for the inverse map), about the Haar mean angle for codes unrelated to the factor,
and bad input refused."""

from __future__ import annotations

import math

import pytest
import torch

from latentatlas.analysis.rotation_maps import nearest_rotation, rotation_map_summary
from latentatlas.errors import DataError
from latentatlas.rotations import random_quaternions, rotation_matrix

X = rotation_matrix(random_quaternions(300, torch.Generator().manual_seed(1)))
A, B = rotation_matrix(random_quaternions(2, torch.Generator().manual_seed(2)))


def test_codes_equal_to_the_factor_up_to_fixed_rotations_align_exactly():
    s = rotation_map_summary(X, A @ X @ B)
    assert s.aligned_error < 1e-6 and not s.inverse
    inverse = rotation_map_summary(X, A @ X.transpose(1, 2) @ B)
    assert inverse.aligned_error < 1e-6 and inverse.inverse


def test_noise_shows_as_its_angle_and_unrelated_codes_as_the_haar_mean():
    noise = rotation_matrix(
        torch.nn.functional.normalize(
            torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
            + 0.05
            * torch.randn(300, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64),
            dim=-1,
        )
    )
    s = rotation_map_summary(X, A @ X @ B @ noise)
    assert 0.05 < s.aligned_error < 0.3  # rotations of about 2·0.05·√3 rad
    unrelated = rotation_map_summary(
        X, rotation_matrix(random_quaternions(300, torch.Generator().manual_seed(4)))
    )
    assert unrelated.aligned_error > math.radians(90)


def test_the_nearest_rotation_and_bad_input():
    r = nearest_rotation(A + 0.01 * torch.ones(3, 3, dtype=torch.float64))
    assert torch.allclose(r @ r.T, torch.eye(3, dtype=torch.float64)) and torch.linalg.det(r) > 0
    with pytest.raises(DataError, match=r"\(n, 3, 3\)"):
        rotation_map_summary(X[:, :2], X[:, :2])
    with pytest.raises(DataError, match="300 factor rotations but 5"):
        rotation_map_summary(X, X[:5])
