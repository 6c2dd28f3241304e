"""The thesis's further work on factors beyond the circle (ch. 12): on S², a Euclidean VAE, the
diffusion VAE and the von Mises-Fisher and Power Spherical VAEs on the lit ball; on SO(3), a
Euclidean VAE and the diffusion VAE on the tumbling object — compared as ch. 10-11 compare the
baseline and the diffusion VAE on circles. One :class:`GeometryStudy` declares each.

Ch. 12 proposes to "extend the variational autoencoders to incorporate other geometries" and to
"compare ... the parametric family of distributions of the diffusion variational autoencoder
with respect to other ... distributions from literature"; the thesis runs neither, so nothing
here is a number from it. The study transfers two findings: ch. 10's closed loop (a diffusion
VAE whose latent space matches the factor's recovers it one-to-one — on S² a map of degree ±1
from the light direction to the codes, :mod:`latentatlas.analysis.sphere_maps`), and §11.5's
ordering of Δ (the map out of the baseline's Euclidean space needs the larger Δ). On SO(3) a
degree is not at hand; the first finding is read as: the diffusion VAE's codes are the rotation
up to fixed rotations (:mod:`latentatlas.analysis.rotation_maps`) more closely than the
Euclidean VAE's normalised codes are.

Every model has the same encoder and decoder (``layers`` dense layers of ``hidden`` units),
σX = 0.1 and the training of the ch. 10 studies (batch 100, Adam with a cosine decay). Each kind
is trained from ``restarts`` initialisations as one ensemble and the lowest-loss one is kept,
as the ch. 10-11 studies do; Δ is fitted between the kept models of every pair of kinds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...analysis.evaluation import evaluate
from ...analysis.reduction import LOSS_STRIDE, DeltaTable, delta_table
from ...analysis.rotation_maps import rotation_map_summary
from ...analysis.sphere_maps import sphere_map_summary
from ...data.synthetic.lit_sphere import factors_of_directions, light_directions
from ...data.synthetic.rotating_object import TumblingObject
from ...experiments.model_store import ModelStore
from ...rotations import rotation_matrix
from ...train import RunConfig, build_dataset
from .studies import study_training
from .tables import METRIC_TITLES, METRICS

SIGMA_X = 0.1
FOLDED_AT_MOST = 0.05
"""A map counts as one-to-one with degree ±1 and at most this fraction of folded triangles."""


@dataclass(frozen=True)
class SphereScale:
    """The size of one scale of a study."""

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


@dataclass(frozen=True)
class GeometryStudy:
    """One study: its data's scales, the kinds of model (latent label, model spec), how a
    trained model's map from factor to code is summarised (``summarise(model, batch) ->
    {key: summary}``), the table's columns of that summary and the report's figure."""

    name: str
    title: str
    kinds: dict[str, tuple[str, dict]]
    scales: dict[str, SphereScale]
    summarise: Callable[[torch.nn.Module, Any], dict[str, dict]]
    columns: tuple[tuple[str, Callable[[dict], str]], ...]
    figure: Callable[[Any], Any]
    lead: str


PROTOCOL = (
    "the thesis proposes this study as further work (ch. 12) and runs none; the scales are the "
    "library's own declaration"
)


def _codes(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Posterior locations; a Euclidean model's codes are centred, so their directions are
    taken about their mean."""
    with torch.no_grad():
        codes = model.representation(x).double()
    if model.latent.manifold_dim == model.latent.dim:  # Euclidean, not a sphere
        codes = codes - codes.mean(0)
    return codes


# -- S²: the lit ball --------------------------------------------------------------------------
def _sphere_summary(model: torch.nn.Module, batch: Any) -> dict[str, dict]:
    summary = sphere_map_summary(light_directions(batch.factors), _codes(model, batch.x))
    return {"sphere_map": summary.to_dict()}


def _sphere_figure(result: StudyResult):
    from ...viz.sphere_plots import plot_codes_on_spheres

    factors = factors_of_directions(light_directions(result.evaluation.factors)).numpy()
    hues = [("azimuth", factors[:, 0], True), ("elevation", factors[:, 1], False)]
    panels = [
        (space, _codes(model, result.evaluation.x), hues) for space, model in result.models.items()
    ]
    return (
        "codes",
        "Codes of the evaluation lattice",
        "Each kept model's codes, coloured by the light's azimuth (top) and elevation (bottom).",
        plot_codes_on_spheres(panels),
    )


SPHERE = GeometryStudy(
    name="thesis-sphere",
    title="a factor on S²",
    kinds={
        "euclidean": ("R³", {"name": "vae", "latent": {"name": "euclidean", "dim": 3}}),
        "heat": (
            "S² heat kernel",
            {"name": "diffusion_vae", "latent": {"name": "sphere", "dim": 2}},
        ),
        "von_mises_fisher": (
            "S² vMF",
            {
                "name": "vae",
                "latent": {"name": "sphere", "dim": 2, "posterior": "von_mises_fisher"},
            },
        ),
        "power_spherical": (
            "S² Power Spherical",
            {"name": "vae", "latent": {"name": "sphere", "dim": 2, "posterior": "power_spherical"}},
        ),
    },
    scales={
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
    },
    summarise=_sphere_summary,
    columns=(
        ("degree", lambda m: str(m["sphere_map"]["degree"])),
        ("folded", lambda m: f"{m['sphere_map']['folded']:.1%}"),
        ("aligned error (°)", lambda m: f"{m['sphere_map']['aligned_error'] * 180 / torch.pi:.1f}"),
    ),
    figure=_sphere_figure,
    lead=(
        "<p>Each model's −ELBO terms on the evaluation lattice, the degree of its map from the "
        "light direction to its code (±1: the codes cover the sphere once; a Euclidean model's "
        "codes are read as directions about their mean), the fraction of folded triangles, and "
        "the mean angle left after the best orthogonal alignment.</p>"
    ),
)


# -- SO(3): the tumbling object ----------------------------------------------------------------
def _rotation_summary(model: torch.nn.Module, batch: Any) -> dict[str, dict]:
    codes = torch.nn.functional.normalize(_codes(model, batch.x), dim=-1)
    truth = TumblingObject.rotations(batch.factors)
    return {"rotation_map": rotation_map_summary(truth, rotation_matrix(codes)).to_dict()}


def _rotation_figure(result: StudyResult):
    from ...viz.sphere_plots import plot_aligned_errors

    rows = [
        (f"{m['latent']} (seed {m['seed']})", m["rotation_map"]["aligned_error"] * 180 / torch.pi)
        for m in result.members
    ]
    return (
        "aligned-error",
        "Aligned rotation error per model",
        "Mean angle between each model's code (as a rotation) and the true rotation after the best "
        "map R ↦ A R B or A Rᵀ B, per trained model.",
        plot_aligned_errors(rows),
    )


ROTATION = GeometryStudy(
    name="thesis-rotation",
    title="a factor on SO(3)",
    kinds={
        "euclidean": ("R⁴", {"name": "vae", "latent": {"name": "euclidean", "dim": 4}}),
        "heat": ("SO(3) heat kernel", {"name": "diffusion_vae", "latent": {"name": "rotation"}}),
    },
    scales={
        "quick": SphereScale(
            {"name": "tumbling_object", "n": 500, "size": 16, "supersample": 1, "n_vis": 300},
            hidden=64,
            steps=300,
            reduction_steps=40,
            repetitions=1,
            eval_samples=1000,
        ),
        "full": SphereScale(
            {"name": "tumbling_object", "n": 3000, "size": 24, "n_vis": 500},
            hidden=256,
            steps=4000,
            reduction_steps=300,
            restarts=3,
        ),
    },
    summarise=_rotation_summary,
    columns=(
        (
            "aligned error (°)",
            lambda m: f"{m['rotation_map']['aligned_error'] * 180 / torch.pi:.1f}",
        ),
        ("median (°)", lambda m: f"{m['rotation_map']['median_error'] * 180 / torch.pi:.1f}"),
        ("map", lambda m: "A Rᵀ B" if m["rotation_map"]["inverse"] else "A R B"),
    ),
    figure=_rotation_figure,
    lead=(
        "<p>Each model's −ELBO terms on the evaluation views and how closely its codes, read as "
        "rotations (a Euclidean model's codes normalised to unit quaternions about their mean), "
        "equal the true rotations up to fixed rotations on both sides (about 126° for codes "
        "unrelated to them).</p>"
    ),
)

STUDIES = {s.name: s for s in (SPHERE, ROTATION)}


def run_spec(study: GeometryStudy, kind: str, scale: SphereScale, seed: int) -> dict:
    """The run spec of one model of ``kind``."""
    net = {"name": "mlp", "hidden": [scale.hidden] * scale.layers}
    model = dict(study.kinds[kind][1])
    model.update(encoder=net, decoder=net, likelihood={"name": "gaussian", "sigma": SIGMA_X})
    return {
        "dataset": dict(scale.dataset),
        "model": model,
        "train": study_training(scale.steps, scale.lr),
        "seed": seed,
    }


@dataclass
class StudyResult:
    """Metrics and map summaries per model, and the Δ table between the kept models."""

    study: GeometryStudy
    scale: SphereScale
    seconds: float
    members: list[dict[str, Any]]
    deltas: DeltaTable
    models: dict[str, torch.nn.Module] = field(default_factory=dict, repr=False)
    evaluation: Any = field(default=None, repr=False)

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
            "experiment": self.study.name,
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
        extra = self.study.columns
        lines = [
            "| model | seed | kept | "
            + " | ".join(METRIC_TITLES[m] for m in METRICS)
            + " | "
            + " | ".join(title for title, _ in extra)
            + " |",
            "|---" * (3 + len(METRICS) + len(extra)) + "|",
        ]
        for m in self.members:
            cells = " | ".join(f"{m['ours'][k]:.4g}" for k in METRICS)
            more = " | ".join(cell(m) for _, cell in extra)
            lines.append(
                f"| {m['latent']} | {m['seed']} | {'yes' if m['kept'] else ''} | {cells} | {more} |"
            )
        lines += ["", "| Z₁ → Z₂ | map | Δ | constant term |", "|---|---|---|---|"]
        for row in self.delta_rows():
            ours = f"{row['ours']['mean']:.4g} ± {row['ours']['std']:.2g}"
            lines.append(
                f"| {row['source']} → {row['target']} | {row['family']} | {ours} | "
                f"{row['constant_term']:.2f} |"
            )
        return "\n".join(lines)


def reproduce_geometry_study(
    name: str, settings: SphereScale, store: ModelStore | None = None, seed: int = 0
) -> StudyResult:
    """Train every kind of study ``name`` (``restarts`` initialisations each, one ensemble per
    kind, in ``store``), evaluate every model (L = 100) and summarise its map from factor to
    code on the evaluation set, keep each kind's lowest-loss model, and fit Δ between the kept
    models of every ordered pair of kinds (``repetitions`` fits each)."""
    study, scale, store = STUDIES[name], settings, store or ModelStore()
    t0 = time.perf_counter()
    dataset = build_dataset(RunConfig.from_dict(run_spec(study, "euclidean", scale, seed)))
    batch = dataset.evaluation_set()
    store.expect(len(study.kinds) * scale.restarts)
    members: list[dict[str, Any]] = []
    kept: dict[str, torch.nn.Module] = {}
    for kind, (space, _) in study.kinds.items():
        seeds = [seed + r for r in range(scale.restarts)]
        configs = [RunConfig.from_dict(run_spec(study, kind, scale, s)) for s in seeds]
        trained = store.train_ensemble(configs, [f"{kind}-seed{s}" for s in seeds])
        tenth = max(trained.losses.shape[0] // 10, 1)
        final = trained.losses[-tenth:].mean(0)
        best = int(torch.argmin(final))
        for k, model in enumerate(trained.models):
            values = evaluate(model, batch.x, n_samples=100, seed=seed).to_dict()
            members.append(
                {
                    "model": kind,
                    "latent": space,
                    "seed": seeds[k],
                    "kept": k == best,
                    "final_loss": float(final[k]),
                    "ours": {m: float(values[m]) for m in METRICS},
                    **study.summarise(model, batch),
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
    return StudyResult(
        study=study,
        scale=scale,
        seconds=time.perf_counter() - t0,
        members=members,
        deltas=deltas,
        models=kept,
        evaluation=batch,
    )


def write_geometry_study(result: StudyResult, out: str | Path) -> Path:
    """results.json, table.md and report.html (tables and the study's figure)."""
    from ...experiments.result_files import write_result_files
    from ...viz.reproduction import (
        delta_table_html,
        markdown_tables_html,
        write_reproduction_report,
    )

    out = Path(out)
    write_result_files(result, out)
    s, study = result.scale, result.study
    spaces = ", ".join(space for space, _ in study.kinds.values())
    return write_reproduction_report(
        out,
        title=f"Thesis ch. 12 (further work): {study.title}",
        subtitle=f"VAEs on {spaces}, and the Δ-reductions between them.",
        facts={
            "models": str(len(result.members)),
            "steps": f"{s.steps:,}",
            "hidden": f"{s.layers} × {s.hidden}",
            "time": f"{result.seconds:.0f} s",
        },
        settings={"experiment": study.name, **result.to_dict()["dataset"], "steps": s.steps},
        lead=study.lead,
        tables_html=markdown_tables_html(result.to_markdown().split("\n\n")[0])
        + delta_table_html(result.deltas),
        figures=[study.figure(result)],
    )
