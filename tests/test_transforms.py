"""Image transformations T_t and their validity masks (directions paper, sec. 2.1.2)."""

from __future__ import annotations

import math

import pytest
import torch

from latentatlas.analysis.directions.image_factors import (
    barycentre_x,
    barycentre_y,
    log_contrast,
    log_size,
    mean_intensity,
    orientation,
)
from latentatlas.data.transforms import TRANSFORMATIONS, get_transformation
from latentatlas.errors import DataError, UnknownNameError


def _random_images(n=3, c=2, h=8, w=10, seed=0):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shift", [1, 3, -2])
def test_whole_pixel_translation_is_an_exact_shift_and_masks_the_uncovered_columns(shift):
    img = _random_images()
    w = img.shape[-1]
    out, mask = get_transformation("translate-x")(img, shift / w)
    cols = torch.arange(w)
    defined = (cols - shift >= 0) & (cols - shift < w)
    assert torch.equal(mask[:, 0], defined.expand(3, 8, w).float())
    assert torch.allclose(out[..., defined], img[..., cols[defined] - shift], atol=1e-6)


def test_vertical_translation_moves_rows_down_and_masks_the_top_rows():
    img = _random_images()
    h = img.shape[-2]
    out, mask = get_transformation("translate-y")(img, 2 / h)
    assert torch.equal(mask[0, 0, :, 0], torch.tensor([0.0, 0, 1, 1, 1, 1, 1, 1]))
    assert torch.allclose(out[:, :, 2:], img[:, :, :-2], atol=1e-6)


def test_zoom_in_is_defined_everywhere_and_zoom_out_leaves_a_border():
    img = _random_images(h=16, w=16)
    zoom = get_transformation("scale")
    _, inside = zoom(img, math.log(1.5))
    assert inside.min() == 1
    _, border = zoom(img, math.log(0.5))
    m = border[0, 0]
    assert m[0].sum() == 0 and m[:, 0].sum() == 0 and m[8, 8] == 1
    assert 0.15 < m.mean() < 0.35  # about a quarter of the area (half the side) is defined


def test_rotation_turns_counter_clockwise_and_a_quarter_turn_keeps_a_square_defined():
    img = torch.zeros(1, 1, 8, 8)
    img[0, 0, 2, 5] = 1.0  # upper right of the centre
    out, mask = get_transformation("rotation")(img, math.pi / 2)
    assert mask.min() == 1
    assert out[0, 0].argmax() == 2 * 8 + 2  # upper left after a quarter turn
    _, corners = get_transformation("rotation")(img, math.pi / 4)
    assert corners[0, 0, 0, 0] == 0 and corners[0, 0, 4, 4] == 1


def test_brightness_and_contrast_are_defined_everywhere_and_clip_to_the_unit_range():
    img = _random_images()
    bright, mask = get_transformation("brightness")(img, 0.3)
    assert mask.min() == 1 and bright.max() <= 1
    inside = img < 0.7
    assert torch.allclose(bright[inside], img[inside] + 0.3)
    flat, _ = get_transformation("contrast")(img, -50.0)
    assert torch.allclose(flat, img.mean((1, 2, 3), keepdim=True).expand_as(img), atol=1e-6)


def test_per_image_amounts_and_amount_validation():
    img = _random_images()
    out, _ = get_transformation("brightness")(img, torch.tensor([0.0, 0.1, -0.1]))
    assert torch.allclose(out[0], img[0])
    with pytest.raises(DataError, match="3 values"):
        get_transformation("brightness")(img, torch.zeros(2))
    with pytest.raises(DataError, match="NaN"):
        get_transformation("brightness")(img, float("nan"))
    with pytest.raises(DataError, match="no defined pixel"):
        get_transformation("translate-x")(img, 1.0)
    with pytest.raises(DataError, match=r"\(n, C, H, W\)"):
        get_transformation("translate-x")(img[0], 0.1)
    with pytest.raises(UnknownNameError, match="translate-x"):
        get_transformation("shear")


def _disk(n=1, size=32, cx=16.0, cy=16.0, r=5.0):
    c = torch.arange(size) + 0.5
    d2 = (c[None, :] - cx) ** 2 + (c[:, None] - cy) ** 2
    return (d2 <= r * r).float().expand(n, 1, size, size).clone()


def test_each_measure_reads_its_transformation_in_the_same_units():
    img = _disk(cx=12.0)
    moved, _ = TRANSFORMATIONS["translate-x"](img, 4 / 32)
    assert float(barycentre_x(moved) - barycentre_x(img)) == pytest.approx(4 / 32, abs=1e-9)
    down, _ = TRANSFORMATIONS["translate-y"](img, 3 / 32)
    assert float(barycentre_y(down) - barycentre_y(img)) == pytest.approx(3 / 32, abs=1e-9)
    big = _disk(r=10.0)
    assert float(log_size(big) - log_size(_disk(r=5.0))) == pytest.approx(math.log(2), abs=0.03)
    grey = torch.full((1, 1, 4, 4), 0.2)
    bright, _ = TRANSFORMATIONS["brightness"](grey, 0.3)
    assert float(mean_intensity(bright) - mean_intensity(grey)) == pytest.approx(0.3)
    sharp, _ = TRANSFORMATIONS["contrast"](_random_images(1) * 0.5 + 0.25, math.log(1.5))
    base = _random_images(1) * 0.5 + 0.25
    assert float(log_contrast(sharp) - log_contrast(base)) == pytest.approx(math.log(1.5), 1e-5)


def test_orientation_is_counter_clockwise_positive():
    bar = torch.zeros(1, 1, 33, 33)
    bar[0, 0, 16, 4:29] = 1.0  # horizontal
    assert float(orientation(bar)) == pytest.approx(0.0, abs=1e-9)
    turned, _ = TRANSFORMATIONS["rotation"](bar, 0.3)
    assert float(orientation(turned)) == pytest.approx(0.3, abs=0.02)
