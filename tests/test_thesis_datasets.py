"""The datasets of thesis ch. 10-11: torus_sines, pixel_shift, rotating_object and coil20."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from PIL import Image

from latentatlas.data.coil20 import Coil20, Coil20Config
from latentatlas.data.synthetic.pixel_shift import PixelShift, PixelShiftConfig, builtin_image
from latentatlas.data.synthetic.rotating_object import (
    AMBIENT,
    DIFFUSE,
    OBJECT_BOXES,
    VIEW_HALF_WIDTH,
    RotatingObject,
    RotatingObjectConfig,
    render_views,
)
from latentatlas.data.synthetic.torus_sines import TorusSines, TorusSinesConfig
from latentatlas.errors import ConfigError, DataError
from latentatlas.registry import DATASETS, build

TWO_PI = 2 * math.pi


# -- torus_sines (thesis ch. 11) ------------------------------------------------------------------
def test_torus_pixels_are_the_formula_of_eq_11_1_one_phase_per_axis():
    ds = TorusSines(TorusSinesConfig(n=5, size=7, sigma=0.0, seed=1))
    assert ds.x.shape == (5, 1, 7, 7)
    for (p1, p2), img in zip(ds.factors.tolist(), ds.x[:, 0].double()):
        for i in range(1, 8):
            for j in range(1, 8):
                want = math.sin(2 * math.pi * i / 7 + p1) + math.sin(4 * math.pi * j / 7 + p2)
                assert abs(img[i - 1, j - 1].item() - want) < 1e-6
    # phase 1 moves the rows only, phase 2 the columns only (not the misprinted eq. 11.1)
    base = ds.render(torch.tensor([[0.3, -1.0]]))[0, 0]
    moved1 = ds.render(torch.tensor([[1.3, -1.0]]))[0, 0]
    moved2 = ds.render(torch.tensor([[0.3, 0.5]]))[0, 0]
    d1, d2 = moved1 - base, moved2 - base
    assert torch.allclose(d1, d1[:, :1].expand_as(d1)) and d1.abs().max() > 0.1
    assert torch.allclose(d2, d2[:1, :].expand_as(d2)) and d2.abs().max() > 0.1


def test_torus_noise_level_and_phase_range():
    ds = TorusSines(TorusSinesConfig(n=400, sigma=0.1, seed=2))
    noise = ds.x.double() - ds.render(ds.factors)
    assert abs(float(noise.std()) - 0.1) < 0.002 and abs(float(noise.mean())) < 0.002
    assert ds.factors.min() >= -math.pi and ds.factors.max() < math.pi
    assert ds.observation_shape == (1, 25, 25) and len(ds) == 400


def test_torus_x_vis_is_the_50_by_50_phase_grid():
    ds = build(DATASETS, {"name": "torus_sines", "n": 10})
    vis = ds.evaluation_set()
    assert vis.x.shape == (2500, 1, 25, 25) and vis.factors.shape == (2500, 2)
    k = torch.arange(2500)
    grid = -math.pi + TWO_PI * torch.arange(50, dtype=torch.float64) / 50
    assert torch.allclose(vis.factors[:, 0], grid[k // 50])  # phase1 varies slowest
    assert torch.allclose(vis.factors[:, 1], grid[k % 50])
    assert torch.equal(vis.x, ds.render(vis.factors).float())  # noiseless


def test_torus_grid_mode_trains_on_x_vis():
    ds = TorusSines(TorusSinesConfig(phases="grid", sigma=0.0))
    vis = ds.evaluation_set()
    assert torch.equal(ds.factors, vis.factors) and torch.equal(ds.x, vis.x)
    with pytest.raises(ConfigError, match="n must be 2500"):
        TorusSinesConfig(phases="grid", n=100)
    with pytest.raises(ConfigError, match="phases"):
        TorusSinesConfig(phases="random")


def test_torus_is_periodic_in_both_phases():
    ds = TorusSines(TorusSinesConfig(n=3, sigma=0.0))
    phases = torch.tensor([[-3.0, 0.2], [1.0, 2.5]], dtype=torch.float64)
    for shift in ([TWO_PI, 0.0], [0.0, TWO_PI], [-TWO_PI, TWO_PI]):
        assert torch.allclose(ds.render(phases + torch.tensor(shift)), ds.render(phases), atol=1e-9)


def test_torus_factor_space_determinism_and_errors():
    ds = TorusSines(TorusSinesConfig(n=50, seed=4))
    assert ds.factor_space.names == ["phase1", "phase2"]
    assert ds.factor_space.periodic == [True, True]
    assert ds.factor_space.sizes == [None, None]
    same, other = TorusSines(TorusSinesConfig(n=50, seed=4)), TorusSines(TorusSinesConfig(n=50))
    assert torch.equal(ds.x, same.x) and ds.fingerprint() == same.fingerprint()
    assert ds.fingerprint() != other.fingerprint()
    with pytest.raises(DataError, match=r"shape \(n, 2\)"):
        ds.render(torch.zeros(3, 1))
    with pytest.raises(DataError, match="NaN"):
        ds.render(torch.tensor([[0.0, float("nan")]]))


# -- pixel_shift (thesis §10.1) -------------------------------------------------------------------
def test_pixel_shift_is_every_circular_shift_of_the_image():
    ds = PixelShift()
    assert len(ds) == 64 and ds.observation_shape == (1, 64, 64)
    image = ds.image.numpy()
    for s in range(64):
        # column j of F(s) is column (j + s) mod W of the image (eq. 10.1, 0-based)
        want = image[:, (np.arange(64) + s) % 64]
        assert np.array_equal(ds.x[s, 0].numpy(), want)
        assert np.array_equal(want, np.roll(image, -s, axis=1))
    assert torch.equal(ds.factors[:, 0], torch.arange(64, dtype=torch.float64))
    vis = ds.evaluation_set()
    assert torch.equal(vis.x, ds.x) and torch.equal(vis.factors, ds.factors)


def test_pixel_shift_is_periodic_and_interpolates_between_shifts():
    ds = PixelShift(PixelShiftConfig(size=(12, 16)))
    r = ds.render
    assert torch.equal(r(torch.tensor([16.0])), r(torch.tensor([0.0])))
    assert torch.equal(r(torch.tensor([-1.0])), r(torch.tensor([15.0])))
    assert torch.equal(r(torch.tensor([35.0])), ds.x[3:4])
    mixed = r(torch.tensor([2.25]))
    assert torch.allclose(mixed, 0.75 * ds.x[2:3] + 0.25 * ds.x[3:4], atol=1e-6)
    sp = ds.factor_space
    assert sp.names == ["shift"] and sp.periodic == [True] and sp.sizes == [16]
    assert sp.factors[0].low == 0 and sp.factors[0].high == 16


@pytest.mark.parametrize("size", [(64, 64), (12, 16), (5, 3), (1, 2)])
def test_builtin_image_has_no_shift_symmetry(size):
    image = builtin_image(*size)
    assert image.shape == size and image.min() >= 0 and image.max() <= 1
    width = size[1]
    for s in range(1, width):
        assert np.abs(np.roll(image, -s, axis=1) - image).max() > 0.01, s


def test_builtin_image_is_grey_and_deterministic():
    a, b = PixelShift(), PixelShift()
    assert torch.equal(a.x, b.x) and a.fingerprint() == b.fingerprint()
    assert len(torch.unique(a.image)) > 20  # a picture, not a few flat levels
    assert a.fingerprint() != PixelShift(PixelShiftConfig(size=(32, 32))).fingerprint()


def test_pixel_shift_reads_a_user_image(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(10, 14), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "base.png")
    Image.fromarray(np.stack([pixels] * 3, -1)).save(tmp_path / "rgb.png")
    ds = build(DATASETS, {"name": "pixel_shift", "image_path": str(tmp_path / "base.png")})
    assert len(ds) == 14 and ds.observation_shape == (1, 10, 14)
    assert torch.allclose(ds.x[0, 0], torch.from_numpy(pixels / 255.0).float())
    assert torch.allclose(ds.x[5, 0], torch.from_numpy(np.roll(pixels, -5, 1) / 255.0).float())
    rgb = PixelShift(PixelShiftConfig(image_path=str(tmp_path / "rgb.png")))
    assert torch.allclose(rgb.x, ds.x, atol=1 / 255)  # colour converted to grey
    small = PixelShift(PixelShiftConfig(image_path=str(tmp_path / "base.png"), size=(5, 7)))
    assert small.x.shape == (7, 1, 5, 7) and 0 <= small.x.min() and small.x.max() <= 1

    with pytest.raises(DataError, match="missing.png.*does not exist"):
        PixelShift(PixelShiftConfig(image_path=str(tmp_path / "missing.png")))
    with pytest.raises(DataError, match="is not a file"):
        PixelShift(PixelShiftConfig(image_path=str(tmp_path)))
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="junk.png.*cannot be read"):
        PixelShift(PixelShiftConfig(image_path=str(tmp_path / "junk.png")))
    with pytest.raises(ConfigError, match="size"):
        PixelShiftConfig(size=(0, 4))


# -- rotating_object (thesis §10.2) ---------------------------------------------------------------
@pytest.fixture(scope="module")
def rotating():
    return RotatingObject()


def test_rotating_object_views_are_5_degrees_apart(rotating):
    assert len(rotating) == 72 and rotating.observation_shape == (1, 128, 128)
    angles = rotating.factors[:, 0]
    assert torch.allclose(angles, TWO_PI * torch.arange(72, dtype=torch.float64) / 72)
    assert np.allclose(np.degrees(np.diff(angles.numpy())), 5.0)
    sp = rotating.factor_space
    assert sp.names == ["angle"] and sp.periodic == [True] and sp.sizes == [72]
    assert sp.factors[0].low == 0 and sp.factors[0].high == pytest.approx(TWO_PI)
    assert torch.equal(rotating.render(rotating.factors), rotating.x)
    assert torch.equal(rotating.evaluation_set().x, rotating.x)
    assert rotating.x.min() >= 0 and rotating.x.max() <= 1


def test_rotating_object_is_periodic(rotating):
    def r(*angles: float) -> torch.Tensor:
        return rotating.render(torch.tensor(angles, dtype=torch.float64))

    zero = r(0.0)
    assert torch.equal(r(TWO_PI), zero) and torch.equal(r(2 * TWO_PI), zero)
    assert torch.equal(r(-TWO_PI), zero)
    assert torch.allclose(r(-TWO_PI / 72), rotating.x[71:72], atol=1e-6)
    assert torch.equal(r(0.1, 2.0), torch.cat([r(0.1), r(2.0)]))  # independent of the batch


def test_rotating_object_no_two_views_coincide(rotating):
    flat = rotating.x.reshape(72, -1).double()
    dist = torch.cdist(flat, flat) / math.sqrt(flat.shape[1])  # RMS difference per pixel
    off = dist + torch.eye(72) * 10
    assert off.min() > 0.01  # even neighbouring views 5° apart differ
    assert dist[0, 1:].min() > 0.01  # no nontrivial rotation gives the first view


def test_rotating_object_shading_is_lambert_and_turns_counter_clockwise():
    size = 110
    views = render_views([0.0, math.pi / 2, -math.pi / 2], size=size, elevation=0.0)

    def pixel(a: float, b: float) -> tuple[int, int]:  # screen point (world units) -> (row, col)
        step = 2 * VIEW_HALF_WIDTH / size
        return int((VIEW_HALF_WIDTH - b) / step), int((a + VIEW_HALF_WIDTH) / step)

    light = np.array([-0.5, 0.6, 0.8]) / np.linalg.norm([-0.5, 0.6, 0.8])
    facing = AMBIENT + DIFFUSE * light[2]  # a face whose normal points at the camera
    plate, tower = OBJECT_BOXES[0][2], OBJECT_BOXES[1][2]
    assert views[0][pixel(0.0, -0.5)] == pytest.approx(plate * facing)  # front of the plate
    assert views[0][pixel(-0.5, 0.3)] == pytest.approx(tower * facing)  # front of the tower
    # a quarter turn counter-clockwise seen from above brings the tower's left side (x = -0.7,
    # back at z < 0) to the front, on the left of the image; a clockwise one its right side
    # (x = -0.3) to the front, on the right
    assert views[1][pixel(-0.3, 0.3)] == pytest.approx(tower * facing)
    assert views[1][pixel(0.3, 0.3)] == 0.0
    assert views[2][pixel(0.3, 0.3)] == pytest.approx(tower * facing)
    assert views[2][pixel(-0.3, 0.3)] == 0.0
    assert views[:, 0, 0].max() == 0.0  # black background


@pytest.mark.parametrize("elevation", [-80.0, 0.0, 45.0, 80.0])
def test_rotating_object_stays_inside_the_image(elevation):
    views = render_views(TWO_PI * np.arange(24) / 24, size=48, elevation=elevation)
    border = np.concatenate([views[:, 0], views[:, -1], views[:, :, 0], views[:, :, -1]], 1)
    assert border.max() == 0.0 and views.max() > 0.2


def test_rotating_object_is_fast_and_configurable():
    start = time.perf_counter()
    ds = build(DATASETS, {"name": "rotating_object"})
    assert time.perf_counter() - start < 3.0
    small = build(DATASETS, {"name": "rotating_object", "n_views": 8, "size": 32})
    assert small.x.shape == (8, 1, 32, 32)
    assert torch.allclose(small.factors[:, 0], ds.factors[::9, 0])
    with pytest.raises(ConfigError, match="elevation"):
        RotatingObjectConfig(elevation=90.0)
    assert ds.fingerprint() == RotatingObject().fingerprint()


# -- coil20 ---------------------------------------------------------------------------------------
def coil_pixels(k: int, i: int, shape: tuple[int, int] = (6, 8)) -> np.ndarray:
    """A tiny image whose pixels encode object ``k`` and view ``i``."""
    values = (3 * k + 2 * i + np.arange(shape[0] * shape[1])) % 256
    return values.reshape(shape).astype(np.uint8)


def write_coil(folder, objects, views, shape=(6, 8)):
    folder.mkdir(exist_ok=True)
    for k in objects:
        for i in views:
            Image.fromarray(coil_pixels(k, i, shape)).save(folder / f"obj{k}__{i}.png")
    return folder


def test_coil20_reads_objects_and_angles(tmp_path):
    folder = write_coil(tmp_path / "coil", objects=[3, 1], views=[0, 1, 71, 10])
    (folder / "README.txt").write_text("not an image")  # other files are ignored
    (folder / ".hidden.png").write_bytes(b"junk")  # hidden files too
    ds = build(DATASETS, {"name": "coil20", "path": str(folder)})
    assert len(ds) == 8 and ds.observation_shape == (1, 6, 8)
    keys = [(1, 0), (1, 1), (1, 10), (1, 71), (3, 0), (3, 1), (3, 10), (3, 71)]
    assert [f.name for f in ds.files] == [f"obj{k}__{i}.png" for k, i in keys]
    for n, (k, i) in enumerate(keys):
        assert ds.factors[n, 0] == k and ds.factors[n, 1] == pytest.approx(math.radians(5 * i))
        assert torch.equal(ds.x[n, 0], torch.from_numpy(coil_pixels(k, i) / np.float32(255)))
    sp = ds.factor_space
    assert sp.names == ["object", "angle"] and sp.periodic == [False, True]
    assert sp.sizes == [2, 72] and sp.factors[0].values == (1.0, 3.0)
    assert torch.equal(ds.evaluation_set().x, ds.x)
    # render looks images up by (object, angle); 360° is view 0
    looked = ds.render(torch.tensor([[3.0, math.radians(10 * 5)], [1.0, TWO_PI]]))
    assert torch.equal(looked, ds.x[[6, 0]])
    with pytest.raises(DataError, match="no image of object 1, view 2"):
        ds.render(torch.tensor([[1.0, math.radians(10)]]))
    assert ds.fingerprint() == Coil20(Coil20Config(path=str(folder))).fingerprint()


def test_coil20_selects_objects_and_resizes(tmp_path):
    folder = write_coil(tmp_path / "coil", objects=[1, 2, 20], views=range(72))
    ds = Coil20(Coil20Config(path=str(folder), objects=(20, 2), size=(4, 5)))
    assert ds.x.shape == (144, 1, 4, 5) and ds.factor_space.factors[0].values == (2.0, 20.0)
    assert torch.equal(ds.factors[:72, 0], torch.full((72,), 2.0, dtype=torch.float64))
    assert torch.allclose(ds.factors[:72, 1], TWO_PI * torch.arange(72).double() / 72)
    # a traversal over the whole turn of one object
    rows = ds.factor_space.traversal(ds.factors[80], "angle")
    assert torch.equal(ds.render(rows), ds.x[72:])
    with pytest.raises(DataError, match="no images of object.*5.*holds objects 1, 2, 20"):
        Coil20(Coil20Config(path=str(folder), objects=(1, 5)))


def test_coil20_errors(tmp_path):
    with pytest.raises(DataError, match="nowhere.*does not exist"):
        Coil20(Coil20Config(path=str(tmp_path / "nowhere")))
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is not a folder"):
        Coil20(Coil20Config(path=str(tmp_path / "file")))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="holds no files named obj<k>__<i>.png"):
        Coil20(Coil20Config(path=str(empty)))

    def folder_with(name: str, data: bytes | None = None, shape=(6, 8)):
        folder = write_coil(tmp_path / f"f{len(list(tmp_path.iterdir()))}", [1], [0, 1])
        if data is None:
            Image.fromarray(coil_pixels(2, 0, shape)).save(folder / name)
        else:
            (folder / name).write_bytes(data)
        return str(folder)

    for bad in ("obj1_0.png", "object1__0.png", "obj1__x.png", "img.png"):
        with pytest.raises(DataError, match=f"{bad}.*does not follow the naming"):
            Coil20(Coil20Config(path=folder_with(bad)))
    for bad, what in (("obj21__0.png", "object 21, view 0"), ("obj1__72.png", "object 1, view 72")):
        with pytest.raises(DataError, match=f"{bad}.*names {what}; expected object 1..20"):
            Coil20(Coil20Config(path=folder_with(bad)))
    with pytest.raises(DataError, match="obj1__01.png.*both name object 1, view 1"):
        Coil20(Coil20Config(path=folder_with("obj1__01.png")))
    with pytest.raises(DataError, match="obj2__5.png.*cannot be read"):
        Coil20(Coil20Config(path=folder_with("obj2__5.png", b"\x89PNG broken")))
    with pytest.raises(DataError, match="differ in size.*obj2__0.png' is 3×3"):
        Coil20(Coil20Config(path=folder_with("obj2__0.png", shape=(3, 3))))
    assert Coil20(Coil20Config(path=folder_with("obj2__0.png", shape=(3, 3)), size=(6, 8)))
    for objects in ((0,), (21,), (1, 1), ()):
        with pytest.raises(ConfigError, match="objects"):
            Coil20Config(path=str(tmp_path), objects=objects)
    with pytest.raises(ConfigError, match="path"):
        build(DATASETS, {"name": "coil20"})


# -- registry -------------------------------------------------------------------------------------
def test_every_thesis_dataset_builds_from_its_name(tmp_path):
    folder = write_coil(tmp_path / "coil", [1], [0, 1])
    specs = [
        {"name": "torus_sines", "n": 20},
        {"name": "pixel_shift"},
        {"name": "rotating_object", "n_views": 4, "size": 16},
        {"name": "coil20", "path": str(folder)},
    ]
    for spec in specs:
        ds = build(DATASETS, spec)
        assert type(ds).registry_name == spec["name"]
        assert ds.has_factors and len(ds) > 0
        x, f = ds[0]
        assert x.dtype == torch.float32 and f.shape == (len(ds.factor_space),)
        ds.check_finite()
