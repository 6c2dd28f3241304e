"""Atomic writes: a file is replaced whole or not at all, never left half-written.

Every file latent-atlas writes goes through :func:`atomic_write` (a temporary file in the same
folder, fsync'ed, then renamed over the old one). This module imports nothing heavy, so that the
output folders' lock and marker (:mod:`.outputs`) use it without importing torch.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import write_error


def _read_umask() -> int:
    current = os.umask(0o022)  # the only way to read it; restored at once, at import time
    os.umask(current)
    return current


_UMASK = _read_umask()


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` then atomically rename ``tmp_path`` to ``path``.

    The temporary file lives in the destination folder (same file system, so the rename is
    atomic); it is fsync'ed before the rename and removed if ``write`` fails. A failure of the
    file system (full disk, read-only, permission denied) is an
    :class:`~latentatlas.errors.OutputWriteError` naming ``path``; the old file is kept.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(tmp)
        # mkstemp makes 0600 files, and some writers replace the file: set the usual mode last
        os.chmod(tmp, 0o666 & ~_UMASK)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise write_error(path, exc) from None
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(path, write)
