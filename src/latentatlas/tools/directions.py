"""``latent-atlas directions RUN_DIR``: find a transformation's direction in a trained model.

Loads the model of a run folder, uses its decoder's mean image as the generator G, runs the
directions method (Algorithm 1 → direction model → evaluation, ``analysis.directions.search``) and
writes into ``--out``: ``direction.safetensors`` (u and the calibration g, loadable with
``DirectionModel.load``), ``results.json``, ``table.md``, figures and ``report.html``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..analysis.directions.estimators import METHODS
from ..analysis.directions.search import DirectionSearch, find_direction
from ..analysis.generators import DecoderGenerator, UserGenerator
from ..errors import DataError
from ..train.run import load

DIRECTION_FILE = "direction.safetensors"


class DirectionReport:
    """``find_direction``'s result with the files a run of the command writes; ``compared``: the
    same search with the other estimator, shown side by side (``--compare``)."""

    def __init__(
        self,
        search: DirectionSearch,
        run_dir: str,
        examples: torch.Tensor,
        compared: DirectionSearch | None = None,
    ):
        self.search, self.run_dir, self.examples = search, run_dir, examples
        self.compared = compared

    @property
    def seconds(self) -> float:
        return self.search.seconds + (self.compared.seconds if self.compared else 0.0)

    def to_dict(self) -> dict:
        out = {"run": self.run_dir, **self.search.to_dict()}
        if self.compared is not None:
            out["compared"] = self.compared.to_dict()
        return out

    def to_markdown(self) -> str:
        searches = [self.search] + ([self.compared] if self.compared else [])
        cells = [_summary(s) for s in searches]
        header = "| measure | " + " | ".join(s.method for s in searches) + " |"
        rows = [header, "|---|" + "---|" * len(searches)]
        for key in cells[0]:
            rows.append(f"| {key} | " + " | ".join(c.get(key, "—") for c in cells) + " |")
        return "\n".join(rows)


def _summary(s: DirectionSearch) -> dict[str, str]:
    """The rows of the command's table for one search, by label."""
    ev = s.evaluation
    t = s.trajectories.to_dict()
    amounts = ", ".join(f"{a:g}" for a in t["amounts"] if a > 0)
    source = " (from the model's range)" if s.amounts_chosen else ""
    out = {
        f"records kept (of {t['records']})": str(t["kept"]),
        "R² of the direction model on the differences (eq. 9)": f"{s.fit.r2:.3f}",
        "R² of the linear closed form": f"{s.fit.linear_r2:.3f}",
        f"amounts δt{source}": f"±{{{amounts}}}",
    }
    if s.reach:
        reached = ", ".join(f"{a:g}: {f:.0%}" for a, f in s.reach.items())
        out["target reached by the inversions (median)"] = reached
    if ev is not None:
        out[f"mean std of {ev.measure} at fixed α"] = f"{float(ev.std.mean()):.4f}"
        out["calibration error max\\|mean − g(α) − offset\\|"] = f"{ev.calibration_error():.4f}"
    return out


def euclidean_generator(run_dir: str | Path, compile: bool = False) -> DecoderGenerator:
    """The decoder of a run folder's model as G (refuses non-Euclidean latent spaces), in the
    channels-last layout; with ``compile`` through ``torch.compile`` (5.4× instead of 4.2× for
    the appendix-B conv decoder in benchmarks/inversion.py, after a few seconds of compilation)."""
    model = load(run_dir)
    latent = getattr(model, "latent", None)
    if latent is None or getattr(latent, "registry_name", "") != "euclidean":
        name = getattr(latent, "registry_name", type(latent).__name__)
        raise DataError(
            f"{run_dir}: directions need a Euclidean latent space with a N(0, I) prior; this "
            f"model's latent space is {name!r}"
        )
    gen = DecoderGenerator(model).to(memory_format=torch.channels_last)
    return torch.compile(gen) if compile else gen


def run_directions(
    source: str | Path | UserGenerator,
    transformation: str,
    compile: bool = False,
    compare: bool = False,
    **settings,
) -> DirectionReport:
    """``find_direction`` on the model of a run folder, or on a user's generator
    (:func:`~latentatlas.analysis.generators.import_generator`, its sampler drawing the codes);
    ``settings`` are its keyword arguments; ``compile`` runs the generator through
    ``torch.compile``; ``compare`` runs the other estimator
    (:data:`~latentatlas.analysis.directions.estimators.METHODS`) as well."""
    if isinstance(source, UserGenerator):
        gen = torch.compile(source.module) if compile else source.module
        settings = {"latent_dim": source.latent_dim, "sampler": source.sampler, **settings}
        label, d = source.spec, source.latent_dim
    else:
        gen = euclidean_generator(source, compile)
        label, d = str(source), gen.latent_dim
    search = find_direction(gen, transformation, **settings)
    compared = None
    if compare:
        other = next(m for m in METHODS if m != search.method)
        compared = find_direction(gen, transformation, **{**settings, "method": other})
    seed = settings.get("seed", 0)
    if isinstance(source, UserGenerator):
        codes = source.codes(4, seed + 2)
    else:
        codes = torch.randn(4, d, generator=torch.Generator().manual_seed(seed + 2))
    with torch.no_grad():
        z = search.direction.edit(codes.repeat_interleave(9, 0), torch.linspace(-3, 3, 9).repeat(4))
        examples = gen(z).reshape(4, 9, *gen(z[:1]).shape[1:])
    return DirectionReport(search, label, examples, compared)


def write_direction_outputs(report: DirectionReport, out: str | Path) -> Path:
    """direction.safetensors, results.json, table.md, figures and report.html into ``out``."""
    from ..experiments.result_files import write_result_files
    from ..viz.curves import plot_loss_panels
    from ..viz.direction_plots import plot_direction_evaluations, plot_image_rows
    from ..viz.reproduction import markdown_tables_html, write_reproduction_report

    out = Path(out)
    write_result_files(report, out)
    s = report.search
    s.direction.save(out / DIRECTION_FILE)
    figures = [
        (
            "traversals",
            "Moving along the direction",
            "Four prior codes (rows) with their coordinate along u set to α = −3 … 3.",
            plot_image_rows({f"code {i}": report.examples[i] for i in range(4)}, n=9),
        ),
        (
            "fit",
            "Training of the direction model",
            "Mean squared error of the predicted differences δt (eq. 9), per Adam step.",
            plot_loss_panels({"loss": {"direction model": s.fit.losses}}),
        ),
    ]
    if s.evaluation is not None:
        evaluations = {f"{s.transformation}: {s.method}": s.evaluation}
        other = report.compared
        if other is not None and other.evaluation is not None:
            evaluations[f"{s.transformation}: {other.method}"] = other.evaluation
        figures.insert(
            1,
            (
                "control-precision",
                "Control precision (sec. 3.1)",
                f"{s.evaluation.measure} measured on generated images at each α (blue), its "
                "standard deviation (red) and the calibration g(α) shifted to the mean (dashed)"
                + (", for each estimator." if len(evaluations) > 1 else "."),
                plot_direction_evaluations(evaluations, s.evaluation.measure),
            ),
        )
    lead = (
        f"Direction of {s.transformation} ({s.fit.model.units}) found from "
        f"{len(s.trajectories)} trajectory records; saved to {DIRECTION_FILE}."
    )
    t = s.trajectories.to_dict()
    return write_reproduction_report(
        out,
        title=f"Latent direction: {s.transformation}",
        subtitle=f"Model of {report.run_dir}; no labels and no encoder used.",
        facts={
            "records": f"{t['kept']} of {t['records']}",
            "R²": f"{s.fit.r2:.3f}",
            "time": f"{s.seconds:.0f} s",
        },
        settings={"run": report.run_dir, "transformation": s.transformation},
        lead=lead,
        tables_html=markdown_tables_html(report.to_markdown()),
        figures=figures,
        eyebrow="analysis",
        status="direction found",
    )
