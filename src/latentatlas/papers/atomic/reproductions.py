"""The atomic-autoencoder paper's reproductions, one
:class:`~latentatlas.experiments.experiment.Experiment` each: the spikes (§III-B) and the pen
strokes (§III-A; on MNIST digits with ``--mnist``), run by :mod:`.experiments` and judged by
:mod:`.claims`."""

from __future__ import annotations

from functools import partial
from typing import Any

from ...errors import ConfigError
from ...experiments.experiment import SEED, Experiment, Option, judged_by
from ...experiments.protocols import Quantity, setting
from . import claims, experiments

PAPER = "Newson & Traonmilin, atomic autoencoders"

#: the authors' code trains with batch 64 (the paper's errata list)
AUTHORS_BATCH = Quantity("batch", 64, "the authors' code: batch 64", setting("batch_size"))


def mnist_dataset(root: str, settings: experiments.AtomicScale) -> dict[str, Any]:
    """The data-set spec of MNIST digits from the IDX files in ``root``, at the side of the
    scale's images; the files are read once here, so that a missing or bad file fails before
    anything trains."""
    from ...data.mnist import Mnist, MnistConfig

    side = settings.dataset.get("size")
    if not isinstance(side, int) or side < 1:
        raise ConfigError("--mnist needs the scale's dataset.size (an image side)")
    Mnist(MnistConfig(root=root, size=side))
    return {"name": "mnist", "root": root, "size": side}


#: ``--mnist FOLDER``: MNIST digits from the IDX files in FOLDER instead of the strokes
MNIST = Option("mnist", "dataset", read=mnist_dataset)


def _atomic(name: str, reference: str, options: tuple[Option, ...], image: str) -> Experiment:
    return Experiment(
        name,
        PAPER,
        reference,
        scales=experiments.atomic_scales(name),
        run=partial(experiments.reproduce_atomic, name),
        write=experiments.write_atomic_outputs,
        options=options,
        protocol=(
            Quantity("image side", 128, image, setting("dataset.size")),
            AUTHORS_BATCH,
        ),
        **judged_by(claims, name),
    )


EXPERIMENTS = (
    _atomic("atomic-spikes", "§III-B (spikes)", (SEED,), "the authors' code: 128×128 images"),
    _atomic(
        "atomic-strokes",
        "§III-A (strokes; MNIST with --mnist)",
        (SEED, MNIST),
        "§III-A: MNIST downscaled to 128×128",
    ),
)
"""The atomic paper's experiments, in the order ``--list`` shows them."""
