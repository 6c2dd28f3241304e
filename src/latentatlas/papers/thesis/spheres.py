"""The thesis's further work on a spherical factor (ch. 12): a Euclidean VAE, the diffusion VAE
on S² and the von Mises-Fisher and Power Spherical VAEs on the lit ball, compared as ch. 10-11
compare the baseline and the diffusion VAE on circles.

Ch. 12 proposes to "extend the variational autoencoders to incorporate other geometries" and to
"compare ... the parametric family of distributions of the diffusion variational autoencoder
with respect to other ... distributions from literature"; the thesis runs neither, so nothing
here is a number from it. The study transfers two findings: ch. 10's closed loop (a diffusion
VAE whose latent space matches the factor's recovers it one-to-one — on S² a map of degree ±1
from the light direction to the codes, :mod:`latentatlas.analysis.sphere_maps`), and §11.5's
ordering of Δ (the map out of the baseline's Euclidean space needs the larger Δ).

Every model has the same encoder and decoder (``layers`` dense layers of ``hidden`` units),
σX = 0.1 and the training of the ch. 10 studies (batch 100, Adam with a cosine decay). Each kind
is trained from ``restarts`` initialisations as one ensemble and the lowest-loss one is kept,
as the ch. 10-11 studies do; Δ is fitted between the kept models of every pair of kinds.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...analysis.evaluation import evaluate
from ...analysis.reduction import LOSS_STRIDE, DeltaTable, delta_table
from ...analysis.sphere_maps import sphere_map_summary
from ...data.synthetic.lit_sphere import factors_of_directions, light_directions
from ...experiments.model_store import ModelStore
from ...train import RunConfig, build_dataset
from .tables import METRIC_TITLES, METRICS

SIGMA_X = 0.1
FOLDED_AT_MOST = 0.05
"""A map counts as one-to-one with degree ±1 and at most this fraction of folded triangles."""

KINDS: dict[str, tuple[str, dict]] = {
    "euclidean": ("R³", {"name": "vae", "latent": {"name": "euclidean", "dim": 3}}),
    "heat": ("S² heat kernel", {"name": "diffusion_vae", "latent": {"name": "sphere", "dim": 2}}),
    "von_mises_fisher": (
        "S² vMF",
        {"name": "vae", "latent": {"name": "sphere", "dim": 2, "posterior": "von_mises_fisher"}},
    ),
    "power_spherical": (
        "S² Power Spherical",
        {"name": "vae", "latent": {"name": "sphere", "dim": 2, "posterior": "power_spherical"}},
    ),
}
"""kind → (the name of its latent space in tables, its model spec)."""
SPHERE_KINDS = ("heat", "von_mises_fisher", "power_spherical")


@dataclass(frozen=True)
class SphereScale:
    """The size of one scale of the study."""

    dataset: dict
    hidden: int
    steps: int
    reduction_steps: int
    restarts: int = 1
    repetitions: int = 2
    """fits of each reduction map"""
    eval_samples: int = 2000
    layers: int = 2
    lr: float = 1e-3


SCALES = {
    "quick": SphereScale(
        {"name": "lit_sphere", "n": 600, "size": 12, "n_vis": 300},
        hidden=64,
        steps=300,
        reduction_steps=40,
        repetitions=1,
        eval_samples=1000,
    ),
    "full": SphereScale(
        {"name": "lit_sphere", "n": 2000, "size": 24, "n_vis": 500},
        hidden=256,
        steps=4000,
        reduction_steps=300,
        restarts=3,
    ),
}
PROTOCOL = (
    "the thesis proposes this study as further work (ch. 12) and runs none; the scales are the "
    "library's own declaration"
)


def run_spec(kind: str, scale: SphereScale, seed: int) -> dict:
    """The run spec of one model of ``kind``."""
    net = {"name": "mlp", "hidden": [scale.hidden] * scale.layers}
    model = dict(KINDS[kind][1])
    model.update(encoder=net, decoder=net, likelihood={"name": "gaussian", "sigma": SIGMA_X})
    return {
        "dataset": dict(scale.dataset),
        "model": model,
        "train": {
            "steps": scale.steps,
            "batch_size": 100,
            "lr": scale.lr,
            "schedule": "cosine",
            "min_lr_ratio": 0.02,
            "progress": False,
        },
        "seed": seed,
    }


@dataclass
class SphereStudyResult:
    """Metrics and map summaries per model, and the Δ table between the kept models."""

    scale: SphereScale
    seconds: float
    members: list[dict[str, Any]]
    deltas: DeltaTable
    models: dict[str, torch.nn.Module] = field(default_factory=dict, repr=False)
    evaluation: Any = field(default=None, repr=False)

    def kept(self) -> list[dict[str, Any]]:
        return [m for m in self.members if m["kept"]]

    def delta_rows(self) -> list[dict[str, Any]]:
        rows = []
        for (a, b), runs in self.deltas.runs.items():
            mean, std = self.deltas.mean_std(a, b)
            rows.append(
                {
                    "source": a,
                    "target": b,
                    "family": runs[0].family,
                    "ours": {"mean": mean, "std": std},
                    "constant_term": statistics.fmean(r.constant_term for r in runs),
                }
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        s = self.scale
        return {
            "experiment": "thesis-sphere",
            "dataset": dict(s.dataset),
            "sigma_x": SIGMA_X,
            "layers": s.layers,
            "hidden": s.hidden,
            "steps": s.steps,
            "restarts": s.restarts,
            "reduction_steps": s.reduction_steps,
            "folded_at_most": FOLDED_AT_MOST,
            "seconds": self.seconds,
            "models": self.members,
            "delta": self.delta_rows(),
            "runs": self.deltas.to_dict(LOSS_STRIDE),
        }

    def to_markdown(self) -> str:
        lines = [
            "| model | seed | kept | "
            + " | ".join(METRIC_TITLES[m] for m in METRICS)
            + " | degree | folded | aligned error (°) |",
            "|---" * (6 + len(METRICS)) + "|",
        ]
        for m in self.members:
            cells = " | ".join(f"{m['ours'][k]:.4g}" for k in METRICS)
            sphere = m["sphere_map"]
            lines.append(
                f"| {m['latent']} | {m['seed']} | {'yes' if m['kept'] else ''} | {cells} | "
                f"{sphere['degree']} | {sphere['folded']:.1%} | "
                f"{sphere['aligned_error'] * 180 / torch.pi:.1f} |"
            )
        lines += ["", "| Z₁ → Z₂ | map | Δ | constant term |", "|---|---|---|---|"]
        for row in self.delta_rows():
            ours = f"{row['ours']['mean']:.4g} ± {row['ours']['std']:.2g}"
            lines.append(
                f"| {row['source']} → {row['target']} | {row['family']} | {ours} | "
                f"{row['constant_term']:.2f} |"
            )
        return "\n".join(lines)


def _codes(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Posterior locations; a Euclidean model's codes are centred, so their directions are
    taken about their mean."""
    with torch.no_grad():
        codes = model.representation(x).double()
    if model.latent.manifold_dim == model.latent.dim:  # R³, not a sphere
        codes = codes - codes.mean(0)
    return codes


def reproduce_sphere_study(
    settings: SphereScale, store: ModelStore | None = None, seed: int = 0
) -> SphereStudyResult:
    """Train every kind (``restarts`` initialisations each, one ensemble per kind, in
    ``store``), evaluate every model (L = 100) and the degree of its map from light direction to
    code on the evaluation lattice, keep each kind's lowest-loss model, and fit Δ between the
    kept models of every ordered pair of kinds (``repetitions`` fits each)."""
    scale, store = settings, store or ModelStore()
    t0 = time.perf_counter()
    dataset = build_dataset(RunConfig.from_dict(run_spec("euclidean", scale, seed)))
    batch = dataset.evaluation_set()
    directions = light_directions(batch.factors)
    store.expect(len(KINDS) * scale.restarts)
    members: list[dict[str, Any]] = []
    kept: dict[str, torch.nn.Module] = {}
    for kind, (space, _) in KINDS.items():
        seeds = [seed + r for r in range(scale.restarts)]
        configs = [RunConfig.from_dict(run_spec(kind, scale, s)) for s in seeds]
        trained = store.train_ensemble(configs, [f"{kind}-seed{s}" for s in seeds])
        tenth = max(trained.losses.shape[0] // 10, 1)
        final = trained.losses[-tenth:].mean(0)
        best = int(torch.argmin(final))
        for k, model in enumerate(trained.models):
            values = evaluate(model, batch.x, n_samples=100, seed=seed).to_dict()
            summary = sphere_map_summary(directions, _codes(model, batch.x))
            members.append(
                {
                    "model": kind,
                    "latent": space,
                    "seed": seeds[k],
                    "kept": k == best,
                    "final_loss": float(final[k]),
                    "ours": {m: float(values[m]) for m in METRICS},
                    "sphere_map": summary.to_dict(),
                }
            )
        kept[space] = trained.models[best]
    deltas = delta_table(
        kept,
        repetitions=scale.repetitions,
        seed=seed,
        steps=scale.reduction_steps,
        samples=500,
        eval_samples=scale.eval_samples,
    )
    return SphereStudyResult(
        scale=scale,
        seconds=time.perf_counter() - t0,
        members=members,
        deltas=deltas,
        models=kept,
        evaluation=(batch, directions),
    )


def write_sphere_study(result: SphereStudyResult, out: str | Path) -> Path:
    """results.json, table.md and report.html (tables and the codes on their spheres)."""
    from ...experiments.result_files import write_result_files
    from ...viz.reproduction import (
        delta_table_html,
        markdown_tables_html,
        write_reproduction_report,
    )
    from ...viz.sphere_plots import plot_codes_on_spheres

    out = Path(out)
    write_result_files(result, out)
    batch, directions = result.evaluation
    factors = factors_of_directions(directions).numpy()
    hues = [("azimuth", factors[:, 0], True), ("elevation", factors[:, 1], False)]
    panels = [(space, _codes(model, batch.x), hues) for space, model in result.models.items()]
    figure = plot_codes_on_spheres(panels)
    s = result.scale
    return write_reproduction_report(
        out,
        title="Thesis ch. 12 (further work): a factor on S²",
        subtitle=(
            "A Euclidean VAE (R³), the diffusion VAE on S² and the von Mises-Fisher and Power "
            "Spherical VAEs on the lit ball, and the Δ-reductions between them."
        ),
        facts={
            "models": str(len(result.members)),
            "steps": f"{s.steps:,}",
            "hidden": f"{s.layers} × {s.hidden}",
            "time": f"{result.seconds:.0f} s",
        },
        settings={"experiment": "thesis-sphere", **result.to_dict()["dataset"], "steps": s.steps},
        lead=(
            "<p>Each model's −ELBO terms on the evaluation lattice, the degree of its map from "
            "the light direction to its code (±1: the codes cover the sphere once; a Euclidean "
            "model's codes are read as directions about their mean), the fraction of folded "
            "triangles, and the mean angle left after the best orthogonal alignment.</p>"
        ),
        tables_html=markdown_tables_html(result.to_markdown().split("\n\n")[0])
        + delta_table_html(result.deltas),
        figures=[
            (
                "codes",
                "Codes of the evaluation lattice",
                "Each kept model's codes, coloured by the light's azimuth (top) and elevation "
                "(bottom).",
                figure,
            )
        ],
    )
