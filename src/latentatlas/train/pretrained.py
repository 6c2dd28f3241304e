"""Share a model built in Python: ``save_pretrained`` / ``from_pretrained``, as a run folder.

A model of any registry entry (``build(MODELS, spec)``) is saved with its complete spec
(``config.json``: every default written out, so a later default change does not alter it), its
weights (``model.safetensors``, never pickle) and ``metadata.json`` (versions, parameter count).
:func:`from_pretrained` rebuilds it from such a folder, or from any training run folder. Uploading
to a model hub is left to the hub's own tools: the folder is plain files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError, RunFolderError
from ..registry import MODELS, build, resolve
from . import checkpoint as ckpt
from .outputs import OutputFolder

FORMAT = "latent-atlas pretrained 1"
"""The ``format`` of a ``config.json`` written by :func:`save_pretrained`."""


def _model_spec(config: Any) -> dict:
    spec = getattr(config, "model", config)  # a RunConfig or the model's own spec
    if not isinstance(spec, dict) or "name" not in spec:
        raise ConfigError(
            "config: expected the model's spec {'name': ..., ...} (as given to "
            f"build(MODELS, spec)) or a RunConfig, got {type(config).__name__}"
        )
    return resolve(MODELS, dict(spec), "model")


def save_pretrained(
    model: torch.nn.Module, folder: str | Path, config: Any, force: bool = False
) -> Path:
    """Write ``model`` to ``folder`` with the spec it was built from (``config``: the dict given
    to ``build(MODELS, ...)`` or a RunConfig). The spec is checked against the weights before
    anything is written; an existing folder is replaced only with ``force``."""
    from .. import __version__

    spec = _model_spec(config)
    probe = build(MODELS, spec, "model")
    try:
        probe.load_state_dict(model.state_dict())
    except RuntimeError as exc:
        raise ConfigError(
            f"config: the model's weights do not fit the spec {spec['name']!r} "
            f"({ckpt.summarise_load_error(exc)})"
        ) from None
    folder = Path(folder)
    with OutputFolder(folder, "pretrained model", force):
        ckpt.atomic_write_json(folder / ckpt.CONFIG, {"format": FORMAT, "model": spec})
        ckpt.save_weights(folder / ckpt.WEIGHTS, model, {"format": FORMAT})
        ckpt.atomic_write_json(
            folder / ckpt.METADATA,
            {
                "latent_atlas": __version__,
                "torch": torch.__version__,
                "model": spec["name"],
                "parameters": sum(p.numel() for p in model.parameters()),
            },
        )
    return folder


def from_pretrained(
    folder: str | Path, device: torch.device | str | None = None
) -> torch.nn.Module:
    """The model of a :func:`save_pretrained` folder or of a training run folder, in eval mode
    on ``device`` (default: the CPU)."""
    from .run import _device, load

    folder = Path(folder)
    config = ckpt.read_json(folder / ckpt.CONFIG) if (folder / ckpt.CONFIG).is_file() else None
    if not isinstance(config, dict):
        raise RunFolderError(f"{folder}: no {ckpt.CONFIG} (is this a saved model folder?)")
    if config.get("format") != FORMAT:
        return load(folder, device)  # a training run folder
    try:
        model = build(MODELS, dict(config["model"]), "model")
    except (ConfigError, KeyError, TypeError) as exc:
        raise RunFolderError(f"{folder}: cannot rebuild the model ({exc})") from None
    weights = ckpt.load_weights(folder / ckpt.WEIGHTS)
    ckpt.check_weight_dtypes(weights, model, folder / ckpt.WEIGHTS)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise RunFolderError(
            f"{folder / ckpt.WEIGHTS}: the weights do not match the model in {ckpt.CONFIG} "
            f"({ckpt.summarise_load_error(exc)})"
        ) from None
    target = _device(device)
    if target is not None:
        model.to(target)
    return model.eval()
