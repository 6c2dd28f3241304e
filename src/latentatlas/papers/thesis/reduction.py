"""Reproduce thesis table 9.2: Δ-reductions between R², S¹ and the benchmark's Φ (ch. 9.4).

The thesis trains the baseline VAE (R²) and the diffusion VAE (S¹) on X_0.1 with σX = 0.01, adds
the benchmark's own generator (Φ, its phases with noise σ = 0.1) and fits every map of table 9.1
three times (10 000 epochs of L = 10 000 prior samples each), reporting Δ (eq. 9.2) as mean ±
standard deviation. Here the two VAEs train with the schedule of the table reproductions
(:mod:`latentatlas.papers.thesis.tables`) and the maps with Algorithm 2 as implemented in
:func:`~latentatlas.analysis.reduction.fit_reduction`.

Two things beyond the thesis's protocol. The VAE pair is trained from ``model_seeds`` seeds and
every Δ is the mean ± std over model seeds × map fits (one pair of models hides how much Δ
depends on the trained models: three torus VAEs with losses within 0.04 nat gave Δ 488-1222).
And beside Δ by eq. 9.2 as printed, every map's Δ is also given with one common σ and no
constant term, E/(2σ²) (``common_sigma``, default 0.1): the convention the printed values fit —
with σX = 0.01 for the VAEs and σ = 0.1 for Φ, eq. 9.2's constant alone is 45.2 into Φ and 1180
out of Φ, above every printed entry (docs/reduction.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from html import escape as _esc
from pathlib import Path
from typing import Any

import torch

from ...analysis.reduction import LOSS_STRIDE, DeltaTable, delta_table
from ...experiments.model_store import ModelStore
from ...models.ground_truth import GroundTruthModel
from ...train import RunConfig, build_dataset
from .tables import QUICK_STEPS, parse_entry, sine_benchmark_spec

FULL_STEPS = 20_000
#: prior samples L per update of Algorithm 2 (the thesis: 10 000, §9.4)
MAP_SAMPLES = 1000


@dataclass(frozen=True)
class ReductionScale:
    """The size of the table-9.2 reproduction: VAE training, map fitting, data."""

    vae_steps: int
    reduction_steps: int
    repetitions: int = 3
    n: int = 10_000
    eval_samples: int = 10_000
    model_seeds: int = 3
    sigma_x: float = 0.01
    common_sigma: float = 0.1
    affine: bool = True
    """the maps into R² (S¹ → R², Φ → R²) as C·e(z) + b: the R² codes sit near (0.5, 0.5), out
    of reach of table 9.1's plain C·z (false: the printed family)"""


SCALES = {
    "quick": ReductionScale(QUICK_STEPS, 50, n=2000, eval_samples=2000, model_seeds=1),
    "full": ReductionScale(FULL_STEPS, 1000),
}
COMMON_SIGMA_SCALES = {name: replace(s, sigma_x=s.common_sigma) for name, s in SCALES.items()}
"""The scales of ``thesis-table-9.2-sigma-0.1``: table 9.2 read as one σ for all three models.
No σ with eq. 9.2's constant term gives the printed values (with σ₁ = 0.01 and σ₂ = 0.1 the
constant alone is 45.2 into Φ and 1180 out of Φ, above the printed 6.59 and 13.77); they fit
Δ ≈ E/(2σ²) with one σ = 0.1 and no constant (docs/reduction.md). So the VAEs train with
σX = 0.1, the benchmark generator's own σ, and the table's common-σ column is the one to compare."""
NAMES = ("R²", "S¹", "Φ")

#: Thesis table 9.2 as printed: (source, target) → "mean ± std".
THESIS_TABLE_9_2: dict[tuple[str, str], str] = {
    ("R²", "S¹"): "91.36 ± 2.16",
    ("R²", "Φ"): "70.62 ± 2.04",
    ("S¹", "R²"): "10.37 ± 0.23",
    ("S¹", "Φ"): "13.45 ± 0.36",
    ("Φ", "R²"): "6.59 ± 0.22",
    ("Φ", "S¹"): "13.77 ± 0.22",
}


@dataclass
class ReductionTableResult:
    """Our Δ table (three repetitions per map) beside table 9.2."""

    table: DeltaTable
    steps: int
    reduction_steps: int
    seconds: float
    sigma_x: float = 0.01
    common_sigma: float = 0.1
    model_seeds: list[int] = field(default_factory=lambda: [0])
    codes: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    phases: torch.Tensor | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for (a, b), thesis in THESIS_TABLE_9_2.items():
            mean, std = self.table.mean_std(a, b)
            common, common_std = self.table.mean_std(a, b, self.common_sigma)
            rows.append(
                {
                    "source": a,
                    "target": b,
                    "ours": {"mean": mean, "std": std},
                    "common_sigma": {"mean": common, "std": common_std},
                    "per_model_seed": self.table.per_group(a, b),
                    "thesis": thesis,
                    "family": self.table.runs[(a, b)][0].family,
                }
            )
        return {
            "table": "9.2",
            "vae_steps": self.steps,
            "reduction_steps": self.reduction_steps,
            "sigma_x": self.sigma_x,
            "common_sigma": self.common_sigma,
            "model_seeds": list(self.model_seeds),
            "seconds": self.seconds,
            "rows": rows,
            "runs": self.table.to_dict(LOSS_STRIDE),
        }

    def to_markdown(self) -> str:
        sigma = f"{self.common_sigma:g}"
        lines = [
            f"| Z₁ → Z₂ | family | Δ eq. 9.2 (ours) | Δ common σ = {sigma} (ours) | Δ (thesis) |",
            "|---|---|---|---|---|",
        ]
        for (a, b), thesis in THESIS_TABLE_9_2.items():
            mean, std = self.table.mean_std(a, b)
            common, common_std = self.table.mean_std(a, b, self.common_sigma)
            family = self.table.runs[(a, b)][0].family
            lines.append(
                f"| {a} → {b} | {family} | {mean:.2f} ± {std:.2f} | "
                f"{common:.2f} ± {common_std:.2f} | {thesis} |"
            )
        return "\n".join(lines)


def reproduce_reduction_table(
    settings: ReductionScale, store: ModelStore | None = None, seed: int = 0
) -> ReductionTableResult:
    """Train the VAE pair of ch. 9.4 from ``model_seeds`` seeds (``seed``, ``seed + 1``, …) in
    ``store`` (default: in memory) and fit table 9.2's maps between each pair and Φ
    (``repetitions`` fits each). The codes of the figure are those of the first seed."""
    s, store = settings, store or ModelStore()
    steps, reduction_steps = s.vae_steps, s.reduction_steps
    t0 = time.perf_counter()
    store.expect(2 * s.model_seeds)
    seeds = [seed + k for k in range(s.model_seeds)]
    tables, first = [], None
    for model_seed in seeds:
        models, dataset = {}, None
        for name, model in (("R²", "vae"), ("S¹", "diffusion_vae")):
            spec = sine_benchmark_spec(model, 0.1, s.sigma_x, steps, seed=model_seed, n=s.n)
            config = RunConfig.from_dict(spec)
            dataset = dataset or build_dataset(config)
            models[name] = store.train(config, dataset, label=f"{model}-seed{model_seed}").model
        models["Φ"] = GroundTruthModel(dataset)
        first = first or (models, dataset)
        # each model seed its own fit seeds (delta_table uses seed, seed + 1, …)
        fit_seed = seed + (model_seed - seed) * s.repetitions
        tables.append(
            delta_table(
                models,
                repetitions=s.repetitions,
                seed=fit_seed,
                steps=reduction_steps,
                samples=MAP_SAMPLES,
                eval_samples=s.eval_samples,
                affine=s.affine,
            )
        )
    table = DeltaTable.pool(tables)
    models, dataset = first
    batch = dataset.evaluation_set()
    with torch.no_grad():
        codes = {name: models[name].representation(batch.x) for name in ("R²", "S¹")}
    codes["Φ"] = batch.factors.float()
    seconds = time.perf_counter() - t0
    return ReductionTableResult(
        table,
        steps,
        reduction_steps,
        seconds,
        s.sigma_x,
        s.common_sigma,
        seeds,
        codes,
        batch.factors[:, 0],
    )


def write_reduction_outputs(result: ReductionTableResult, out: str | Path) -> Path:
    """results.json, table.md and report.html (the table and fig. 9.5) into ``out``."""
    from ...experiments.result_files import write_result_files
    from ...viz.reduction_plots import plot_reduction_grid
    from ...viz.reproduction import write_reproduction_report

    out = Path(out)
    write_result_files(result, out)
    rows = []
    for (a, b), thesis in THESIS_TABLE_9_2.items():
        mean, std = result.table.mean_std(a, b)
        common, common_std = result.table.mean_std(a, b, result.common_sigma)
        family = result.table.runs[(a, b)][0].family
        rows.append(
            f'<tr><th scope="row">{_esc(a)} → {_esc(b)}</th><td>{_esc(family)}</td>'
            f'<td class="num ours">{mean:.2f} ± {std:.2f}</td>'
            f'<td class="num ours">{common:.2f} ± {common_std:.2f}</td>'
            f'<td class="num">{_esc(thesis)}</td></tr>'
        )
    tables = (
        '    <div class="card table-wrap"><table class="metrics"><caption>Thesis table 9.2, ours '
        'beside it</caption><thead><tr><th scope="col">Z₁ → Z₂</th><th scope="col">map</th>'
        '<th scope="col" class="ours">Δ eq. 9.2 (ours)</th><th scope="col" class="ours">Δ, '
        f"common σ = {result.common_sigma:g} (ours)</th>"
        '<th scope="col">Δ (thesis)</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    ratio_ours = result.table.mean_std("R²", "S¹")[0] / result.table.mean_std("S¹", "R²")[0]
    ratio_thesis = (
        parse_entry(THESIS_TABLE_9_2[("R²", "S¹")])[0]
        / parse_entry(THESIS_TABLE_9_2[("S¹", "R²")])[0]
    )
    fits = len(next(iter(result.table.runs.values())))
    lead = (
        "Δ (eq. 9.2) of the best map of table 9.1's family from Z₁ into Z₂, mean ± standard "
        f"deviation over {fits} fits ({len(result.model_seeds)} model seed(s) × "
        f"{fits // max(len(result.model_seeds), 1)} fits of Algorithm 2), between the baseline "
        "VAE (R²) and the diffusion VAE (S¹), both trained on X<sub>0.1</sub> with "
        f"σ<sub>X</sub> = {result.sigma_x:g} (the thesis: 0.01), and the benchmark's generator "
        f"(Φ, σ = 0.1). Beside it, Δ of the same fits with one common σ = "
        f"{result.common_sigma:g} for all models and no constant term, E/(2σ²), the convention "
        "the printed values fit (docs/reduction.md). "
        + (
            "The maps into R² have a bias, C·e(z) + b (the map column says so): table 9.1 "
            "writes plain C·z, which cannot reach codes centred near (0.5, 0.5); the errata allow "
            "it. "
            if any("bias" in r[0].family for r in result.table.runs.values())
            else ""
        )
        + "The VAEs trained "
        f"{result.steps:,} steps, each map "
        f"{result.reduction_steps:,} steps of {MAP_SAMPLES} prior samples "
        f"({result.seconds:.0f} s in all). "
        f"The ratio Δ(R²→S¹) / Δ(S¹→R²) is {ratio_ours:.2g} here and {ratio_thesis:.2g} in the "
        "thesis; the values depend on the trained models (see docs/reduction.md)."
    )
    codes = result.codes
    figures = []
    if codes:
        reductors = {pair: runs[0].reductor for pair, runs in result.table.runs.items()}
        figures.append(
            (
                "reduction_grid",
                "Mapped latent representations (thesis fig. 9.5)",
                "Row i, column j: X<sub>Vis</sub> in space j (grey) and space i's codes mapped "
                "into j (crosses, hued by the phase).",
                plot_reduction_grid(
                    codes,
                    {"R²": False, "S¹": True, "Φ": True},
                    reductors,
                    hue=result.phases,
                    hue_label="phase",
                ),
            )
        )
    return write_reproduction_report(
        out,
        title="Thesis table 9.2",
        subtitle="Δ-reductions between R², S¹ and the benchmark's Φ (thesis ch. 9).",
        facts={
            "maps": f"6 × {fits} fits",
            "VAE steps": f"{result.steps:,}",
            "time": f"{result.seconds:.0f} s",
        },
        settings={
            "table": "9.2",
            "vae_steps": result.steps,
            "reduction_steps": result.reduction_steps,
            "sigma_x": result.sigma_x,
            "model_seeds": len(result.model_seeds),
        },
        lead=lead,
        tables_html=tables,
        figures=figures,
    )
