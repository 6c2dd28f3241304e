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

from ..train.checkpoint import atomic_write

#: the sub-folder of a reproduction's output that holds its cached results
RESULTS = "results"

_LABEL = re.compile(r"[A-Za-z0-9._=+-]+")
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
            h.update(json.dumps(str(key)).encode() + b":")
            _feed(h, value[key])
        h.update(b"}")
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for item in value:
            _feed(h, item)
        h.update(b"]")
    else:
        h.update(json.dumps(value, sort_keys=True).encode())  # TypeError for anything else


def cached(
    root: str | Path | None,
    label: str,
    inputs: Mapping[str, Any],
    compute: Callable[[], dict[str, torch.Tensor]],
) -> dict[str, torch.Tensor]:
    """``compute()``'s tensors, from ``root/results`` when the same step ran with the same
    ``inputs`` before; computed (and saved there) otherwise. ``root`` None: always computed.

    ``label`` names the file for a reader (``inversion-beta-4-mse``: letters, digits and
    ``._=+-`` only); ``inputs`` must hold
    everything the result depends on (see :func:`digest`)."""
    if root is None:
        return compute()
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    if not _LABEL.fullmatch(label):
        raise ValueError(f"result label {label!r}: letters, digits and ._=+- only")
    key = digest(inputs)
    path = Path(root) / RESULTS / f"{label}-{key[:16]}.safetensors"
    if path.is_file():
        try:
            result = load_file(str(path))
            _log.info("%s: reused from %s", label, path)
            return result
        except (SafetensorError, OSError) as exc:
            _log.warning("%s unreadable (%s): computing it again", path, exc)
    _log.info("%s: computing", label)
    t0 = time.perf_counter()
    result = compute()
    tensors = {k: v.detach().cpu().contiguous() for k, v in result.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"label": label, "digest": key, "inputs": _describe(inputs)}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    _log.info("%s: done in %.0f s, kept in %s", label, time.perf_counter() - t0, path)
    return result


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
