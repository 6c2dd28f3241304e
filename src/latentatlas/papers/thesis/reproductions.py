"""The thesis's reproductions, one :class:`~latentatlas.experiments.experiment.Experiment`
each: tables 5.1 and 7.1 (:mod:`.tables`), table 9.2 (:mod:`.reduction`), and the ch. 10-11
studies (:mod:`.studies`), with their claims (:mod:`.claims`) and the thesis's protocol.

The protocol: the thesis trains for 10⁵ epochs and states no batch; the author's notebooks use
100 (docs/errata.md), which turns epochs into optimiser steps here.
"""

from __future__ import annotations

from functools import partial

from ...experiments.experiment import SEED, Experiment, judged_by
from ...experiments.protocols import Quantity, constant, setting
from . import claims, reduction, spheres, studies, tables

PAPER = "Pérez Rey, Latent Variable Separation with VAEs (thesis)"

_BATCH_100 = "the batch of the author's notebooks, 100 (the thesis states none)"

TABLE_PROTOCOL = (
    Quantity(
        "training steps",
        1e5 * 10_000 / 100,
        f"§5.3 (and §7.2): 10⁵ epochs of 10 000 points; {_BATCH_100}",
        setting("steps"),
    ),
    Quantity("training points", 10_000, "§5.3: N = 10 000 per data set", setting("n")),
    Quantity("layer width", 8, "§5.3: two dense layers of ⌊25/3⌋ = 8", constant(8)),
    Quantity("trainings per cell", 5, "§5.3: five repetitions", setting("repetitions")),
)

REDUCTION_PROTOCOL = (
    Quantity(
        "VAE training steps",
        1e5 * 10_000 / 100,
        "the ch. 5/7 models (§9.4 names them; their training: §5.3), 10⁵ epochs; " + _BATCH_100,
        setting("vae_steps"),
    ),
    Quantity(
        "map updates", 10_000, "§9.4: 10 000 epochs of Algorithm 2", setting("reduction_steps")
    ),
    Quantity(
        "prior samples per update",
        10_000,
        "§9.4: L = 10 000 samples",
        constant(reduction.MAP_SAMPLES),
    ),
    Quantity("training points", 10_000, "§9.4: X_0.1 (N = 10 000, §5.3)", setting("n")),
)


def study_protocol(epoch_steps: float, width: int, side: int, points: int, what: str) -> tuple:
    """A ch. 10-11 study's protocol: 10⁵ epochs of ``epoch_steps`` steps, dense layers of
    ``width`` = ⌊side²/3⌋ units."""
    return (
        Quantity(
            "training steps",
            1e5 * epoch_steps,
            f"{what}: 10⁵ epochs of {points} points; {_BATCH_100}"
            + (" (one step per epoch: the data fit in one batch)" if epoch_steps == 1 else ""),
            setting("steps"),
        ),
        Quantity(
            "layer width",
            width,
            f"{what}: dense layers of ⌊{side}²/3⌋ = {width}",
            setting("hidden"),
        ),
    )


def _table(name: str, table: str, reference: str) -> Experiment:
    return Experiment(
        name,
        PAPER,
        reference,
        scales=tables.SCALES,
        run=partial(tables.reproduce_table, table),
        write=tables.write_table,
        protocol=TABLE_PROTOCOL,
        **judged_by(claims, name),
    )


def _reduction(name: str, reference: str, scales: dict) -> Experiment:
    return Experiment(
        name,
        PAPER,
        reference,
        scales=scales,
        run=reduction.reproduce_reduction_table,
        write=reduction.write_reduction_outputs,
        options=(SEED,),
        protocol=REDUCTION_PROTOCOL,
        **judged_by(claims, name),
    )


def _study(name: str, reference: str, protocol: tuple) -> Experiment:
    return Experiment(
        name,
        PAPER,
        reference,
        scales=studies.study_scales(name),
        run=partial(studies.reproduce_study, name),
        write=studies.write_study_outputs,
        options=(SEED,),
        protocol=protocol,
        **judged_by(claims, name),
    )


EXPERIMENTS = (
    _table("thesis-table-5.1", "5.1", "table 5.1 (baseline VAE on the sine circle, ch. 5)"),
    _table("thesis-table-7.1", "7.1", "table 7.1 (diffusion VAE on S¹, ch. 7)"),
    _reduction(
        "thesis-table-9.2", "table 9.2 (Δ-reduction between models, ch. 9)", reduction.SCALES
    ),
    _reduction(
        "thesis-table-9.2-sigma-0.1",
        "table 9.2 with every model at σX = 0.1 (the reading the printed values fit)",
        reduction.COMMON_SIGMA_SCALES,
    ),
    _study(
        "thesis-torus",
        "ch. 11, table 11.1 (torus latents)",
        (
            *study_protocol(2500 / 100, 208, 25, 2500, "§11.3"),
            Quantity("training points", 2500, "§11.3: 2500 images", setting("dataset.n")),
        ),
    ),
    _study("thesis-pixel-shift", "§10.1 (pixel shift)", study_protocol(1, 1365, 64, 64, "§10.1.1")),
    _study(
        "thesis-rotating-object",
        "§10.2 (rotating object)",
        study_protocol(1, 5461, 128, 72, "§10.2.1"),
    ),
    *(
        Experiment(
            study.name,
            PAPER,
            f"ch. 12, further work: {study.title} (the thesis runs no such study)",
            scales=study.scales,
            run=partial(spheres.reproduce_geometry_study, study.name),
            write=spheres.write_geometry_study,
            options=(SEED,),
            protocol=spheres.PROTOCOL,
            **judged_by(claims, study.name),
        )
        for study in spheres.STUDIES.values()
    ),
)
"""The thesis's experiments, in the order ``--list`` shows them."""
