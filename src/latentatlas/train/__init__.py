"""Training: the Trainer loop, callbacks, checkpoints and run folders."""

from . import optim  # noqa: F401  (registers optimisers and schedules)
from .callbacks import BestWeights, Callback, History, PeriodicCallback, StopAt
from .outputs import FolderLock, OutputFolder
from .run import (
    RunConfig,
    build_dataset,
    build_model,
    check_new_run_dir,
    load,
    load_config,
    load_dataset,
    read_metadata,
    resume_config,
    run_status,
)
from .trainer import FitResult, Trainer, TrainerConfig

__all__ = [
    "BestWeights",
    "Callback",
    "FitResult",
    "FolderLock",
    "History",
    "OutputFolder",
    "PeriodicCallback",
    "RunConfig",
    "StopAt",
    "Trainer",
    "TrainerConfig",
    "build_dataset",
    "build_model",
    "check_new_run_dir",
    "load",
    "load_config",
    "load_dataset",
    "read_metadata",
    "resume_config",
    "run_status",
]
