"""Errors raised for bad user input and failed runs.

Every error a user can cause derives from :class:`LatentAtlasError`; the CLI turns these into a
one-line message and exit status 2 (no traceback unless ``--debug``). Internal invariants use
``assert`` and are bugs, not user errors.
"""

from __future__ import annotations


class LatentAtlasError(Exception):
    """Base class of all errors caused by user input, files on disk or a failed run."""


class ConfigError(LatentAtlasError, ValueError):
    """A config field has the wrong type, is out of range, or is unknown."""


class UnknownNameError(ConfigError, KeyError):
    """A name (dataset, model, optimiser, ...) is not in its registry."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, list(valid)
        super().__init__(f"unknown {kind} {name!r}; valid {kind} names: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class DataError(LatentAtlasError, ValueError):
    """Data has the wrong shape, non-finite values, or a file is missing or malformed."""


class RunFolderError(LatentAtlasError):
    """A run folder is missing, incomplete or corrupt."""


class OutputWriteError(RunFolderError, OSError):
    """A file could not be written: the disk is full, the file system read-only, permission
    denied. The message names the file; ``errno`` is the operating system's. Also an
    ``OSError``, so code that handles failed writes in general still catches it. The file's
    earlier version, if any, is kept (every write goes to a temporary file renamed over it)."""

    def __str__(self) -> str:  # OSError's own would show "[Errno 28] ..." instead of the message
        return str(self.args[0]) if self.args else ""


def write_error(path: object, exc: OSError) -> OutputWriteError:
    """The :class:`OutputWriteError` for writing ``path`` failing with ``exc``."""
    if isinstance(exc, OutputWriteError):
        return exc
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = {28: "; free some space and run the command again", 122: "; the disk quota is used up"}
    error = OutputWriteError(f"cannot write {path}: {reason}{hint.get(exc.errno or 0, '')}")
    error.errno, error.strerror, error.filename = exc.errno, exc.strerror, str(path)
    return error


class FolderLockedError(RunFolderError):
    """Another command holds the folder's lock (or a dead one left it: a stale lock)."""


class TrainingDiverged(LatentAtlasError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class Interrupted(BaseException):
    """A command or a training was stopped by Ctrl-C (``signal`` "SIGINT") or SIGTERM after
    saving what it had (a training's checkpoint); rerunning the same command continues.

    A ``BaseException``, so that no ``except Exception`` swallows it: a script that trains
    several models in a loop ends at the first signal instead of starting the next model.
    Made for SIGINT it is also a ``KeyboardInterrupt`` (a program ends as on any Ctrl-C); for
    SIGTERM also a ``SystemExit`` with code 143, so that a script that does not catch it ends
    quietly with the status a scheduler expects of a terminated job (``Interrupted("SIGTERM")``
    makes that kind by itself). ``step``: the step of the checkpoint a stopped training saved;
    ``result``: what a stopped ensemble trained so far (its members and their states)."""

    def __new__(cls, signal: str = "SIGINT", *args: object, **kwargs: object) -> Interrupted:
        if cls is Interrupted:
            cls = _BY_SIGNAL.get(signal, cls)
        return super().__new__(cls, signal, *args)

    def __init__(
        self, signal: str = "SIGINT", what: str = "", step: int | None = None, result: object = None
    ):
        self.signal, self.step, self.result = signal, step, result
        super().__init__(what or f"stopped by {signal}")

    @property
    def exit_code(self) -> int:
        return 143 if self.signal == "SIGTERM" else 130

    def __reduce__(self):  # across processes (a sweep's workers) with its signal kept
        return (Interrupted, (self.signal, str(self), self.step))


class InterruptedByCtrlC(Interrupted, KeyboardInterrupt):
    """:class:`Interrupted` by SIGINT: also a ``KeyboardInterrupt``."""


class InterruptedBySigterm(Interrupted, SystemExit):
    """:class:`Interrupted` by SIGTERM: also a ``SystemExit`` with code 143."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        self.code = 143


_BY_SIGNAL: dict[str, type[Interrupted]] = {
    "SIGINT": InterruptedByCtrlC,
    "SIGTERM": InterruptedBySigterm,
}
