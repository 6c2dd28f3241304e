"""The slides' reproductions (Newson et al., understanding and organising the latent space of
autoencoders), one :class:`~latentatlas.experiments.experiment.Experiment` each: the disk
autoencoder (:mod:`.disk`), position encoding (:mod:`.position`), the PCA-like autoencoder
(:mod:`.pca`) and the PCA-like autoencoder on a generator (:mod:`.generator`), judged by
:mod:`.claims`."""

from __future__ import annotations

from ...experiments.experiment import SEED, Experiment, judged_by
from ...experiments.protocols import Quantity, setting
from . import claims, disk, generator, pca, position

PAPER = "Newson et al., Understanding and Organising the Latent Space of AEs (slides)"

#: the authors' code trains with batch 64 (the slides' errata list)
AUTHORS_BATCH = Quantity("batch", 64, "the authors' code: batch 64", setting("batch_size"))


def _epochs_per_stage(settings: dict) -> float:
    """The PCA-like AE trains one stage per component: epochs per stage from its settings."""
    steps = float(settings["steps"]) / float(settings["components"])
    return steps * float(settings["batch_size"]) / float(settings["images"])


EXPERIMENTS = (
    Experiment(
        "slides-disk",
        PAPER,
        "slides 8-20 (disk autoencoder)",
        scales=disk.SCALES,
        run=disk.reproduce_disk,
        write=disk.write_disk_outputs,
        options=(SEED,),
        protocol=(
            Quantity(
                "training steps",
                10_000,
                "the authors' code: about 10k iterations",
                setting("steps"),
            ),
            Quantity("training images", 1000, "the authors' code: 1000 images", setting("images")),
            Quantity("image side", 64, "the slides: images of size 64 × 64", setting("size")),
            AUTHORS_BATCH,
        ),
        **judged_by(claims, "slides-disk"),
    ),
    Experiment(
        "slides-position",
        PAPER,
        "slides 22-30 (position encoding)",
        scales=position.SCALES,
        run=position.reproduce_position,
        write=position.write_position_outputs,
        options=(SEED,),
        protocol="the slides state no training protocol (one table for n = 8)",
        **judged_by(claims, "slides-position"),
    ),
    Experiment(
        "slides-pca-ae",
        PAPER,
        "slides 31-39 (PCA-like autoencoder)",
        scales=pca.SCALES,
        run=pca.reproduce_pca,
        write=pca.write_pca_outputs,
        options=(SEED,),
        protocol=(
            Quantity(
                "epochs per stage",
                100,
                "the authors' code: about 100 epochs per stage",
                _epochs_per_stage,
            ),
            Quantity(
                "components",
                3,
                "the authors' notebook: the first three components",
                setting("components"),
            ),
        ),
        **judged_by(claims, "slides-pca-ae"),
    ),
    Experiment(
        "slides-pca-ae-generator",
        PAPER,
        "slides 42-46 (PCA-AE on a generator)",
        scales=generator.GENERATOR_SCALES,
        run=generator.reproduce_generator,
        write=generator.write_generator_outputs,
        options=(SEED,),
        protocol=(
            Quantity(
                "components", 4, "the slides: z1 vs z4 shown (at least four)", setting("components")
            ),
        ),
        **judged_by(claims, "slides-pca-ae-generator"),
    ),
)
"""The slides' experiments, in the order ``--list`` shows them."""
