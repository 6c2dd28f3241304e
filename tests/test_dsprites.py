"""dSprites: the procedural renderer (factor grid, indexing, geometry) and the .npz loader."""

from __future__ import annotations

import itertools
import math
import zipfile

import numpy as np
import pytest
import torch

from latentatlas.data.synthetic.dsprites import (
    NUM_COMBINATIONS,
    SHAPES,
    DSprites,
    DSpritesNpz,
    dsprites_factor_space,
    official_orientations,
    render_dsprites,
)
from latentatlas.errors import ConfigError, DataError
from latentatlas.registry import DATASETS, build

SIZES = [1, 3, 6, 40, 32, 32]
NAMES = ["color", "shape", "scale", "orientation", "pos_x", "pos_y"]


@pytest.fixture(scope="module")
def ds() -> DSprites:
    return build(DATASETS, {"name": "dsprites"})


def sprite(shape: int, scale: float = 1.0, angle: float = 0.0, x: float = 0.5, y: float = 0.5):
    """One row of factor values."""
    return [1.0, float(shape), scale, angle, x, y]


def render(ds: DSprites, *rows: list[float]) -> torch.Tensor:
    return ds.render(torch.tensor(rows, dtype=torch.float64))[:, 0]


# -- factor grid and indexing ---------------------------------------------------------------------
def test_grid_size_and_factors(ds):
    space = ds.factor_space
    assert len(ds) == NUM_COMBINATIONS == 737_280 == space.num_combinations
    assert space.names == NAMES
    assert space.sizes == SIZES
    assert space.factors[1].labels == SHAPES == ("square", "ellipse", "heart")
    assert space.periodic == [False, False, False, True, False, False]
    grids = [f.grid() for f in space.factors]
    assert grids[0].tolist() == [1.0]
    assert grids[1].tolist() == [1.0, 2.0, 3.0]
    assert torch.allclose(grids[2], torch.linspace(0.5, 1.0, 6, dtype=torch.float64))
    assert torch.allclose(grids[3], torch.arange(40, dtype=torch.float64) * 2 * math.pi / 40)
    for g in grids[4:]:
        assert torch.allclose(g, torch.linspace(0.0, 1.0, 32, dtype=torch.float64))
    assert ds.observation_shape == (1, 64, 64)


def test_official_orientation_grid():
    official = torch.tensor(official_orientations(), dtype=torch.float64)
    assert len(official) == 40 and official[0] == 0 and official[-1] == pytest.approx(2 * math.pi)
    assert official[1] == pytest.approx(0.16110732, abs=1e-8)  # the file's metadata value
    ds = build(DATASETS, {"name": "dsprites", "orientation_grid": "official"})
    assert torch.equal(ds.factor_space.factors[3].grid(), official)
    with pytest.raises(ConfigError, match="orientation_grid"):
        build(DATASETS, {"name": "dsprites", "orientation_grid": "degrees"})
    with pytest.raises(ConfigError, match="supersample"):
        build(DATASETS, {"name": "dsprites", "supersample": 0})


def test_index_factor_round_trip(ds):
    space = ds.factor_space
    g = torch.Generator().manual_seed(0)
    idx = torch.cat(
        [
            torch.tensor([0, 1, 31, 32, NUM_COMBINATIONS - 1]),
            torch.randint(len(ds), (500,), generator=g),
        ]
    )
    classes = space.index_to_classes(idx)
    assert torch.equal(space.classes_to_index(classes), idx)
    values = space.index_to_values(idx)
    assert torch.equal(space.values_to_classes(values), classes)
    # Row-major, last factor fastest: the official file's order.
    strides = torch.tensor([737_280, 245_760, 40_960, 1024, 32, 1])
    assert torch.equal((classes * strides).sum(1), idx)
    assert classes[0].tolist() == [0] * 6
    assert classes[1].tolist() == [0, 0, 0, 0, 0, 1]
    assert classes[3].tolist() == [0, 0, 0, 0, 1, 0]  # index 32
    assert classes[4].tolist() == [s - 1 for s in SIZES]
    assert values[0].tolist() == [1.0, 1.0, 0.5, 0.0, 0.0, 0.0]
    assert values[4].tolist() == pytest.approx([1.0, 3.0, 1.0, 2 * math.pi * 39 / 40, 1.0, 1.0])
    with pytest.raises(DataError, match="out of range"):
        ds.get_batch(torch.tensor([NUM_COMBINATIONS]))


def test_getitem_matches_get_batch(ds):
    for i in (0, 12_345, NUM_COMBINATIONS - 1):
        x, factors = ds[i]
        batch = ds.get_batch(torch.tensor([i]))
        assert torch.equal(x, batch.x[0])
        assert torch.equal(factors, batch.factors[0])
        assert torch.equal(factors, ds.factor_space.index_to_values(i)[0])


def test_images_binary_and_deterministic(ds):
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(len(ds), (200,), generator=g)
    batch = ds.get_batch(idx)
    assert batch.x.shape == (200, 1, 64, 64) and batch.x.dtype == torch.float32
    assert set(batch.x.unique().tolist()) == {0.0, 1.0}
    assert (batch.x.sum((1, 2, 3)) > 0).all()
    assert torch.equal(ds.get_batch(idx).x, batch.x)
    assert torch.equal(DSprites().get_batch(idx).x, batch.x)
    # An image does not depend on the batch it is rendered in.
    singles = torch.cat([ds.get_batch(idx[k : k + 1]).x for k in range(0, 200, 7)])
    assert torch.equal(singles, batch.x[::7])


def test_evaluation_set_fixed(ds):
    a, b = ds.evaluation_set(), ds.evaluation_set()
    assert a.x.shape == (1000, 1, 64, 64)
    assert torch.equal(a.x, b.x) and torch.equal(a.factors, b.factors)


# -- geometry ------------------------------------------------------------------------------------
def test_square_quarter_turn_symmetry_is_pixel_exact(ds):
    tenth = ds.factor_space.factors[3].grid()[10].item()  # the grid's π/2
    for x, y, scale in [(0.5, 0.5, 1.0), (0.3, 0.7, 0.8), (0.0, 1.0, 0.5), (0.9032, 0.1290, 0.7)]:
        angles = [0.0, math.pi / 2, tenth, math.pi, 3 * math.pi / 2, 2 * math.pi, -math.pi / 2]
        imgs = render(ds, *[sprite(1, scale, a, x, y) for a in angles])
        for img in imgs[1:]:
            assert torch.equal(img, imgs[0])
        assert not torch.equal(render(ds, sprite(1, scale, math.pi / 8, x, y))[0], imgs[0])
    # Through the index as well: orientation classes 0 and 10 of a square.
    classes = torch.tensor([[0, 0, 5, 0, 7, 20], [0, 0, 5, 10, 7, 20]])
    batch = ds.get_batch(ds.factor_space.classes_to_index(classes))
    assert torch.equal(batch.x[0], batch.x[1])


def test_ellipse_half_turn_symmetry_and_heart_has_none(ds):
    e = render(
        ds, sprite(2, 1.0, 0.3), sprite(2, 1.0, 0.3 + math.pi), sprite(2, 1.0, 0.3 + math.pi / 2)
    )
    assert torch.equal(e[0], e[1]) and not torch.equal(e[0], e[2])
    h = render(ds, sprite(3, 1.0, 0.0), sprite(3, 1.0, math.pi), sprite(3, 1.0, 2 * math.pi))
    assert not torch.equal(h[0], h[1]) and torch.equal(h[0], h[2])


def test_pixel_count_increases_strictly_with_scale(ds):
    scales = ds.factor_space.factors[2].grid().tolist()
    positions = ds.factor_space.factors[4].grid().tolist()
    for shape in (1, 2, 3):
        for x, y in [(0.5, 0.5), (0.0, 0.0), (1.0, 1.0), (positions[7], positions[22])]:
            counts = render(ds, *[sprite(shape, s, 0.0, x, y) for s in scales]).sum((1, 2))
            assert (counts[1:] > counts[:-1]).all(), (SHAPES[shape - 1], x, y, counts.tolist())


def centroid(img: torch.Tensor) -> tuple[float, float]:
    rows, cols = img.nonzero(as_tuple=True)
    return rows.double().mean().item(), cols.double().mean().item()


def test_position_moves_the_centroid(ds):
    positions = ds.factor_space.factors[4].grid().tolist()
    for shape in (1, 2, 3):
        across = [
            centroid(img)
            for img in render(ds, *[sprite(shape, 1.0, 0.0, p, 0.5) for p in positions])
        ]
        down = [
            centroid(img)
            for img in render(ds, *[sprite(shape, 1.0, 0.0, 0.5, p) for p in positions])
        ]
        cols = [c for _, c in across]
        rows = [r for r, _ in down]
        assert all(b > a for a, b in itertools.pairwise(cols)), "pos_x must move the sprite right"
        assert all(b > a for a, b in itertools.pairwise(rows)), "pos_y must move the sprite down"
        # The other coordinate stays put (up to sampling of curved edges at a sub-pixel phase).
        assert max(r for r, _ in across) - min(r for r, _ in across) < 0.5
        assert max(c for _, c in down) - min(c for _, c in down) < 0.5
        assert cols[-1] - cols[0] > 30 and rows[-1] - rows[0] > 30


def test_sprites_stay_inside_the_image(ds):
    angles = torch.linspace(0, 2 * math.pi, 17).tolist()
    for shape in (1, 2, 3):
        centre = render(ds, *[sprite(shape, 1.0, a) for a in angles]).sum((1, 2))
        for x, y in [(0.0, 0.0), (1.0, 1.0), (0.0, 1.0)]:
            corner = render(ds, *[sprite(shape, 1.0, a, x, y) for a in angles]).sum((1, 2))
            assert (corner >= 0.9 * centre).all()  # a cut sprite would lose far more


def test_three_shapes_differ(ds):
    for angle in (0.0, 0.7):
        imgs = render(ds, *[sprite(s, 1.0, angle, 0.4, 0.6) for s in (1, 2, 3)])
        counts = imgs.sum((1, 2))
        assert len(set(counts.tolist())) == 3
        for i in range(3):
            for j in range(i + 1, 3):
                assert (imgs[i] != imgs[j]).sum() > 10


def test_supersampling_is_binary_and_close():
    values = dsprites_factor_space().sample(20, generator=torch.Generator().manual_seed(2))
    one = render_dsprites(values, supersample=1)
    three = render_dsprites(values, supersample=3)
    assert set(three.unique().tolist()) == {0.0, 1.0}
    inter = (one * three).sum((1, 2, 3))
    union = ((one + three) > 0).float().sum((1, 2, 3))
    assert (inter / union > 0.8).all()


def test_render_refuses_bad_values(ds):
    with pytest.raises(DataError, match="shape values must be 1, 2 or 3"):
        render(ds, sprite(4))
    with pytest.raises(DataError, match="scale values must be positive"):
        render(ds, sprite(1, scale=0.0))
    with pytest.raises(DataError, match=r"\(n, 6\)"):
        ds.render(torch.zeros(2, 5))
    with pytest.raises(DataError, match="NaN"):
        render(ds, sprite(1, angle=float("nan")))
    assert ds.render(torch.zeros(0, 6)).shape == (0, 1, 64, 64)


# -- the .npz loader -------------------------------------------------------------------------------
def official_layout(n: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` images of the official grid with consistent latents, and a pickled metadata dict."""
    space = dsprites_factor_space("official")
    idx = torch.randint(NUM_COMBINATIONS, (n,), generator=torch.Generator().manual_seed(seed))
    values = space.index_to_values(idx)
    imgs = render_dsprites(values)[:, 0].numpy().astype(np.uint8)
    metadata = np.array({"latents_sizes": np.array(SIZES)}, dtype=object)
    return {
        "imgs": imgs,
        "latents_values": values.numpy(),
        "latents_classes": space.index_to_classes(idx).numpy(),
        "metadata": metadata,
    }


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_round_trip(tmp_path, compressed):
    arrays = official_layout()
    path = tmp_path / "dsprites.npz"
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    ds = build(DATASETS, {"name": "dsprites_npz", "path": str(path)})
    assert isinstance(ds, DSpritesNpz)
    assert len(ds) == 12 and ds.observation_shape == (1, 64, 64)
    assert ds.factor_space.names == NAMES and ds.factor_space.sizes == SIZES
    assert not ds.complete
    batch = ds.get_batch(torch.arange(12))
    assert batch.x.dtype == torch.float32 and batch.x.shape == (12, 1, 64, 64)
    assert torch.equal(batch.x[:, 0], torch.from_numpy(arrays["imgs"]).float())
    assert torch.equal(batch.factors, torch.from_numpy(arrays["latents_values"]))
    x, f = ds[5]
    assert torch.equal(x, batch.x[5]) and torch.equal(f, batch.factors[5])
    assert torch.equal(ds.classes, torch.from_numpy(arrays["latents_classes"]))
    # Same images as the procedural renderer on the same (official) grid values.
    assert torch.equal(batch.x, render_dsprites(batch.factors))
    assert (
        ds.fingerprint()
        == build(DATASETS, {"name": "dsprites_npz", "path": str(path)}).fingerprint()
    )
    with pytest.raises(DataError, match="not the complete grid"):
        ds.render(batch.factors)


def write(path, **arrays) -> str:
    np.savez(path, **arrays)
    return str(path)


def test_npz_file_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        DSpritesNpz(DSpritesNpz.Config(path=str(tmp_path / "missing.npz")))
    text = tmp_path / "notes.npz"
    text.write_text("not a zip archive")
    with pytest.raises(DataError, match=r"notes\.npz.*not an \.npz archive"):
        DSpritesNpz(DSpritesNpz.Config(path=str(text)))
    with pytest.raises(DataError, match="is not a file"):
        DSpritesNpz(DSpritesNpz.Config(path=str(tmp_path)))
    with pytest.raises(ConfigError, match="path"):
        build(DATASETS, {"name": "dsprites_npz"})


def test_npz_corrupt_member(tmp_path):
    path = tmp_path / "corrupt.npz"
    np.savez_compressed(path, **official_layout())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("latents_values.npy")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + 10  # inside the compressed data
    data[start : start + 40] = bytes(40)
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"corrupt\.npz.*corrupt"):
        DSpritesNpz(DSpritesNpz.Config(path=str(path))).load_images()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("latents_classes"), r"no array 'latents_classes'.*expected the arrays"),
        (lambda a: a.pop("imgs"), r"no array 'imgs'"),
        (
            lambda a: a.update(imgs=a["imgs"][:, :32, :32]),
            r"'imgs' has shape \(12, 32, 32\); expected \(n, 64, 64\)",
        ),
        (
            lambda a: a.update(imgs=a["imgs"].astype(np.float32)),
            r"'imgs' has dtype float32; expected uint8",
        ),
        (lambda a: a.update(imgs=a["imgs"].astype(object)), r"'imgs' has dtype object"),
        (
            lambda a: a.update(latents_values=a["latents_values"][:, :5]),
            r"'latents_values' has shape \(12, 5\); expected \(12, 6\)",
        ),
        (
            lambda a: a.update(latents_classes=a["latents_classes"][:10]),
            r"'latents_classes' has shape \(10, 6\); expected \(12, 6\)",
        ),
        (
            lambda a: a.update(latents_classes=a["latents_classes"].astype(np.float64)),
            r"'latents_classes' has dtype float64; expected integer",
        ),
        (
            lambda a: a["latents_values"].__setitem__((3, 2), np.nan),
            r"NaN or inf in 1 rows \(first bad row 3\)",
        ),
        (
            lambda a: a["latents_classes"].__setitem__((2, 3), 40),
            r"row 2 has class 40 for factor 'orientation'; expected 0..39",
        ),
    ],
)
def test_npz_layout_errors(tmp_path, change, message):
    arrays = official_layout()
    change(arrays)
    path = write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message) as info:
        DSpritesNpz(DSpritesNpz.Config(path=path))
    assert "bad.npz" in str(info.value)


def test_npz_non_binary_images(tmp_path):
    arrays = official_layout()
    arrays["imgs"] = arrays["imgs"] * 255
    ds = DSpritesNpz(DSpritesNpz.Config(path=write(tmp_path / "gray.npz", **arrays)))
    with pytest.raises(DataError, match=r"gray\.npz.*values other than 0 and 1"):
        ds.get_batch(torch.tensor([0]))
