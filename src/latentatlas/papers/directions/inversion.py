"""``reproduce directions-losses`` and ``directions-inversion``: how to invert a generator
(directions paper, appendix C and F).

directions-losses (appendix C, fig. 6-7, table 2): dSprites images the generator never saw are
inverted with MSE, DSSIM and the Gaussian-filtered MSE of eq. 3 for several σ, each with and
without the ball constraint ‖z‖ ≤ √d; the reconstructions are scored by SSIM and PSNR (LPIPS needs
pretrained network weights that cannot be downloaded here: it is added when the ``lpips`` package
and its weights are installed) and by the largest ‖z‖/√d reached.

directions-inversion (appendix F, fig. 10): the same translated targets T_T(G(z₀)) are reached
naively from z₀ (eq. 4) or recursively through N intermediate amounts (eq. 5) with the same total
number of Adam steps; the error to the final target and the x position of the result are followed
along the steps.

Both train one β-VAE (appendix B) on dSprites as the generator.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...analysis.directions.image_factors import barycentre_x
from ...analysis.directions.inversion import invert, masked_mse, reconstruction_loss, ssim_map
from ...data.transforms import get_transformation
from ...experiments.model_store import ModelStore
from .common import VAEScale, dsprites_images, trained_generator

LOSS_SETTINGS = (
    ("MSE", "mse", 0.0),
    ("DSSIM", "dssim", 0.0),
    ("Gaussian σ=1", "gaussian", 1.0),
    ("Gaussian σ=3", "gaussian", 3.0),
    ("Gaussian σ=5", "gaussian", 5.0),
    ("Gaussian σ=8", "gaussian", 8.0),
)


@dataclass(frozen=True)
class InversionScale:
    vae: VAEScale
    targets: int
    steps: int
    lr: float = 0.05
    beta: float = 4.0


@dataclass(frozen=True)
class LossScale(InversionScale):
    """An inversion scale with the ball study of the losses experiment (issue 20, item 9)."""

    ball_betas: tuple[float, ...] = ()
    """Generators of the ball study (β-VAEs; ``beta``'s is the main one); none: no study."""
    ball_targets: int = 0
    ball_step_factors: tuple[int, ...] = (1, 3)
    """Inversion lengths of the ball study, in multiples of ``steps``."""


LOSS_SCALES = {
    "quick": LossScale(VAEScale(32, 10_000, 1500), 32, 300, ball_betas=(4.0,), ball_targets=32),
    "full": LossScale(
        VAEScale(64, 50_000, 15_000), 128, 3000, ball_betas=(4.0, 16.0), ball_targets=128
    ),
    # declared reduced: 4000 generator steps, 1000 inversion steps, 64 targets in the ball study
    "cpu": LossScale(
        VAEScale(64, 50_000, 4000), 128, 1000, ball_betas=(4.0, 16.0), ball_targets=64
    ),
}
BALL_LOSS = ("gaussian", 3.0)
"""The reconstruction error of the ball study: eq. 3 with the paper's σ = 3."""
NOISE = 0.3
"""Standard deviation of the noise added to the "noisy" targets of the ball study."""
NAIVE_SCALES = {
    "quick": InversionScale(VAEScale(32, 10_000, 1500), 64, 50, lr=0.01),
    "full": InversionScale(VAEScale(64, 50_000, 15_000), 256, 50, lr=0.01),
    # declared reduced: 4000 generator steps
    "cpu": InversionScale(VAEScale(64, 50_000, 4000), 256, 50, lr=0.01),
}
NAIVE_AMOUNT = 0.3
NAIVE_POINTS = 10


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image for data in [0, 1] (dB)."""
    mse = ((pred - target) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return -10 * torch.log10(mse)


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image."""
    return ssim_map(pred.double(), target.double()).flatten(1).mean(1)


def lpips_distance(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """LPIPS (Zhang et al. 2018) per image when the optional ``lpips`` package and its pretrained
    weights are installed; ``None`` otherwise (nothing is downloaded)."""
    try:
        import lpips

        net = lpips.LPIPS(net="alex", verbose=False)
    except Exception:  # missing package, missing weights or no network
        return None
    with torch.no_grad():
        rgb = lambda x: (x.expand(-1, 3, -1, -1) * 2 - 1).float()  # noqa: E731
        return net(rgb(pred), rgb(target)).flatten()


def _label(name: str) -> str:
    """A setting's name as a file-name label: "Gaussian σ=3" → "Gaussian-sigma=3"."""
    return name.replace("σ", "sigma").replace(" ", "-")


def inverted_codes(
    store: ModelStore,
    label: str,
    generator: torch.nn.Module,
    targets: torch.Tensor,
    **settings: Any,
) -> torch.Tensor:
    """:func:`invert`'s codes for ``targets``, kept in the reproduction's ``results`` folder so
    a rerun after an interruption skips the inversions already done (the losses experiment runs
    36, of up to 3 × ``steps`` each: hours on a CPU)."""
    inputs = {"generator": generator, "targets": targets, **settings}
    compute = lambda: {"z": invert(generator, targets, **settings).z}  # noqa: E731
    return store.cached(f"inversion-{label}", inputs, compute)["z"]


# -- directions-losses --------------------------------------------------------------------------
@dataclass
class LossRow:
    name: str
    constrained: bool
    ssim: float
    psnr: float
    mse: float
    largest_norm_ratio: float
    lpips: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BallRow:
    """One inversion of the ball study: which targets, generator and length, with or without
    ‖z‖ ≤ √d, scored against the reference image (the clean image for noisy targets)."""

    targets: str
    beta: float
    steps: int
    constrained: bool
    ssim: float
    psnr: float
    target_psnr: float
    largest_norm_ratio: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class LossesResult:
    scale: LossScale
    seed: int
    rows: list[LossRow]
    seconds: float
    images: dict[str, torch.Tensor] = field(repr=False)
    ball: list[BallRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": "directions-losses",
            "scale": asdict(self.scale),
            "seed": self.seed,
            "lpips_available": any(r.lpips is not None for r in self.rows),
            "rows": [r.to_dict() for r in self.rows],
            "ball": [r.to_dict() for r in self.ball],
            "seconds": self.seconds,
        }

    def to_markdown(self) -> str:
        lines = [
            "| reconstruction error | ‖z‖ ≤ √d | SSIM ↑ | PSNR (dB) ↑ | MSE ↓ | max ‖z‖/√d "
            "| LPIPS ↓ |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            lp = "n/a" if r.lpips is None else f"{r.lpips:.3f}"
            lines.append(
                f"| {r.name} | {'yes' if r.constrained else 'no'} | {r.ssim:.3f} | {r.psnr:.2f} | "
                f"{r.mse:.5f} | {r.largest_norm_ratio:.2f} | {lp} |"
            )
        if self.ball:
            lines += [
                "",
                "Where the ball should matter (Gaussian σ = 3; noisy targets scored against the "
                "clean image):",
                "",
                "| targets | β | steps | ‖z‖ ≤ √d | SSIM ↑ | PSNR (dB) ↑ | PSNR to the target "
                "| max ‖z‖/√d |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for b in self.ball:
                lines.append(
                    f"| {b.targets} | {b.beta:g} | {b.steps} | {'yes' if b.constrained else 'no'} "
                    f"| {b.ssim:.3f} | {b.psnr:.2f} | {b.target_psnr:.2f} | "
                    f"{b.largest_norm_ratio:.2f} |"
                )
        return "\n".join(lines)


def reproduce_losses(
    settings: LossScale, store: ModelStore | None = None, seed: int = 0
) -> LossesResult:
    """Invert unseen dSprites with every reconstruction error, with and without the ball, at
    ``settings`` (the generators train in ``store``; default: in memory)."""
    t0 = time.perf_counter()
    s, store = settings, store or ModelStore()
    store.expect(len({s.beta, *s.ball_betas}))
    gen = trained_generator(s.vae, s.beta, seed, store)
    targets = dsprites_images(s.targets, s.vae.size, seed + 1000).x  # not in the training set
    d = s.vae.latent_dim
    rows, images = [], {"target": targets}
    for name, loss, sigma in LOSS_SETTINGS:
        for constrained in (True, False):
            t1 = time.perf_counter()
            label = f"{_label(name)}{'' if constrained else '-free'}"
            z = inverted_codes(
                store,
                label,
                gen,
                targets,
                loss=loss,
                sigma=sigma or 3.0,
                steps=s.steps,
                lr=s.lr,
                constrain=constrained,
                seed=seed,
            )
            with torch.no_grad():
                recon = gen(z)
            lp = lpips_distance(recon, targets)
            rows.append(
                LossRow(
                    name=name,
                    constrained=constrained,
                    ssim=float(ssim(recon, targets).mean()),
                    psnr=float(psnr(recon, targets).mean()),
                    mse=float(masked_mse(recon, targets, torch.ones_like(targets[:, :1])).mean()),
                    largest_norm_ratio=float(z.norm(dim=1).max() / math.sqrt(d)),
                    lpips=None if lp is None else float(lp.mean()),
                    seconds=time.perf_counter() - t1,
                )
            )
            images[f"{name}{'' if constrained else ', free'}"] = recon
    ball = ball_study(s, seed, gen, store)
    return LossesResult(s, seed, rows, time.perf_counter() - t0, images, ball)


def ball_targets(n: int, size: int, seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The ball study's targets by kind, each as (target, reference): unseen dSprites (in the
    generator's range), the same with Gaussian noise of std ``NOISE`` clipped to [0, 1] (scored
    against the clean image: fitting the noise is an artefact), and two unseen shapes in one image
    (outside the range of a one-object generator)."""
    clean = dsprites_images(n, size, seed + 1000).x
    g = torch.Generator().manual_seed(seed + 3000)
    noisy = (clean + NOISE * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    other = dsprites_images(n, size, seed + 2000).x.roll(size // 4, dims=-1)
    two = torch.maximum(clean, other)
    return {"unseen": (clean, clean), "noisy": (noisy, clean), "two shapes": (two, two)}


def ball_study(s: LossScale, seed: int, main: torch.nn.Module, store: ModelStore) -> list[BallRow]:
    """Appendix C's claim that ‖z‖ ≤ √d avoids artefacts, where it should show: targets off the
    generator's range, generators with larger β, longer inversions (``ball_step_factors``)."""
    if not s.ball_betas:
        return []
    kinds = ball_targets(s.ball_targets, s.vae.size, seed)
    loss, sigma = BALL_LOSS
    d = s.vae.latent_dim
    rows = []
    for beta in s.ball_betas:
        gen = main if beta == s.beta else trained_generator(s.vae, beta, seed, store)
        for kind, (target, reference) in kinds.items():
            for factor in s.ball_step_factors:
                for constrained in (True, False):
                    label = (
                        f"ball-{_label(kind)}-beta{beta:g}-x{factor}"
                        f"{'' if constrained else '-free'}"
                    )
                    z = inverted_codes(
                        store,
                        label,
                        gen,
                        target,
                        loss=loss,
                        sigma=sigma,
                        steps=s.steps * factor,
                        lr=s.lr,
                        constrain=constrained,
                        seed=seed,
                    )
                    with torch.no_grad():
                        recon = gen(z)
                    rows.append(
                        BallRow(
                            targets=kind,
                            beta=beta,
                            steps=s.steps * factor,
                            constrained=constrained,
                            ssim=float(ssim(recon, reference).mean()),
                            psnr=float(psnr(recon, reference).mean()),
                            target_psnr=float(psnr(recon, target).mean()),
                            largest_norm_ratio=float(z.norm(dim=1).max() / math.sqrt(d)),
                        )
                    )
    return rows


def write_losses_outputs(result: LossesResult, out: str | Path) -> Path:
    from ...experiments.result_files import write_result_files
    from ...viz.direction_plots import plot_image_rows
    from ...viz.reproduction import markdown_tables_html, write_reproduction_report

    write_result_files(result, out)
    constrained = {k: v for k, v in result.images.items() if not k.endswith("free")}
    free = {"target": result.images["target"]} | {
        k: v for k, v in result.images.items() if k.endswith("free")
    }
    figures = [
        (
            "reconstructions",
            "Inversions with ‖z‖ ≤ √d (fig. 6-7)",
            "Unseen dSprites (top row) and the generator's image at the code found with each "
            "reconstruction error.",
            plot_image_rows(constrained, n=8),
        ),
        (
            "reconstructions-free",
            "Inversions without the ball constraint (eq. 1)",
            "The same targets with the unconstrained problem.",
            plot_image_rows(free, n=8),
        ),
    ]
    best = max(result.rows, key=lambda r: r.ssim)
    lead = (
        f"Best SSIM: {best.name} {'with' if best.constrained else 'without'} the ball constraint "
        f"({best.ssim:.3f}). LPIPS: "
        + (
            "measured."
            if result.to_dict()["lpips_available"]
            else "not available (install the lpips package and its pretrained weights)."
        )
    )
    s = result.scale
    return write_reproduction_report(
        out,
        title="Inverting a generator: reconstruction errors (appendix C)",
        subtitle="MSE, DSSIM and the Gaussian-filtered MSE of eq. 3, with and without ‖z‖ ≤ √d.",
        facts={
            "generator": f"β-VAE (β = {s.beta:g}), {s.vae.size}×{s.vae.size} dSprites",
            "targets": f"{s.targets} unseen images",
            "steps": f"{s.steps} Adam steps, lr {s.lr:g}",
            "time": f"{result.seconds:.0f} s",
        },
        settings=result.to_dict()["scale"] | {"seed": result.seed},
        lead=lead,
        tables_html=markdown_tables_html(result.to_markdown()),
        figures=figures,
    )


# -- directions-inversion -----------------------------------------------------------------------
@dataclass
class NaiveResult:
    scale: InversionScale
    seed: int
    steps: np.ndarray
    naive_error: np.ndarray
    recursive_error: np.ndarray
    naive_x_error: float
    recursive_x_error: float
    seconds: float
    images: dict[str, torch.Tensor] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": "directions-inversion",
            "scale": asdict(self.scale),
            "seed": self.seed,
            "amount": NAIVE_AMOUNT,
            "points": NAIVE_POINTS,
            "cumulative_steps": self.steps.tolist(),
            "naive_median_error": self.naive_error.tolist(),
            "recursive_median_error": self.recursive_error.tolist(),
            "naive_median_x_error": self.naive_x_error,
            "recursive_median_x_error": self.recursive_x_error,
            "seconds": self.seconds,
        }

    def to_markdown(self) -> str:
        lines = [
            "| Adam steps | naive (eq. 4): median error | recursive (eq. 5): median error |",
            "|---|---|---|",
        ]
        for k, n, r in zip(self.steps, self.naive_error, self.recursive_error):
            lines.append(f"| {int(k)} | {n:.5f} | {r:.5f} |")
        lines += [
            "",
            "| method | median \\|x(G(z)) − x(target)\\| at the end |",
            "|---|---|",
            f"| naive (eq. 4) | {self.naive_x_error:.4f} |",
            f"| recursive (eq. 5) | {self.recursive_x_error:.4f} |",
        ]
        return "\n".join(lines)


def reproduce_naive(
    settings: InversionScale, store: ModelStore | None = None, seed: int = 0
) -> NaiveResult:
    """Reach T_T(G(z₀)) (translation by ``NAIVE_AMOUNT``) from z₀ directly or in N steps, at
    ``settings`` (the generator trains in ``store``; default: in memory)."""
    t0 = time.perf_counter()
    s, store = settings, store or ModelStore()
    store.expect(1)
    gen = trained_generator(s.vae, s.beta, seed, store)
    d = s.vae.latent_dim
    z0 = torch.randn(s.targets, d, generator=torch.Generator().manual_seed(seed))
    translate = get_transformation("translate-x")
    with torch.no_grad():
        start = gen(z0)
    final, mask = translate(start, NAIVE_AMOUNT)
    total = NAIVE_POINTS * s.steps
    naive = invert(gen, final, mask, init=z0, steps=total, lr=s.lr, record=True)
    z, recursive_curve = z0, []
    for i in range(1, NAIVE_POINTS + 1):
        target, m = translate(start, NAIVE_AMOUNT * i / NAIVE_POINTS)
        z = invert(gen, target, m, init=z, steps=s.steps, lr=s.lr).z
        with torch.no_grad():
            recursive_curve.append(_final_error(gen, z, final, mask))
    checkpoints = np.arange(1, NAIVE_POINTS + 1) * s.steps
    naive_curve = naive.history[checkpoints].median(dim=1).values.numpy()
    with torch.no_grad():
        naive_img, rec_img = gen(naive.z), gen(z)
    x_target = barycentre_x(final)
    return NaiveResult(
        scale=s,
        seed=seed,
        steps=checkpoints,
        naive_error=naive_curve,
        recursive_error=np.array(recursive_curve),
        naive_x_error=float((barycentre_x(naive_img) - x_target).abs().median()),
        recursive_x_error=float((barycentre_x(rec_img) - x_target).abs().median()),
        seconds=time.perf_counter() - t0,
        images={"start": start, "target": final, "naive": naive_img, "recursive": rec_img},
    )


def _final_error(gen, z, target, mask) -> float:
    return float(reconstruction_loss("gaussian", 3.0)(gen(z), target, mask).median())


def write_naive_outputs(result: NaiveResult, out: str | Path) -> Path:
    from ...experiments.result_files import write_result_files
    from ...viz.direction_plots import plot_error_curves, plot_image_rows
    from ...viz.reproduction import markdown_tables_html, write_reproduction_report

    write_result_files(result, out)
    figures = [
        (
            "convergence",
            "Error to the final target along the optimisation (fig. 10)",
            "Median Gaussian-filtered error to T_T(G(z₀)) after the same number of Adam steps: "
            "directly from z₀ (eq. 4) or through intermediate amounts (eq. 5).",
            plot_error_curves(
                {
                    "naive (eq. 4)": (result.steps, result.naive_error),
                    "recursive (eq. 5)": (result.steps, result.recursive_error),
                },
                "Adam steps",
                "median error to the final target",
            ),
        ),
        (
            "images",
            "Start, target and both results",
            "Generated start images, their translation (the target), and the images at the "
            "codes found by each method.",
            plot_image_rows(result.images, n=8),
        ),
    ]
    lead = (
        f"After {int(result.steps[-1])} Adam steps the median error to the translated target is "
        f"{result.naive_error[-1]:.5f} naively and {result.recursive_error[-1]:.5f} recursively; "
        f"the x position is off by {result.naive_x_error:.4f} vs {result.recursive_x_error:.4f} "
        "of the width."
    )
    s = result.scale
    return write_reproduction_report(
        out,
        title="Naive vs recursive inversion (appendix F)",
        subtitle=f"Reaching a translation by {NAIVE_AMOUNT:g} of the width in one problem or in "
        f"{NAIVE_POINTS} small ones.",
        facts={
            "generator": f"β-VAE (β = {s.beta:g}), {s.vae.size}×{s.vae.size} dSprites",
            "targets": f"{s.targets}",
            "steps": f"{NAIVE_POINTS} × {s.steps}",
            "time": f"{result.seconds:.0f} s",
        },
        settings=result.to_dict()["scale"] | {"seed": result.seed},
        lead=lead,
        tables_html=markdown_tables_html(result.to_markdown()),
        figures=figures,
    )
