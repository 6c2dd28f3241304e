"""How much memory a request needs and how much this machine has: clear errors instead of an
allocator's traceback (or the out-of-memory killer) for sizes such as ``dataset.n=1e13``.

Two checks, used where components are built:

* :func:`allocation_error` turns the failure of an allocation that can never succeed (torch's
  "can't allocate memory", NumPy's ``MemoryError``) into a
  :class:`~latentatlas.errors.ConfigError` with the number of bytes asked for and what the
  machine has;
* :func:`check_fits` compares an estimate made before allocating (e.g. a model's parameter count,
  read from a build on torch's ``meta`` device) with the memory available.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ConfigError

_TORCH_ALLOC = re.compile(
    r"(?:can't allocate|cannot allocate|out of memory|tried to allocate)\D*?(\d{4,}) bytes", re.S
)
_NUMPY_ALLOC = re.compile(r"Unable to allocate ([\d.]+) ([KMGTPE]?i?B)")
_UNITS = {
    "B": 1,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
    "PiB": 2**50,
    "EiB": 2**60,
}


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps the number >= 1 (e.g. ``72.8 TiB``)."""
    if abs(n) < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        n /= 1024
        if abs(n) < 1024 or unit == "PiB":
            break
    return f"{n:.1f} {unit}"


def available_bytes() -> int | None:
    """Memory the system can still give this process (Linux ``MemAvailable``, else the physical
    memory), or None when it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def requested_bytes(exc: BaseException) -> int | None:
    """The size of the failed allocation that ``exc`` reports, or None if it is not one."""
    text = str(exc)
    match = _TORCH_ALLOC.search(text)
    if match:
        return int(match.group(1))
    match = _NUMPY_ALLOC.search(text)
    if match and match.group(2) in _UNITS:
        return int(float(match.group(1)) * _UNITS[match.group(2)])
    if isinstance(exc, MemoryError):
        return -1  # a MemoryError without a size
    return None


def allocation_error(exc: BaseException, what: str) -> ConfigError | None:
    """A one-line :class:`ConfigError` for an allocation that failed while building ``what``
    (e.g. ``"dataset"``), or None when ``exc`` is another error."""
    needed = requested_bytes(exc)
    if needed is None:
        return None
    have = available_bytes()
    asked = f"a single block of {format_bytes(needed)}" if needed > 0 else "more memory"
    has = f" ({format_bytes(have)} available)" if have else ""
    return ConfigError(
        f"{what}: it needs {asked}, more than this machine can give{has}; reduce the sizes "
        "involved (number of samples, image side, layer widths, posterior samples)"
    )


@contextmanager
def allocation_errors(what: str) -> Iterator[None]:
    """Turn an allocation that can never succeed inside the block into a one-line
    :class:`ConfigError` about ``what`` (other errors pass unchanged)."""
    try:
        yield
    except (MemoryError, RuntimeError) as exc:
        error = allocation_error(exc, what)
        if error is None:
            raise
        raise error from None


def check_fits(needed: int, what: str, hint: str) -> None:
    """Raise a :class:`ConfigError` when ``needed`` bytes exceed the memory available."""
    have = available_bytes()
    if have is not None and needed > have:
        raise ConfigError(
            f"{what} needs about {format_bytes(needed)}, more than the {format_bytes(have)} "
            f"available here; {hint}"
        )
