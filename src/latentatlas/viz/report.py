"""A self-contained HTML report of a run folder.

:func:`write_report` writes ``run_dir/report.html`` — one file, no external links or scripts, the
figures embedded as PNG data URIs and the CSS inline, so it can be mailed, archived or opened
offline — and the same figures as ``run_dir/figures/*.png``. It shows

* the run: name, model, dataset, parameter count, steps, status, seed, data fingerprint and the
  library versions from ``metadata.json``; the full ``config.json`` in a collapsible block;
* the evaluation numbers (thesis table 5.1 columns: −ELBO, KL, reconstruction, MSE) from the
  ``evaluation`` argument or ``run_dir/evaluation.json``, side by side with optional reference
  values (e.g. the thesis row for the same setting), and the activity of each latent coordinate;
* figures computed on the dataset's evaluation set (X_Vis for the sine circle, eq. 5.5): the
  latent scatter with the posterior ellipses of eq. 5.6 (fig. 5.4), reconstructions (fig. 5.2,
  eq. 5.7), latent traversals over a fixed interval and over ±2σ of the fitted codes, and the
  training curves.

Figures are drawn on pyplot-free Agg figures (see :mod:`.latent_plots`), so there is no pyplot
state to close; each is rendered to PNG bytes once and then dropped. All text put into the HTML
goes through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import torch
from matplotlib.figure import Figure

from .. import __version__
from ..analysis.latents import (
    LatentSummary,
    posterior_traversal_values,
    prior_traversal_values,
    summarise_latents,
    traversal_grid,
)
from ..data.base import FactorDataset
from ..errors import RunFolderError, UnknownNameError
from ..train import checkpoint as ckpt
from ..train.run import load, load_dataset, read_metadata, run_status
from .curves import plot_training_curves
from .images import plot_reconstructions, plot_traversal_grid
from .latent_plots import (
    plot_latent_circle,
    plot_latent_pairs,
    plot_latent_scatter,
    plot_latent_torus,
)
from .sphere_plots import plot_codes_on_spheres, plot_rotation_vectors

REPORT = "report.html"
FIGURES = "figures"
EVALUATION = "evaluation.json"
#: optional run-folder file of published numbers to compare with (written e.g. by the demo)
REFERENCES = "references.json"
SECTIONS = "report_sections"  # extra sections as rendered, reused by a later report
DPI = 144
#: CSS pixels per inch: figures are shown at their natural size (10 pt text ≈ the page's text)
CSS_PX_PER_INCH = 96
#: figures wider than this (CSS pixels) get a card spanning the whole row
WIDE_PX = 620

#: metric key → (row label, where it comes from); the order of the metrics table
METRICS: dict[str, tuple[str, str]] = {
    "neg_elbo": ("−ELBO", "reconstruction + KL; nats per data point"),
    "kl": ("KL regularisation", "eq. 5.10; nats per data point"),
    "reconstruction": (
        "Reconstruction",
        "eq. 5.9, L posterior samples; −log p(x|z) per data "
        "point (nats for a probabilistic decoder)",
    ),
    "mse": (
        "MSE",
        "eq. 5.7–5.8, mean reconstruction; squared error summed over a data point's "
        "values (pixels × channels, or dimensions), mean over points",
    ),
}
#: evaluation entries that describe the evaluation rather than measure the model (in the caption)
COUNTS = ("n_points", "n_samples")

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_number(value: Any, digits: int = 4) -> str:
    """A number for the tables (HTML-safe text).

    Integers as is (with thousands separators); floats with ``digits`` significant digits,
    trailing zeros kept so a column reads alike, in scientific notation ``m × 10⁻ᵉ`` below 0.01
    or from 10⁴ on, with a true minus sign. Strings (e.g. "−28.74 ± 0.16" quoted from a paper)
    are returned escaped, None as "—".
    """
    if value is None:
        return "—"
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, bool):
        return html.escape(str(value))
    if isinstance(value, int):
        return f"{value:,}".replace("-", "−")
    v = float(value)
    if not math.isfinite(v):
        return html.escape(str(v))
    if v == 0:
        return "0"
    v = float(f"{v:.{digits - 1}e}")  # round first, so 9999.96 counts as 1.000e4
    if abs(v) < 1e-2 or abs(v) >= 1e4:
        mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
        exp = str(int(exponent)).translate(_SUPERSCRIPT)
        return f"{mantissa} × 10{exp}".replace("-", "−")
    decimals = max(digits - 1 - math.floor(math.log10(abs(v))), 0)
    return f"{v:.{decimals}f}".replace("-", "−")


@dataclass
class _FigureCard:
    """One figure of the report; ``width``/``height`` are its natural size in CSS pixels."""

    slug: str
    title: str
    caption: str
    png: bytes
    width: int
    height: int

    @property
    def wide(self) -> bool:
        """Whether the card spans the whole grid row (figures wider than half the page)."""
        return self.width > WIDE_PX


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """PNG bytes of ``fig`` on a white background."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Write ``fig`` as a PNG atomically (temporary file, then rename); returns the path."""
    data = figure_png(fig, dpi)
    ckpt.atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
    return Path(path)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _read_optional_json(path: Path) -> Any:
    return ckpt.read_json(path) if path.is_file() else None


def _read_run_file(path: Path, layout: str, nested: bool = False) -> Mapping[str, Any] | None:
    """An optional JSON object of the run folder; a file of another shape is a corrupt folder."""
    data = _read_optional_json(path)
    if data is None:
        return None
    if not isinstance(data, Mapping) or (
        nested and not all(isinstance(v, Mapping) for v in data.values())
    ):
        raise RunFolderError(f"{path}: expected a JSON object {layout}")
    return data


def _hue_factor(summary: LatentSummary) -> str | None:
    """The first factor that varies over the evaluation set (dSprites' first is constant)."""
    if summary.factors is None:
        return None
    for j, name in enumerate(summary.factor_names):
        col = summary.factors[:, j]
        if float(col.max() - col.min()) > 0:
            return name
    return summary.factor_names[0] if summary.factor_names else None


def _pick_points(summary: LatentSummary, hue: str | None, n: int) -> list[int]:
    """``n`` evaluation points evenly spread over the hue factor (or the index)."""
    total = summary.n
    if hue is not None:
        order = torch.argsort(summary.factors[:, summary.factor_index(hue)], stable=True)
    else:
        order = torch.arange(total)
    n = min(n, total)
    pos = torch.linspace(0, total - 1, n).round().long() if n > 1 else torch.zeros(1).long()
    return [int(order[p]) for p in pos]


def _factor_label(name: str, value: float, periodic: bool) -> str:
    symbol = "φ" if name == "phase" else name
    return f"{symbol} = {value:.2f}".replace("-", "−")


def _make_figures(
    model: torch.nn.Module,
    dataset: FactorDataset,
    records: list[dict[str, Any]],
    dpi: int = DPI,
    thesis: bool = True,
    hue: str | None = None,
) -> tuple[list[_FigureCard], LatentSummary, list[str]]:
    """Compute the summary and draw every figure of the report (notes list skipped figures);
    ``thesis``: the run is a thesis benchmark, so captions point at the thesis's figures."""

    def cite(text: str) -> str:
        return text if thesis else ""

    batch = dataset.evaluation_set()
    summary = summarise_latents(model, batch.x, batch.factors, dataset.factor_space)
    if hue is None:
        hue = _hue_factor(summary)
    elif summary.factors is None or hue not in summary.factor_names:
        raise UnknownNameError("factor", hue, list(summary.factor_names or []))
    cards: list[_FigureCard] = []
    notes: list[str] = []
    n = summary.n
    latent_name = summary.latent
    hued = f", hued by <em>{_esc(hue)}</em>" if hue else ""
    cyclic = ""
    if hue is not None and summary.factor_periodic[summary.factor_index(hue)]:
        cyclic = " with a cyclic colour map (the two ends of its range get the same colour)"

    def add(slug: str, title: str, caption: str, draw: Callable[[], Figure]) -> None:
        fig = draw()
        w, h = (round(v * CSS_PX_PER_INCH) for v in fig.get_size_inches())
        cards.append(_FigureCard(slug, title, caption, figure_png(fig, dpi), w, h))

    # 1. latent space (thesis fig. 5.4)
    if summary.latent_periodic:
        ellipses = (
            " Each arc is the region {θ : |θ − μ| ≤ s} of eq. 7.11 around the posterior location,"
            " s the posterior's angular standard deviation."
            if summary.stds is not None
            else ""
        )
    elif summary.stds is not None:
        ellipses = (
            " Each translucent ellipse is the region {z : ‖(z − μ<sub>Z</sub>(x)) ⊘ "
            "σ<sub>Z</sub>(x)‖ ≤ 1} of eq. 5.6, with semi-axes the posterior standard deviations."
        )
    else:
        ellipses = " The encoder is deterministic, so there are no posterior ellipses."
    draw_latent: Callable[[], Figure]
    if summary.latent_periodic and summary.dim == 1:
        title = "Latent space: posterior locations and arcs on the circle"
        draw_latent = lambda: plot_latent_circle(summary, hue)  # noqa: E731
        where = "the circle (thesis fig. 7.1)"
    elif summary.dim == 1:
        title = "Latent space: posterior means"
        draw_latent = lambda: plot_latent_pairs(summary, hue, max_dims=4)  # noqa: E731
        where = "the single latent coordinate"
    elif summary.dim == 2:
        title = (
            "Latent space: posterior locations on the flat torus"
            if summary.latent_periodic
            else "Latent space: posterior means and ellipses"
        )
        draw_latent = lambda: plot_latent_scatter(summary, hue, (0, 1))  # noqa: E731
        where = "both latent coordinates"
    else:
        title = "Latent space: pairs of the most active coordinates"
        draw_latent = lambda: plot_latent_pairs(summary, hue, max_dims=4)  # noqa: E731
        where = "pairs of the (up to four) most active coordinates, most active first"
    add(
        "latent_scatter",
        title,
        f"Posterior means μ<sub>Z</sub>(x) of the {n:,} evaluation points over {where}{hued}"
        f"{cyclic}.{ellipses}"
        + cite(" Compare thesis fig. " + ("7.1." if summary.latent_periodic else "5.4.")),
        draw_latent,
    )
    if summary.latent in ("sphere", "projective") and summary.dim == 3:  # S² or RP²
        j = None if hue is None else summary.factor_index(hue)
        values = None if j is None else summary.factors[:, j].numpy()
        periodic = j is not None and summary.factor_periodic[j]
        add(
            "latent_sphere",
            "Latent space: the codes on the sphere",
            f"Posterior locations of the {n:,} evaluation points drawn on the unit sphere"
            f"{hued}{cyclic} (a representative ±z for RP²).",
            lambda: plot_codes_on_spheres([("", summary.means, [(hue or "", values, periodic)])]),
        )
    if summary.latent == "rotation":  # SO(3): rotation vectors in the ball of radius π
        j = None if hue is None else summary.factor_index(hue)
        values = None if j is None else summary.factors[:, j].numpy()
        periodic = j is not None and summary.factor_periodic[j]
        vectors = model.latent.to_manifold(summary.means.double())
        add(
            "latent_rotations",
            "Latent space: the codes as rotation vectors",
            f"Posterior locations of the {n:,} evaluation points as rotation vectors ω·axis in "
            f"the ball of radius π (antipodal points of its surface are one rotation){hued}"
            f"{cyclic}.",
            lambda: plot_rotation_vectors(vectors, (hue or "", values, periodic)),
        )
    if summary.latent_periodic and summary.dim == 2:  # a torus: thesis fig. 11.3/11.4
        hues = [i for i, p in enumerate(summary.factor_periodic) if p][:2] or None
        add(
            "latent_torus",
            "Latent space: the torus in 3-D",
            "Posterior locations (θ₁, θ₂) drawn on a ring torus in R³ (θ₁ around the ring, θ₂ "
            "around the tube), one panel per periodic factor as the hue"
            + cite(" (compare thesis fig. 11.3/11.4)")
            + "; the model's torus is embedded in R⁴, this picture is only a drawing.",
            lambda: plot_latent_torus(summary, hues),
        )

    # 2. reconstructions (thesis fig. 5.2, eq. 5.7)
    is_vector = batch.x.ndim == 2
    n_show = 6 if is_vector else 8
    idx = _pick_points(summary, hue, n_show)
    x = batch.x[idx]
    with torch.no_grad():
        recon = model.reconstruct(x.to(next(model.parameters()).device)).cpu()
    labels = None
    if hue is not None:
        j = summary.factor_index(hue)
        labels = [
            _factor_label(hue, float(summary.factors[i, j]), summary.factor_periodic[j])
            for i in idx
        ]
    add(
        "reconstructions",
        "Reconstructions",
        (
            "Six evaluation points spread over "
            + (f"<em>{_esc(hue)}</em>" if hue else "the set")
            + ": the entries of x as markers joined by a dotted line"
            + cite(" (as in thesis fig. 5.2)")
            + " and the mean reconstruction μ<sub>X</sub>(μ<sub>Z</sub>(x))"
            + cite(" of eq. 5.7")
            + " as a line."
            if is_vector
            else "Eight evaluation points (top) and their mean reconstructions "
            "μ<sub>X</sub>(μ<sub>Z</sub>(x))" + cite(" of eq. 5.7") + " (bottom)."
        ),
        lambda: plot_reconstructions(
            x, recon, n=n_show, labels=labels, ncols=2 if is_vector else 4, panel_size=(2.6, 1.45)
        ),
    )

    # 3. traversals: a fixed interval and ±2σ of the fitted codes
    dims = [int(d) for d in summary.order[: min(summary.dim, 6)]]
    base = summary.base_point()
    base_txt = ", ".join(format_number(float(v), 3) for v in base)
    rows = "one row per latent coordinate, most active first" if len(dims) > 1 else "one row"
    kind = "curves coloured by the value" if is_vector else "columns"
    steps = 9 if is_vector else 10
    try:
        fixed = prior_traversal_values(model, steps)
    except (NotImplementedError, TypeError) as exc:
        notes.append(f"fixed-interval traversal skipped: {exc}")
    else:
        if summary.latent_periodic:
            prior_txt = "a full turn of the angle: the support of the uniform prior of eq. 7.2"
        elif getattr(model.latent, "has_prior", False):
            prior_txt = (
                "the N(0, I) prior of eq. 4.1, ±3 covering 99.7 % of its mass per coordinate"
            )
        else:
            prior_txt = (
                "no prior here (a deterministic autoencoder); the same interval for comparison"
            )
        add(
            "traversal_fixed",
            f"Traversals over a fixed interval [{format_number(float(fixed[0]), 3)}, "
            f"{format_number(float(fixed[-1]), 3)}]",
            f"Decoded means μ<sub>X</sub>(z) as one coordinate of z sweeps a fixed interval "
            f"({prior_txt}), the others held at z* = ({base_txt}), the code of a typical "
            f"evaluation point; {rows}, {kind}.",
            lambda: plot_traversal_grid(traversal_grid(model, base, dims, fixed), fixed, dims),
        )
    if summary.latent_periodic:
        notes.append("angles have no ±2σ traversal: the fixed one covers a full turn")
    else:
        fitted = posterior_traversal_values(summary, dims, steps)
        add(
            "traversal_fitted",
            "Traversals over ±2σ of the fitted codes",
            f"As the fixed-interval traversal, but each coordinate sweeps mean ± 2·std of the "
            f"posterior means μ<sub>Z</sub>(x) over the evaluation set — where the encoder "
            f"actually puts data ({_esc(latent_name)} latent); {rows}, {kind}.",
            lambda: plot_traversal_grid(traversal_grid(model, base, dims, fitted), fitted, dims),
        )

    # 4. training curves
    if records:
        add(
            "training_curves",
            "Training curves",
            "Per-batch training terms against the optimiser step (lines) and evaluation records "
            "(markers, when logged); identical series share a panel (e.g. the loss and the −ELBO "
            "of a β = 1 VAE). A panel whose values span orders of magnitude uses a log scale, or a "
            "symmetric log scale when the values change sign (the Gaussian reconstruction term "
            "of eq. 4.10 is negative once the fit is good).",
            lambda: plot_training_curves(records),
        )
    else:
        notes.append("no metrics.jsonl records: training curves skipped")
    return cards, summary, notes


def _facts(meta: Mapping[str, Any], config: Mapping[str, Any], model: torch.nn.Module) -> str:
    desc = model.describe() if hasattr(model, "describe") else {}
    latent = config.get("model", {}).get("latent", {}) or {}
    latent_txt = desc.get("latent") or latent.get("name", "")
    dim = desc.get("latent_dim") or latent.get("dim")
    params = meta.get("parameters", desc.get("parameters"))
    step, total = meta.get("step"), meta.get("total_steps")
    train_s = meta.get("train_seconds")
    items: list[tuple[str, str, bool]] = [
        ("Model", f"{meta.get('model') or config.get('model', {}).get('name', '?')}", False),
        ("Latent space", f"{latent_txt}" + (f", d = {dim}" if dim else ""), False),
        ("Dataset", f"{meta.get('dataset') or config.get('dataset', {}).get('name', '?')}", False),
        ("Data size", format_number(meta.get("data_size")), False),
        ("Parameters", format_number(params), False),
        (
            "Steps",
            format_number(step) + (f" / {format_number(total)}" if total is not None else ""),
            False,
        ),
        ("Seed", format_number(meta.get("seed", config.get("seed"))), False),
        ("Training time", f"{float(train_s):.1f} s" if train_s is not None else "—", False),
        ("Data fingerprint", _esc(meta.get("data_fingerprint", "—")), True),
        ("Created", _esc(meta.get("created", "—")), False),
        (
            "Versions",
            " · ".join(
                f"{name} {_esc(meta[key])}"
                for name, key in (
                    ("latent-atlas", "latent_atlas"),
                    ("torch", "torch"),
                    ("numpy", "numpy"),
                    ("python", "python"),
                )
                if meta.get(key)
            )
            or "—",
            False,
        ),
    ]
    out = []
    for label, value, mono in items:
        if label in ("Model", "Latent space", "Dataset"):
            value = _esc(value)
        cls = ' class="mono"' if mono else ""
        div = '<div class="span3">' if label == "Versions" else "<div>"
        out.append(f"    {div}<dt>{_esc(label)}</dt><dd{cls}>{value}</dd></div>")
    return "\n".join(out)


def metrics_table_html(evaluation: Mapping[str, Any] | None, references: Mapping[str, Any]) -> str:
    """The report's metrics card: this run's evaluation beside reference columns."""
    return _metrics_table(evaluation, references)


def _metrics_table(evaluation: Mapping[str, Any] | None, references: Mapping[str, Any]) -> str:
    refs = {str(k): dict(v) for k, v in references.items()}
    keys = [
        k for k in METRICS if (evaluation and k in evaluation) or any(k in r for r in refs.values())
    ]
    extra = [k for k in (evaluation or {}) if k not in METRICS and k not in COUNTS]
    extra += [
        k for r in refs.values() for k in r if k not in METRICS and k not in extra + list(COUNTS)
    ]
    keys += extra
    head = ['<th scope="col">Metric</th>', '<th scope="col" class="ours">This run</th>']
    head += [f'<th scope="col">{_esc(name)}</th>' for name in refs]
    body = []
    for key in keys:
        label, where = METRICS.get(key, (key, ""))
        ours = evaluation.get(key) if evaluation else None
        cells = [
            f'<th scope="row">{_esc(label)}'
            + (f"<small>{_esc(where)}</small>" if where else "")
            + "</th>",
            f'<td class="num ours{" missing" if ours is None else ""}">{format_number(ours)}</td>',
        ]
        for r in refs.values():
            v = r.get(key)
            cells.append(
                f'<td class="num{" missing" if v is None else ""}">{format_number(v)}</td>'
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = "Per-data-point averages over the evaluation set"
    if evaluation and evaluation.get("n_points"):
        caption += f" ({format_number(evaluation['n_points'])} points"
        if evaluation.get("n_samples"):
            caption += f", L = {format_number(evaluation['n_samples'])}"
        caption += ")"
    note = ""
    if evaluation is None:
        note = (
            '<p class="note">No evaluation results: pass <code>evaluation=</code> or write '
            f"<code>{EVALUATION}</code> into the run folder "
            "(<code>latentatlas.analysis.evaluate(model, x).to_dict()</code>).</p>"
        )
    return (
        '    <div class="card table-wrap"><table class="metrics">'
        f"<caption>{caption}</caption>"
        f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"{note}</div>"
    )


def _latent_table(summary: LatentSummary) -> str:
    measure = "mean KL" if summary.activity_measure == "kl" else "var of μ"
    head = (
        '<th scope="col">Coordinate</th>'
        f'<th scope="col">{_esc(measure)}</th>'
        + ('<th scope="col">mean σ<sub>Z</sub></th>' if summary.stds is not None else "")
        + '<th scope="col">std of μ<sub>Z</sub></th>'
    )
    rows = []
    shown = [int(d) for d in summary.order[:12]]
    for d in shown:
        cells = [
            f'<th scope="row">z<sub>{d}</sub></th>',
            f'<td class="num">{format_number(float(summary.activity[d]))}</td>',
        ]
        if summary.stds is not None:
            cells.append(f'<td class="num">{format_number(float(summary.stds[:, d].mean()))}</td>')
        std = float(summary.means[:, d].std(unbiased=False)) if summary.n > 1 else 0.0
        cells.append(f'<td class="num">{format_number(std)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if summary.dim > len(shown):
        more = f'<p class="note">{summary.dim - len(shown)} less active coordinates not shown.</p>'
    return (
        '    <div class="card table-wrap"><table class="latents">'
        "<caption>Latent coordinates, most active first</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}</div>"
    )


def _figure_cards(cards: list[_FigureCard], paths: dict[str, str]) -> str:
    out = []
    for c in cards:
        data = base64.b64encode(c.png).decode("ascii")
        cls = "card wide" if c.wide else "card"
        out.append(
            f'    <figure class="{cls}" id="fig-{_esc(c.slug)}">'
            f'<div class="frame"><img src="data:image/png;base64,{data}" '
            f'width="{c.width}" height="{c.height}" '
            f'alt="{_esc(c.title)}"></div>'
            f"<figcaption><strong>{_esc(c.title)}</strong>{c.caption} "
            f'<span class="muted">({_esc(paths[c.slug])})</span></figcaption></figure>'
        )
    return "\n".join(out)


@dataclass
class ReportSection:
    """An extra section of a report: a title, a lead paragraph (HTML), tables (HTML) and
    figures as (slug, title, caption HTML, matplotlib figure)."""

    title: str
    lead: str = ""
    tables_html: str = ""
    figures: Sequence[tuple[str, str, str, Figure]] = ()


def _section_html(section: ReportSection, out: Path, dpi: int) -> str:
    cards, paths = [], {}
    for slug, title, caption, fig in section.figures:
        png = figure_png(fig, dpi)
        w, h = (round(v * CSS_PX_PER_INCH) for v in fig.get_size_inches())
        cards.append(_FigureCard(slug, title, caption, png, w, h))
        rel = f"{FIGURES}/{slug}.png"
        ckpt.atomic_write(out / rel, lambda tmp, data=png: Path(tmp).write_bytes(data))
        paths[slug] = rel
    tables = (
        f'  <div class="tables">\n{section.tables_html}\n  </div>\n' if section.tables_html else ""
    )
    return (
        f'<section>\n  <h2>{_esc(section.title)}</h2>\n  <p class="lead">{section.lead}</p>\n'
        f'{tables}  <div class="grid">\n{_figure_cards(cards, paths)}\n  </div>\n</section>'
    )


def _extra_sections(run_dir: Path, extras: Sequence[ReportSection], dpi: int) -> list[str]:
    """The HTML of the extra sections. Given sections are rendered and kept in
    ``run_dir/report_sections/`` so that a later ``latent-atlas report RUN_DIR`` (which cannot
    recompute them: e.g. the demo's diffusion VAE and Δ-reductions) shows them again rather
    than dropping them; with no sections given, the kept ones are used."""
    folder = run_dir / SECTIONS
    if not extras:
        if not folder.is_dir():
            return []
        kept = sorted(folder.glob("*.html"))
        try:
            return [p.read_text(encoding="utf-8") for p in kept]
        except (OSError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"{folder}: unreadable report section ({exc})") from None
    rendered = [_section_html(x, run_dir, dpi) for x in extras]
    for i, text in enumerate(rendered):
        ckpt.atomic_write_text(folder / f"{i:02d}.html", text)
    for stale in sorted(folder.glob("*.html"))[len(rendered) :]:
        stale.unlink()
    return rendered


THESIS_DATASETS = frozenset(
    {"sine_circle", "torus_sines", "pixel_shift", "rotating_object", "coil20"}
)
"""Datasets of the thesis's benchmarks: only their reports cite the thesis's figures."""

DISENTANGLEMENT = "disentanglement.json"


def _disentanglement_section(run_dir: Path, dpi: int) -> list[str]:
    """``disentanglement.json`` (``latent-atlas evaluate --metrics``) as a table and a bar chart
    of the headline scores, when the run has one."""
    record = _read_optional_json(run_dir / DISENTANGLEMENT)
    scores = record.get("scores") if isinstance(record, dict) else None
    if not isinstance(scores, dict):
        return []
    headline = {
        k: float(v) for k, v in scores.items() if "/" not in k and isinstance(v, (int, float))
    }
    if not headline:
        return []
    from .latent_plots import new_figure

    rows = ["<table><tr><th>metric</th><th>score</th></tr>"]
    rows += [f"<tr><td>{_esc(k)}</td><td>{format_number(v)}</td></tr>" for k, v in headline.items()]
    rows.append("</table>")
    rows += _drawn_table(record.get("drawn"))
    fig = new_figure((6.0, 0.3 * len(headline) + 0.8))
    ax = fig.add_subplot()
    names = list(headline)[::-1]
    ax.barh(names, [headline[n] for n in names], color="#3b6ea8")
    ax.set_xlabel("score")
    preset = _esc(record.get("preset", "?"))
    representation = _esc(record.get("representation", "mean"))
    lead = (
        f"The disentanglement metrics of <code>{DISENTANGLEMENT}</code> (preset <em>{preset}</em>,"
        f" the {representation} representation); per-factor scores are in the file."
    )
    section = ReportSection(
        "Disentanglement metrics",
        lead,
        "\n".join(rows),
        [("disentanglement", "Headline scores", "One bar per score.", fig)],
    )
    return [_section_html(section, run_dir, dpi)]


def _drawn_table(drawn: Any) -> list[str]:
    """How each metric drew its points (``disentanglement.json``'s ``drawn``): sizes, rows,
    split, whether a row was used twice, and what was fitted to the rows."""
    if not isinstance(drawn, dict) or not drawn:
        return []
    rows = [
        "<table><caption>How each metric drew its points</caption><tr><th>metric</th>"
        "<th>sizes</th><th>rows</th><th>points</th><th>a row used twice</th><th>seed</th></tr>"
    ]
    for name, d in drawn.items():
        if not isinstance(d, dict):
            continue
        sizes = ", ".join(f"{k} {v}" for k, v in (d.get("sizes") or {}).items())
        fitted = f" ({d['fitted']})" if d.get("fitted") else ""
        repeated = "yes" if d.get("rows_repeated") else "no"
        rows.append(
            f"<tr><td>{_esc(name)}</td><td>{_esc(sizes)}{_esc(fitted)}</td>"
            f"<td>{_esc(str(d.get('rows') or 'rendered'))}</td><td>{_esc(str(d.get('points')))}"
            f"</td><td>{repeated}</td><td>{_esc(str(d.get('seed')))}</td></tr>"
        )
    rows.append("</table>")
    return rows


def _template() -> Template:
    text = (
        resources.files("latentatlas.viz").joinpath("templates", "report.html").read_text("utf-8")
    )
    return Template(text)


def write_report(
    run_dir: str | Path,
    evaluation: Mapping[str, Any] | Any | None = None,
    references: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    model: torch.nn.Module | None = None,
    dataset: FactorDataset | None = None,
    extras: Sequence[ReportSection] = (),
    dpi: int = DPI,
    hue: str | None = None,
) -> Path:
    """Write ``run_dir/report.html`` (self-contained) and ``run_dir/figures/*.png``.

    Args:
        run_dir: a run folder (``config.json``, ``model.safetensors``, ``metadata.json``, ...).
        evaluation: metric name → value (e.g. ``evaluate(...).to_dict()``; an object with
            ``to_dict()`` is accepted too); None reads ``run_dir/evaluation.json`` if present.
        references: column name → {metric: value or text such as ``"−28.74 ± 0.16"``}, shown
            next to this run's numbers (e.g. the thesis table 5.1 row of the same setting);
            None reads ``run_dir/references.json`` if present.
        model: the trained model (default: ``load(run_dir)``).
        dataset: the dataset (default: ``load_dataset(run_dir)``; pass it for data given to
            ``train_run`` directly, which the run folder cannot rebuild).
        extras: further sections after the figures (e.g. the demo's second model and its
            Δ-reductions), each with a lead, HTML tables and figures.
        dpi: resolution of the PNG figures (144: sharp on high-density screens).
        hue: the factor that colours the latent figures (default: the first that varies); an
            unknown name lists the factors.

    Returns the path of ``report.html``. Both the HTML and the PNGs are written atomically.
    """
    run_dir = ckpt.check_run_dir(run_dir)
    config = ckpt.read_json(run_dir / ckpt.CONFIG)
    if not isinstance(config, dict):
        raise RunFolderError(f"{run_dir / ckpt.CONFIG}: expected a JSON object")
    meta = read_metadata(run_dir)
    if evaluation is None:
        evaluation = _read_run_file(run_dir / EVALUATION, "metric → value")
    if evaluation is not None and hasattr(evaluation, "to_dict"):
        evaluation = evaluation.to_dict()
    if evaluation is not None and not isinstance(evaluation, Mapping):
        raise TypeError(
            f"evaluation: expected a mapping of metrics, got {type(evaluation).__name__}"
        )
    if references is None:
        references = _read_run_file(run_dir / REFERENCES, "column → {metric: value}", nested=True)
    if references is not None and not (
        isinstance(references, Mapping) and all(isinstance(v, Mapping) for v in references.values())
    ):
        raise TypeError("references: expected column name → {metric: value}")
    references = references or {}
    model = model if model is not None else load(run_dir)
    dataset = dataset if dataset is not None else load_dataset(run_dir)
    records = ckpt.read_metrics(run_dir)

    thesis = config.get("dataset", {}).get("name") in THESIS_DATASETS
    cards, summary, notes = _make_figures(model, dataset, records, dpi, thesis, hue)
    paths = {}
    for c in cards:
        rel = f"{FIGURES}/{c.slug}.png"
        ckpt.atomic_write(run_dir / rel, lambda tmp, data=c.png: Path(tmp).write_bytes(data))
        paths[c.slug] = rel

    status = run_status(run_dir)
    badge_cls = "status" if status == "finished" else "status other"
    model_name = meta.get("model") or config.get("model", {}).get("name", "model")
    dataset_name = meta.get("dataset") or config.get("dataset", {}).get("name", "data")
    steps = meta.get("step")
    subtitle = (
        f"A <b>{_esc(model_name)}</b> model with a {summary.dim}-dimensional "
        f"<b>{_esc(summary.latent)}</b> latent space, trained on <b>{_esc(dataset_name)}</b>"
        + (f" for {format_number(steps)} steps" if steps is not None else "")
        + f"; figures on its evaluation set of {summary.n:,} points."
    )
    n_samples = (evaluation or {}).get("n_samples")
    metrics_lead = (
        ("The thesis table 5.1 quantities" if thesis else "The evaluation")
        + " on the evaluation set: −ELBO = reconstruction + KL, "
        "with the reconstruction term estimated from "
        + (f"L = {format_number(n_samples)}" if n_samples else "L")
        + " posterior samples per point and the MSE of the mean reconstruction. "
        + (
            "Reference columns are quoted as given, to compare this run with published numbers."
            if references
            else ""
        )
    )
    figures_lead = "Computed on the dataset's evaluation set" + (
        " X<sub>Vis</sub> (thesis eq. 5.5: noiseless sine vectors of 100 evenly spaced phases)."
        if getattr(dataset, "registry_name", "") == "sine_circle"
        else "."
    )
    if notes:
        figures_lead += " " + _esc("; ".join(notes).capitalize() + ".")
    footer = (
        f"Generated by latent-atlas {_esc(__version__)} on {_esc(time.strftime('%Y-%m-%d %H:%M'))}"
        f" from <code>{_esc(run_dir.resolve())}</code>"
        + (f" · {_esc(meta['platform'])}" if meta.get("platform") else "")
    )
    page = _template().substitute(
        version=_esc(__version__),
        eyebrow="run report",
        title=_esc(f"{run_dir.name} — latent-atlas report"),
        heading=_esc(run_dir.name),
        status=f'<span class="{badge_cls}">{_esc(status)}</span>',
        subtitle=subtitle,
        facts=_facts(meta, config, model),
        config=_esc(json.dumps(config, indent=2, ensure_ascii=False)),
        metrics_lead=metrics_lead,
        tables=_metrics_table(evaluation, references) + "\n" + _latent_table(summary),
        figures_lead=figures_lead,
        figures=_figure_cards(cards, paths),
        extras="\n".join(
            [*_disentanglement_section(run_dir, dpi), *_extra_sections(run_dir, extras, dpi)]
        ),
        footer=footer,
    )
    out = run_dir / REPORT
    ckpt.atomic_write_text(out, page)
    return out
