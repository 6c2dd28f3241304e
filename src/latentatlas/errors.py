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


class FolderLockedError(RunFolderError):
    """Another command holds the folder's lock (or a dead one left it: a stale lock)."""


class TrainingDiverged(LatentAtlasError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class Interrupted(BaseException):
    """A command was stopped by Ctrl-C (``signal`` "SIGINT") or SIGTERM after saving what it had
    (a training's checkpoint); rerunning the same command continues. A ``BaseException``, like
    ``KeyboardInterrupt``, so that no ``except Exception`` swallows it."""

    def __init__(self, signal: str = "SIGINT", what: str = ""):
        self.signal = signal
        super().__init__(what or f"stopped by {signal}")

    @property
    def exit_code(self) -> int:
        return 143 if self.signal == "SIGTERM" else 130

    def __reduce__(self):  # across processes (a sweep's workers) with its signal kept
        return (type(self), (self.signal, str(self)))
