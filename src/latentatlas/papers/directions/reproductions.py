"""The directions paper's reproductions (Plumerault et al., ICLR 2020), one
:class:`~latentatlas.experiments.experiment.Experiment` each: the β-VAE control (:mod:`.beta`),
the inversion losses and the naive inversion (:mod:`.inversion`) and the curvature of
transformation paths (:mod:`.curvature`), judged by :mod:`.claims`."""

from __future__ import annotations

from ...experiments.experiment import SEED, Experiment, judged_by
from ...experiments.protocols import Quantity, setting
from . import beta, claims, curvature, inversion

PAPER = "Plumerault et al., continuous factors of variation (ICLR 2020)"

EXPERIMENTS = (
    Experiment(
        "directions-dsprites-beta",
        PAPER,
        "§3.3 (β-VAE control on dSprites)",
        scales=beta.SCALES,
        run=beta.reproduce_beta,
        write=beta.write_beta_outputs,
        options=(SEED,),
        protocol=(
            Quantity(
                "β-VAE training steps", 1e5, "§3: Adam during 10⁵ steps", setting("vae.steps")
            ),
            Quantity("batch", 128, "§3: batch size 128", setting("vae.batch_size")),
            Quantity(
                "training images", 737_280, "§3: dSprites, 737 280 images", setting("vae.images")
            ),
        ),
        **judged_by(claims, "directions-dsprites-beta"),
    ),
    Experiment(
        "directions-losses",
        PAPER,
        "appendix C (inversion losses)",
        scales=inversion.LOSS_SCALES,
        run=inversion.reproduce_losses,
        write=inversion.write_losses_outputs,
        options=(SEED,),
        protocol=(
            Quantity(
                "inversion steps", 3000, "appendix C: a budget of 3000 iterations", setting("steps")
            ),
            Quantity(
                "targets", 1000, "appendix C: one image per category, 1000", setting("targets")
            ),
        ),
        **judged_by(claims, "directions-losses"),
    ),
    Experiment(
        "directions-inversion",
        PAPER,
        "appendix F (naive inversion)",
        scales=inversion.NAIVE_SCALES,
        run=inversion.reproduce_naive,
        write=inversion.write_naive_outputs,
        options=(SEED,),
        protocol=(
            Quantity(
                "naive inversion steps",
                4500,
                "appendix F, fig. 10: the naive run's axis to 4500",
                lambda s: inversion.NAIVE_POINTS * float(s["steps"]),
            ),
        ),
        **judged_by(claims, "directions-inversion"),
    ),
    Experiment(
        "directions-curvature",
        PAPER,
        "appendix D (curvature)",
        scales=curvature.SCALES,
        run=curvature.reproduce_curvature,
        write=curvature.write_curvature_outputs,
        protocol="no training: images rendered along transformation paths",
        **judged_by(claims, "directions-curvature"),
    ),
)
"""The directions paper's experiments, in the order ``--list`` shows them."""
