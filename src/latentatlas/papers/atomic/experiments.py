"""Reproduce the atomic-autoencoder experiments: off-the-grid spikes (sec. III-B, fig. 3-4) and
pen strokes (sec. III-A, fig. 2), each for the atomic autoencoder and an ordinary autoencoder of
the same encoder, latent size and (nearly) parameter count.

Both models use the paper's architecture (:func:`~latentatlas.models.atomic.paper_spec`) and loss
(plain squared error, Adam, batch 64). The paper shows figures only; this experiment adds the
numbers that make its claims measurable: reconstruction error, atom purity (spikes: Hungarian
matching of block peaks to spikes; strokes: the share of each block's mass on one stroke), the
sub-model check (spikes) and the single-peak fraction along an interpolation.

The paper trains 128×128 images for a very long time on a GPU. One step of its 16-block model at
128² costs about 9 s on two CPU cores, so the scales here are smaller (:data:`STUDIES`):
``quick`` trains 32×32 images for minutes, ``full`` 64×64 images with the paper's K = 10
spikes; ``--set steps=...`` trains longer, ``--set dataset.size=...`` on larger images.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from html import escape as _esc
from pathlib import Path
from typing import Any

import torch

from ...analysis.atomic import (
    BlockCodeFactors,
    Decomposition,
    MassPurity,
    SpikeMatching,
    SpikePurity,
    SubmodelCheck,
    batched,
    block_code_factors,
    decompose,
    encode_codes,
    find_peaks,
    interpolate,
    latent_bounds,
    mass_purity,
    match_spikes,
    navigate_block,
    spike_purity,
    submodel_check,
)
from ...errors import ConfigError, UnknownNameError
from ...experiments.model_store import ModelStore
from ...models.atomic import baseline_spec, paper_spec
from ...registry import DATASETS, build
from ...train.callbacks import BestWeights

MODELS = ("atomic", "baseline")
MODEL_TITLES = {"atomic": "atomic AE", "baseline": "baseline AE"}


@dataclass(frozen=True)
class AtomicScale:
    """The size of one mode: data, block layout and training."""

    dataset: dict
    blocks: int
    block_dim: int
    steps: int
    lr: float
    batch_size: int = 64
    evaluation: int = 256
    """images analysed (the first ones of the data set)"""
    memory_format: str = "channels_last"
    """train.memory_format of both models: channels-last runs the 16 full-resolution decoder
    passes 2-2.5× faster on CPU with the same numbers up to rounding (benchmarks/atomic.py)"""
    keep_best_every: int = 250
    """steps between evaluations of the loss on the analysed images; each model ends with its
    lowest-loss weights (:class:`~latentatlas.train.callbacks.BestWeights`), as the authors keep
    their lowest-loss checkpoint"""


@dataclass(frozen=True)
class AtomicExperiment:
    name: str
    section: str
    title: str
    atom: str
    """``spikes`` or ``strokes``: which ground truth the purity analysis reads"""
    figures: dict[str, str]
    full: AtomicScale
    quick: AtomicScale


STUDIES: dict[str, AtomicExperiment] = {
    "atomic-spikes": AtomicExperiment(
        name="atomic-spikes",
        section="III-B",
        title="Off-the-grid spikes",
        atom="spikes",
        figures={"decomposition": "3", "navigation": "4"},
        full=AtomicScale(
            {"name": "spikes", "n": 20_000, "size": 64, "sigma": 2.0, "max_spikes": 10},
            blocks=10,
            block_dim=8,
            steps=4000,
            lr=1e-3,
            batch_size=32,
        ),
        quick=AtomicScale(
            {"name": "spikes", "n": 5000, "size": 32, "sigma": 1.5, "max_spikes": 4},
            blocks=4,
            block_dim=8,
            steps=2000,
            lr=1e-3,
        ),
    ),
    "atomic-strokes": AtomicExperiment(
        name="atomic-strokes",
        section="III-A",
        title="Pen strokes",
        atom="strokes",
        figures={"decomposition": "2"},
        full=AtomicScale(
            {"name": "strokes", "n": 20_000, "size": 64, "max_strokes": 4},
            blocks=16,
            block_dim=6,
            steps=3000,
            lr=5e-4,
            batch_size=32,
        ),
        quick=AtomicScale(
            {"name": "strokes", "n": 5000, "size": 32, "max_strokes": 3},
            blocks=6,
            block_dim=6,
            steps=2000,
            lr=1e-3,
        ),
    ),
}


def experiment(name: str) -> AtomicExperiment:
    if name not in STUDIES:
        raise UnknownNameError("atomic experiment", name, list(STUDIES))
    return STUDIES[name]


@dataclass
class ModelResult:
    """One trained model of the comparison and what was measured on it."""

    parameters: int
    seconds: float
    losses: list[dict[str, float]]
    mse: float
    """mean squared error per pixel on the analysed images"""
    decomposition: Decomposition
    spikes: SpikePurity | None = None
    matching: SpikeMatching | None = None
    mass: MassPurity | None = None
    submodel: SubmodelCheck | None = None
    code_factors: BlockCodeFactors | None = None
    """how the blocks' codes carry their spikes (fig. 4's question), when enough matched"""
    spikes_loose: SpikePurity | None = None
    """the purity with pairs matched within :data:`LOOSE_TOLERANCE` × the tolerance"""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "parameters": self.parameters,
            "seconds": self.seconds,
            "mse_per_pixel": self.mse,
            "final_loss": self.losses[-1]["loss"] if self.losses else math.nan,
            "decomposition": self.decomposition.to_dict(),
        }
        names = {"spikes": "spike_purity", "spikes_loose": "spike_purity_loose"}
        for key in ("spikes", "spikes_loose", "mass", "submodel", "code_factors"):
            value = getattr(self, key)
            if value is not None:
                out[names.get(key, key)] = value.to_dict()
        return out


@dataclass
class AtomicResult:
    experiment: AtomicExperiment
    scale: AtomicScale
    dataset_spec: dict
    seed: int
    seconds: float
    results: dict[str, ModelResult]
    navigation: dict[str, Any]
    interpolation: dict[str, Any]
    models: dict[str, torch.nn.Module] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        s = self.scale
        return {
            "experiment": self.experiment.name,
            "paper_section": self.experiment.section,
            "seed": self.seed,
            "seconds": self.seconds,
            "dataset": self.dataset_spec,
            "blocks": s.blocks,
            "block_dim": s.block_dim,
            "steps": s.steps,
            "lr": s.lr,
            "batch_size": s.batch_size,
            "models": {k: v.to_dict() for k, v in self.results.items()},
            "navigation": {k: v for k, v in self.navigation.items() if k != "figure_data"},
            "interpolation": {k: v for k, v in self.interpolation.items() if k != "figure_data"},
        }

    def table_rows(self) -> list[tuple[str, list[str]]]:
        """(measure, [atomic, baseline]) rows of the comparison table."""
        from ...viz.report import format_number

        r = self.results
        rows = [
            ("parameters", [f"{r[m].parameters:,}" for m in MODELS]),
            ("MSE per pixel", [format_number(r[m].mse) for m in MODELS]),
        ]
        if all(r[m].spikes is not None for m in MODELS):
            for key, title in SPIKE_ROWS:
                rows.append((title, [format_number(getattr(r[m].spikes, key), 3) for m in MODELS]))
        if all(r[m].mass is not None for m in MODELS):
            for key, title in MASS_ROWS:
                rows.append((title, [format_number(getattr(r[m].mass, key), 3) for m in MODELS]))
        return rows

    def to_markdown(self) -> str:
        lines = [
            f"| measure | {MODEL_TITLES['atomic']} | {MODEL_TITLES['baseline']} |",
            "|---|---|---|",
        ]
        lines += [f"| {name} | {a} | {b} |" for name, (a, b) in self.table_rows()]
        return "\n".join(lines)


SPIKE_ROWS = (
    ("purity", "purity (non-empty blocks holding one spike)"),
    ("recall", "spikes held alone by a block"),
    ("mixed_blocks", "non-empty blocks with ≥ 2 peaks"),
    ("empty_blocks", "empty blocks per image"),
    ("expected_empty_blocks", "empty blocks of a perfect decomposition"),
    ("position_error", "position error of matched spikes (px)"),
    ("amplitude_error", "amplitude error of matched spikes"),
)
MASS_ROWS = (
    ("purity", "mass purity (share of a block's mass on one stroke)"),
    ("single_atom_blocks", "non-empty blocks with ≥ 80 % on one stroke"),
    ("non_empty_blocks", "non-empty blocks per image"),
    ("atoms", "strokes per image"),
)


#: the looser matching radius purity is also reported at, in units of the tolerance (σ): a
#: block whose single peak lies between σ and 2σ from its spike holds that spike, misplaced
LOOSE_TOLERANCE = 2.0


def _peak_settings(dataset: Any) -> tuple[float, float, int]:
    """Peak threshold, matching tolerance and maximum-filter radius for a spikes data set:
    half the smallest amplitude, σ, and half the minimum separation."""
    cfg = dataset.config
    return 0.5 * cfg.amplitude[0], cfg.sigma, max(1, int(cfg.separation // 2))


def atomic_scales(name: str) -> dict[str, AtomicScale]:
    """The named scales of atomic experiment ``name``."""
    exp = experiment(name)
    return {"quick": exp.quick, "full": exp.full}


def _loss_on(x: torch.Tensor, chunk: int = 64):
    """``score(model)``: the mean training loss on the images ``x`` (in chunks, on the model's
    device), what :class:`BestWeights` keeps the lowest of."""

    def score(model: torch.nn.Module) -> float:
        device = next(model.parameters()).device

        def part_sum(part: torch.Tensor) -> torch.Tensor:
            return model(part.to(device)).loss.double().reshape(1) * len(part)

        return float(batched(part_sum, x, chunk).sum()) / len(x)

    return score


def reproduce_atomic(
    name: str,
    settings: AtomicScale,
    store: ModelStore | None = None,
    seed: int = 0,
    dataset: dict | None = None,
) -> AtomicResult:
    """Train the atomic and the baseline autoencoder of experiment ``name`` on its data at
    ``settings`` (in ``store``; default: in memory) and measure both.

    ``dataset`` replaces the settings' data set (e.g. ``{"name": "mnist", "root": ..., "size":
    64}`` for real digits in the strokes experiment; data without per-atom ground truth get no
    purity numbers).
    """
    exp, scale, store = experiment(name), settings, store or ModelStore()
    data_spec = dict(dataset or scale.dataset)
    data = build(DATASETS, data_spec, "dataset")
    shape = tuple(data.observation_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(f"dataset: the atomic experiments need square images, got {shape}")
    store.expect(len(MODELS))
    spec = paper_spec(shape[1], shape[0], scale.blocks, scale.block_dim)
    specs = {"atomic": spec, "baseline": baseline_spec(spec)}
    t0 = time.perf_counter()
    idx = torch.arange(min(len(data), scale.evaluation))
    x = data.get_batch(idx).x
    has_atoms = callable(getattr(data, "atom_images", None))
    atom_images = data.atom_images(idx) if has_atoms else None
    results: dict[str, ModelResult] = {}
    models: dict[str, torch.nn.Module] = {}
    for key in MODELS:
        train = {
            "steps": scale.steps,
            "batch_size": scale.batch_size,
            "lr": scale.lr,
            "memory_format": scale.memory_format,
        }
        keep_best = [BestWeights(_loss_on(x), scale.keep_best_every)]
        trained = store.train_spec(specs[key], data_spec, data, train, seed, keep_best, key)
        model, losses, seconds = trained.model, trained.records, trained.seconds
        models[key] = model
        dec = decompose(model, x, blocks=scale.blocks)
        res = ModelResult(
            parameters=sum(p.numel() for p in model.parameters()),
            seconds=seconds,
            losses=losses,
            mse=float((dec.outputs - x).pow(2).mean()),
            decomposition=dec,
        )
        if has_atoms and exp.atom == "spikes":
            threshold, tolerance, radius = _peak_settings(data)
            res.matching = match_spikes(dec.parts, data.atoms_of(idx), threshold, tolerance, radius)
            res.spikes = spike_purity(res.matching)
            res.spikes_loose = spike_purity(
                match_spikes(
                    dec.parts, data.atoms_of(idx), threshold, LOOSE_TOLERANCE * tolerance, radius
                )
            )
            res.submodel = submodel_check(
                model, dec.codes, res.matching, atom_images, threshold, radius=radius, seed=seed
            )
            if int((res.matching.spike >= 0).sum()) > scale.block_dim + 1:
                res.code_factors = block_code_factors(
                    dec.codes, res.matching, data.atoms_of(idx), scale.block_dim
                )
        elif has_atoms:
            res.mass = mass_purity(dec.parts, atom_images)
        results[key] = res
    navigation = _navigation(exp, data, models["atomic"], results["atomic"], scale, seed)
    interpolation = _interpolation(exp, data, models["atomic"], x, scale)
    return AtomicResult(
        experiment=exp,
        scale=scale,
        dataset_spec=data_spec,
        seed=seed,
        seconds=time.perf_counter() - t0,
        results=results,
        navigation=navigation,
        interpolation=interpolation,
        models=models,
    )


def _navigation(
    exp: AtomicExperiment,
    data: Any,
    model: torch.nn.Module,
    res: ModelResult,
    scale: AtomicScale,
    seed: int,
) -> dict[str, Any]:
    """Fig. 4 on the atomic model: the most energetic block of the first image with at least
    three atoms (or the first image), each coordinate swept over its training range. For spikes,
    the tracked peak of the block image gives the amplitude and position spans per coordinate."""
    g = torch.Generator().manual_seed(seed)
    train_idx = torch.randperm(len(data), generator=g)[:2000]
    bounds = latent_bounds(encode_codes(model, data.get_batch(train_idx).x))
    counts = getattr(data, "counts", None)
    image = 0
    if counts is not None:
        rich = (counts[: res.decomposition.codes.shape[0]] >= 3).nonzero()
        image = int(rich[0]) if rich.numel() else 0
    parts = res.decomposition.parts[image]
    block = int(parts.flatten(1).pow(2).sum(1).argmax())
    nav = navigate_block(model, res.decomposition.codes[image], block, scale.block_dim, bounds, 7)
    out: dict[str, Any] = {"image": image, "block": block, "values": nav.values.tolist()}
    marks = None
    if exp.atom == "spikes":
        threshold, _, radius = _peak_settings(data)
        with torch.no_grad():
            swept = model.parts(nav.codes.reshape(-1, nav.codes.shape[-1]))[:, block, 0]
        marks = torch.full((swept.shape[0], 3), math.nan, dtype=torch.float64)
        peaks = find_peaks(swept, threshold, radius)
        for i in range(swept.shape[0]):
            mine = (peaks.image == i).nonzero().reshape(-1)
            if mine.numel():
                best = mine[peaks.height[mine].argmax()]
                marks[i] = torch.cat([peaks.height[best, None], peaks.xy[best]])
        marks = marks.reshape(scale.block_dim, -1, 3)
        spans = []
        for j in range(scale.block_dim):
            row = marks[j]
            ok = ~torch.isnan(row[:, 0])
            span = (row[ok].amax(0) - row[ok].amin(0)).tolist() if ok.any() else [math.nan] * 3
            spans.append(dict(zip(("amplitude", "x", "y"), span)))
        out["spans"] = spans
    out["figure_data"] = (nav, None if marks is None else marks[..., 1:].numpy())
    return out


def _interpolation(
    exp: AtomicExperiment, data: Any, model: torch.nn.Module, x: torch.Tensor, scale: AtomicScale
) -> dict[str, Any]:
    """Interpolate between the first two analysed images; for spikes, the fraction of non-empty
    block images with a single peak at every step (1 when each point stays a sum of atoms)."""
    interp = interpolate(model, x[0], x[1], steps=7)
    out: dict[str, Any] = {"t": interp.t.tolist()}
    if exp.atom == "spikes":
        threshold, _, radius = _peak_settings(data)
        steps, k = interp.parts.shape[:2]
        counts = (
            find_peaks(interp.parts[:, :, 0].reshape(steps * k, *x.shape[2:]), threshold, radius)
            .count(steps * k)
            .reshape(steps, k)
        )
        fraction = [
            float((row == 1).sum() / (row > 0).sum()) if (row > 0).any() else math.nan
            for row in counts.unbind(0)
        ]
        out["single_peak_fraction"] = fraction
    out["figure_data"] = interp
    return out


# -- outputs ---------------------------------------------------------------------------------
def _figures(result: AtomicResult) -> list[tuple[str, str, str, Any]]:
    from ...viz.atomic_plots import plot_decomposition, plot_interpolation, plot_navigation
    from ...viz.curves import plot_loss_panels

    exp = result.experiment
    figs = []
    panels = {
        "training loss": {
            MODEL_TITLES[m]: [r["loss"] for r in result.results[m].losses] for m in MODELS
        }
    }
    figs.append(
        (
            "training",
            "Training loss",
            "Squared error per image; block means over 1 % of the steps.",
            plot_loss_panels(panels),
        )
    )
    n_show = min(4, result.results["atomic"].decomposition.inputs.shape[0])
    fig_no = exp.figures.get("decomposition")
    for m in MODELS:
        dec = result.results[m].decomposition
        what = "g(z_i)" if dec.exact else "ablation effects D(z) − D(z with block i at the mean)"
        caption = (
            f"Input, output, a colour map of which block drew each pixel, and the block images "
            f"({_esc(what)}), most energetic first."
        )
        title = f"Decomposition, {MODEL_TITLES[m]}" + (
            f" (paper fig. {fig_no})" if m == "atomic" and fig_no else ""
        )
        label = "g(z{})" if dec.exact else "block {}"
        fig = plot_decomposition(
            dec.inputs[:n_show], dec.outputs[:n_show], dec.parts[:n_show], part_label=label
        )
        figs.append((f"decomposition_{m}", title, caption, fig))
    nav, marks = result.navigation["figure_data"]
    caption = (
        f"Block {nav.block} of image {result.navigation['image']}: each row sweeps one "
        "coordinate over its range on the training codes, the others fixed."
        + (" Green: the block's peak." if marks is not None else "")
    )
    nav_fig = exp.figures.get("navigation")
    figs.append(
        (
            "navigation",
            "Navigation inside one block" + (f" (paper fig. {nav_fig})" if nav_fig else ""),
            caption,
            plot_navigation(nav.images, nav.values, nav.block, nav.origin, marks),
        )
    )
    interp = result.interpolation["figure_data"]
    figs.append(
        (
            "interpolation",
            "Interpolation between two codes",
            "Decodes of (1 − t)·z_a + t·z_b (top) and their block colour maps (bottom).",
            plot_interpolation(interp.images, interp.parts, interp.t),
        )
    )
    if all(result.results[m].submodel is not None for m in MODELS):
        figs.append(
            (
                "submodel",
                "Sub-model check (sec. II-A)",
                "Spikes found in the decode of k' kept blocks against the spikes those "
                "blocks hold (dashed: equal).",
                _submodel_figure(result),
            )
        )
    return figs


def _submodel_figure(result: AtomicResult) -> Any:
    from ...viz.latent_plots import new_figure, style_axes

    fig = new_figure((4.2, 3.2))
    ax = fig.subplots()
    style_axes(ax)
    top = 0.0
    for m in MODELS:
        rows = result.results[m].submodel.rows
        exp_, det = [r.expected_spikes for r in rows], [r.detected_spikes for r in rows]
        ax.plot(exp_, det, "o-", label=MODEL_TITLES[m])
        top = max(top, *exp_, *det)
    ax.plot([0, top], [0, top], "--", color="#9ca3af", lw=1)
    ax.set_xlabel("spikes held by the kept blocks", fontsize=9)
    ax.set_ylabel("spikes found in the partial decode", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    return fig


def _tables_html(result: AtomicResult) -> str:
    head = "".join(f'<th scope="col" class="ours">{_esc(MODEL_TITLES[m])}</th>' for m in MODELS)
    body = "".join(
        f'<tr><th scope="row">{_esc(name)}</th>'
        + "".join(f'<td class="num ours">{_esc(v)}</td>' for v in values)
        + "</tr>"
        for name, values in result.table_rows()
    )
    html = (
        '    <div class="card table-wrap wide"><table class="metrics"><caption>Atomic vs '
        f"baseline autoencoder on the first {result.scale.evaluation} images</caption><thead>"
        f'<tr><th scope="col">Measure</th>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )
    if all(result.results[m].submodel is not None for m in MODELS):
        html += "\n" + _submodel_table(result)
    return html


def _submodel_table(result: AtomicResult) -> str:
    from ...viz.report import format_number

    sub = {m: result.results[m].submodel for m in MODELS}
    head = "".join(
        f'<th scope="col" class="ours">{_esc(MODEL_TITLES[m])}: {c}</th>'
        for m in MODELS
        for c in ("expected", "found", "exact", "MSE")
    )
    rows = []
    for i, row in enumerate(sub["atomic"].rows):
        cells = []
        for m in MODELS:
            r = sub[m].rows[i]
            cells += [
                f"{r.expected_spikes:.2f}",
                f"{r.detected_spikes:.2f}",
                f"{r.count_exact:.2f}",
                format_number(r.error, 3),
            ]
        tds = "".join(f'<td class="num ours">{c}</td>' for c in cells)
        rows.append(f'<tr><th scope="row">{row.kept}</th>{tds}</tr>')
    caption = (
        "Sub-model check: decoding k' random blocks of each code (expected: spikes those blocks "
        "hold; exact: fraction of images where the counts agree; MSE: per pixel, against the "
        f"expected spikes; full decodes: {format_number(sub['atomic'].full_error, 3)} (atomic), "
        f"{format_number(sub['baseline'].full_error, 3)} (baseline))"
    )
    return (
        '    <div class="card table-wrap wide"><table class="metrics">'
        f'<caption>{caption}</caption><thead><tr><th scope="col">k\'</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _lead(result: AtomicResult) -> str:
    exp = result.experiment
    text = (
        f"The paper (sec. {exp.section}) shows this experiment as figures only; every number "
        "here is ours. Both models share the encoder, the latent size "
        f"k·d0 = {result.scale.blocks}·{result.scale.block_dim} and the loss; the atomic decoder "
        "sums one block network over the k blocks, the baseline decoder reads the whole code."
    )
    fractions = result.interpolation.get("single_peak_fraction")
    if fractions:
        text += (
            " Along the interpolation, the fraction of non-empty blocks with a single peak is "
            + ", ".join(f"{f:.2f}" for f in fractions)
            + "."
        )
    return text


def write_atomic_outputs(result: AtomicResult, out: str | Path) -> Path:
    """results.json, table.md and report.html (tables and figures) into ``out``."""
    from ...experiments.result_files import write_result_files
    from ...viz.reproduction import write_reproduction_report

    out = Path(out)
    write_result_files(result, out)
    exp, s = result.experiment, result.scale
    side = result.results["atomic"].decomposition.inputs.shape[-1]
    return write_reproduction_report(
        out,
        title=f"Atomic autoencoders §{exp.section}: {exp.title}",
        subtitle="The atomic autoencoder, Σᵢ g(zᵢ) with one shared block g, against an ordinary "
        "autoencoder of the same size.",
        facts={
            "images": f"{side}×{side}",
            "blocks": f"{s.blocks} × {s.block_dim}",
            "steps": f"{s.steps:,}",
            "time": f"{result.seconds:.0f} s",
        },
        settings={
            "experiment": exp.name,
            "dataset": result.dataset_spec,
            "blocks": s.blocks,
            "block_dim": s.block_dim,
            "steps": s.steps,
            "lr": s.lr,
            "batch_size": s.batch_size,
            "seed": result.seed,
        },
        lead=_lead(result),
        tables_html=_tables_html(result),
        figures=_figures(result),
    )
