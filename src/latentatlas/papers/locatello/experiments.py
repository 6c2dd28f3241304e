"""``reproduce locatello-dsprites-betavae``: the β-VAE arm of Locatello et al. (2019) on dSprites.

The study's protocol (disentanglement_lib, ``unsupervised_study_v1``): β ∈ {1, 2, 4, 6, 8, 16},
50 seeds each, its 64×64 conv encoder/decoder with 10 latents and a Bernoulli likelihood, Adam
1e-4, batch 64, 300 000 steps, scored with every metric at the standard sample sizes on the
posterior mean. Here the grid runs as a sweep (:mod:`latentatlas.tools.sweep`) on procedural
dSprites (``data.synthetic.dsprites``, the colour factor left out as in the study) and the
scores are summarised per β (median and quartiles over seeds).

The ``full`` scale is the protocol with 5 seeds per β instead of 50, scored with the ``study``
preset (DCI by the study's own estimator; 300 000 steps of the 64×64 network take about a day
per model on 2 CPU cores: a GPU job). ``quick`` trains 2 seeds of β ∈ {1, 16} for 3000 steps at
learning rate 5e-4 and scores with the fast preset: minutes, not the study.

Published bands: the study reports its distributions as figures only (e.g. its fig. 7 for MIG on
dSprites); its per-model scores are the result files of disentanglement_lib (also inside the
archives of its pretrained models). Given a local copy (``published=`` a folder or an aggregated
JSON, read by :func:`analysis.metrics.published.load_published`), the published median and
quartiles per β stand beside ours in the table and the published seeds beside ours in the
figure; without one, no published numbers are shown (the report says so).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...analysis.metrics.published import PublishedScores, load_published
from ...errors import ConfigError
from ...experiments.model_store import ModelStore
from ...models.disentangling import locatello_spec
from ...tools.published_comparison import MAIN_SCORES
from ...tools.published_comparison import quartiles as _quartiles
from ...tools.sweep import SweepConfig, SweepResult, run_sweep


@dataclass(frozen=True)
class LocatelloScale:
    betas: tuple[float, ...]
    seeds: tuple[int, ...]
    steps: int
    lr: float
    preset: str
    metrics: tuple[str, ...] = ("all",)

    def __post_init__(self) -> None:
        for name in ("betas", "seeds"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ConfigError(f"{name}: each value once, got {list(values)}")


SCALES = {
    "quick": LocatelloScale((1.0, 16.0), (0, 1), 3000, 5e-4, "fast"),
    "full": LocatelloScale(
        (1.0, 2.0, 4.0, 6.0, 8.0, 16.0), (0, 1, 2, 3, 4), 300_000, 1e-4, "study"
    ),
    # declared reduced: 3 of the 6 β, 2 of the 5 seeds and 5000 of the 300 000 steps, the
    # study's lr and metric protocol (a 2-core CPU trains one model 300 000 steps in ~9 h)
    "cpu": LocatelloScale((1.0, 4.0, 16.0), (0, 1), 5000, 1e-4, "study"),
}


def sweep_config(scale: LocatelloScale) -> SweepConfig:
    spec = locatello_spec("beta_vae")
    spec.pop("name")
    return SweepConfig.from_dict(
        {
            "base": {
                "dataset": {"name": "dsprites"},
                "model": spec,
                "train": {
                    "steps": scale.steps,
                    "batch_size": 64,
                    "lr": scale.lr,
                    "checkpoint_every": 1000,
                    "log_every": 100,
                },
            },
            "models": {"beta_vae": {"beta": list(scale.betas)}},
            "seeds": list(scale.seeds),
            "metrics": list(scale.metrics),
            "preset": scale.preset,
        }
    )


@dataclass
class LocatelloResult:
    scale: LocatelloScale
    sweep: SweepResult
    seconds: float
    published: PublishedScores | None = None

    def summary(self) -> dict[str, dict[str, list[float]]]:
        """{β: {score: [q25, median, q75]}} over the seeds that finished."""
        out: dict[str, dict[str, list[float]]] = {}
        for beta in self.scale.betas:
            rows = [r for r in self.sweep.rows if r["hyper"]["beta"] == beta and r["scores"]]
            out[f"{beta:g}"] = {
                k: _quartiles([r["scores"][k] for r in rows])
                for k in MAIN_SCORES
                if rows and k in rows[0]["scores"]
            }
        return out

    def published_summary(self) -> dict[str, dict[str, Any]]:
        """{β: {"seeds": n, "counts": {score: n}, score: [q25, median, q75]}} of the published
        models, for the β of this run (a score may cover fewer models than ``seeds``); empty
        without published scores."""
        if self.published is None:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for beta in self.scale.betas:
            per_score = {k: self.published.values(beta, k) for k in MAIN_SCORES}
            seeds = {seed for h, seed in self.published.models if h == beta}
            if seeds:
                counts = {k: len(v) for k, v in per_score.items() if v}
                out[f"{beta:g}"] = {"seeds": len(seeds), "counts": counts} | {
                    k: _quartiles(per_score[k]) for k in counts
                }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": "locatello-dsprites-betavae",
            "scale": self.scale.__dict__,
            "per_beta": self.summary(),
            "published": None
            if self.published is None
            else {"source": self.published.source, "per_beta": self.published_summary()},
            "trials": self.sweep.rows,
            "seconds": self.seconds,
        }

    def to_markdown(self) -> str:
        """Median [quartiles] per β; with published scores, their row under ours."""
        summary, published = self.summary(), self.published_summary()
        scores = [k for k in MAIN_SCORES if any(k in v for v in summary.values())]
        lines = ["| β | " + " | ".join(scores) + " |", "|---|" + "---|" * len(scores)]

        def row(label: str, values: dict[str, Any], seeds: int, counts: dict[str, int]) -> str:
            cells = " | ".join(
                f"{values[k][1]:.3f} [{values[k][0]:.3f}, {values[k][2]:.3f}]"
                + (f" (n = {counts[k]})" if counts.get(k, seeds) != seeds else "")
                if k in values
                else "–"
                for k in scores
            )
            return f"| {label} | {cells} |"

        for beta, values in summary.items():
            seeds = sum(
                1 for r in self.sweep.rows if f"{r['hyper']['beta']:g}" == beta and r["scores"]
            )
            lines.append(
                row(f"{beta} (ours, {seeds} seeds)" if published else beta, values, seeds, {})
            )
            if beta in published:
                theirs = published[beta]
                lines.append(
                    row(
                        f"{beta} (published, {theirs['seeds']} seeds)",
                        theirs,
                        theirs["seeds"],
                        theirs["counts"],
                    )
                )
        return "\n".join(lines)


def reproduce_locatello(
    settings: LocatelloScale,
    store: ModelStore | None = None,
    jobs: int | None = None,
    published: str | Path | PublishedScores | None = None,
) -> LocatelloResult:
    """Run the grid at ``settings`` as a sweep into the folder of ``store`` (its ``sweep``
    sub-folder: a rerun continues it) and summarise per β; with ``published``
    (disentanglement_lib result files, read before any training, or their
    :class:`PublishedScores`), the study's own scores beside ours."""
    t0 = time.perf_counter()
    s = settings
    if store is None or store.folder is None:
        raise ConfigError(
            "locatello-dsprites-betavae runs its grid as a sweep into a folder: give it "
            "ModelStore(out)"
        )
    scores = published
    if published is not None and not isinstance(published, PublishedScores):
        scores = load_published(published, "beta_vae")
    result = run_sweep(sweep_config(s), store.folder / "sweep", jobs=jobs)
    return LocatelloResult(s, result, time.perf_counter() - t0, scores)


def write_locatello_outputs(result: LocatelloResult, out: str | Path) -> Path:
    from ...experiments.result_files import write_result_files
    from ...viz.reproduction import markdown_tables_html, write_reproduction_report
    from ...viz.sweep_plots import plot_score_distributions

    write_result_files(result, out)
    rows = []
    for beta in result.scale.betas:  # per β, our seeds, then the published ones beside them
        rows += [
            {**r, "model": f"β={beta:g}"}
            for r in result.sweep.rows
            if r["hyper"]["beta"] == beta and r["scores"]
        ]
        if result.published is not None:
            label = f"β={beta:g} published"
            rows += [{"model": label, "scores": v} for v in result.published.of(beta)]
    ours = [r for r in rows if "hyper" in r]
    scores = [k for k in MAIN_SCORES if ours and k in ours[0]["scores"]]
    figures = []
    if rows and scores:
        figures.append(
            (
                "scores",
                "Scores per β over seeds (the study's fig. 7 and its companions)",
                "Each point is one seed; violin and box per β.",
                plot_score_distributions(rows, scores, _colors(result)),
            )
        )
    failed = len(result.sweep.failed)
    return write_reproduction_report(
        out,
        title="β-VAE on dSprites, scored as in Locatello et al. (2019)",
        subtitle=f"β ∈ {{{', '.join(f'{b:g}' for b in result.scale.betas)}}}, "
        f"{len(result.scale.seeds)} seeds each, {result.scale.steps} steps.",
        facts={
            "trials": str(len(result.sweep.rows)),
            "failed": str(failed),
            "time": f"{result.seconds:.0f} s",
        },
        settings={
            "experiment": "locatello-dsprites-betavae",
            **result.scale.__dict__,
        },
        lead=_lead(result),
        tables_html=markdown_tables_html(result.to_markdown()),
        figures=figures,
    )


def _colors(result: LocatelloResult) -> dict[str, str]:
    """One colour per β, ours in it and the published seeds of that β in grey beside."""
    from ...viz.direction_plots import PALETTE

    colors = {}
    for i, beta in enumerate(result.scale.betas):
        colors[f"β={beta:g}"] = PALETTE[i % len(PALETTE)]
        colors[f"β={beta:g} published"] = "#6b7280"
    return colors


def _lead(result: LocatelloResult) -> str:
    if result.published is not None:
        return (
            "Median [quartiles] over seeds, ours and the study's own (disentanglement_lib result "
            f"files read from {html.escape(result.published.source)}). Ours are not the study's "
            "numbers unless the run is the full protocol."
        )
    return (
        "Median [quartiles] over seeds. The published distributions are figures in the paper and "
        "result files of disentanglement_lib (inside its pretrained models); none was given "
        "(reproduce --published PATH), so no published numbers are compared."
    )
