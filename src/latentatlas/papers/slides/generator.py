"""``reproduce slides-pca-ae-generator``: organising a pretrained generator's local latent space
with the PCA-like autoencoder (slides 42-46).

A VAE trained here on ellipses is the generator G; around the code z̃ of one ellipse the PCA-like
autoencoder learns 3 components from offsets η ~ N(0, σ²I) with the loss
‖G(η + z̃) − G(D∘E(η) + z̃)‖² + λ L_cov (eq. 16). Reported: navigation along each learned axis
against navigation along raw latent axes, and how strongly each axis follows one image factor
measured on the generated images (mass, moment anisotropy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...analysis.generators import DecoderGenerator
from ...analysis.organisation import (
    CorrelationTable,
    factor_correlations,
    largest_code_correlation,
    moment_descriptors,
    organise_generator,
)
from ...data.synthetic.shapes import Ellipses, EllipsesConfig
from ...experiments.model_store import ModelStore
from ...train.run import RunConfig
from .pca import NAV_STEPS, conv_networks, correlation_figure


@dataclass(frozen=True)
class GeneratorScale:
    size: int
    images: int
    generator_steps: int
    latent_dim: int
    offsets: int
    steps: int
    sigma: float = 1.0
    components: int = 3
    cov_weight: float = 1.0


GENERATOR_SCALES = {
    "quick": GeneratorScale(32, 2000, 3000, 8, 4000, 3000),
    "full": GeneratorScale(64, 5000, 15_000, 16, 20_000, 15_000),
}
IMAGE_FACTORS = ("mass", "orientation_cos", "orientation_sin")


@dataclass
class GeneratorResult:
    scale: GeneratorScale
    seed: int
    generator_error: float
    image_error: float
    learned: CorrelationTable
    raw: CorrelationTable
    largest_code_correlation: float
    raw_best: CorrelationTable
    """the ``components`` raw coordinates (of all ``latent_dim``) that follow a factor best"""
    raw_best_indices: list[int]
    image_pca: CorrelationTable
    """linear PCA of the generated images: each image's scores on the first principal axes"""
    seconds: float
    navigation: dict[str, torch.Tensor] = field(repr=False)
    values: torch.Tensor = field(repr=False)
    centre_image: torch.Tensor = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": "slides-pca-ae-generator",
            "scale": self.scale.__dict__,
            "seed": self.seed,
            "generator_relative_error": self.generator_error,
            "image_relative_error": self.image_error,
            "learned_axes": self.learned.to_dict(),
            "raw_axes": self.raw.to_dict(),
            "raw_best_axes": {**self.raw_best.to_dict(), "indices": self.raw_best_indices},
            "image_pca_axes": self.image_pca.to_dict(),
            "largest_code_correlation": self.largest_code_correlation,
            "seconds": self.seconds,
        }

    def to_markdown(self) -> str:
        k = self.scale.components
        rows = [
            "| axes | "
            + " | ".join(f"axis {i}: best image factor, abs corr" for i in range(k))
            + " |"
        ]
        rows.append("|---" * (k + 1) + "|")
        for title, table in (
            ("PCA-like AE components", self.learned),
            ("raw latent coordinates (the first)", self.raw),
            (f"raw latent coordinates (the best: {self.raw_best_indices})", self.raw_best),
            ("linear PCA of the images", self.image_pca),
        ):
            rows.append(
                f"| {title} | " + " | ".join(f"{f} {c:.3f}" for f, c in table.best[:k]) + " |"
            )
        rows += [
            "",
            "| measure | value |",
            "|---|---|",
            "| relative image error ‖G(η̂ + z̃) − G(η + z̃)‖² / ‖G(η + z̃)‖² | "
            f"{self.image_error:.4f} |",
            f"| largest corr between PCA-AE components | {self.largest_code_correlation:.3f} |",
            f"| generator (VAE) relative reconstruction error | {self.generator_error:.4f} |",
        ]
        return "\n".join(rows)


def _best_coordinates(
    offsets: torch.Tensor, factors: dict[str, torch.Tensor], k: int
) -> tuple[CorrelationTable, list[int]]:
    """The ``k`` raw latent coordinates whose best |corr| with a factor is largest (chosen on
    the evaluation offsets themselves: a baseline as strong as raw axes can be)."""
    every = factor_correlations(offsets, factors)
    order = sorted(range(offsets.shape[1]), key=lambda i: -every.best[i][1])[:k]
    return factor_correlations(offsets[:, order], factors), order


def _pca_scores(images: torch.Tensor, k: int) -> torch.Tensor:
    """Each image's scores on the first ``k`` principal axes of the images (linear PCA, the
    linear counterpart of the PCA-like autoencoder); PCA of the offsets η themselves has no
    preferred axes (they are isotropic, N(0, σ²I))."""
    flat = images.reshape(len(images), -1).double()
    centred = flat - flat.mean(0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return (centred @ vh[:k].T).float()


def reproduce_generator(
    settings: GeneratorScale, store: ModelStore | None = None, seed: int = 0
) -> GeneratorResult:
    """Train a VAE on ellipses as the generator (in ``store``; default: in memory), then the
    PCA-like AE around one code, at ``settings``."""
    t0 = time.perf_counter()
    s, store = settings, store or ModelStore()
    data = Ellipses(EllipsesConfig(n=s.images, size=s.size, axis_max=s.size / 2 - 1, seed=seed))
    enc, dec = conv_networks(s.size, 16)
    config = RunConfig.from_dict(
        {
            "dataset": {"name": "ellipses", **data.config.to_dict()},
            "model": {
                "name": "vae",
                "latent": {"name": "euclidean", "dim": s.latent_dim},
                "encoder": enc,
                "decoder": dec,
                "likelihood": {"name": "bernoulli"},
            },
            "train": {
                "steps": s.generator_steps,
                "batch_size": 64,
                "lr": 1e-3,
                "log_every": 100,
            },
            "seed": seed,
        }
    )
    store.expect(1)
    vae = store.train(config, data, label="generator-vae").model
    with torch.no_grad():
        rec = vae.reconstruct(data.x)
        centre = vae.representation(data.x[:1])[0]
    generator_error = float(((rec - data.x) ** 2).sum() / (data.x**2).sum())
    generator = DecoderGenerator(vae)
    model, offsets = organise_generator(
        generator,
        centre,
        radius=s.sigma,
        components=s.components,
        offsets=s.offsets,
        steps=s.steps,
        cov_weight=s.cov_weight,
        seed=seed,
        progress=store.progress,
    )
    evaluation = offsets[:2000]
    with torch.no_grad():
        codes = model.representation(evaluation)
        images = model.render(evaluation)
        recon = model.render(model.decode(codes))
    image_error = float(((recon - images) ** 2).sum() / (images**2).sum())
    measured = moment_descriptors(images)
    factors = {k: measured[k] for k in IMAGE_FACTORS}
    learned = factor_correlations(codes, factors)
    raw = factor_correlations(evaluation[:, : s.components], factors)
    raw_best, raw_best_indices = _best_coordinates(evaluation, factors, s.components)
    image_pca = factor_correlations(_pca_scores(images, s.components), factors)
    # navigation: learned components over their 2nd-98th percentiles vs raw axes over ±2σ
    q = torch.linspace(0.02, 0.98, NAV_STEPS)
    learned_values = torch.stack([torch.quantile(codes[:, i], q) for i in range(s.components)])
    raw_values = torch.linspace(-2 * s.sigma, 2 * s.sigma, NAV_STEPS)
    with torch.no_grad():
        learned_grid = torch.stack(
            [
                model.render(model.decode(_axis_codes(s.components, i, learned_values[i])))
                for i in range(s.components)
            ]
        )
        raw_grid = torch.stack(
            [model.render(_axis_codes(s.latent_dim, i, raw_values)) for i in range(s.components)]
        )
    return GeneratorResult(
        scale=s,
        seed=seed,
        generator_error=generator_error,
        image_error=image_error,
        learned=learned,
        raw=raw,
        largest_code_correlation=largest_code_correlation(codes),
        raw_best=raw_best,
        raw_best_indices=raw_best_indices,
        image_pca=image_pca,
        seconds=time.perf_counter() - t0,
        navigation={"learned": learned_grid, "raw": raw_grid},
        values=torch.stack([learned_values, raw_values.expand(s.components, -1)]),
        centre_image=generator(centre[None])[0].detach(),
    )


def _axis_codes(dim: int, axis: int, values: torch.Tensor) -> torch.Tensor:
    """Codes ``(m, dim)`` that are zero except ``values`` on coordinate ``axis``."""
    codes = torch.zeros(values.shape[0], dim)
    codes[:, axis] = values
    return codes


def write_generator_outputs(result: GeneratorResult, out: str | Path) -> Path:
    """results.json, table.md, figures and report.html into ``out``."""
    from ...experiments.result_files import write_result_files
    from ...viz.images import plot_traversal_grid
    from ...viz.reproduction import markdown_tables_html, write_reproduction_report

    write_result_files(result, out)
    s = result.scale
    dims = list(range(s.components))
    figures = [
        (
            "navigation-raw",
            "Navigation along raw latent axes (slide 45)",
            f"G(z̃ + t·e_j) for the first {s.components} latent coordinates, t from −2σ to 2σ.",
            plot_traversal_grid(result.navigation["raw"], result.values[1], dims),
        ),
        (
            "navigation-learned",
            "Navigation along the PCA-like AE's axes (slide 46)",
            "G(z̃ + D(c·e_i)) with c from the 2nd to the 98th percentile of component i.",
            plot_traversal_grid(result.navigation["learned"], result.values[0], dims),
        ),
        (
            "correlations",
            "Axes against image factors",
            "|corr| of each axis with factors measured on the generated images (mass and the "
            "second-moment anisotropy).",
            correlation_figure(
                {
                    "PCA-like AE": result.learned,
                    "first raw axes": result.raw,
                    "best raw axes": result.raw_best,
                    "image PCA": result.image_pca,
                }
            ),
        ),
    ]
    lead = (
        "Around one code of a VAE trained on ellipses, the PCA-like AE's axes follow "
        + ", ".join(f"{f} (|corr| {c:.2f})" for f, c in result.learned.best)
        + "; the first raw latent coordinates follow "
        + ", ".join(f"{f} ({c:.2f})" for f, c in result.raw.best[: s.components])
        + f", the best raw coordinates ({result.raw_best_indices}) "
        + ", ".join(f"{f} ({c:.2f})" for f, c in result.raw_best.best)
        + ", linear PCA of the images "
        + ", ".join(f"{f} ({c:.2f})" for f, c in result.image_pca.best)
        + f". Relative image error of the organised code: {result.image_error:.4f}."
    )
    return write_reproduction_report(
        out,
        title="Organising a generator's local latent space (slides 42-46)",
        subtitle="The PCA-like autoencoder trained on z̃ + η through a frozen generator (eq. 16).",
        facts={
            "generator": f"VAE, latent {s.latent_dim}, {s.size}×{s.size}",
            "offsets": f"{s.offsets} × N(0, {s.sigma:g}²I)",
            "steps": f"{s.steps:,}",
            "time": f"{result.seconds:.0f} s",
        },
        settings={
            "experiment": "slides-pca-ae-generator",
            **s.__dict__,
            "seed": result.seed,
        },
        lead=lead,
        tables_html=markdown_tables_html(result.to_markdown()),
        figures=figures,
    )
