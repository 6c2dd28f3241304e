"""latent-atlas: understand, disentangle and organise the latent spaces of generative models.

The most used entry points are re-exported lazily (importing the package stays cheap):
``latentatlas.load(run_dir)`` rebuilds a trained model from its run folder,
``latentatlas.load_dataset(run_dir)`` its dataset, ``latentatlas.train_run`` /
``latentatlas.resume_run`` train as the CLI does (with the periodic evaluation) and
``latentatlas.evaluate`` runs the thesis evaluation (eq. 5.7-5.10).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load": "latentatlas.train.run",
    "load_dataset": "latentatlas.train.run",
    "train_run": "latentatlas.runs",
    "resume_run": "latentatlas.runs",
    "RunConfig": "latentatlas.train.run",
    "save_pretrained": "latentatlas.train.pretrained",
    "from_pretrained": "latentatlas.train.pretrained",
    "evaluate": "latentatlas.analysis.evaluation",
    "write_report": "latentatlas.viz.report",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'latentatlas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
