"""The benchmark's data sets read from files made here in their published formats: 3dshapes'
HDF5, MPI3D's uncompressed .npz, smallNORB's binary matrices. Factors, shapes, values, clear
errors for damaged files, hash checks, and reads that touch only a batch's images."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
import torch

from latentatlas.data.published.checksums import PUBLISHED, md5_of
from latentatlas.data.published.mpi3d import Mpi3D, Mpi3DConfig
from latentatlas.data.published.shapes3d import Shapes3D, Shapes3DConfig
from latentatlas.data.published.smallnorb import SmallNorb, SmallNorbConfig
from latentatlas.errors import ConfigError, DataError
from latentatlas.registry import DATASETS

h5py = pytest.importorskip("h5py")


# -- 3dshapes -------------------------------------------------------------------------------------
GRID = {  # a corner of the published grid: hues 0.0-0.9, scales 0.75-1.25, shapes 0-3, ±30°
    "floor_hue": [0.0, 0.1],
    "wall_hue": [0.0],
    "object_hue": [0.3, 0.9],
    "scale": [0.75, 1.25],
    "shape": [0.0, 3.0],
    "orientation": [-30.0, 0.0, 30.0],
}


def write_shapes(path, images=None, labels=None, drop=None):
    combos = np.stack(np.meshgrid(*GRID.values(), indexing="ij"), -1).reshape(-1, 6)
    n = len(combos)
    if images is None:
        images = (np.arange(n)[:, None, None, None] * 7 + np.zeros((1, 64, 64, 3))) % 256
        images[:, 0, 0, :] = [0, 128, 255]
    with h5py.File(path, "w") as f:
        if drop != "images":
            f["images"] = np.asarray(images, dtype=np.uint8)
        if drop != "labels":
            f["labels"] = combos if labels is None else labels
    return combos, np.asarray(images, dtype=np.uint8)


def test_3dshapes_reads_images_and_factors_as_published(tmp_path):
    path = tmp_path / "shapes.h5"
    labels, images = write_shapes(path)
    data = DATASETS.get("shapes3d")(Shapes3DConfig(path=str(path)))
    assert len(data) == 48 and data.observation_shape == (3, 64, 64)
    assert data.factor_space.names == list(GRID)
    assert data.factor_space.sizes == [len(v) for v in GRID.values()]
    assert data.factor_space.factors[3].grid().tolist() == [0.75, 1.25]  # the file's own values
    idx = torch.tensor([5, 0, 5, 47])  # unsorted, repeated
    batch = data.get_batch(idx)
    assert batch.x.dtype == torch.float32 and batch.x.shape == (4, 3, 64, 64)
    expected = torch.from_numpy(images[idx.numpy()]).permute(0, 3, 1, 2).float() / 255
    assert torch.equal(batch.x, expected)
    assert batch.x[1, :, 0, 0].tolist() == pytest.approx([0.0, 128 / 255, 1.0])
    assert torch.equal(batch.factors, torch.from_numpy(labels[idx.numpy()]))
    assert torch.equal(data.factors_of(idx), batch.factors)


def test_3dshapes_damaged_files_are_one_clear_error(tmp_path):
    missing = tmp_path / "nothing.h5"
    with pytest.raises(DataError, match="does not exist"):
        Shapes3D(Shapes3DConfig(path=str(missing)))
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        Shapes3D(Shapes3DConfig(path=str(garbage)))
    no_labels = tmp_path / "no_labels.h5"
    write_shapes(no_labels, drop="labels")
    with pytest.raises(DataError, match="no dataset 'labels'.*expected images and labels"):
        Shapes3D(Shapes3DConfig(path=str(no_labels)))
    grey = tmp_path / "grey.h5"
    write_shapes(grey, images=np.zeros((48, 64, 64), dtype=np.uint8))
    with pytest.raises(DataError, match=r"expected uint8 \(n, 64, 64, 3\)"):
        Shapes3D(Shapes3DConfig(path=str(grey)))
    nan = tmp_path / "nan.h5"
    labels = np.stack(np.meshgrid(*GRID.values(), indexing="ij"), -1).reshape(-1, 6)
    labels[7, 2] = np.nan
    write_shapes(nan, labels=labels)
    with pytest.raises(DataError, match="labels of image 7 are not finite"):
        Shapes3D(Shapes3DConfig(path=str(nan)))


def test_a_file_of_a_published_name_is_checked_against_the_published_hash(tmp_path):
    path = tmp_path / "3dshapes.h5"
    write_shapes(path)
    with pytest.raises(DataError) as err:
        Shapes3D(Shapes3DConfig(path=str(path)))
    message = str(err.value)
    assert md5_of(path) in message and PUBLISHED["3dshapes.h5"].md5 in message
    assert "verify=false" in message and "\n" not in message
    assert len(Shapes3D(Shapes3DConfig(path=str(path), verify=False))) == 48


def test_3dshapes_keeps_the_factors_and_reads_only_a_batchs_images(tmp_path):
    """A file of realistic size (50 000 images, 614 MB of pixels; HDF5 allocates none until
    written, so the file is small): building the data set and reading a batch allocate a few
    MB, not the images."""
    path = tmp_path / "big.h5"
    n = 50_000
    with h5py.File(path, "w") as f:
        f.create_dataset("images", shape=(n, 64, 64, 3), dtype=np.uint8)
        f["labels"] = np.tile(np.array([[0.0, 0.0, 0.0, 0.75, 0.0, 0.0]]), (n, 1))
    tracemalloc.start()
    try:
        data = Shapes3D(Shapes3DConfig(path=str(path)))
        batch = data.get_batch(torch.randint(n, (64,), generator=torch.Generator().manual_seed(0)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert batch.x.shape == (64, 3, 64, 64)
    assert peak < 30e6, peak  # labels 2.4 MB, a batch 3 MB; the images would be 614 MB


# -- MPI3D ----------------------------------------------------------------------------------------
SMALL = (2, 3, 1, 1, 2, 2, 2)  # 48 images in the published factor order


def mpi3d_images(n):
    images = np.zeros((n, 64, 64, 3), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(n)  # each image says which it is
    images[:, 10:20, 10:20, 1] = 200
    return images


def test_mpi3d_memory_maps_the_published_npz_and_numbers_factors_row_major(tmp_path):
    path = tmp_path / "mpi3d_small.npz"
    images = mpi3d_images(48)
    np.savez(path, images=images)
    data = DATASETS.get("mpi3d")(Mpi3DConfig(path=str(path), factor_sizes=SMALL))
    assert isinstance(data.images, np.memmap)  # mapped in place, not read
    assert len(data) == 48 and data.observation_shape == (3, 64, 64)
    assert data.factor_space.names[0] == "object_color" and data.factor_space.sizes == list(SMALL)
    idx = torch.tensor([47, 0, 13, 13])
    batch = data.get_batch(idx)
    assert (batch.x[:, 0, 0, 0] * 255).round().long().tolist() == [47, 0, 13, 13]
    assert batch.x[0, 1, 15, 15] == pytest.approx(200 / 255)
    # image 13 of the row-major grid (last factor fastest)
    assert batch.factors[2].tolist() == list(np.unravel_index(13, SMALL))
    # the same images from the unzipped images.npy
    np.save(tmp_path / "images.npy", images)
    npy = Mpi3D(Mpi3DConfig(path=str(tmp_path / "images.npy"), factor_sizes=SMALL))
    assert torch.equal(npy.get_batch(idx).x, batch.x)


def test_mpi3d_refuses_what_it_cannot_read_in_one_line(tmp_path):
    path = tmp_path / "mpi3d_small.npz"
    np.savez(path, images=mpi3d_images(48))
    with pytest.raises(DataError, match=r"48 images.*1,036,800 images: 6, 6, 2.*factor_sizes"):
        Mpi3D(Mpi3DConfig(path=str(path)))
    with pytest.raises(DataError, match=r"not one per combination of the factor_sizes"):
        Mpi3D(Mpi3DConfig(path=str(path), factor_sizes=(2, 2, 1, 1, 1, 2, 2)))
    with pytest.raises(ConfigError, match="factor_sizes: expected 7 positive sizes"):
        Mpi3DConfig(path=str(path), factor_sizes=(2, 2))
    packed = tmp_path / "packed.npz"
    np.savez_compressed(packed, images=mpi3d_images(48))
    with pytest.raises(DataError, match="compressed, which cannot be memory-mapped: unzip"):
        Mpi3D(Mpi3DConfig(path=str(packed), factor_sizes=SMALL))
    other = tmp_path / "other.npz"
    np.savez(other, imgs=mpi3d_images(48))
    with pytest.raises(DataError, match="no array 'images' \\(it holds: imgs\\)"):
        Mpi3D(Mpi3DConfig(path=str(other), factor_sizes=SMALL))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="corrupt|truncated"):
        Mpi3D(Mpi3DConfig(path=str(cut), factor_sizes=SMALL))


def test_mpi3d_reads_only_a_batchs_images(tmp_path):
    path = tmp_path / "mpi3d.npz"
    sizes = (5, 5, 2, 2, 2, 5, 5)  # 5000 images, 61 MB
    np.savez(path, images=np.zeros((5000, 64, 64, 3), dtype=np.uint8))
    tracemalloc.start()
    try:
        data = Mpi3D(Mpi3DConfig(path=str(path), factor_sizes=sizes))
        data.get_batch(torch.arange(0, 5000, 100))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10e6, peak


# -- smallNORB ------------------------------------------------------------------------------------
def write_matrix(path, array, magic):
    """A NORB binary matrix: magic, ndim, at least three dims, then the elements."""
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = struct.pack(f"<ii{len(dims)}i", magic, array.ndim, *dims)
    path.write_bytes(header + np.ascontiguousarray(array).tobytes())


def write_norb(root, split, rows, seed=0):
    """``rows``: (category, instance, elevation, azimuth 0-34 even, lighting) per pair."""
    from latentatlas.data.published.smallnorb import SPLITS

    rng = np.random.default_rng(seed)
    rows = np.asarray(rows, dtype=np.int32)
    dat = rng.integers(0, 256, (len(rows), 2, 96, 96), dtype=np.uint8)
    name = SPLITS[split]
    write_matrix(root / name.format("dat"), dat, 0x1E3D4C55)
    write_matrix(root / name.format("cat"), rows[:, 0], 0x1E3D4C54)
    write_matrix(root / name.format("info"), rows[:, 1:], 0x1E3D4C54)
    return dat


TRAIN = [(0, 4, 0, 0, 0), (4, 9, 8, 34, 5), (2, 6, 3, 10, 2)]
TEST = [(1, 0, 1, 2, 1), (3, 5, 5, 20, 4)]


def test_smallnorb_reads_both_splits_as_the_study_does(tmp_path):
    train = write_norb(tmp_path, "training", TRAIN, seed=1)
    test = write_norb(tmp_path, "testing", TEST, seed=2)
    data = DATASETS.get("smallnorb")(SmallNorbConfig(root=str(tmp_path), verify=False))
    assert len(data) == 5 and data.observation_shape == (1, 64, 64)
    assert data.factor_space.names == ["category", "elevation", "azimuth", "lighting"]
    assert data.factor_space.sizes == [5, 9, 18, 6]
    batch = data.get_batch(torch.arange(5))
    # category, elevation, azimuth / 2, lighting; the instance is noise
    assert batch.factors.tolist()[1] == [4, 8, 17, 5] and batch.factors.tolist()[3] == [1, 1, 1, 1]
    assert data.instances.tolist() == [4, 9, 6, 0, 5]
    # the first camera, resized 96 → 64 with Lanczos as the study
    from PIL import Image

    first = Image.fromarray(test[1, 0]).resize((64, 64), Image.Resampling.LANCZOS)
    assert torch.equal(batch.x[4, 0], torch.from_numpy(np.array(first)).float() / 255)
    native = SmallNorb(SmallNorbConfig(root=str(tmp_path), size=96, verify=False))
    assert torch.equal(
        native.get_batch(torch.tensor([1])).x[0, 0], torch.from_numpy(train[1, 0]) / 255
    )
    both = SmallNorb(
        SmallNorbConfig(root=str(tmp_path), splits=("testing",), instance_factor=True, verify=False)
    )
    assert len(both) == 2 and both.factor_space.names[-1] == "instance"
    assert both.factors_of(torch.tensor([1])).tolist() == [[3, 5, 10, 4, 5]]


def test_smallnorb_damaged_files_are_one_clear_error(tmp_path):
    from latentatlas.data.published.smallnorb import SPLITS

    write_norb(tmp_path, "training", TRAIN)
    with pytest.raises(DataError, match="has no smallnorb-5x01235.*testing-dat.mat"):
        SmallNorb(SmallNorbConfig(root=str(tmp_path), verify=False))
    config = SmallNorbConfig(root=str(tmp_path), splits=("training",), verify=False)
    dat = tmp_path / SPLITS["training"].format("dat")
    whole = dat.read_bytes()
    dat.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="is truncated: its header announces"):
        SmallNorb(config)
    dat.write_bytes(b"\x00\x01\x02\x03" + whole[4:])
    with pytest.raises(DataError, match="not a NORB matrix file"):
        SmallNorb(config)
    write_norb(tmp_path, "training", [(0, 4, 0, 3, 0)])  # an odd azimuth
    with pytest.raises(DataError, match="outside smallNORB's values"):
        SmallNorb(config)
    with pytest.raises(ConfigError, match="splits: expected one or both of training, testing"):
        SmallNorbConfig(root=str(tmp_path), splits=("validation",))


def test_smallnorb_files_of_the_published_names_are_hash_checked(tmp_path):
    write_norb(tmp_path, "training", TRAIN)
    with pytest.raises(DataError, match="has MD5 .* the published smallnorb-5x46789"):
        SmallNorb(SmallNorbConfig(root=str(tmp_path), splits=("training",)))


# -- first-class ground-truth data ----------------------------------------------------------------
@pytest.mark.slow
def test_the_metrics_and_the_trainer_take_the_published_data_sets(tmp_path):
    from latentatlas import train_run
    from latentatlas.analysis.metrics import evaluate_metrics
    from latentatlas.train.run import RunConfig

    path = tmp_path / "mpi3d.npz"
    np.savez(path, images=mpi3d_images(48))
    data = Mpi3D(Mpi3DConfig(path=str(path), factor_sizes=SMALL))
    factors = data.factors_of(torch.arange(len(data)))

    def perfect(x: torch.Tensor) -> torch.Tensor:  # each image's own factors, read off its pixel
        return factors[(x[:, 0, 0, 0] * 255).round().long()].float()

    drawn = {}
    scores = evaluate_metrics(data, perfect, ["mig"], preset="fast", seed=0, details=drawn)
    assert drawn["mig"]["sizes"] == {"num_train": 48}  # the preset's 2000 fitted to the rows
    assert scores["mig"] > 0.9
    config = {
        "dataset": {"name": "mpi3d", "path": str(path), "factor_sizes": list(SMALL)},
        "model": {"name": "vae"},
        "train": {"steps": 2, "batch_size": 8, "progress": False},
    }
    _, fit = train_run(RunConfig.from_dict(config), tmp_path / "run")
    saved = (tmp_path / "run" / "config.json").read_text()
    assert fit.step == 2 and "conv_encoder" in saved  # chosen for 3 × 64 × 64 images


@pytest.mark.slow
def test_list_datasets_shows_each_published_file_with_its_hash():
    from .conftest import run_cli

    shown = run_cli("list", "datasets")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(ln.startswith("shapes3d ") for ln in lines)
    assert (
        "    3dshapes.h5: https://storage.googleapis.com/3d-shapes/3dshapes.h5; md5 "
        in shown.stdout
    )
    assert (
        "real3d_complicated_shapes_ordered.npz" in shown.stdout
        and "no published hash" in shown.stdout
    )


# -- Cars3D ---------------------------------------------------------------------------------------
def write_car(path, seed):
    """A car_XXX_mesh.mat as published: ``im`` uint8 (128, 128, 3, 24, 4)."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    im = rng.integers(0, 256, (128, 128, 3, 24, 4), dtype=np.uint8)
    savemat(path, {"im": im, "mask": np.zeros((128, 128, 24, 4), dtype=np.uint8)})
    return im


def test_cars3d_reads_the_published_mat_files_as_the_study_does(tmp_path):
    from PIL import Image

    from latentatlas.data.published.cars3d import Cars3D, Cars3DConfig

    cars = {
        name: write_car(tmp_path / f"{name}.mat", k)
        for k, name in enumerate(["car_002_mesh", "car_001_mesh"])
    }
    (tmp_path / "list.txt").write_text("car_002_mesh\ncar_001_mesh\n")
    data = DATASETS.get("cars3d")(Cars3DConfig(root=str(tmp_path)))
    assert len(data) == 4 * 24 * 2 and data.observation_shape == (3, 64, 64)
    assert data.factor_space.names == ["elevation", "azimuth", "object_type"]
    assert data.factor_space.sizes == [4, 24, 2]
    # row-major (elevation, azimuth, object): image 2·24·2 + 5·2 + 1 is elevation 2, azimuth 5,
    # the second car of list.txt
    row = 2 * 24 * 2 + 5 * 2 + 1
    batch = data.get_batch(torch.tensor([row, 0]))
    assert batch.factors[0].tolist() == [2.0, 5.0, 1.0]
    image = Image.fromarray(np.ascontiguousarray(cars["car_001_mesh"][:, :, :, 5, 2]))
    expected = np.array(image.resize((64, 64), Image.Resampling.LANCZOS))
    assert torch.equal(batch.x[0], torch.from_numpy(expected).permute(2, 0, 1).float() / 255)
    assert data._cars.keys() == {0, 1}  # each car read once, when a batch needed it
    (tmp_path / "list.txt").unlink()  # without list.txt: the sorted file names
    sorted_order = Cars3D(Cars3DConfig(root=str(tmp_path), size=128))
    first = sorted_order.get_batch(torch.tensor([0])).x[0]
    assert torch.equal(
        first, torch.from_numpy(cars["car_001_mesh"][:, :, :, 0, 0]).permute(2, 0, 1) / 255
    )


def test_cars3d_damaged_files_are_one_clear_error(tmp_path):
    from scipy.io import savemat

    from latentatlas.data.published.cars3d import Cars3D, Cars3DConfig

    with pytest.raises(DataError, match="has no .mat files"):
        Cars3D(Cars3DConfig(root=str(tmp_path)))
    savemat(tmp_path / "car_001_mesh.mat", {"im": np.zeros((64, 64, 3, 24, 4), dtype=np.uint8)})
    with pytest.raises(
        DataError, match=r"'im' is uint8 \(64, 64, 3, 24, 4\); expected uint8 \(128"
    ):
        Cars3D(Cars3DConfig(root=str(tmp_path)))
    (tmp_path / "car_001_mesh.mat").write_bytes(b"MATLAB 5.0 garbage")
    with pytest.raises(DataError, match="cannot be read"):
        Cars3D(Cars3DConfig(root=str(tmp_path)))
    (tmp_path / "list.txt").write_text("car_404_mesh\n")
    with pytest.raises(DataError, match="list.txt names car_404_mesh.mat, which is not there"):
        Cars3D(Cars3DConfig(root=str(tmp_path)))


# -- the study's dSprites variants ----------------------------------------------------------------
def test_colour_and_noisy_dsprites_are_the_sprite_recoloured_the_same_at_every_read():
    from latentatlas.data.synthetic.dsprites_variants import (
        ColorDSprites,
        DSpritesVariantConfig,
        NoisyDSprites,
    )

    idx = torch.tensor([0, 123_456, 737_279])
    sprites = DATASETS.get("dsprites")().get_batch(idx).x
    inside = sprites.expand(-1, 3, -1, -1) > 0.5
    colour = ColorDSprites()
    x = colour.get_batch(idx).x
    assert x.shape == (3, 3, 64, 64) and colour.observation_shape == (3, 64, 64)
    assert (x[~inside] == 0).all()  # a black background
    for k in range(3):  # one colour per image, each channel in [0.5, 1]
        pixels = x[k].permute(1, 2, 0)[inside[k, 0]]
        assert (pixels == pixels[0]).all() and ((pixels >= 0.5) & (pixels <= 1)).all()
    assert torch.equal(colour.get_batch(idx).x, x)  # the same image at every read
    other = ColorDSprites(DSpritesVariantConfig(seed=1)).get_batch(idx).x
    assert not torch.equal(other, x)
    noisy = NoisyDSprites().get_batch(idx)
    assert (noisy.x[inside] == 1).all() and (noisy.x[~inside] < 1).all()
    assert noisy.x[~inside].std() > 0.25  # uniform noise: std 0.289
    assert torch.equal(noisy.factors, DATASETS.get("dsprites")().get_batch(idx).factors)
    # rendering by factor values gives the image of that index
    assert torch.equal(colour.render(noisy.factors), x)


def test_scream_dsprites_invert_a_recoloured_patch_where_the_sprite_is(tmp_path):
    from PIL import Image

    from latentatlas.data.synthetic.dsprites_variants import ScreamDSprites, ScreamDSpritesConfig

    grey = tmp_path / "scream.png"
    Image.fromarray(np.full((300, 400, 3), 153, dtype=np.uint8)).save(grey)  # 0.6 everywhere
    data = DATASETS.get("scream_dsprites")(ScreamDSpritesConfig(scream=str(grey)))
    assert tuple(data.scream.shape) == (3, 263, 350)  # fitted in 350 × 274, aspect kept (262.5)
    idx = torch.tensor([5, 400_000])
    x = data.get_batch(idx).x
    inside = DATASETS.get("dsprites")().get_batch(idx).x.expand(-1, 3, -1, -1) > 0.5
    # background (0.6 + u) / 2, sprite 1 − (0.6 + u) / 2: per image and channel they sum to 1
    for k in range(2):
        for c in range(3):
            background, sprite = x[k, c][~inside[k, c]], x[k, c][inside[k, c]]
            assert torch.allclose(background, background[0]) and torch.allclose(sprite, sprite[0])
            assert float(background[0] + sprite[0]) == pytest.approx(1.0, abs=1e-6)
            assert 0.3 - 1e-6 <= float(background[0]) <= 0.8 + 1e-6
    with pytest.raises(DataError, match="needs a local copy of The Scream"):
        ScreamDSprites(ScreamDSpritesConfig(scream=str(tmp_path / "none.jpg")))
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 80, 3), dtype=np.uint8)).save(small)
    with pytest.raises(DataError, match="random 64×64 patches need more than 64"):
        ScreamDSprites(ScreamDSpritesConfig(scream=str(small)))


def test_smallnorb_maps_its_images_and_reads_only_a_batchs(tmp_path):
    """A training split of the published size (24 300 pairs, 448 MB of pixels, written as a
    sparse file): building it and reading a batch allocate a few MB."""
    from latentatlas.data.published.smallnorb import SPLITS

    n = 24_300
    name = SPLITS["training"]
    dat = tmp_path / name.format("dat")
    with dat.open("wb") as f:
        f.write(struct.pack("<iiiiii", 0x1E3D4C55, 4, n, 2, 96, 96))
        f.truncate(24 + n * 2 * 96 * 96)
    rows = np.zeros((n, 5), dtype=np.int32)
    write_matrix(tmp_path / name.format("cat"), rows[:, 0], 0x1E3D4C54)
    write_matrix(tmp_path / name.format("info"), rows[:, 1:], 0x1E3D4C54)
    config = SmallNorbConfig(root=str(tmp_path), splits=("training",), verify=False)
    tracemalloc.start()
    try:
        data = SmallNorb(config)
        batch = data.get_batch(torch.randint(n, (64,), generator=torch.Generator().manual_seed(0)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(data) == n and batch.x.shape == (64, 1, 64, 64)
    assert peak < 20e6, peak  # the images would be 448 MB
