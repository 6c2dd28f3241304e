"""The study of Locatello et al. (2019, "Challenging common assumptions in the unsupervised learning
of disentangled representations", sec. 5 and appendix, table 2) as one sweep.

The study trained six methods with six values of each one's regularisation strength and 50 seeds
on each data set (10 800 models over six data sets), every model with the same 64×64
convolutional encoder and decoder, 10 Gaussian latents, a Bernoulli likelihood, Adam at 1e-4,
batches of 64 and 300 000 steps, and scored each with every metric on its posterior mean:

=================  ====================================  ===============================
method             hyper-parameter values                fixed
=================  ====================================  ===============================
β-VAE              β ∈ {1, 2, 4, 6, 8, 16}
AnnealedVAE        C_max ∈ {5, 10, 25, 50, 75, 100}      γ = 1000, 100 000 steps to C_max
FactorVAE          γ ∈ {10, 20, 30, 40, 50, 100}         discriminator 6 × 1000, Adam 1e-4
DIP-VAE-I          λ_od ∈ {1, 2, 5, 10, 20, 50}          λ_d = 10 λ_od
DIP-VAE-II         λ_od ∈ {1, 2, 5, 10, 20, 50}          λ_d = λ_od
β-TCVAE            β ∈ {1, 2, 4, 6, 8, 10}
=================  ====================================  ===============================

:func:`study_sweep` writes that grid for one data set as a :class:`~latentatlas.tools.sweep.\
SweepConfig` (``latent-atlas sweep --study DATASET``): every trial a resumable run folder, on
this machine or one Ray task each on a cluster, gathered into one table and report, beside the
study's own scores when its result files are given (``published``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError
from ...models.disentangling import STUDY_TRAINING

METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "beta_vae": ("beta_vae", {"beta": [1, 2, 4, 6, 8, 16]}),
    "annealed_vae": ("annealed_vae", {"c_max": [5, 10, 25, 50, 75, 100]}),
    "factor_vae": ("factor_vae", {"gamma": [10, 20, 30, 40, 50, 100]}),
    "dip_vae_i": ("dip_vae", {"dip_type": "i", "lambda_od": [1, 2, 5, 10, 20, 50]}),
    "dip_vae_ii": ("dip_vae", {"dip_type": "ii", "lambda_od": [1, 2, 5, 10, 20, 50]}),
    "beta_tcvae": ("beta_tcvae", {"beta": [1, 2, 4, 6, 8, 10]}),
}
"""The study's methods (its names) → (this library's model, the grid of its hyper-parameters).
AnnealedVAE's γ = 1000 and 100 000 steps and the DIP-VAEs' λ_d are the models' defaults."""

STUDY_METRICS = ("beta_vae", "factor_vae", "mig", "dci", "sap", "modularity", "unsupervised")
"""The metrics the study computed for every model."""

PUBLISHED_DATASETS = {
    "dsprites": "dsprites_full",
    "color_dsprites": "color_dsprites",
    "noisy_dsprites": "noisy_dsprites",
    "scream_dsprites": "scream_dsprites",
    "smallnorb": "smallnorb",
    "cars3d": "cars3d",
    "shapes3d": "shapes3d",
}
"""This library's data set names → disentanglement_lib's (the published result files' names)."""


def study_sweep(
    dataset: str,
    seeds: int = 50,
    steps: int = STUDY_TRAINING["steps"],
    methods: Sequence[str] | None = None,
    dataset_options: dict[str, Any] | None = None,
    preset: str = "study",
) -> dict[str, Any]:
    """The study's grid for ``dataset`` as a sweep file's content (a dict for
    :meth:`SweepConfig.from_dict`): the chosen ``methods`` (all six by default; DIP-VAE-I and -II
    share the model ``dip_vae``, its ``dip_type`` an axis), seeds 0 … ``seeds`` − 1, the study's
    training for ``steps`` steps, its networks (the ``locatello`` defaults) and metrics."""
    chosen = list(methods) if methods else list(METHODS)
    unknown = [m for m in chosen if m not in METHODS]
    if unknown:
        raise ConfigError(
            f"study methods: unknown {unknown[0]!r}; the study's methods: {', '.join(METHODS)}"
        )
    if seeds < 1 or steps < 1:
        raise ConfigError(f"study: expected at least one seed and one step, got {seeds}, {steps}")
    models: dict[str, dict[str, Any]] = {}
    for method in chosen:
        model, grid = METHODS[method]
        if model in models:  # DIP-VAE-I and -II: one model, its type an axis
            types = models[model]["dip_type"]
            types = types if isinstance(types, list) else [types]
            models[model] = {**models[model], "dip_type": [*types, grid["dip_type"]]}
        else:
            models[model] = dict(grid)
    training = {k: v for k, v in STUDY_TRAINING.items() if k != "steps"}
    return {
        "base": {
            "dataset": {"name": dataset, **(dataset_options or {})},
            "model": {"latent": {"name": "euclidean", "dim": 10}},
            "train": {**training, "steps": steps},
        },
        "models": models,
        "seeds": list(range(seeds)),
        "metrics": list(STUDY_METRICS),
        "preset": preset,
        "defaults": "locatello",
        "published_dataset": PUBLISHED_DATASETS.get(dataset),
    }
