"""Output folders that are safe to share: a lock per folder, an ownership marker, a safe --force.

Every command of latent-atlas that writes into a folder (training, resuming, evaluating, the
demo, reproductions, sweeps, directions, probes):

* checks that the folder can be created and written **before** any work
  (:func:`check_writable_folder`), so ``--out /proc/x`` fails at once with one line;
* **locks** it for the life of the command (:class:`FolderLock`): the lock is a file
  ``.latent-atlas.lock`` created in one step (written to a temporary file, then hard-linked,
  which fails if the lock exists) holding the owner's PID, host, command and start time. A
  second command on the same folder fails with
  :class:`~latentatlas.errors.FolderLockedError` naming the holder; a lock left by a process that
  no longer runs (``kill -9``, out of memory) is recognised as stale and reported with how to
  clear it. Locks are re-entrant within one process (the demo locks its folder and then trains
  into it);
* marks what it wrote with ``.latent-atlas.json`` (:func:`claim_output_folder`,
  :func:`seal_output_folder`): the kind of output and, once the command ends, the manifest of
  every file it wrote, at any depth. ``--force`` removes a folder's previous contents only when
  that marker is there, its command finished, and every file below the folder is listed; then it
  deletes exactly the listed files and the folders they leave empty. A folder holding anything
  else (a note dropped into ``figures/``) is refused and nothing is deleted.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import FolderLockedError, RunFolderError, write_error
from .safe_write import atomic_write_text

LOCK = ".latent-atlas.lock"
MARKER = ".latent-atlas.json"
#: files of ours that may sit in any output folder besides what the marker lists
_OWN = (LOCK, MARKER)
_PROBE = ".write-check."  # the brief file of check_writable_folder

_held: dict[Path, int] = {}  # folder -> depth of the locks this process holds on it
_held_guard = threading.Lock()


def _key(folder: Path) -> Path:
    return folder.resolve()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def check_writable_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed and check that files can be written in it;
    a :class:`~latentatlas.errors.RunFolderError` says why not (a path under a regular file, a
    read-only or virtual file system such as ``/proc``)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"{str(folder)!r} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=_PROBE, dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno == errno.ENOTDIR:
            reason = "a part of the path is a file, not a folder"
        raise RunFolderError(f"cannot write into {str(folder)!r}: {reason}") from None
    return folder


class FolderLock:
    """An exclusive lock on ``folder`` for the life of a command (a context manager).

    ``acquire`` creates ``folder/.latent-atlas.lock`` with ``O_EXCL``; if it exists and names a
    live process, :class:`FolderLockedError` names that process; if the process is gone, the
    error says the lock is stale and how to remove it. Locks taken again by the process that
    holds them nest (released when the outermost one is).
    """

    def __init__(self, folder: str | Path, command: str | None = None):
        self.folder = Path(folder)
        self.command = command or " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])[:300]
        self._acquired = False
        self._created = False  # this lock made the folder: removed again if left empty

    @property
    def path(self) -> Path:
        return self.folder / LOCK

    def acquire(self) -> FolderLock:
        if _torchrun_rank() > 0:  # the processes of one torchrun command: rank 0 holds it
            return self
        self._created = not self.folder.exists()
        check_writable_folder(self.folder)
        key = _key(self.folder)
        with _held_guard:
            if _held.get(key):
                _held[key] += 1
                self._acquired = True
                return self
            record = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": self.command,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            try:
                _create_exclusively(self.path, json.dumps(record) + "\n")
            except FileExistsError:
                raise self._held_by_other() from None
            except OSError as exc:  # a full disk, a read-only folder: nothing is left behind
                raise write_error(self.path, exc) from None
            _held[key] = 1
            self._acquired = True
        return self

    def release(self) -> None:
        if not self._acquired:
            return
        self._acquired = False
        key = _key(self.folder)
        with _held_guard:
            _held[key] -= 1
            if _held[key] > 0:
                return
            del _held[key]
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            if self._created:  # a command that failed before writing leaves no empty folder
                try:
                    self.folder.rmdir()
                except OSError:  # not empty (or gone): it holds the command's outputs
                    pass

    def _held_by_other(self) -> FolderLockedError:
        holder = read_lock(self.folder)
        where = str(self.folder)
        if holder is None:
            return FolderLockedError(
                f"{where!r} is locked by another command ({self.path} exists but cannot be read); "
                f"if no latent-atlas command is using the folder, remove {self.path}"
            )
        pid, host = holder.get("pid"), holder.get("host")
        command = str(holder.get("command", "?"))
        command = command if len(command) <= 160 else command[:157] + "..."
        what = f"process {pid} on {host} ({command}, since {holder.get('started', '?')})"
        if host == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid):
            nested = self._stale_below(pid, host)
            files = " ".join(str(p) for p in [self.path, *nested])
            return FolderLockedError(
                f"{where!r} holds a stale lock from {what}, which no longer runs (killed or "
                f"crashed); check the folder, then remove {'these locks' if nested else ''} "
                f"{files} and run the command again"
            )
        return FolderLockedError(
            f"{where!r} is in use by {what}; wait for it to finish or choose another folder"
        )

    def _stale_below(self, pid: int, host: str, limit: int = 50) -> list[Path]:
        """Lock files in sub-folders left by the same dead process (a killed reproduction also
        locked the model it was training), so that one message names all of them."""
        found = []
        for path in sorted(self.folder.glob(f"*/**/{LOCK}")):
            holder = read_lock(path.parent)
            if holder and holder.get("pid") == pid and holder.get("host") == host:
                found.append(path)
                if len(found) >= limit:
                    break
        return found

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _create_exclusively(path: Path, text: str) -> None:
    """Create ``path`` holding ``text`` in one step, or raise ``FileExistsError`` if it exists.

    The text goes to a temporary file first, which is then hard-linked to ``path`` (``link``
    fails if ``path`` exists): other processes see no lock or a complete one, and a write that
    fails (a full disk) leaves no empty lock that would refuse every later command. File
    systems without hard links get ``O_EXCL`` creation, removed again if the write fails."""
    fd, tmp = tempfile.mkstemp(prefix=_PROBE + "lock.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, path)
            return
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


#: what ``link`` says on file systems without hard links (FAT, some network mounts)
_NO_HARD_LINKS = {errno.EPERM, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK}


def _torchrun_rank() -> int:
    """This process's rank under torchrun (0 otherwise)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _read_record(path: Path) -> dict[str, Any] | None:
    """A small JSON object of ours (lock, marker), or None when missing or unreadable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def read_lock(folder: str | Path) -> dict[str, Any] | None:
    """The record of the lock on ``folder`` (pid, host, command, started), or None."""
    return _read_record(Path(folder) / LOCK)


def is_locked_by_live_process(folder: str | Path) -> bool:
    """Whether a command (here, or on another host: assumed alive) holds ``folder``'s lock."""
    if _held.get(_key(Path(folder))):
        return True
    record = read_lock(folder)
    if record is None:
        return False
    pid = record.get("pid")
    if record.get("host") != socket.gethostname():
        return True
    return isinstance(pid, int) and _pid_alive(pid)


# -- ownership marker and --force ------------------------------------------------------------------
def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """``folder``'s ownership marker, or None when it has none (or an unreadable one)."""
    record = _read_record(Path(folder) / MARKER)
    return record if record is not None and record.get("tool") == "latent-atlas" else None


def _write_marker(folder: Path, record: dict[str, Any]) -> None:
    atomic_write_text(folder / MARKER, json.dumps(record, indent=2) + "\n")


def _new_marker(folder: Path, kind: str) -> None:
    """A fresh marker: ``folder`` is a latent-atlas output of ``kind``, not finished yet."""
    _write_marker(
        folder,
        {
            "tool": "latent-atlas",
            "kind": kind,
            "sealed": False,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    )


def mark_folder(folder: str | Path, kind: str) -> None:
    """Mark ``folder`` as a latent-atlas output of ``kind`` (kept if it is marked already)."""
    folder = Path(folder)
    if read_marker(folder) is None:
        _new_marker(folder, kind)


def _entries(folder: Path) -> list[str]:
    """The entries of ``folder`` but our lock, marker and write probes."""
    return sorted(
        p.name for p in folder.iterdir() if p.name not in _OWN and not p.name.startswith(_PROBE)
    )


def is_empty_but_ours(folder: str | Path) -> bool:
    """Whether ``folder`` holds nothing but latent-atlas's lock, marker and write probes."""
    return not _entries(Path(folder))


def _files(folder: Path) -> list[str]:
    """Every file (and symbolic link, never followed) below ``folder``, as POSIX paths relative
    to it, but the folder's own lock, marker and write probes."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel = Path(root).relative_to(folder)
        links = [d for d in dirs if (Path(root) / d).is_symlink()]
        for name in [*files, *links]:
            path = (rel / name).as_posix()
            if rel == Path(".") and (name in _OWN or name.startswith(_PROBE)):
                continue
            found.append(path)
    return sorted(found)


def listed_files(folder: str | Path) -> list[str]:
    """The manifest of ``folder``'s sealed marker, checked: every entry a relative POSIX path
    (no ``..``, not absolute, normalised) whose parent folders are real folders inside
    ``folder`` (no symbolic link on the way) and that is, where it exists, a regular file or a
    symbolic link (removed as a link, never followed). A marker is a file anyone can edit (a
    folder received from someone else): what it lists is only trusted after this check.

    Raises :class:`~latentatlas.errors.RunFolderError` naming the first entry that breaks a
    rule (and a marker whose ``files`` is not a list of strings)."""
    folder = Path(folder)
    marker = read_marker(folder) or {}
    files = marker.get("files") or []
    where = f"{str(folder)!r}: its {MARKER}"
    if not isinstance(files, list):
        raise RunFolderError(
            f"{where} has 'files' of type {type(files).__name__}, not a list; "
            "--force deleted nothing"
        )
    for entry in files:
        problem = _manifest_problem(folder, entry)
        if problem:
            shown = repr(entry) if len(repr(entry)) <= 120 else repr(entry)[:117] + "..."
            raise RunFolderError(
                f"{where} lists {shown}, {problem}; latent-atlas never writes such an entry "
                "(the marker was edited?), so --force deleted nothing"
            )
    return list(files)


def _manifest_problem(folder: Path, entry: Any) -> str | None:
    """Why ``entry`` cannot be a file latent-atlas wrote into ``folder`` (None if it can)."""
    if not isinstance(entry, str):
        return f"which is a {type(entry).__name__}, not a file path"
    if not entry or "\x00" in entry:
        return "which is not a file path"
    path = PurePosixPath(entry)
    if path.is_absolute():
        return "an absolute path (outside the folder)"
    if ".." in path.parts:
        return "a path that leaves the folder"
    if path.as_posix() != entry or "." in path.parts:
        return "a path that is not in normal form"
    if len(path.parts) == 1 and (entry in _OWN or entry.startswith(_PROBE)):
        return "latent-atlas's own lock or marker"
    inside = folder
    for part in path.parts[:-1]:
        inside = inside / part
        if inside.is_symlink():
            return f"which goes through the symbolic link {part!r}"
        if inside.exists() and not inside.is_dir():
            return f"below {part!r}, which is not a folder"
    target = folder / entry
    if target.is_symlink() or not target.exists():
        return None  # a link is removed as a link; a file deleted since is skipped
    if not target.is_file():
        return "which is not a regular file"
    return None


def foreign_files(folder: str | Path) -> list[str]:
    """The files below ``folder`` that latent-atlas cannot show it wrote: every file not listed in
    the manifest its marker got when the command that wrote the folder finished (checked by
    :func:`listed_files`)."""
    folder = Path(folder)
    listed = set(listed_files(folder))
    return [f for f in _files(folder) if f not in listed]


def claim_output_folder(
    folder: str | Path,
    kind: str,
    force: bool = False,
    resumable: Callable[[Path], None] | None = None,
) -> Path:
    """Make ``folder`` this command's output of ``kind``: missing or empty folders are fine; a
    non-empty one needs ``force``, and then only latent-atlas's own earlier outputs are removed.

    With ``resumable`` (commands that continue their earlier work, such as ``reproduce``), a
    folder marked as an output of the same ``kind`` is kept without ``force`` when
    ``resumable(folder)`` accepts it (it raises :class:`~latentatlas.errors.RunFolderError`,
    saying why, when this command cannot continue there); its marker is unsealed until the
    command ends.

    The caller holds the folder's :class:`FolderLock`. Raises
    :class:`~latentatlas.errors.RunFolderError`, deleting nothing, for a non-empty folder
    without ``force``, one that is not marked as latent-atlas's, one whose writer did not finish
    (its manifest is missing), or one holding any file, at any depth, that the manifest does not
    list (a note dropped into ``figures/`` too).
    """
    folder = check_writable_folder(folder)
    if _entries(folder):
        where = str(folder)
        marker = read_marker(folder)
        if not force and resumable is not None and (marker or {}).get("kind") == kind:
            resumable(folder)
            _write_marker(folder, {**marker, "sealed": False})
            return folder
        if not force:
            raise RunFolderError(
                f"{where!r} is not empty; pass --force to replace an earlier latent-atlas output "
                "there, or choose another folder"
            )
        if marker is None:
            raise RunFolderError(
                f"{where!r} holds files that latent-atlas did not write (no {MARKER}); --force "
                "only replaces latent-atlas's own outputs, so nothing was deleted"
            )
        if not marker.get("sealed"):
            raise RunFolderError(
                f"{where!r} was written by a latent-atlas command that did not finish (killed?), "
                "so which files are its own is not recorded; --force deleted nothing: check the "
                "folder and delete it by hand, or choose another folder"
            )
        foreign = foreign_files(folder)
        if foreign:
            more = f" and {len(foreign) - 5} more" if foreign[5:] else ""
            raise RunFolderError(
                f"{where!r} holds files latent-atlas did not write ({', '.join(foreign[:5])}"
                f"{more}); --force only removes latent-atlas's own outputs, so nothing was "
                "deleted. Move them away or choose another folder"
            )
        _remove_listed(folder, set(listed_files(folder)))
    _new_marker(folder, kind)
    return folder


def _remove_listed(folder: Path, listed: set[str]) -> None:
    """Delete the listed files (checked by :func:`listed_files`: inside ``folder``, never through
    a symbolic link), then the sub-folders left empty, deepest first."""
    for rel in sorted(listed, reverse=True):
        path = folder / rel
        if path.is_symlink() or path.is_file():
            path.unlink()
    for root, dirs, _ in os.walk(folder, topdown=False, followlinks=False):
        for name in dirs:
            path = Path(root) / name
            if not path.is_symlink():
                try:
                    path.rmdir()
                except OSError:  # not empty: something appeared meanwhile; it stays
                    pass
    (folder / MARKER).unlink(missing_ok=True)


def seal_output_folder(folder: str | Path) -> None:
    """Record in the marker every file now below ``folder`` (what this command wrote into the
    folder it claimed empty) and mark it finished, so a later ``--force`` may remove them."""
    folder = Path(folder)
    marker = read_marker(folder)
    if marker is None or not folder.is_dir():
        return
    marker["files"] = _files(folder)
    marker["sealed"] = True
    _write_marker(folder, marker)


class OutputFolder:
    """``with OutputFolder(path, kind, force):`` lock, claim (see :func:`claim_output_folder`),
    and on the way out seal the marker and release the lock — also after an error or Ctrl-C."""

    def __init__(
        self,
        folder: str | Path,
        kind: str,
        force: bool = False,
        resumable: Callable[[Path], None] | None = None,
    ):
        self.folder = Path(folder)
        self.kind, self.force, self.resumable = kind, force, resumable
        self._lock = FolderLock(self.folder)

    def __enter__(self) -> Path:
        self._lock.acquire()
        try:
            claim_output_folder(self.folder, self.kind, self.force, self.resumable)
        except BaseException:
            self._lock.release()
            raise
        return self.folder

    def __exit__(self, *exc: Any) -> None:
        try:
            seal_output_folder(self.folder)
        finally:
            self._lock.release()
