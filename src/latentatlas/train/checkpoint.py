"""Run folders on disk: atomic writes, checkpoints, and :func:`load`.

A run folder holds

* ``config.json``      the full :class:`~latentatlas.train.run.RunConfig` (rebuilds everything);
* ``model.safetensors`` the latest model weights (safetensors: no pickle), step in its metadata;
* ``trainer_state.pt`` the resume state — model, optimiser, schedule, RNG states, step — saved
  with ``torch.save`` and loadable with ``torch.load(..., weights_only=True)``;
* ``metrics.jsonl``    one JSON object per logged step or evaluation;
* ``metadata.json``    library/torch versions, seed, data fingerprint, status, timings.

Every file but ``metrics.jsonl`` is written to a temporary name in the same folder, flushed to
disk and renamed over the old one, so a crash never leaves a half-written checkpoint: readers see
the old file or the new. ``metrics.jsonl`` is appended line by line (a torn last line is skipped
when read), and a resume drops the lines logged after its checkpoint.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import RunFolderError
from .outputs import MARKER
from .safe_write import atomic_write, atomic_write_text

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
STATE = "trainer_state.pt"
METRICS = "metrics.jsonl"
METADATA = "metadata.json"


#: blank room at the end of ``metadata.json`` (JSON allows trailing white space), so that on a
#: full disk :func:`write_status_best_effort` can still record how the run ended in place
STATUS_ROOM = 256


def write_metadata(path: str | Path, data: dict[str, Any]) -> None:
    """A run's ``metadata.json``, atomically, with :data:`STATUS_ROOM` spaces after the JSON."""
    text = json.dumps(_finite(data), indent=2, default=_json_default, allow_nan=False)
    atomic_write_text(path, text + "\n" + " " * STATUS_ROOM + "\n")


def write_status_best_effort(path: str | Path, data: dict[str, Any]) -> bool:
    """Write ``data`` (a run's metadata, saying how it ended) even on a full disk; returns
    whether it was written.

    First atomically; when that fails (no room for the temporary file), the file is
    overwritten in place if its compact JSON (long texts such as the error shortened, or left
    out, as needed), padded with spaces, fits in the old file's size (:func:`write_metadata`
    leaves room for that):
    a full disk has no free block for a new file but the old file's blocks are its own. Used
    only on the way out of a failed command, so that ``metadata.json`` never goes on saying
    "running" (the in-place write is not atomic; a crash during those few bytes is the price)."""
    path = Path(path)
    try:
        write_metadata(path, data)
        return True
    except OSError:
        pass
    shortened = {
        k: v[:57] + "..." if isinstance(v, str) and len(v) > 60 else v for k, v in data.items()
    }
    try:
        size = path.stat().st_size if path.is_file() and not path.is_symlink() else -1
        for candidate in (data, shortened, {k: v for k, v in shortened.items() if k != "error"}):
            text = json.dumps(_finite(candidate), default=_json_default, allow_nan=False)
            text = text.encode("utf-8")
            if len(text) + 1 <= size:
                break
        else:
            return False
        with open(path, "r+b") as fh:
            fh.write(text + b" " * (size - len(text) - 1) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        return True
    except OSError:
        return False


def atomic_write_json(path: str | Path, data: Any) -> None:
    """``data`` as strict JSON (NaN and ±inf, which JSON lacks, become null), atomically."""
    text = json.dumps(_finite(data), indent=2, default=_json_default, allow_nan=False)
    atomic_write_text(path, text + "\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return _finite(obj.tolist())
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, (Path, torch.device)):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def save_weights(path: str | Path, model: torch.nn.Module, metadata: dict[str, str]) -> None:
    """Model state dict to safetensors, atomically (shared tensors are cloned apart)."""
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(state, tmp, metadata=metadata))


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file; refuses a missing or corrupt file, and floating-point
    weights that are not finite (a NaN model decodes nothing). Whether each tensor has the
    dtype its model expects is checked by :func:`check_weight_dtypes`."""
    path = Path(path)
    if not path.is_file():
        raise RunFolderError(f"{path.parent}: no {path.name} (is this a finished run folder?)")
    try:
        weights = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunFolderError(f"{path}: corrupt or unreadable weights file ({exc})") from None
    for name, tensor in weights.items():
        if tensor.is_floating_point() and tensor.numel() and not bool(torch.isfinite(tensor).all()):
            raise RunFolderError(f"{path}: tensor {name!r} holds NaN or inf values")
    return weights


def check_weight_dtypes(
    weights: dict[str, torch.Tensor], model: torch.nn.Module, path: str | Path
) -> None:
    """Refuse tensors whose dtype differs from the model's (``load_state_dict`` would convert
    them silently: float64 rounded, an int64 file truncated into float parameters)."""
    expected = model.state_dict()
    for name, tensor in weights.items():
        if name in expected and tensor.dtype != expected[name].dtype:
            have = str(tensor.dtype).replace("torch.", "")
            want = str(expected[name].dtype).replace("torch.", "")
            raise RunFolderError(
                f"{path}: tensor {name!r} has dtype {have}, the model's is {want} "
                "(convert the file, or retrain)"
            )


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_state(path: str | Path) -> dict[str, Any]:
    """The trainer state of ``path``, its layout checked (see :func:`check_state`)."""
    path = Path(path)
    if not path.is_file():
        raise RunFolderError(f"{path.parent}: no {path.name}; nothing to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise RunFolderError(
            f"{path}: corrupt or unreadable trainer state ({type(exc).__name__}: {first[:200]})"
        ) from None
    check_state(state, path)
    return state


#: keys of a trainer state, with the type each must have
_STATE_TYPES: dict[str, tuple[type, str]] = {
    "step": (int, "a step number"),
    "model": (dict, "the model's state dict"),
    "optimizer": (dict, "the optimiser's state dict"),
    "scheduler": (dict, "the schedule's state dict"),
    "torch_rng": (torch.Tensor, "a uint8 tensor of random-generator states"),
}


def check_state(state: Any, path: str | Path) -> None:
    """Refuse a trainer state with missing or mistyped entries, a negative step, model entries
    that are not tensors or a random-generator state that is not one."""
    if not isinstance(state, dict):
        raise RunFolderError(f"{path}: not a latent-atlas trainer state (not a mapping)")
    for key, (kind, what) in _STATE_TYPES.items():
        if key not in state:
            raise RunFolderError(f"{path}: not a complete trainer state ({key!r} is missing)")
        value = state[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise RunFolderError(f"{path}: {key!r} should be {what}, got {type(value).__name__}")
    if state["step"] < 0:
        raise RunFolderError(f"{path}: 'step' should be >= 0, got {state['step']}")
    bad = [k for k, v in state["model"].items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise RunFolderError(f"{path}: model entry {bad[0]!r} is not a tensor")
    rng = state["torch_rng"]
    if rng.dtype != torch.uint8 or rng.ndim not in (1, 2) or rng.shape[-1] < 8:
        raise RunFolderError(
            f"{path}: 'torch_rng' is not a random-generator state (dtype {rng.dtype}, "
            f"shape {list(rng.shape)})"
        )
    if not isinstance(state.get("callbacks", {}), dict):
        raise RunFolderError(f"{path}: 'callbacks' should be a mapping")
    bad = _first_not_finite(state["model"], _optimizer_tensors(state["optimizer"]))
    if bad is not None:
        raise RunFolderError(
            f"{path}: the checkpoint of step {state['step']} is unusable: {bad} holds NaN or "
            "inf values (no training can continue from it; train again, or restore an earlier "
            "copy of the folder)"
        )


def _optimizer_tensors(optimizer: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The optimiser's per-parameter buffers (``exp_avg``, ...), named for a message."""
    states = optimizer.get("state")
    found = {}
    for index, buffers in states.items() if isinstance(states, dict) else ():
        for key, value in buffers.items() if isinstance(buffers, dict) else ():
            if isinstance(value, torch.Tensor):
                found[f"optimiser buffer {key!r} of parameter {index}"] = value
    return found


def _first_not_finite(model: dict[str, Any], buffers: dict[str, torch.Tensor]) -> str | None:
    """The first floating-point tensor with NaN or inf, described, or None."""
    named = {**{f"model tensor {k!r}": v for k, v in model.items()}, **buffers}
    for name, tensor in named.items():
        if tensor.is_floating_point() and tensor.numel() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise RunFolderError(f"{path.parent}: missing {path.name} (not a latent-atlas run folder?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunFolderError(f"{path}: corrupt JSON ({exc})") from None
    except UnicodeDecodeError:
        raise RunFolderError(f"{path}: not a UTF-8 text file") from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise RunFolderError(f"{path}: holds an integer of thousands of digits") from None
    except RecursionError:
        raise RunFolderError(f"{path}: JSON nested too deeply to be a latent-atlas file") from None
    except OSError as exc:
        raise RunFolderError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """All records of ``metrics.jsonl``. A torn last line (a crash while appending) is skipped;
    any other line that is not a JSON object with a step >= 0, or a file that is not UTF-8, is a
    :class:`RunFolderError` naming the file and the line."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    try:
        raw = path.read_bytes()
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RunFolderError(f"{path}: line {line} is not UTF-8 text") from None
    except OSError as exc:
        raise RunFolderError(f"{path}: cannot read ({exc.strerror or exc})") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # also an integer of thousands of digits
            if number == len(lines):  # torn by a crash while it was appended
                continue
            raise RunFolderError(f"{path}: line {number} is not valid JSON") from None
        step = record.get("step") if isinstance(record, dict) else None
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < 2**63:
            raise RunFolderError(
                f"{path}: line {number} should be a JSON object with a step >= 0 (below 2**63), "
                f"got {line:.80}"
            )
        records.append(record)
    return records


def truncate_metrics(run_dir: str | Path, step: int) -> None:
    """Drop records after ``step`` (used when resuming from a checkpoint at ``step``)."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return
    kept = [r for r in read_metrics(run_dir) if r["step"] <= step]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))


#: the files of a run folder that latent-atlas reads and writes
RUN_FILES = (CONFIG, WEIGHTS, STATE, METRICS, METADATA, MARKER)


def check_run_files(run_dir: str | Path) -> None:
    """Refuse a run folder whose own files are not regular files: a folder, a device, a
    symbolic link loop, or a link leading outside the run folder (appending metrics to a link
    to ``/dev/zero`` would lose them; a link to a file elsewhere would write over it). A link to
    a regular file inside the folder is fine. Raises :class:`RunFolderError` naming the file."""
    run_dir = Path(run_dir)
    try:
        root = run_dir.resolve(strict=True)
    except OSError as exc:
        raise RunFolderError(f"{run_dir}: cannot open ({exc.strerror or exc})") from None
    for name in RUN_FILES:
        path = run_dir / name
        if not os.path.lexists(path):
            continue
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as exc:  # a loop, a dangling link
            reason = getattr(exc, "strerror", None) or "a symbolic link that leads nowhere"
            raise RunFolderError(f"{path}: cannot open ({reason})") from None
        if path.is_symlink() and not target.is_relative_to(root):
            raise RunFolderError(
                f"{path}: a symbolic link to {target}, outside the run folder; latent-atlas "
                "reads and writes only files inside it"
            )
        if not target.is_file():
            kind = "a folder" if target.is_dir() else "not a regular file (a device? a pipe?)"
            raise RunFolderError(f"{path}: {kind}, where latent-atlas keeps a file")


def check_run_dir(run_dir: str | Path) -> Path:
    """The run folder as a Path, or a :class:`RunFolderError` saying what is wrong with it
    (also its own files: :func:`check_run_files`)."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise RunFolderError(f"run folder {str(run_dir)!r} does not exist")
    if not run_dir.is_dir():
        raise RunFolderError(f"{str(run_dir)!r} is not a folder")
    check_run_files(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise RunFolderError(f"{str(run_dir)!r} is not a latent-atlas run folder (no {CONFIG})")
    return run_dir


def summarise_load_error(exc: BaseException, limit: int = 200) -> str:
    """The first problem of a ``load_state_dict`` error (which lists every mismatched tensor,
    often hundreds of lines), shortened, with how many more there are."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    details = [ln for ln in lines if not ln.startswith("Error(s) in loading")] or lines or [""]
    first = details[0]
    first = first if len(first) <= limit else first[: limit - 3] + "..."
    more = len(details) - 1
    return first + (f" (and {more} more problem(s))" if more > 0 else "")
