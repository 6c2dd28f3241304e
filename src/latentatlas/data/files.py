"""Users' own data from local files: NumPy arrays (``array``) and image folders (``image_folder``).

Both load everything into memory once (:class:`~latentatlas.data.base.InMemoryDataset`) and refuse
what they cannot use with a :class:`~latentatlas.errors.DataError` that names the file: a missing
path, a file that is not ``.npy``/``.npz``, pickled object arrays (never unpickled:
``allow_pickle=False``), wrong shapes, NaN/inf, unreadable images, images of different sizes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import Config, ConfigError, field
from ..errors import DataError
from ..registry import DATASETS
from .base import InMemoryDataset, check_observations
from .factors import Factor, FactorSpace

MAX_DISCRETE_VALUES = 32
"""An integer-valued factor column with at most this many distinct values becomes discrete."""

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


# -- arrays ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArrayConfig(Config):
    path: str = field(doc="a .npy file (observations) or .npz file (observations and factors)")
    key: str = field("x", doc="name of the observations array in a .npz file")
    factors_key: str | None = field(None, doc="name of the factor array (n, k) in a .npz file")
    factor_names: tuple[str, ...] | None = field(None, doc="names of the k factors")

    def validate(self) -> None:
        if self.factor_names is not None and self.factors_key is None:
            raise ConfigError("factor_names: given without factors_key (no factors to name)")


def _open_arrays(path: Path) -> tuple[str, np.lib.npyio.NpzFile | np.ndarray]:
    """Open a .npy or .npz file without unpickling; the kind is read from the file's magic bytes."""
    if not path.exists():
        raise DataError(f"array file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataError(f"array file {str(path)!r} is not a file")
    with path.open("rb") as f:
        magic = f.read(6)
    try:
        if magic.startswith(_ZIP_MAGIC):
            return "npz", np.load(path, allow_pickle=False)
        if magic == _NPY_MAGIC:
            return "npy", np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(
                f"array file {str(path)!r} holds pickled Python objects, which are never loaded "
                "(unsafe); save plain numeric arrays with numpy.save / numpy.savez"
            ) from None
        raise DataError(f"array file {str(path)!r} is corrupt: {exc}") from None
    except Exception as exc:  # zipfile.BadZipFile, EOFError, OSError, ...
        raise DataError(f"array file {str(path)!r} is corrupt: {exc}") from None
    raise DataError(
        f"array file {str(path)!r} is neither a .npy nor a .npz file (written by numpy.save / "
        "numpy.savez)"
    )


def _npz_member(npz: np.lib.npyio.NpzFile, key: str, path: Path, role: str) -> np.ndarray:
    if key not in npz.files:
        raise DataError(
            f"array file {str(path)!r} has no array {key!r} ({role}); it holds: "
            f"{', '.join(npz.files) or 'nothing'}"
        )
    try:
        return npz[key]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(
                f"array {key!r} of {str(path)!r} holds pickled Python objects, which are never "
                "loaded (unsafe); save plain numeric arrays"
            ) from None
        raise DataError(f"array {key!r} of {str(path)!r} cannot be read: {exc}") from None
    except Exception as exc:
        raise DataError(f"array {key!r} of {str(path)!r} is corrupt: {exc}") from None


def read_npz_arrays(
    path: str | Path, keys: list[str], optional: list[str] = ()
) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (required) and ``optional`` (when present) of a .npz file, read
    without unpickling; a missing file or key, or a corrupt file, is a one-line DataError."""
    path = Path(path)
    kind, arrays = _open_arrays(path)
    if kind != "npz":
        raise DataError(f"{str(path)!r} is a .npy file; expected a .npz with arrays {keys}")
    with arrays:
        out = {key: _npz_member(arrays, key, path, key) for key in keys}
        for key in optional:
            if key in arrays.files:
                out[key] = _npz_member(arrays, key, path, key)
    return out


def _numeric(a: np.ndarray, what: str) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise DataError(f"{what} has dtype {a.dtype}; expected numbers (bool, integer or float)")
    return a


def factor_space_from_values(
    values: torch.Tensor,
    names: tuple[str, ...],
    discrete: tuple[str, ...] = (),
    continuous: tuple[str, ...] = (),
) -> FactorSpace:
    """A factor space describing the columns of ``values`` ``(n, k)``.

    A column is a discrete factor on its distinct values when it has at most
    :data:`MAX_DISCRETE_VALUES` of them and they are integers or repeat (each value on two rows
    or more on average: a size column of 2.5 and 4.0 is discrete whatever its type); any other
    column is continuous on ``[min, max]``. ``discrete`` / ``continuous`` name columns that are
    so whatever their values. No column is periodic (nothing in an array says so).
    """
    _check_kinds(names, discrete, continuous)
    factors = []
    for name, col in zip(names, values.T):
        unique = torch.unique(col)
        low, high = float(col.min()), float(col.max())
        integer = bool((col == col.round()).all())
        repeated = 2 * len(unique) <= len(col)
        few = len(unique) <= MAX_DISCRETE_VALUES and (integer or repeated)
        if name in discrete or (few and name not in continuous):
            factors.append(Factor(name, low, high, values=tuple(unique.tolist())))
        else:
            factors.append(Factor(name, low, high))
    return FactorSpace(factors)


def _check_kinds(names: tuple[str, ...], discrete: tuple[str, ...], continuous: tuple[str, ...]):
    for field_name, given in (("discrete", discrete), ("continuous", continuous)):
        unknown = [n for n in given if n not in names]
        if unknown:
            raise ConfigError(f"{field_name}: {unknown[0]!r} is not a factor ({', '.join(names)})")
    both = sorted(set(discrete) & set(continuous))
    if both:
        raise ConfigError(f"discrete, continuous: {both[0]!r} is named in both")


@DATASETS.register("array")
class ArrayDataset(InMemoryDataset):
    """Observations (and optional factors) from a NumPy file.

    Observations: ``(n, D)`` vectors, ``(n, H, W)`` grayscale images (a channel axis is added) or
    ``(n, C, H, W)`` images, converted to float32. Factors: ``(n,)`` or ``(n, k)`` numbers from the
    array ``factors_key`` of a .npz file, described by :func:`factor_space_from_values`.
    """

    Config = ArrayConfig

    def __init__(self, config: ArrayConfig):
        self.config = config
        self.path = Path(config.path).expanduser()
        where = f"array file {str(self.path)!r}"
        kind, data = _open_arrays(self.path)
        factors = None
        if kind == "npy":
            if config.factors_key is not None:
                raise DataError(
                    f"{where} is a .npy file, which holds a single array, so it has no factors "
                    f"{config.factors_key!r}; save observations and factors with numpy.savez"
                )
            x, what = data, where
        else:
            with data:
                x = _npz_member(data, config.key, self.path, "observations")
                if config.factors_key is not None:
                    factors = _npz_member(data, config.factors_key, self.path, "factors")
            what = f"array {config.key!r} of {str(self.path)!r}"
        x = _numeric(np.asarray(x), what)
        if x.ndim not in (2, 3, 4) or x.shape[0] < 1:
            raise DataError(
                f"{what} has shape {x.shape}; expected (n, D) vectors, (n, H, W) or (n, C, H, W) "
                "images, with n >= 1"
            )
        if x.ndim == 3:
            x = x[:, None]
        obs = check_observations(torch.from_numpy(x.astype(np.float32)), what)

        values, space = None, None
        if factors is not None:
            fwhat = f"array {config.factors_key!r} of {str(self.path)!r}"
            f = _numeric(np.asarray(factors), fwhat)
            if f.ndim == 1:
                f = f[:, None]
            if f.ndim != 2 or f.shape[0] != obs.shape[0]:
                raise DataError(
                    f"{fwhat} has shape {f.shape}; expected ({obs.shape[0]}, k), one row per "
                    "observation"
                )
            values = torch.from_numpy(f.astype(np.float64))
            if not torch.isfinite(values).all():
                raise DataError(f"{fwhat} contains NaN or inf values")
            k = values.shape[1]
            names = config.factor_names or tuple(f"factor_{j}" for j in range(k))
            if len(names) != k:
                raise DataError(f"factor_names has {len(names)} names for {k} factor columns")
            space = factor_space_from_values(values, names)
        super().__init__(obs, values, space)


# -- image folders --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageFolderConfig(Config):
    path: str = field(doc="folder of image files")
    size: tuple[int, int] | None = field(None, ge=1, doc="resize every image to (height, width)")
    grayscale: bool | None = field(
        None,
        doc="true: one channel (luminance); false: three (RGB); unset: the files' own (grey "
        "files one channel, any colour file three)",
    )
    extensions: tuple[str, ...] = field(
        IMAGE_EXTENSIONS, doc="file name endings of the images (case-insensitive)"
    )
    recursive: bool = field(False, doc="also read images in subfolders")
    labels: str | None = field(
        None,
        doc="a CSV or JSON file of factors per image (relative to the folder or absolute): one "
        "row per file, named in the column `file`; numeric columns are numeric factors, others "
        "categorical",
    )
    folder_factors: tuple[str, ...] | None = field(
        None,
        doc="names of the factors given by the sub-folder levels (class/size/img.png: "
        "[class, size]); unset: a folder whose images all sit one level down (torchvision's "
        "ImageFolder layout) gets the factor `class`, without labels",
    )
    periodic: tuple[str, ...] = field((), doc="names of the factors that wrap (angles)")
    discrete: tuple[str, ...] = field((), doc="factors that are discrete whatever their values")
    continuous: tuple[str, ...] = field(
        (), doc="numeric factors that are continuous whatever their values"
    )


FILE_COLUMN = "file"
"""The column (CSV) or key (JSON records) that names each image in a labels file."""


def _read_label_rows(path: Path) -> list[dict[str, str | float]]:
    """Rows of a labels file: CSV with a header, or JSON (a list of records, or an object
    file → record)."""
    import csv
    import json

    if not path.is_file():
        raise DataError(f"labels file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"labels file {str(path)!r} is not valid JSON: {exc}") from None
        if isinstance(data, dict):
            data = [{FILE_COLUMN: k, **v} for k, v in data.items() if isinstance(v, dict)]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DataError(
                f"labels file {str(path)!r}: expected a list of records or an object "
                "file name → record"
            )
        return data
    if path.suffix.lower() not in (".csv", ".tsv", ".txt"):
        raise DataError(f"labels file {str(path)!r}: expected a .csv or .json file")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return list(csv.DictReader(text.splitlines(), dialect=dialect))


def _label_columns(
    rows: list[dict], files: list[Path], folder: Path, where: Path
) -> dict[str, list]:
    """The labels file's factor columns, each as the raw values of the images in dataset
    order."""
    by_file: dict[str, dict] = {}
    for i, row in enumerate(rows):
        name = row.get(FILE_COLUMN)
        if name in (None, ""):
            raise DataError(f"{where}: row {i + 1} has no {FILE_COLUMN!r} column")
        by_file[Path(str(name)).as_posix()] = row
    keys = [p.relative_to(folder).as_posix() for p in files]
    missing = [k for k in keys if k not in by_file]
    if missing:
        raise DataError(
            f"{where}: {len(missing)} of {len(keys)} images have no row, e.g. "
            f"{', '.join(missing[:3])} (rows name files relative to the folder)"
        )
    columns = [c for c in rows[0] if c != FILE_COLUMN] if rows else []
    if not columns:
        raise DataError(f"{where}: no factor columns besides {FILE_COLUMN!r}")
    out = {}
    for column in columns:
        raw = [by_file[k].get(column) for k in keys]
        if any(v is None or v == "" for v in raw):
            raise DataError(f"{where}: column {column!r} is empty for some images")
        out[column] = raw
    return out


def _folder_columns(files: list[Path], folder: Path, names: tuple[str, ...]) -> dict[str, list]:
    """The sub-folder names of each image as the factors ``names``, one per level."""
    out: dict[str, list] = {name: [] for name in names}
    for file in files:
        levels = file.relative_to(folder).parts[:-1]
        if len(levels) != len(names):
            raise DataError(
                f"image {file.relative_to(folder).as_posix()!r} sits {len(levels)} sub-folder "
                f"level(s) deep; folder_factors names {len(names)} ({', '.join(names)})"
            )
        for name, level in zip(names, levels):
            out[name].append(level)
    return out


def _column_factors(
    columns: dict[str, list], config: ImageFolderConfig, where: str
) -> tuple[torch.Tensor, FactorSpace]:
    """Factor values ``(n, k)`` and their space from raw columns: numbers are numeric factors
    (discrete or continuous as :func:`factor_space_from_values` infers, or as ``discrete`` /
    ``continuous`` say), anything else categorical (discrete, labelled, in sorted order)."""
    names = tuple(columns)
    for field_name in ("periodic", "discrete", "continuous"):
        unknown = [n for n in getattr(config, field_name) if n not in names]
        if unknown:
            raise ConfigError(
                f"{field_name}: {unknown[0]!r} is not a factor of {where} "
                f"({', '.join(names) or 'it has none'})"
            )
    _check_kinds(names, config.discrete, config.continuous)
    values, factors = [], []
    for column, raw in columns.items():
        try:
            numbers = np.array([float(v) for v in raw])
        except (TypeError, ValueError):
            if column in config.continuous:
                raise ConfigError(
                    f"continuous: {column!r} has values that are not numbers"
                ) from None
            categories = sorted({str(v) for v in raw})
            numbers = np.array([categories.index(str(v)) for v in raw], dtype=np.float64)
            grid = tuple(range(len(categories)))
            factor = Factor(column, 0, len(categories) - 1, values=grid, labels=tuple(categories))
        else:
            if not np.isfinite(numbers).all():
                raise DataError(f"{where}: factor {column!r} has NaN or inf")
            kinds = {
                "discrete": (column,) if column in config.discrete else (),
                "continuous": (column,) if column in config.continuous else (),
            }
            one = factor_space_from_values(torch.from_numpy(numbers[:, None]), (column,), **kinds)
            factor = one.factors[0]
        factors.append(dataclasses.replace(factor, periodic=column in config.periodic))
        values.append(numbers)
    return torch.from_numpy(np.stack(values, 1)), FactorSpace(factors)


def _image_files(folder: Path, extensions: tuple[str, ...], recursive: bool) -> list[Path]:
    """Image files of ``folder`` sorted by relative path; hidden files (``.name``) are skipped."""
    ends = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = [
        p
        for p in candidates
        if p.is_file()
        and p.name.lower().endswith(ends)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


#: PIL modes of grey images (one channel, with or without alpha)
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N")


def _read_image(path: Path, grayscale: bool | None) -> np.ndarray:
    """One image as float32 ``(C, H, W)`` in [0, 1] (8-bit and 16-bit images): one channel with
    ``grayscale``, three without, and with None the file's own (grey one, colour three)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            grey = img.mode in GREY_MODES if grayscale is None else grayscale
            if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):  # 16-bit grayscale
                a = np.clip(np.asarray(img, dtype=np.float32) / 65535.0, 0.0, 1.0)[None]
                return a if grey else np.repeat(a, 3, axis=0)
            if img.mode == "F":
                raise DataError(
                    f"image {str(path)!r} has 32-bit float pixels (mode F), which have no fixed "
                    "range; save it as an 8-bit or 16-bit image"
                )
            a = np.asarray(img.convert("L" if grey else "RGB"), dtype=np.float32) / 255.0
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"image {str(path)!r} cannot be read: {exc}") from None
    return a[None] if grey else a.transpose(2, 0, 1)


def read_images(
    files: list[Path], grayscale: bool | None, size: tuple[int, int] | None, what: str = "images"
) -> torch.Tensor:
    """The images of ``files`` stacked ``(n, C, H, W)`` in [0, 1]; with ``size`` each is resized
    (bilinear, antialiased), without it they must all have the same size. ``grayscale``: one
    channel, three, or (None) the files' own: one when every file is grey, else three."""
    images: list[torch.Tensor] = []
    if grayscale is None:  # grey files among colour ones are read as three equal channels
        grayscale = True if all(_is_grey(f) for f in files) else False
    for file in files:
        a = torch.from_numpy(_read_image(file, grayscale))
        if size is not None and tuple(a.shape[1:]) != tuple(size):
            a = torch.nn.functional.interpolate(
                a[None], size=tuple(size), mode="bilinear", antialias=True, align_corners=False
            )[0].clamp(0.0, 1.0)
        elif images and a.shape != images[0].shape:
            h0, w0 = images[0].shape[1:]
            h, w = a.shape[1:]
            raise DataError(
                f"{what} differ in size: {str(files[0])!r} is {w0}×{h0} but {str(file)!r} is "
                f"{w}×{h} (width×height); set size: [height, width] to resize them all"
            )
        images.append(a)
    return torch.stack(images)


def _is_grey(path: Path) -> bool:
    """Whether the image file is grey (its mode, read from the header only)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.mode in GREY_MODES
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"image {str(path)!r} cannot be read: {exc}") from None


@DATASETS.register("image_folder")
class ImageFolder(InMemoryDataset):
    """All images of a folder as float32 ``(n, C, H, W)`` in [0, 1], sorted by file name.

    ``C`` is the files' own by default: 1 when every file is grey, else 3 (``grayscale`` true or
    false forces one or three; alpha is dropped, palette images are converted). Without ``size``
    all images must have the same size; with it each is resized (bilinear, antialiased).
    Factors, so that metrics, reports and sweeps work on the images, come from the sub-folder
    names (``folder_factors``; a folder whose images all sit one level down, torchvision's
    ImageFolder layout, gets the factor ``class`` by itself) and from ``labels`` (a CSV or JSON
    file per image, see :class:`ImageFolderConfig`); without either, no factors. A factor is
    discrete or continuous as :func:`factor_space_from_values` infers (``discrete`` /
    ``continuous`` say otherwise), categorical when its values are not numbers.
    :attr:`files` lists the files in dataset order.
    """

    Config = ImageFolderConfig

    def __init__(self, config: ImageFolderConfig):
        self.config = config
        self.path = Path(config.path).expanduser()
        if not self.path.exists():
            raise DataError(f"image folder {str(self.path)!r} does not exist")
        if not self.path.is_dir():
            raise DataError(f"image folder {str(self.path)!r} is not a folder")
        levels = config.folder_factors
        deep = config.recursive or bool(levels)
        self.files = _image_files(self.path, config.extensions, deep)
        if not self.files and levels is None and config.labels is None:
            nested = _image_files(self.path, config.extensions, True)
            if nested and all(len(f.relative_to(self.path).parts) == 2 for f in nested):
                self.files, levels = nested, ("class",)  # one sub-folder per class
        if not self.files:
            where = "or its subfolders " if deep else ""
            raise DataError(
                f"image folder {str(self.path)!r} {where}holds no image files ending in "
                f"{', '.join(config.extensions)}"
            )
        self.folder_factors = tuple(levels or ())
        columns = _folder_columns(self.files, self.path, self.folder_factors)
        where = f"image folder {str(self.path)!r}"
        if config.labels is not None:
            labels = Path(config.labels).expanduser()
            labels = labels if labels.is_absolute() else self.path / labels
            label_columns = _label_columns(_read_label_rows(labels), self.files, self.path, labels)
            clash = sorted(set(label_columns) & set(columns))
            if clash:
                raise DataError(f"{labels}: column {clash[0]!r} is also a folder factor")
            columns.update(label_columns)
            where = str(labels)
        factors = space = None
        if columns:
            factors, space = _column_factors(columns, config, where)
        else:
            given = [f for f in ("periodic", "discrete", "continuous") if getattr(config, f)]
            if given:
                raise ConfigError(
                    f"{given[0]}: given, but the images have no factors (no "
                    "labels, no folder factors)"
                )
        super().__init__(read_images(self.files, config.grayscale, config.size), factors, space)
