"""``reproduce slides-disk``: autoencoding size (slides 8-20).

Two disk autoencoders of slide 9 (d = 1) are trained on blurred centred disks: with biases (the
slides' network, which reconstructs disks almost perfectly) and without (the ablation of slide 14).
For both, the code is compared with the radius and the area r² (slide 13: the encoder integrates,
the optimal code is the area). For the bias-free one the experiment checks D(λz) = λD(z) on the
trained decoder (eq. 2) and compares its decoded profile f = D(±1) with the maximiser of eq. 3
found numerically and with Airy's solution of eq. 8 (slide 18).

Scales: quick, 32×32 disks and 1500 steps (about a minute on two cores); full, the slides'
64×64, 1000 images, Adam 0.01, batch 64, 10 000 steps (papers README).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from ...analysis.disk_profile import (
    HomogeneityCheck,
    ProfileComparison,
    check_homogeneity,
    compare_profiles,
)
from ...data.synthetic.shapes import Disks, DisksConfig
from ...experiments.model_store import ModelStore
from ...models.geometry import disk_autoencoder_spec


@dataclass(frozen=True)
class DiskScale:
    size: int
    images: int
    steps: int
    channels: int = 8
    lr: float = 0.01
    batch_size: int = 64
    contraction: float = 1e4
    """λ of the contractive variant (slide 13's footnote): the code shrinks as λ grows (the
    decoder rescales it), so λ must be large against the code's own scale; 10⁴ measured"""
    bias_free_restarts: int = 1
    """initialisations of the bias-free autoencoder (seeds ``seed``, ``seed`` + 1, ...), the
    one with the lowest final loss kept: at the authors' Adam 0.01 a bias-free network can jump
    early to a loss 10³ it never leaves (a full run of seed 0 did, relative error 1.01)"""


SCALES = {
    "quick": DiskScale(32, 1000, 1500),
    "full": DiskScale(64, 1000, 10_000, bias_free_restarts=3),
}
#: the trained variants: name → (biases, contractive loss)
VARIANTS = {"bias": (True, False), "no_bias": (False, False), "contractive": (True, True)}
VARIANT_TITLES = {
    "bias": "with biases",
    "no_bias": "without biases",
    "contractive": "with biases, contractive loss",
}


@dataclass
class DiskModelResult:
    """One trained disk autoencoder: how its code tracks size and how well it reconstructs."""

    bias: bool
    relative_error: float
    mse_per_pixel: float
    corr_area: float
    corr_radius: float
    spearman_radius: float
    seconds: float
    losses: list[float] = field(repr=False)
    contraction: float = 0.0
    """λ of the contractive loss (0: a plain autoencoder)"""
    restart_losses: list[float] = field(default_factory=list)
    """the final loss of each initialisation trained (the kept one is the lowest); one entry
    for a variant trained once"""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "losses"}


@dataclass
class DiskResult:
    scale: DiskScale
    seed: int
    models: dict[str, DiskModelResult]
    homogeneity: HomogeneityCheck
    profiles: ProfileComparison
    seconds: float
    # kept for the figures, not written to results.json
    examples: dict[str, torch.Tensor] = field(repr=False)
    codes: dict[str, np.ndarray] = field(repr=False)
    radii: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": "slides-disk",
            "scale": self.scale.__dict__,
            "seed": self.seed,
            "models": {k: m.to_dict() for k, m in self.models.items()},
            "homogeneity": self.homogeneity.to_dict(),
            "profiles": self.profiles.to_dict(),
            "seconds": self.seconds,
        }

    def to_markdown(self) -> str:
        rows = [
            "| model | relative error | MSE / pixel | corr(z, r²) | corr(z, r) | Spearman(z, r) |",
            "|---|---|---|---|---|---|",
        ]
        for name, m in self.models.items():
            rows.append(
                f"| {VARIANT_TITLES[name]} | {m.relative_error:.4f} | {m.mse_per_pixel:.2e} | "
                f"{m.corr_area:+.4f} | {m.corr_radius:+.4f} | {m.spearman_radius:+.4f} |"
            )
        p, h = self.profiles, self.homogeneity
        rows += [
            "",
            "| bias-free decoder | value |",
            "|---|---|",
            f"| max ‖D(λz) − λD(z)‖ / max ‖D(z)‖, λ ∈ {h.lambdas} | {h.max_rel_error:.2e} |",
            f"| profile distance learned ↔ numerical optimum | {p.learned_vs_numerical:.4f} |",
            f"| profile distance learned ↔ Airy | {p.learned_vs_airy:.4f} |",
            f"| profile distance numerical optimum ↔ Airy | {p.numerical_vs_airy:.2e} |",
            f"| Airy k (f(R) = 0 at R = {p.radius:g}) | {p.k:.3e} |",
        ]
        finals = self.models["no_bias"].restart_losses
        if len(finals) > 1:
            rows.append(
                f"| final loss of each initialisation (the lowest kept) | "
                f"{', '.join(f'{f:.4g}' for f in finals)} |"
            )
        return "\n".join(rows)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def _train(spec: dict, data: Disks, scale: DiskScale, seed: int, store: ModelStore, label: str):
    train = {"steps": scale.steps, "batch_size": scale.batch_size, "lr": scale.lr}
    data_spec = {"name": "disks", **data.config.to_dict()}
    trained = store.train_spec(spec, data_spec, data, train, seed, label=label)
    return trained.model, [r["loss"] for r in trained.records], trained.seconds


def final_loss(losses: list[float]) -> float:
    """The mean loss over the last tenth of a training: what restarts are compared by."""
    tail = losses[-max(len(losses) // 10, 1) :]
    return float(np.mean(tail)) if tail else math.inf


def _train_best(
    spec: dict,
    data: Disks,
    scale: DiskScale,
    seed: int,
    store: ModelStore,
    label: str,
    restarts: int,
):
    """Train ``restarts`` initialisations (seeds ``seed`` + r; the first keeps the plain label,
    so a run folder from before restarts keeps its model) and keep the lowest final loss."""
    runs = [
        _train(spec, data, scale, seed + r, store, label if r == 0 else f"{label}-restart{r}")
        for r in range(restarts)
    ]
    finals = [final_loss(losses) for _, losses, _ in runs]
    model, losses, _ = runs[int(np.argmin(finals))]
    return model, losses, sum(seconds for _, _, seconds in runs), finals


def reproduce_disk(
    settings: DiskScale, store: ModelStore | None = None, seed: int = 0
) -> DiskResult:
    """Train the disk autoencoders at ``settings`` (in ``store``; default: in memory) and
    measure code, homogeneity and profile."""
    t0 = time.perf_counter()
    scale, store = settings, store or ModelStore()
    store.expect(len(VARIANTS) - 1 + scale.bias_free_restarts)
    data = Disks(DisksConfig(n=scale.images, size=scale.size, seed=seed))
    radii = data.factors[:, 0].numpy()
    order = np.argsort(radii)
    show = torch.as_tensor(order[np.linspace(0, len(order) - 1, 8).round().astype(int)])
    models, codes, examples = {}, {}, {"input": data.x[show]}
    homogeneity = profiles = None
    for name, (bias, contractive) in VARIANTS.items():
        contraction = scale.contraction if contractive else 0.0
        spec = disk_autoencoder_spec(scale.size, scale.channels, bias, contraction=contraction)
        restarts = 1 if bias else scale.bias_free_restarts
        model, losses, seconds, finals = _train_best(spec, data, scale, seed, store, name, restarts)
        with torch.no_grad():
            z = model.representation(data.x)
            rec = model.reconstruct(data.x)
        code = z[:, 0].double().numpy()
        models[name] = DiskModelResult(
            bias=bias,
            relative_error=float(((rec - data.x) ** 2).sum() / (data.x**2).sum()),
            mse_per_pixel=float(((rec - data.x) ** 2).mean()),
            corr_area=_pearson(code, radii**2),
            corr_radius=_pearson(code, radii),
            spearman_radius=float(stats.spearmanr(code, radii).statistic),
            seconds=seconds,
            losses=losses,
            contraction=contraction,
            restart_losses=finals,
        )
        codes[name], examples[name] = code, rec[show]
        if not bias:
            homogeneity = check_homogeneity(model.decode, z)
            sign = 1.0 if np.median(code) >= 0 else -1.0
            with torch.no_grad():
                unit = model.decode(torch.tensor([[sign]]))[0, 0]
            examples["profile_image"] = unit
            mid = (scale.size - 1) / 2
            profiles = compare_profiles(unit, (mid, mid), data.config.radius_max)
    assert homogeneity is not None and profiles is not None
    return DiskResult(
        scale=scale,
        seed=seed,
        models=models,
        homogeneity=homogeneity,
        profiles=profiles,
        seconds=time.perf_counter() - t0,
        examples=examples,
        codes=codes,
        radii=radii,
    )


def write_disk_outputs(result: DiskResult, out: str | Path) -> Path:
    """results.json, table.md, figures and report.html into ``out``."""
    from ...experiments.result_files import write_result_files
    from ...viz.curves import plot_loss_panels
    from ...viz.geometry_plots import plot_code_vs_size, plot_profiles
    from ...viz.images import plot_reconstructions
    from ...viz.reproduction import markdown_tables_html, write_reproduction_report

    write_result_files(result, out)
    s, ex = result.scale, result.examples
    radius_labels = [
        f"r = {r:.1f}"
        for r in np.sort(result.radii)[np.linspace(0, len(result.radii) - 1, 8).round().astype(int)]
    ]
    figures = [
        (
            f"reconstructions-{name}",
            f"Reconstructions, {VARIANT_TITLES[name]}",
            "Disks of increasing radius (top) through the one-number code and back (bottom).",
            plot_reconstructions(ex["input"], ex[name].clamp(0, 1), n=8, labels=radius_labels),
        )
        for name in VARIANTS
    ]
    figures.append(
        (
            "code-vs-size",
            "The code against the area r²",
            "Each point one training disk; slide 13: the encoder integrates, so the code follows "
            "the area.",
            plot_code_vs_size(result.radii, result.codes, VARIANT_TITLES),
        )
    )
    p = result.profiles
    figures.append(
        (
            "profiles",
            "Decoded profile, numerical optimum and Airy (slide 18)",
            f"Radial profile of D(±1) of the bias-free decoder against the maximiser of eq. 3 and "
            f"Airy's solution of eq. 8 with f(R) = 0, R = {p.radius:g}; all scaled to unit "
            "ρ-weighted norm.",
            plot_profiles(p),
        )
    )
    figures.append(
        (
            "losses",
            "Training loss",
            "Squared error summed over the image, per step (block means).",
            plot_loss_panels(
                {"loss": {VARIANT_TITLES[k]: m.losses for k, m in result.models.items()}}
            ),
        )
    )
    bias, free = result.models["bias"], result.models["no_bias"]

    def closer(m: DiskModelResult) -> str:
        return "the area r² more" if abs(m.corr_area) > abs(m.corr_radius) else "the radius more"

    contractive = result.models.get("contractive")
    footnote = (
        f" With the contractive loss of slide 13's footnote (λ = {contractive.contraction:g}) "
        f"the code follows {closer(contractive)} closely (corr(z, r²) = "
        f"{contractive.corr_area:+.3f}, corr(z, r) = {contractive.corr_radius:+.3f}; relative "
        f"error {contractive.relative_error:.4f})."
        if contractive is not None
        else ""
    )
    lead = (
        f"With biases the one-number code reconstructs disks to a relative error of "
        f"{bias.relative_error:.4f} and follows {closer(bias)} closely (corr(z, r²) = "
        f"{bias.corr_area:+.3f}, corr(z, r) = {bias.corr_radius:+.3f}, Spearman(z, r) = "
        f"{bias.spearman_radius:+.3f}).{footnote} Without biases the decoder is positively "
        f"homogeneous on the trained weights (largest relative deviation "
        f"{result.homogeneity.max_rel_error:.1e}), so every output is a scaled copy of one "
        f"profile (relative error {free.relative_error:.3f}); that profile is at distance "
        f"{p.learned_vs_airy:.3f} from Airy's solution and {p.learned_vs_numerical:.3f} from the "
        f"numerical optimum, which agree with each other to {p.numerical_vs_airy:.1e}."
    )
    return write_reproduction_report(
        out,
        title="Geometry of autoencoding: size (slides 8-20)",
        subtitle="A disk autoencoder with a one-number latent, its bias-free ablation and the "
        "Airy profile.",
        facts={
            "images": f"{s.images} disks, {s.size}×{s.size}",
            "latent": "d = 1",
            "steps": f"{s.steps:,}",
            "time": f"{result.seconds:.0f} s",
        },
        settings={
            "experiment": "slides-disk",
            **s.__dict__,
            "seed": result.seed,
        },
        lead=lead,
        tables_html=markdown_tables_html(result.to_markdown()),
        figures=figures,
    )
