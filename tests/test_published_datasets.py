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

    with pytest.warns(UserWarning, match="rows repeat"):  # 48 images: the fast preset draws more
        scores = evaluate_metrics(data, perfect, ["mig"], preset="fast", seed=0)
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
