"""Reproduce thesis tables 5.1 (baseline VAE in R²) and 7.1 (diffusion VAE on S¹).

Each table is a 3 × 3 grid — data sets X_σ, σ ∈ {0.01, 0.1, 1}, times decoder σX ∈ {0.01, 0.1, 1}
— of the sine-circle benchmark (ch. 5), five trainings each, evaluated on X_Vis with L = 100
(eq. 5.7-5.10) and reported as mean ± standard deviation. All members of a grid share one
architecture (MLP 25-8-8, sec. 3.5 / 7.2), so they train together as a vectorised ensemble
(:func:`~latentatlas.train.ensemble.train_ensemble`), each exactly as if trained alone.

Training differs from the thesis's 10⁵ epochs at lr 10⁻⁴ (days of CPU): the full mode takes
``FULL_STEPS`` steps of batch 100 with Adam at 3·10⁻³ and a cosine decay (the demo's schedule),
and the report shows that the training loss has plateaued.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...analysis.evaluation import evaluate
from ...errors import ConfigError
from ...experiments.model_store import ModelStore
from ...train import RunConfig, build_dataset

NOISE_LEVELS = (0.01, 0.1, 1.0)
SIGMA_X = (0.01, 0.1, 1.0)
METRICS = ("neg_elbo", "kl", "reconstruction", "mse")
FULL_STEPS = 20_000
QUICK_STEPS = 300


@dataclass(frozen=True)
class TableScale:
    """The size of a table reproduction: trainings per cell, steps, training images."""

    repetitions: int
    steps: int
    n: int = 10_000


SCALES = {
    "quick": TableScale(repetitions=2, steps=QUICK_STEPS, n=2000),
    "full": TableScale(repetitions=5, steps=FULL_STEPS, n=10_000),
}

#: The thesis's tables as printed: (data noise σ, decoder σX) → metric → "mean ± std".
THESIS_TABLES: dict[str, dict[tuple[float, float], dict[str, str]]] = {
    "5.1": {
        (0.01, 0.01): {
            "neg_elbo": "−79.90 ± 0.19",
            "kl": "11.18 ± 0.15",
            "reconstruction": "−91.09 ± 0.04",
            "mse": "(1.59 ± 0.64) × 10⁻⁵",
        },
        (0.01, 0.1): {
            "neg_elbo": "−28.87 ± 0.03",
            "kl": "4.95 ± 0.02",
            "reconstruction": "−33.81 ± 0.02",
            "mse": "(1.68 ± 0.23) × 10⁻³",
        },
        (0.01, 1.0): {
            "neg_elbo": "25.41 ± 0.01",
            "kl": "1.74 ± 0.01",
            "reconstruction": "23.67 ± 0.01",
            "mse": "(4.22 ± 0.34) × 10⁻²",
        },
        (0.1, 0.01): {
            "neg_elbo": "−79.01 ± 0.11",
            "kl": "11.10 ± 0.07",
            "reconstruction": "−90.11 ± 0.08",
            "mse": "(2.08 ± 0.17) × 10⁻⁴",
        },
        (0.1, 0.1): {
            "neg_elbo": "−28.74 ± 0.16",
            "kl": "5.04 ± 0.10",
            "reconstruction": "−33.77 ± 0.06",
            "mse": "(1.52 ± 0.17) × 10⁻³",
        },
        (0.1, 1.0): {
            "neg_elbo": "25.37 ± 0.01",
            "kl": "1.75 ± 0.01",
            "reconstruction": "23.62 ± 0.07",
            "mse": "(4.51 ± 1.08) × 10⁻²",
        },
        (1.0, 0.01): {
            "neg_elbo": "919.28 ± 213.64",
            "kl": "17.53 ± 3.35",
            "reconstruction": "901.75 ± 215.37",
            "mse": "(1.99 ± 0.43) × 10⁻²",
        },
        (1.0, 0.1): {
            "neg_elbo": "−12.99 ± 3.09",
            "kl": "7.79 ± 0.3",
            "reconstruction": "−20.79 ± 2.90",
            "mse": "(2.59 ± 0.59) × 10⁻²",
        },
        (1.0, 1.0): {
            "neg_elbo": "25.53 ± 0.01",
            "kl": "1.79 ± 0.01",
            "reconstruction": "23.74 ± 0.01",
            "mse": "(4.61 ± 0.15) × 10⁻³",
        },
    },
    "7.1": {
        (0.01, 0.01): {
            "neg_elbo": "−84.99 ± 1.49",
            "kl": "3.49 ± 0.21",
            "reconstruction": "−88.48 ± 1.30",
            "mse": "(6.78 ± 2.52) × 10⁻⁴",
        },
        (0.01, 0.1): {
            "neg_elbo": "−32.16 ± 0.29",
            "kl": "2.14 ± 0.29",
            "reconstruction": "−34.30 ± 0.03",
            "mse": "(8.40 ± 7.02) × 10⁻⁴",
        },
        (0.01, 1.0): {
            "neg_elbo": "24.04 ± 0.06",
            "kl": "(7.69 ± 0.01) × 10⁻¹",
            "reconstruction": "23.27 ± 0.06",
            "mse": "(7.26 ± 12.4) × 10⁻¹",
        },
        (0.1, 0.01): {
            "neg_elbo": "−80.96 ± 3.39",
            "kl": "3.47 ± 0.07",
            "reconstruction": "−84.43 ± 3.32",
            "mse": "(1.49 ± 0.66) × 10⁻³",
        },
        (0.1, 0.1): {
            "neg_elbo": "−31.45 ± 1.77",
            "kl": "1.98 ± 0.01",
            "reconstruction": "−33.43 ± 1.77",
            "mse": "(1.83 ± 3.57) × 10⁻²",
        },
        (0.1, 1.0): {
            "neg_elbo": "24.05 ± 0.09",
            "kl": "(7.68 ± 0.01) × 10⁻¹",
            "reconstruction": "23.28 ± 0.09",
            "mse": "(9.51 ± 17.5) × 10⁻²",
        },
        (1.0, 0.01): {
            "neg_elbo": "1849.45 ± 943.38",
            "kl": "5.03 ± 0.33",
            "reconstruction": "1844.42 ± 943.40",
            "mse": "(3.87 ± 1.89) × 10⁻¹",
        },
        (1.0, 0.1): {
            "neg_elbo": "1.32 ± 23.47",
            "kl": "3.20 ± 0.86",
            "reconstruction": "−1.88 ± 22.71",
            "mse": "(6.50 ± 4.54) × 10⁻¹",
        },
        (1.0, 1.0): {
            "neg_elbo": "24.15 ± 0.09",
            "kl": "(7.78 ± 0.06) × 10⁻¹",
            "reconstruction": "23.37 ± 0.09",
            "mse": "(2.86 ± 1.88) × 10⁻¹",
        },
    },
}

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def parse_entry(text: str) -> tuple[float, float]:
    """ "−28.74 ± 0.16" or "(1.52 ± 0.17) × 10⁻³" → (mean, std) as numbers."""
    plain = text.replace("−", "-").translate(_SUPERSCRIPT)
    match = re.fullmatch(r"\(?\s*(-?[\d.]+)\s*±\s*([\d.]+)\s*\)?(?:\s*×\s*10(-?\d+))?", plain)
    if match is None:
        raise ValueError(f"not a table entry: {text!r}")
    scale = 10.0 ** int(match.group(3)) if match.group(3) else 1.0
    return float(match.group(1)) * scale, float(match.group(2)) * scale


def sine_benchmark_spec(
    model: str,
    noise: float,
    sigma_x: float,
    steps: int,
    seed: int = 0,
    n: int = 10_000,
    data_seed: int = 0,
    printed_formulas: bool = False,
) -> dict:
    """The run spec of one cell: the sine circle X_σ (D = 25), MLP 25-8-8 (sec. 3.5), fixed σX,
    batch 100, Adam 3·10⁻³ with a cosine decay to 2 %. ``printed_formulas`` (diffusion VAE
    only): the circle latent with the thesis's printed eq. 7.5 density and eq. 7.10 sampler
    (``thesis_compatible``, see docs/circular.md) instead of the true heat kernel."""
    model_spec = {
        "name": model,
        "encoder": {"name": "mlp", "hidden": [8, 8]},
        "decoder": {"name": "mlp", "hidden": [8, 8]},
        "likelihood": {"name": "gaussian", "sigma": sigma_x},
    }
    if printed_formulas:
        model_spec["latent"] = {"name": "circle", "thesis_compatible": True}
    return {
        "dataset": {"name": "sine_circle", "n": n, "dim": 25, "sigma": noise, "seed": data_seed},
        "model": model_spec,
        "train": {
            "steps": steps,
            "batch_size": 100,
            "lr": 3e-3,
            "schedule": "cosine",
            "min_lr_ratio": 0.02,
            "progress": False,
        },
        "seed": seed,
    }


def loss_change_last_tenth(loss: torch.Tensor) -> float:
    """|mean of the last tenth − mean of the tenth before| / |mean of the tenth before| of a
    loss curve: how much training still moved at the end (the plateau evidence)."""
    tenth = max(len(loss) // 10, 1)
    last, before = loss[-tenth:].mean(), loss[-2 * tenth : -tenth].mean()
    return float((last - before).abs() / before.abs().clamp_min(1e-12))


def table_configs(
    table: str, repetitions: int, steps: int, n: int = 10_000, printed_formulas: bool = False
) -> list[RunConfig]:
    """The grid of one table: for each repetition (seed), data noise and decoder σX
    (``printed_formulas``: table 7.1's grid with the thesis's printed eq. 7.5 / 7.10)."""
    if table not in THESIS_TABLES:
        raise ConfigError(f"unknown thesis table {table!r}; available: {', '.join(THESIS_TABLES)}")
    if printed_formulas and table != "7.1":
        raise ConfigError("printed_formulas: only table 7.1's diffusion VAE has them")
    model = "vae" if table == "5.1" else "diffusion_vae"
    return [
        RunConfig.from_dict(
            sine_benchmark_spec(
                model, noise, sigma_x, steps, seed, n, printed_formulas=printed_formulas
            )
        )
        for seed in range(repetitions)
        for noise in NOISE_LEVELS
        for sigma_x in SIGMA_X
    ]


def _cell_of(config: RunConfig) -> tuple[float, float]:
    """(data noise σ, decoder σX) of a member."""
    return config.dataset["sigma"], config.model["likelihood"]["sigma"]


@dataclass
class TableResult:
    """Our table beside the thesis's, with what is needed to judge it."""

    table: str
    steps: int
    repetitions: int
    seconds: float
    cells: dict[tuple[float, float], dict[str, tuple[float, float]]]
    plateau: dict[tuple[float, float], float]
    models: dict[tuple[float, float], torch.nn.Module] = field(default_factory=dict, repr=False)
    losses: torch.Tensor | None = field(default=None, repr=False)
    printed: TableResult | None = field(default=None, repr=False)
    """table 7.1 only: the same grid with the thesis's printed eq. 7.5 density and eq. 7.10
    sampler (``thesis_compatible``), judged as a second row of claims"""

    def to_dict(self) -> dict[str, Any]:
        data = {
            "table": self.table,
            "steps": self.steps,
            "repetitions": self.repetitions,
            "seconds": self.seconds,
            "rows": self._rows(),
        }
        if self.printed is not None:
            data["printed_formulas"] = {
                "rows": self.printed._rows(),
                "repetitions": self.printed.repetitions,
            }
        return data

    def _rows(self) -> list[dict[str, Any]]:
        rows = []
        for (noise, sigma_x), ours in self.cells.items():
            thesis = THESIS_TABLES[self.table][(noise, sigma_x)]
            rows.append(
                {
                    "data_sigma": noise,
                    "sigma_x": sigma_x,
                    "ours": {k: {"mean": m, "std": s} for k, (m, s) in ours.items()},
                    "thesis": dict(thesis),
                    "loss_change_last_tenth": self.plateau[(noise, sigma_x)],
                }
            )
        return rows

    def to_markdown(self) -> str:
        text = self._markdown()
        if self.printed is not None:
            text += (
                "\n\nThe same grid with the thesis's printed formulas (eq. 7.5 density, "
                "eq. 7.10 sampler; `thesis_compatible`):\n\n" + self.printed._markdown()
            )
        return text

    def _markdown(self) -> str:
        head = (
            "| X_σ | σX | "
            + " | ".join(f"{m} (ours)" for m in METRICS)
            + " | "
            + " | ".join(f"{m} (thesis)" for m in METRICS)
            + " |"
        )
        lines = [head, "|---" * (2 + 2 * len(METRICS)) + "|"]
        for (noise, sigma_x), ours in self.cells.items():
            thesis = THESIS_TABLES[self.table][(noise, sigma_x)]
            mine = [f"{m:.4g} ± {s:.2g}" for m, s in (ours[k] for k in METRICS)]
            lines.append(
                f"| {noise:g} | {sigma_x:g} | "
                + " | ".join(mine)
                + " | "
                + " | ".join(thesis[k] for k in METRICS)
                + " |"
            )
        return "\n".join(lines)


def reproduce_table(
    table: str, settings: TableScale, store: ModelStore | None = None
) -> TableResult:
    """Train the grid of thesis table ``table`` ("5.1" or "7.1") at ``settings`` as one
    ensemble in ``store`` (default: in memory) and evaluate. Table 7.1 trains its grid twice:
    with the true heat kernel, and with the thesis's printed formulas
    (:attr:`TableResult.printed`)."""
    s, store = settings, store or ModelStore()
    t0 = time.perf_counter()
    grids = (False, True) if table == "7.1" else (False,)
    store.expect(len(grids) * s.repetitions * len(NOISE_LEVELS) * len(SIGMA_X))
    exact, *printed = [_train_grid(table, s, p, store) for p in grids]
    for result in (exact, *printed):
        result.seconds = time.perf_counter() - t0
    exact.printed = printed[0] if printed else None
    return exact


def _train_grid(
    table: str, s: TableScale, printed_formulas: bool, store: ModelStore
) -> TableResult:
    """One grid of ``table`` trained as one ensemble in ``store`` and evaluated."""
    configs = table_configs(table, s.repetitions, s.steps, n=s.n, printed_formulas=printed_formulas)
    prefix = "printed-" if printed_formulas else ""
    labels = [
        f"{prefix}sigma{_cell_of(c)[0]:g}-sigmax{_cell_of(c)[1]:g}-seed{c.seed}" for c in configs
    ]
    if printed_formulas:  # its Monte-Carlo KL draws inside the loss: no vectorised ensemble
        trained = [store.train(c, label=label) for c, label in zip(configs, labels)]
        models = [t.model for t in trained]
        losses = torch.tensor([[r["loss"] for r in t.records] for t in trained]).T
    else:
        ensemble = store.train_ensemble(configs, labels)
        models, losses = ensemble.models, ensemble.losses
    per_cell: dict[tuple[float, float], list[dict[str, float]]] = {}
    plateau: dict[tuple[float, float], list[float]] = {}
    representative: dict[tuple[float, float], torch.nn.Module] = {}
    x_vis: dict[float, torch.Tensor] = {}  # X_Vis depends only on the data set
    for k, (config, model) in enumerate(zip(configs, models)):
        cell = _cell_of(config)
        if cell[0] not in x_vis:
            x_vis[cell[0]] = build_dataset(config).evaluation_set().x
        values = evaluate(model, x_vis[cell[0]], n_samples=100, seed=config.seed).to_dict()
        per_cell.setdefault(cell, []).append({m: float(values[m]) for m in METRICS})
        plateau.setdefault(cell, []).append(loss_change_last_tenth(losses[:, k]))
        representative.setdefault(cell, model)
    cells = {
        cell: {
            m: (
                statistics.fmean(r[m] for r in runs),
                statistics.stdev([r[m] for r in runs]) if len(runs) > 1 else 0.0,
            )
            for m in METRICS
        }
        for cell, runs in per_cell.items()
    }
    return TableResult(
        table=table,
        steps=s.steps,
        repetitions=s.repetitions,
        seconds=0.0,
        cells=cells,
        plateau={cell: max(v) for cell, v in plateau.items()},
        models=representative,
        losses=losses,
    )


def write_table_outputs(result: TableResult, out: str | Path) -> dict[str, Path]:
    """results.json and table.md into ``out`` (atomically)."""
    from ...experiments.result_files import write_result_files

    return write_result_files(result, out)


METRIC_TITLES = {"neg_elbo": "−ELBO", "kl": "KL", "reconstruction": "Reconstruction", "mse": "MSE"}


def _latent_grid(result: TableResult):
    """Thesis fig. 5.4 / 7.1: X_Vis in the latent space of one model per cell (3 × 3)."""
    from ...analysis.latents import summarise_latents
    from ...viz.latent_plots import plot_latent_grid

    configs = table_configs(result.table, 1, 1)
    panels = []
    for i, noise in enumerate(NOISE_LEVELS):
        row = []
        for j, sigma_x in enumerate(SIGMA_X):
            data = build_dataset(configs[i * len(SIGMA_X) + j])
            batch = data.evaluation_set()
            model = result.models[(noise, sigma_x)]
            summary = summarise_latents(model, batch.x, batch.factors, data.factor_space)
            row.append((f"X_{noise:g}, σX = {sigma_x:g}", summary))
        panels.append(row)
    return plot_latent_grid(panels, "phase")


def _loss_curves(result: TableResult):
    """Mean training loss of each cell against the step (the plateau evidence)."""
    from ...viz.curves import plot_loss_panels

    configs = table_configs(result.table, result.repetitions, 1)
    panels = {}
    for sigma_x in SIGMA_X:
        lines = {}
        for noise in NOISE_LEVELS:
            cols = [k for k, c in enumerate(configs) if _cell_of(c) == (noise, sigma_x)]
            lines[f"X_{noise:g}"] = result.losses[:, cols].mean(1).numpy()
        panels[f"σX = {sigma_x:g}"] = lines
    return plot_loss_panels(panels)


def write_table_report(result: TableResult, out: str | Path) -> Path:
    """report.html: our table beside the thesis's, the latent grid and the training curves."""
    from ...viz.reproduction import comparison_table, write_reproduction_report

    model = "baseline VAE in R²" if result.table == "5.1" else "diffusion VAE on S¹"

    def rows(grid: TableResult) -> list[dict[str, Any]]:
        return [
            {
                "label": f"X<sub>{noise:g}</sub>, σ<sub>X</sub> = {sigma_x:g}",
                "ours": grid.cells[(noise, sigma_x)],
                "reference": THESIS_TABLES[result.table][(noise, sigma_x)],
            }
            for noise in NOISE_LEVELS
            for sigma_x in SIGMA_X
        ]

    worst = max(result.plateau.values())
    lead = (
        f"Mean ± standard deviation over {result.repetitions} trainings per cell "
        f"(the thesis: five), evaluated on X<sub>Vis</sub> with L = 100 (eq. 5.7-5.10). Each model "
        f"trained {result.steps:,} steps of batch 100 (Adam 3·10⁻³, cosine decay), all "
        f"{len(result.cells) * result.repetitions} as one vectorised ensemble in "
        f"{result.seconds:.0f} s; the thesis trained 10⁵ epochs at lr 10⁻⁴. Over the last tenth of "
        f"training the mean loss of every member changed by at most {100 * worst:.2g} % against "
        "the tenth before."
    )
    if result.table == "7.1":
        lead += (
            " Our diffusion VAE uses the true heat kernel and its exact KL; the thesis printed a "
            "density that is half uniform (eq. 7.5) and sampled with standard deviation t "
            "(eq. 7.10), so its KL column is smaller than ours by construction (see "
            "docs/circular.md). The second table trains the same grid with the printed "
            "formulas (<code>thesis_compatible: true</code>), the thesis's own computation."
        )
    tables = comparison_table(
        rows(result), METRIC_TITLES, f"Thesis table {result.table}, ours beside it"
    )
    if result.printed is not None:
        tables += comparison_table(
            rows(result.printed),
            METRIC_TITLES,
            f"Thesis table {result.table}, ours with the printed eq. 7.5 / 7.10 beside it",
        )
    figures = [
        (
            "latents",
            f"Latent representations of X_Vis ({model})",
            f"One model per cell, hued by the phase (compare thesis fig. "
            f"{'5.4' if result.table == '5.1' else '7.1'}).",
            _latent_grid(result),
        ),
        (
            "training",
            "Training loss (mean of each cell's members)",
            "Symmetric log scale; a running mean over 1 % of the steps.",
            _loss_curves(result),
        ),
    ]
    return write_reproduction_report(
        out,
        title=f"Thesis table {result.table}",
        subtitle=f"The {model} on the sine-circle benchmark (thesis ch. 5 and 7).",
        facts={
            "table": result.table,
            "models": str(len(result.cells) * result.repetitions),
            "steps": f"{result.steps:,}",
            "time": f"{result.seconds:.0f} s",
        },
        settings={
            "table": result.table,
            "repetitions": result.repetitions,
            "steps": result.steps,
        },
        lead=lead,
        tables_html=tables,
        figures=figures,
    )


def write_table(result: Any, out: str | Path) -> Path:
    """Thesis tables 5.1/7.1: the table files, then the report."""
    write_table_outputs(result, out)
    return write_table_report(result, out)
