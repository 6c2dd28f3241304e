"""Users' own data: the ``array`` (.npy/.npz) and ``image_folder`` datasets and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from latentatlas.errors import ConfigError, DataError
from latentatlas.registry import DATASETS, build


def array_dataset(path, **params):
    return build(DATASETS, {"name": "array", "path": str(path), **params})


def image_folder(path, **params):
    return build(DATASETS, {"name": "image_folder", "path": str(path), **params})


# -- arrays ----------------------------------------------------------------------------------------
def test_npy_vectors_and_grayscale_images(tmp_path):
    x = np.random.default_rng(0).normal(size=(7, 5))
    np.save(tmp_path / "v.npy", x)
    ds = array_dataset(tmp_path / "v.npy")
    assert len(ds) == 7 and ds.x.dtype == torch.float32 and not ds.has_factors
    assert torch.allclose(ds.get_batch(torch.tensor([2, 0])).x, torch.tensor(x[[2, 0]]).float())

    np.save(tmp_path / "img.npy", np.zeros((4, 6, 8), dtype=np.uint8))
    assert tuple(array_dataset(tmp_path / "img.npy").x.shape) == (4, 1, 6, 8)  # channel added


def test_npz_with_factors_builds_a_factor_space(tmp_path):
    n = 12
    shape = np.arange(n) % 3  # 3 integer values: discrete
    angle = np.linspace(0.0, 1.0, n)  # not integers: continuous
    np.savez(tmp_path / "d.npz", images=np.ones((n, 1, 4, 4)), f=np.stack([shape, angle], 1))
    ds = array_dataset(
        tmp_path / "d.npz", key="images", factors_key="f", factor_names=["shape", "angle"]
    )
    space = ds.factor_space
    assert list(space.names) == ["shape", "angle"]
    assert space.factors[0].values == (0.0, 1.0, 2.0)
    assert space.factors[1].values is None and space.factors[1].high == 1.0
    batch = ds.get_batch(torch.tensor([4]))
    assert batch.factors.tolist() == [[1.0, angle[4]]]
    unnamed = array_dataset(tmp_path / "d.npz", key="images", factors_key="f")
    assert list(unnamed.factor_space.names) == ["factor_0", "factor_1"]


@pytest.mark.parametrize(
    ("write", "params", "message"),
    [
        (None, {}, "does not exist"),
        (lambda p: p.write_text("hello"), {}, "neither a .npy nor a .npz"),
        (lambda p: p.write_bytes(b"PK\x03\x04broken"), {}, "corrupt"),
        (lambda p: np.save(p, np.array([{"a": 1}], dtype=object)), {}, "pickled"),
        (lambda p: np.save(p, np.zeros(5)), {}, "expected (n, D)"),
        (lambda p: np.save(p, np.array([["a", "b"]])), {}, "expected numbers"),
        (lambda p: np.save(p, np.array([[1.0, np.inf]])), {}, "NaN or inf"),
        (lambda p: np.save(p, np.zeros((3, 2))), {"factors_key": "f"}, "single array"),
    ],
)
def test_bad_array_files_are_refused_with_the_file_named(tmp_path, write, params, message):
    path = tmp_path / "data.npy"
    if write is not None:
        write(path)
    with pytest.raises(DataError) as info:
        array_dataset(path, **params)
    assert message in str(info.value)
    assert "data.npy" in str(info.value) or message == "expected numbers"


def test_bad_npz_members(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((4, 3)), f=np.zeros((5, 2)))
    with pytest.raises(DataError, match=r"no array 'imgs'.*it holds: x, f"):
        array_dataset(path, key="imgs")
    with pytest.raises(DataError, match=r"expected \(4, k\), one row per observation"):
        array_dataset(path, factors_key="f")
    with pytest.raises(DataError, match="1 names for 2 factor columns"):
        np.savez(path, x=np.zeros((5, 3)), f=np.zeros((5, 2)))
        array_dataset(path, factors_key="f", factor_names=["a"])
    with pytest.raises(ConfigError, match="factor_names"):
        array_dataset(path, factor_names=["a"])


# -- image folders ---------------------------------------------------------------------------------
def write_png(path, array, mode=None):
    Image.fromarray(array, mode=mode).save(path)


def test_image_folder_reads_sorted_rgb_and_grayscale(tmp_path):
    rng = np.random.default_rng(0)
    pixels = [rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8) for _ in range(3)]
    for name, a in zip(("b.png", "a.png", "c.png"), pixels):
        write_png(tmp_path / name, a)
    (tmp_path / ".hidden.png").write_bytes(b"not an image")  # hidden files are skipped
    (tmp_path / "notes.txt").write_text("not an image either")
    ds = image_folder(tmp_path)
    assert [p.name for p in ds.files] == ["a.png", "b.png", "c.png"]
    assert tuple(ds.x.shape) == (3, 3, 6, 5)
    expected = torch.from_numpy(pixels[1]).permute(2, 0, 1).float() / 255  # a.png
    assert torch.allclose(ds.x[0], expected)
    gray = image_folder(tmp_path, grayscale=True)
    assert tuple(gray.x.shape) == (3, 1, 6, 5) and float(gray.x.max()) <= 1.0


def test_image_folder_16_bit_and_resize(tmp_path):
    a = np.full((4, 4), 65535, dtype=np.uint16)
    Image.fromarray(a).save(tmp_path / "deep.png")
    write_png(tmp_path / "small.png", np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(DataError, match="images differ in size.*set size"):
        image_folder(tmp_path, grayscale=True)
    ds = image_folder(tmp_path, grayscale=True, size=[8, 8])
    assert tuple(ds.x.shape) == (2, 1, 8, 8)
    assert torch.allclose(ds.x[0], torch.ones(1, 8, 8))  # 16-bit white stays 1.0


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        image_folder(tmp_path / "nowhere")
    (tmp_path / "file.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="is not a folder"):
        image_folder(tmp_path / "file.png")
    with pytest.raises(DataError, match=r"file.png' cannot be read"):
        image_folder(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no image files"):
        image_folder(empty)


# -- labelled image folders (issue 22) -------------------------------------------------------------
def _labelled_folder(folder, n: int = 24):
    """Squares at 4 positions in 2 colours, with an angle column; returns the rows."""
    rows = []
    for i in range(n):
        x, colour = i % 4, ("red", "blue")[(i // 4) % 2]
        a = np.zeros((8, 8, 3), dtype=np.uint8)
        a[2:5, x : x + 3, 0 if colour == "red" else 2] = 255
        name = f"img{i:02d}.png"
        write_png(folder / name, a)
        rows.append({"file": name, "x": x, "colour": colour, "angle": round(0.25 * i, 2)})
    return rows


def test_image_folder_reads_factors_from_a_labels_csv_or_json(tmp_path):
    import json

    rows = _labelled_folder(tmp_path)
    lines = ["file,x,colour,angle"] + [
        f"{r['file']},{r['x']},{r['colour']},{r['angle']}" for r in reversed(rows)
    ]
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    ds = image_folder(tmp_path, labels="labels.csv", periodic=["angle"])
    assert ds.has_factors and tuple(ds.factors.shape) == (24, 3)
    x, colour, angle = ds.factor_space.factors
    assert (x.name, x.values, x.periodic) == ("x", (0.0, 1.0, 2.0, 3.0), False)
    assert colour.labels == ("blue", "red") and colour.values == (0.0, 1.0)
    assert angle.periodic and not angle.discrete
    assert ds.factors[5].tolist() == [1.0, 0.0, 1.25]  # img05: x 1, blue, angle 1.25
    as_json = {r["file"]: {k: v for k, v in r.items() if k != "file"} for r in rows}
    (tmp_path / "labels.json").write_text(json.dumps(as_json))
    again = image_folder(tmp_path, labels=str(tmp_path / "labels.json"), periodic=["angle"])
    assert torch.equal(again.factors, ds.factors)


@pytest.mark.parametrize(
    ("content", "params", "match"),
    [
        ("file,x\nimg00.png,1\n", {}, r"23 of 24 images have no row, e.g. img01.png"),
        ("name,x\nimg00.png,1\n", {}, "row 1 has no 'file' column"),
        (None, {"periodic": ["size"]}, "periodic: 'size' is not a factor"),
        (None, {"labels": "absent.csv"}, "does not exist"),
        ("{not json", {"labels": "labels.json"}, "is not valid JSON"),
    ],
)
def test_image_folder_labels_errors(tmp_path, content, params, match):
    rows = _labelled_folder(tmp_path)
    if content is None:
        content = "file,x\n" + "".join(f"{r['file']},{r['x']}\n" for r in rows)
    name = params.get("labels", "labels.csv")
    (tmp_path / name.replace("absent.csv", "other.csv")).write_text(content)
    with pytest.raises((DataError, ConfigError), match=match):
        image_folder(tmp_path, **{"labels": "labels.csv", **params})
    with pytest.raises(ConfigError, match="periodic: given, but the images have no factors"):
        image_folder(tmp_path, periodic=["x"])


@pytest.mark.slow
def test_a_labelled_image_folder_is_scored_from_the_command_line(tmp_path):
    import json

    from .conftest import run_cli

    folder = tmp_path / "images"
    folder.mkdir()
    rows = _labelled_folder(folder, n=40)
    (folder / "labels.csv").write_text(
        "file,x,colour\n" + "".join(f"{r['file']},{r['x']},{r['colour']}\n" for r in rows)
    )
    run = tmp_path / "run"
    proc = run_cli(
        "train",
        "--dataset",
        "image_folder",
        "--model",
        "vae",
        "--set",
        f"dataset.path={folder}",
        "--set",
        "dataset.labels=labels.csv",
        "--set",
        "model.latent.dim=2",
        "--set",
        "train.steps=10",
        "--set",
        "train.progress=false",
        "--out",
        str(run),
    )
    assert proc.returncode == 0, proc.stderr
    scored = run_cli("evaluate", str(run), "--samples", "2", "--metrics", "mig", "--preset", "fast")
    assert scored.returncode == 0, scored.stderr
    scores = json.loads((run / "disentanglement.json").read_text())["scores"]
    assert {"mig", "mig/x", "mig/colour"} <= set(scores)


def _grey(path, value: int = 100, size: int = 6) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size), value, np.uint8), mode="L").save(path)


def _colour(path, size: int = 6) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.zeros((size, size, 3), np.uint8)
    a[..., 0] = 200
    Image.fromarray(a, mode="RGB").save(path)


def test_grey_files_keep_one_channel_unless_told_otherwise(tmp_path):
    """Grey PNGs were read as RGB by default: 3× the compute for the same information."""
    for i in range(3):
        _grey(tmp_path / "grey" / f"{i}.png")
    assert image_folder(tmp_path / "grey").x.shape == (3, 1, 6, 6)
    assert image_folder(tmp_path / "grey", grayscale=False).x.shape == (3, 3, 6, 6)
    _colour(tmp_path / "mixed" / "a.png")
    _grey(tmp_path / "mixed" / "b.png")
    mixed = image_folder(tmp_path / "mixed")
    assert mixed.x.shape == (2, 3, 6, 6)  # one colour file: three channels for all
    assert torch.equal(mixed.x[1, 0], mixed.x[1, 2])  # the grey one, three equal channels
    assert image_folder(tmp_path / "mixed", grayscale=True).x.shape == (2, 1, 6, 6)


def test_class_sub_folders_give_a_discrete_factor(tmp_path):
    """torchvision's ImageFolder layout: one sub-folder per class, nothing at the top."""
    for shape in ("circle", "square", "heart"):
        for i in range(2):
            _grey(tmp_path / shape / f"{i}.png", value=50 * i)
    ds = image_folder(tmp_path)
    (factor,) = ds.factor_space.factors
    assert factor.name == "class" and factor.labels == ("circle", "heart", "square")
    assert factor.size == 3 and ds.factors[:, 0].tolist() == [0, 0, 1, 1, 2, 2]
    assert ds.x.shape == (6, 1, 6, 6)


def test_several_folder_levels_are_several_factors(tmp_path):
    for shape in ("circle", "square"):
        for size in ("2.5", "4.0"):
            _grey(tmp_path / shape / size / "img.png")
    ds = image_folder(tmp_path, folder_factors=["shape", "size"])
    shape, size = ds.factor_space.factors
    assert shape.labels == ("circle", "square")
    assert size.values == (2.5, 4.0) and size.labels is None  # numbers stay numbers
    with pytest.raises(DataError, match="sits 2 sub-folder level"):
        image_folder(tmp_path, folder_factors=["shape"])


def test_a_two_valued_float_column_is_discrete_and_the_config_can_say_otherwise(tmp_path):
    rows = ["file,size,angle"]
    for i in range(8):
        _grey(tmp_path / f"{i}.png", value=10 * i)
        rows.append(f"{i}.png,{2.5 if i % 2 else 4.0},{0.37 * i + 0.01}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    ds = image_folder(tmp_path, labels="labels.csv")
    size, angle = ds.factor_space.factors
    assert size.values == (2.5, 4.0)  # was: a continuous factor with no values
    assert angle.values is None  # eight distinct floats in eight rows: continuous
    forced = image_folder(tmp_path, labels="labels.csv", discrete=["angle"], continuous=["size"])
    assert forced.factor_space.factors[0].values is None
    assert len(forced.factor_space.factors[1].values) == 8
    with pytest.raises(ConfigError, match="discrete: 'colour' is not a factor"):
        image_folder(tmp_path, labels="labels.csv", discrete=["colour"])
    with pytest.raises(ConfigError, match="'size' is named in both"):
        image_folder(tmp_path, labels="labels.csv", discrete=["size"], continuous=["size"])
