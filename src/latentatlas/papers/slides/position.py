"""``reproduce slides-position``: autoencoding position (slides 22-30).

Three parts: (1) the identity E_L(δ_a) = 2^L − a of the fixed [1, 2, 1] network for every a and
L = 1 … 10 (1-D) and L = 1 … 5 (2-D), with max pooling in place of subsampling for contrast;
(2) position encoders with learnable filters trained on (δ_a, 2^L − a), with strided
subsampling (slide 27: the filters become ϕ) and with max pooling (slide 29: it breaks down);
(3) an MLP position decoder trained on the n integer Diracs (eq. 9) or on continuous Diracs
(eq. 11), scored on held-out real positions (slide 28).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...analysis.position import (
    PositionDecoderScore,
    PositionEncoderFit,
    evaluate_position_decoder,
    train_position_decoder,
    train_position_encoder,
)
from ...data.synthetic.diracs import continuous_diracs
from ...experiments.model_store import ModelStore
from ...nets.position import PositionNetwork, diracs


@dataclass(frozen=True)
class PositionScale:
    identity_levels: int
    levels: int
    encoder_steps: int
    decoder_size: int
    decoder_positions: int
    decoder_steps: int
    held_out: int = 500


SCALES = {
    "quick": PositionScale(10, 5, 3000, 32, 1000, 3000),
    "full": PositionScale(12, 6, 10_000, 64, 4000, 10_000),
}
DECODER_TITLES = {"integer": "integer Diracs (eq. 9)", "continuous": "continuous Diracs (eq. 11)"}


@dataclass
class IdentityRow:
    dims: int
    levels: int
    max_error: float
    max_pool_distinct: int
    positions: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PositionResult:
    scale: PositionScale
    seed: int
    identity: list[IdentityRow]
    encoders: dict[str, PositionEncoderFit]
    decoders: dict[str, PositionDecoderScore]
    seconds: float
    decoded: dict[str, np.ndarray] = field(repr=False)
    decoded_positions: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": "slides-position",
            "scale": self.scale.__dict__,
            "seed": self.seed,
            "identity": [r.to_dict() for r in self.identity],
            "encoders": {k: v.to_dict() for k, v in self.encoders.items()},
            "decoders": {k: v.to_dict() for k, v in self.decoders.items()},
            "seconds": self.seconds,
        }

    def to_markdown(self) -> str:
        rows = [
            "| E_L | max |E_L(δ_a) − (2^L − a)| | distinct outputs with max pooling |",
            "|---|---|---|",
        ]
        for r in self.identity:
            rows.append(
                f"| {r.dims}-D, L = {r.levels} | {r.max_error:g} | "
                f"{r.max_pool_distinct} of {r.positions} |"
            )
        rows += ["", "| trained encoder | RMSE (positions) | max filter deviation from ϕ/2 |"]
        rows.append("|---|---|---|")
        for name, fit in self.encoders.items():
            rows.append(f"| {name}, L = {fit.levels} | {fit.rmse:.4f} | {fit.filter_error:.4f} |")
        rows += [
            "",
            "| decoder trained on | ‖D(a) − δ_a‖² | mean position error | max position error |",
            "|---|---|---|---|",
        ]
        for name, s in self.decoders.items():
            rows.append(
                f"| {DECODER_TITLES[name]} | {s.squared_error:.4f} | {s.barycentre_error:.4f} | "
                f"{s.max_barycentre_error:.4f} |"
            )
        return "\n".join(rows)


def identity_rows(max_levels_1d: int, max_levels_2d: int = 5) -> list[IdentityRow]:
    """E_L(δ_a) − (2^L − a) over every Dirac, and how many distinct outputs max pooling keeps."""
    rows = []
    for dims, top in ((1, max_levels_1d), (2, max_levels_2d)):
        for levels in range(1, top + 1):
            n = 2**levels
            x = diracs(n, dims)
            inverted = n - torch.arange(n, dtype=torch.float64)
            target = inverted if dims == 1 else torch.outer(inverted, inverted).reshape(-1)
            out = PositionNetwork(levels, dims)(x)
            pooled = PositionNetwork(levels, dims, pooling="max")(x)
            rows.append(
                IdentityRow(
                    dims=dims,
                    levels=levels,
                    max_error=float((out - target).abs().max()),
                    max_pool_distinct=int(torch.unique(pooled).numel()),
                    positions=x.shape[0],
                )
            )
    return rows


def reproduce_position(
    settings: PositionScale, store: ModelStore | None = None, seed: int = 0
) -> PositionResult:
    """Run the three parts of the position study at ``settings``. Its networks are small and
    train in seconds, in memory: ``store`` is not used (the contract's argument)."""
    t0 = time.perf_counter()
    s = settings
    identity = identity_rows(s.identity_levels)
    encoders = {
        pooling: train_position_encoder(s.levels, pooling, s.encoder_steps, seed=seed)
        for pooling in ("stride", "max")
    }
    g = torch.Generator().manual_seed(seed + 1)
    n = s.decoder_size
    held_out = torch.rand(s.held_out, generator=g, dtype=torch.float64) * (n - 1)
    training = {
        "integer": torch.arange(n, dtype=torch.float64),
        "continuous": torch.rand(s.decoder_positions, generator=g, dtype=torch.float64) * (n - 1),
    }
    shown = np.array([n * 0.21 + 0.5, n * 0.47 + 0.25, n * 0.73 + 0.75])
    decoders, decoded = {}, {}
    for name, positions in training.items():
        model = train_position_decoder(positions, n, s.decoder_steps, lr=3e-3, seed=seed)
        decoders[name] = evaluate_position_decoder(model, held_out)
        with torch.no_grad():
            decoded[name] = model(torch.as_tensor(shown)).double().numpy()
    return PositionResult(
        scale=s,
        seed=seed,
        identity=identity,
        encoders=encoders,
        decoders=decoders,
        seconds=time.perf_counter() - t0,
        decoded=decoded,
        decoded_positions=shown,
    )


def write_position_outputs(result: PositionResult, out: str | Path) -> Path:
    """results.json, table.md, figures and report.html into ``out``."""
    from ...experiments.result_files import write_result_files
    from ...viz.geometry_plots import (
        plot_decoded_positions,
        plot_position_filters,
        plot_position_fits,
    )
    from ...viz.reproduction import markdown_tables_html, write_reproduction_report

    write_result_files(result, out)
    s = result.scale
    stride, pooled = result.encoders["stride"], result.encoders["max"]
    targets = continuous_diracs(torch.as_tensor(result.decoded_positions), s.decoder_size).numpy()
    figures = [
        (
            "filters",
            "Learned position filters (slide 27)",
            "Each layer's filter divided by its centre tap, beside ϕ/2 = [0.5, 1, 0.5]; the last "
            "layer's left tap (pale) only sees zero padding, so nothing determines it.",
            plot_position_filters(stride),
        ),
        (
            "fits",
            "Strided subsampling against max pooling (slide 29)",
            "Outputs of the trained encoders on every Dirac against the target 2^L − a.",
            plot_position_fits([stride, pooled]),
        ),
        (
            "decoders",
            "Decoding position (slide 28)",
            "Decoded signals at held-out real positions (line) and the continuous Dirac δ_a "
            "(bars), for a decoder trained on integer or on continuous Diracs.",
            plot_decoded_positions(
                result.decoded_positions,
                {DECODER_TITLES[k]: v for k, v in result.decoded.items()},
                targets,
            ),
        ),
    ]
    worst = max(r.max_error for r in result.identity)
    integer, continuous = result.decoders["integer"], result.decoders["continuous"]
    lead = (
        f"E_L(δ_a) = 2^L − a holds exactly (largest error {worst:g}) for every a, L = 1 … "
        f"{s.identity_levels} in 1-D and 1 … 5 in 2-D. A trained encoder with strided "
        f"subsampling fits the positions to RMSE {stride.rmse:.3g} with filters within "
        f"{stride.filter_error:.3f} of ϕ/2; with max pooling the same training stops at RMSE "
        f"{pooled.rmse:.3g}. The position decoder reaches a mean position error of "
        f"{integer.barycentre_error:.3f} trained on the {s.decoder_size} integer Diracs and "
        f"{continuous.barycentre_error:.3f} trained on {s.decoder_positions} continuous ones."
    )
    return write_reproduction_report(
        out,
        title="Geometry of autoencoding: position (slides 22-30)",
        subtitle="The [1, 2, 1] filter-and-subsample network reads the position of a Dirac; "
        "trained networks find it; max pooling does not.",
        facts={
            "identity": f"L ≤ {s.identity_levels}",
            "encoders": f"L = {s.levels}, {s.encoder_steps:,} steps",
            "decoders": f"n = {s.decoder_size}, {s.decoder_steps:,} steps",
            "time": f"{result.seconds:.0f} s",
        },
        settings={
            "experiment": "slides-position",
            **s.__dict__,
            "seed": result.seed,
        },
        lead=lead,
        tables_html=markdown_tables_html(result.to_markdown()),
        figures=figures,
    )
