"""The published files of the benchmark's data sets, with their hashes, and the check of a
local copy against them.

Hashes are those the data sets' users pin (their sources are named per entry): the MD5 of the
whole file as downloaded, and its SHA-256 where TensorFlow Datasets lists one. A local file is
checked once per process (its size and modification time are remembered): a file of the
published name whose hash differs is refused with one line naming both hashes, since a
different or damaged download would silently give other numbers. ``verify: false`` in a data
set's config skips the check (a file converted by another tool, or a smaller file in the same
layout, as the tests build).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ...errors import DataError


@dataclass(frozen=True)
class PublishedFile:
    """One file as its authors publish it: where it comes from and its hashes."""

    name: str
    url: str
    md5: str | None
    sha256: str | None = None
    source: str = ""
    """where the hashes are pinned"""
    note: str = ""


_NORB_NOTE = (
    "the hashes of the unpacked smallNORB files come from one widely copied loader, not from "
    "the authors (who publish none)"
)

PUBLISHED: dict[str, PublishedFile] = {
    f.name: f
    for f in (
        PublishedFile(
            "3dshapes.h5",
            "https://storage.googleapis.com/3d-shapes/3dshapes.h5",
            "099a2078d58cec4daad0702c55d06868",
            "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785",
            "TensorFlow Datasets (url_checksums/shapes3d.txt), disent",
        ),
        PublishedFile(
            "mpi3d_toy.npz",
            "https://huggingface.co/datasets/waleedgondal/mpi3d (mpi3d_toy.npz)",
            "55889cb7c7dfc655d6e0277beee88868",
            source="disent (the authors' earlier Google Cloud copy)",
        ),
        PublishedFile(
            "mpi3d_realistic.npz",
            "https://huggingface.co/datasets/waleedgondal/mpi3d (mpi3d_realistic.npz)",
            "59a6225b88b635365f70c91b3e52f70f",
            source="disent (the authors' earlier Google Cloud copy)",
        ),
        PublishedFile(
            "mpi3d_real.npz",
            "https://huggingface.co/datasets/waleedgondal/mpi3d (mpi3d_real.npz)",
            "0f33f609918fb5c97996692f91129802",
            source="disent (the authors' earlier Google Cloud copy)",
            note="the authors replaced a corrupted copy in April 2025: a copy downloaded since "
            "may differ from this hash (verify: false reads it anyway)",
        ),
        PublishedFile(
            "real3d_complicated_shapes_ordered.npz",
            "the MPI3D repository's link to mpi3d_real_complex",
            None,
            note="no hash is published",
        ),
        PublishedFile(
            "nips2015-analogy-data.tar.gz",
            "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz (its data/cars folder)",
            "4e866a7919c1beedf53964e6f7a23686",
            source="disent",
            note="the archive's hash: the .mat files unpacked from it have none",
        ),
        PublishedFile(
            "smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat",
            "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (gunzip the .mat.gz)",
            "8138a0902307b32dfa0025a36dfa45ec",
            source="the torchvision-style SmallNORB loader (hash of the unpacked file)",
            note=_NORB_NOTE,
        ),
        PublishedFile(
            "smallnorb-5x46789x9x18x6x2x96x96-training-info.mat",
            "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (gunzip the .mat.gz)",
            "19faee774120001fc7e17980d6960451",
            source="the torchvision-style SmallNORB loader (hash of the unpacked file)",
            note=_NORB_NOTE,
        ),
        PublishedFile(
            "smallnorb-5x46789x9x18x6x2x96x96-training-cat.mat",
            "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (gunzip the .mat.gz)",
            "fd5120d3f770ad57ebe620eb61a0b633",
            source="the torchvision-style SmallNORB loader (hash of the unpacked file)",
            note=_NORB_NOTE,
        ),
        PublishedFile(
            "smallnorb-5x01235x9x18x6x2x96x96-testing-dat.mat",
            "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (gunzip the .mat.gz)",
            "e9920b7f7b2869a8f1a12e945b2c166c",
            source="the torchvision-style SmallNORB loader (hash of the unpacked file)",
            note=_NORB_NOTE,
        ),
        PublishedFile(
            "smallnorb-5x01235x9x18x6x2x96x96-testing-info.mat",
            "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (gunzip the .mat.gz)",
            "7c5b871cc69dcadec1bf6a18141f5edc",
            source="the torchvision-style SmallNORB loader (hash of the unpacked file)",
            note=_NORB_NOTE,
        ),
        PublishedFile(
            "smallnorb-5x01235x9x18x6x2x96x96-testing-cat.mat",
            "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (gunzip the .mat.gz)",
            "fd5120d3f770ad57ebe620eb61a0b633",
            source="the torchvision-style SmallNORB loader (hash of the unpacked file)",
            note=_NORB_NOTE,
        ),
    )
}
"""The published files by name."""

_VERIFIED: set[tuple[str, int, int]] = set()


def md5_of(path: Path, chunk: int = 1 << 22) -> str:
    """The MD5 of the file at ``path``, read in chunks of ``chunk`` bytes."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, what: str) -> None:
    """Refuse ``path`` when it carries a published file's name and its MD5 differs from the
    published one (``what`` names the data set in the message). A file of another name, or of
    a published name without a hash, passes; a file checked before in this process (same size
    and modification time) is not read again."""
    published = PUBLISHED.get(path.name)
    if published is None or published.md5 is None:
        return
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _VERIFIED:
        return
    found = md5_of(path)
    if found != published.md5:
        note = f"; {published.note}" if published.note else ""
        raise DataError(
            f"{what} file {str(path)!r} has MD5 {found}, the published {published.name} has "
            f"{published.md5} ({published.source}): a different or damaged download{note}; "
            "set dataset.verify=false to read it anyway"
        )
    _VERIFIED.add(key)
