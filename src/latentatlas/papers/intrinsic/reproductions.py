"""The intrinsic-disentanglement paper's reproductions (Besserve et al.), one
:class:`~latentatlas.experiments.experiment.Experiment` each: stretching each level
(:mod:`.stretch`), the errors tracked in training and SDR training (:mod:`.training`), judged
by :mod:`.claims`."""

from __future__ import annotations

from ...experiments.experiment import SEED, Experiment, judged_by
from ...experiments.protocols import Quantity, setting
from . import claims, stretch, training

PAPER = "Besserve et al., intrinsic disentanglement"

EXPERIMENTS = (
    Experiment(
        "intrinsic-stretch",
        PAPER,
        "fig. 3a-d (stretching each level)",
        scales=stretch.SCALES,
        run=stretch.reproduce_stretch,
        write=stretch.write_stretch_outputs,
        options=(SEED,),
        protocol=(
            Quantity(
                "training steps",
                50_000,
                "§5.1, fig. 3: 10 000 + 40 000 iterations",
                lambda s: float(max(s["lengths"])),
            ),
        ),
        **judged_by(claims, "intrinsic-stretch"),
    ),
    Experiment(
        "intrinsic-tracking",
        PAPER,
        "fig. 4a-b (errors tracked in training)",
        scales=training.SCALES,
        run=training.reproduce_tracking,
        write=training.write_tracking_outputs,
        options=(SEED,),
        protocol=(
            Quantity(
                "training steps",
                50_000,
                "§5.1: modularity deteriorates after 50 000 iterations (fig. 4's length is not "
                "stated)",
                setting("model.steps"),
            ),
        ),
        **judged_by(claims, "intrinsic-tracking"),
    ),
    Experiment(
        "intrinsic-sdr-training",
        PAPER,
        "sec. 5.2, fig. 4c and 3e (SDR training)",
        scales=training.SCALES,
        run=training.reproduce_sdr_training,
        write=training.write_tracking_outputs,
        options=(SEED,),
        protocol=(
            Quantity(
                "training steps", 50_000, "§5.2, fig. 3e: 50 000 iterations", setting("model.steps")
            ),
        ),
        **judged_by(claims, "intrinsic-sdr-training"),
    ),
)
"""The intrinsic paper's experiments, in the order ``--list`` shows them."""
