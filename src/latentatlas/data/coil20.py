"""COIL-20 (Nene, Nayar and Murase 1996) from local files: 20 objects × 72 views, 5° apart.

The thesis (§10.2) uses the processed COIL-20 images: grey 128×128 photographs of 20 objects on
a turntable, one every 5°, 72 per object; its experiments train on the 72 views of one object
(§10.2.1), whose latent factor is the periodic camera angle. The processed archive
``coil-20-proc`` holds the files ``obj<k>__<i>.png`` for object ``k`` = 1..20 and view
``i`` = 0..71 (angle 5°·i). It is not shipped or downloaded; point ``path`` at the folder.

Factors: ``object`` (discrete, the object numbers present) and ``angle`` (periodic on [0, 2π),
72 values 2πi/72 = 5°·i). Images are read with Pillow as grey float32 ``(n, 1, H, W)`` in
[0, 1], ordered by object then view. A partial set (some views or objects missing) is accepted;
``ds.files`` lists the files in dataset order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import Config, ConfigError, field
from ..errors import DataError
from ..registry import DATASETS
from .base import Batch, InMemoryDataset
from .factors import Factor, FactorSpace
from .files import read_images

NUM_OBJECTS = 20
"""Objects of COIL-20, numbered 1..20."""

NUM_VIEWS = 72
"""Views per object, numbered 0..71, one every 5°."""

_NAME = re.compile(r"obj(\d+)__(\d+)\.png", re.IGNORECASE)


@dataclass(frozen=True)
class Coil20Config(Config):
    path: str = field(doc="folder holding the processed COIL-20 files obj<k>__<i>.png")
    objects: tuple[int, ...] | None = field(
        None, ge=1, le=NUM_OBJECTS, doc="object numbers to keep (1..20); None: all found"
    )
    size: tuple[int, int] | None = field(
        None, ge=1, doc="resize every image to (height, width) (bilinear, antialiased)"
    )

    def validate(self) -> None:
        if self.objects is not None:
            if not self.objects:
                raise ConfigError("objects: expected at least one object number, got []")
            if len(set(self.objects)) != len(self.objects):
                raise ConfigError(f"objects: repeated object numbers in {list(self.objects)}")


def coil20_factor_space(objects: tuple[int, ...]) -> FactorSpace:
    """``object`` on the given numbers and the periodic ``angle`` 2πi/72 on [0, 2π)."""
    return FactorSpace(
        [
            Factor("object", float(min(objects)), float(max(objects)), values=objects),
            Factor("angle", 0.0, 2 * math.pi, size=NUM_VIEWS, periodic=True),
        ]
    )


def _scan(folder: Path) -> dict[tuple[int, int], Path]:
    """(object, view) → file for every ``.png`` of ``folder`` (hidden files skipped)."""
    found: dict[tuple[int, int], Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file() or not p.name.lower().endswith(".png"):
            continue
        m = _NAME.fullmatch(p.name)
        if m is None:
            raise DataError(
                f"COIL-20 file {str(p)!r} does not follow the naming obj<k>__<i>.png (object k "
                "= 1..20, view i = 0..71); the folder should hold only the processed COIL-20 "
                "images"
            )
        k, i = int(m.group(1)), int(m.group(2))
        if not 1 <= k <= NUM_OBJECTS or not 0 <= i < NUM_VIEWS:
            raise DataError(
                f"COIL-20 file {str(p)!r} names object {k}, view {i}; expected object 1..20 and "
                "view 0..71 (COIL-100, whose names give angles in degrees, is a different set)"
            )
        if (k, i) in found:
            raise DataError(
                f"COIL-20 files {str(found[(k, i)])!r} and {str(p)!r} both name object {k}, "
                f"view {i}"
            )
        found[(k, i)] = p
    return found


@DATASETS.register("coil20")
class Coil20(InMemoryDataset):
    """The processed COIL-20 images of a local folder, factors ``object`` and ``angle``."""

    Config = Coil20Config

    def __init__(self, config: Coil20Config):
        self.config = config
        self.path = Path(config.path).expanduser()
        if not self.path.exists():
            raise DataError(f"COIL-20 folder {str(self.path)!r} does not exist")
        if not self.path.is_dir():
            raise DataError(f"COIL-20 folder {str(self.path)!r} is not a folder")
        found = _scan(self.path)
        if not found:
            raise DataError(
                f"COIL-20 folder {str(self.path)!r} holds no files named obj<k>__<i>.png; "
                "expected the processed COIL-20 images (coil-20-proc)"
            )
        present = sorted({k for k, _ in found})
        if config.objects is not None:
            missing = [k for k in config.objects if k not in present]
            if missing:
                raise DataError(
                    f"COIL-20 folder {str(self.path)!r} has no images of object(s) "
                    f"{', '.join(map(str, missing))}; it holds objects "
                    f"{', '.join(map(str, present))}"
                )
            keep = set(config.objects)
            found = {key: p for key, p in found.items() if key[0] in keep}
        keys = sorted(found)
        self.files = [found[key] for key in keys]
        x = read_images(self.files, True, config.size, "COIL-20 images")
        objects = tuple(sorted({k for k, _ in keys}))
        space = coil20_factor_space(objects)
        values = torch.tensor(
            [[float(k), 2 * math.pi * i / NUM_VIEWS] for k, i in keys], dtype=torch.float64
        )
        self._index = {key: n for n, key in enumerate(keys)}
        super().__init__(x, values, space)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """The stored images nearest to factor values ``(n, 2)`` (object, angle): a lookup, so
        traversals over the 72 angles work; a combination without a file raises."""
        space = self.factor_space
        classes = space.values_to_classes(factors)
        objects = space.factors[0].values
        rows = []
        for c_obj, c_view in classes.tolist():
            key = (int(objects[c_obj]), c_view)
            if key not in self._index:
                raise DataError(
                    f"COIL-20 folder {str(self.path)!r} has no image of object {key[0]}, view "
                    f"{key[1]} (file obj{key[0]}__{key[1]}.png)"
                )
            rows.append(self._index[key])
        return self.x[torch.tensor(rows, dtype=torch.long)]

    def evaluation_set(self) -> Batch:
        """All images, ordered by object then view."""
        return Batch(self.x, self.factors)
