"""Results an experiment computes from its trained models, kept in its output folder.

Some analyses cost more than the models they analyse (``directions-losses`` inverts a generator
36 times, hours on a CPU). A reproduction's rerun after Ctrl-C, a kill or the end of a session
reuses its models (:mod:`.model_store`); :func:`cached` lets it reuse each finished analysis
step too: ``DIR/results/LABEL-KEY.safetensors`` holds the step's tensors, ``KEY`` a digest of
everything the step was computed from — its settings, and the bytes of its input tensors and of
the weights of its models — so a result is reused only for the same inputs, never for a
retrained model or other settings. Files are written atomically (a kill leaves none half
written); an unreadable one is computed again and replaced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import RunFolderError
from ..train.checkpoint import atomic_write

#: the sub-folder of a reproduction's output that holds its cached results
RESULTS = "results"

_LABEL = re.compile(r"[A-Za-z0-9._=+-]+")
_MAX_NAME = 255  # bytes in a file name on common file systems
_log = logging.getLogger(__name__)


def digest(inputs: Mapping[str, Any]) -> str:
    """SHA-256 of ``inputs``: JSON values as themselves, tensors by dtype, shape and bytes,
    modules by their state dict (so a retrained model changes the digest)."""
    h = hashlib.sha256()
    _feed(h, dict(inputs))
    return h.hexdigest()


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, torch.nn.Module):
        value = value.state_dict()
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"tensor:{t.dtype}:{tuple(t.shape)}:".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, Mapping):
        h.update(b"{")
        for key in sorted(value, key=str):
            # a string key as JSON; any other tagged with its type (1 and "1" differ)
            name = key if isinstance(key, str) else f"<{type(key).__name__}>{key!r}"
            h.update(json.dumps(name).encode() + b":")
            _feed(h, value[key])
        h.update(b"}")
    elif isinstance(value, (list, tuple)):
        h.update(f"[{len(value)}:".encode())
        for item in value:  # each item closed, so [1, 23] and [12, 3] differ
            _feed(h, item)
            h.update(b",")
        h.update(b"]")
    else:
        h.update(json.dumps(value, sort_keys=True).encode())  # TypeError for anything else


def cached(
    root: str | Path | None,
    label: str,
    inputs: Mapping[str, Any],
    compute: Callable[[], dict[str, torch.Tensor]],
) -> dict[str, torch.Tensor]:
    """``compute()``'s tensors (detached, on the CPU), from ``root/results`` when the step
    ``label`` ran with the same ``inputs`` before; computed (and saved there) otherwise.
    ``root`` None: always computed.

    ``label`` names the step and its file (``inversion-MSE-free``: letters, digits and
    ``._=+-``, not starting with a dot): two steps with the same inputs but other computations
    need other labels. ``inputs`` must hold everything else the result depends on (see
    :func:`digest`); the library's code is not part of it, as for a reproduction's models.

    The folder and the file name are checked before computing, so a step that cannot be kept
    fails at once instead of after hours; a result that cannot be written (a full disk) is
    returned anyway, with a warning."""
    if root is None:
        return _detached(compute())
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import save_file

    if not _LABEL.fullmatch(label) or label.startswith("."):
        raise ValueError(
            f"result label {label!r}: letters, digits and ._=+- only, not starting with a dot"
        )
    key = digest(inputs)
    path = Path(root) / RESULTS / f"{label}-{key[:16]}.safetensors"
    if len(path.name) > _MAX_NAME:
        raise ValueError(f"result label {label!r}: too long for a file name ({len(path.name)})")
    if path.is_file():
        try:
            with safe_open(str(path), framework="pt") as f:
                written_for = (f.metadata() or {}).get("digest")
                result = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError) as exc:
            _log.warning("%s unreadable (%s): computing it again", path, exc)
        else:
            if written_for == key:
                _log.info("%s: reused from %s", label, path)
                return result
            _log.warning("%s was written for other inputs: computing it again", path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"{path.parent}: cannot keep analysis results there ({exc})") from None
    _log.info("%s: computing", label)
    t0 = time.perf_counter()
    tensors = _detached(compute())
    metadata = {"label": label, "digest": key, "inputs": _describe(inputs)}
    try:
        atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    except OSError as exc:
        _log.warning("%s: computed but not kept (%s); a rerun computes it again", label, exc)
        return tensors
    _log.info("%s: done in %.0f s, kept in %s", label, time.perf_counter() - t0, path)
    return tensors


def _detached(result: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each tensor detached, on the CPU, in its own memory (safetensors refuses shared memory;
    a cached and a computed result look alike)."""
    return {
        k: v.detach().cpu().clone(memory_format=torch.contiguous_format) for k, v in result.items()
    }


def _describe(inputs: Mapping[str, Any]) -> str:
    """The JSON-able inputs as text, for whoever opens the file (tensors and models by shape)."""

    def plain(v: Any) -> Any:
        if isinstance(v, torch.nn.Module):
            return f"<{type(v).__name__}>"
        if isinstance(v, torch.Tensor):
            return f"<tensor {tuple(v.shape)}>"
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return json.dumps(plain(dict(inputs)), sort_keys=True)
