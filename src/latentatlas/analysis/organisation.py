"""How organised a latent space is (slides 38-46): correlations of each component with known or
measured factors, correlations between components, and image-moment factors of generated images.

The PCA-like autoencoder is judged by whether each component follows one factor (the slides
report |corr| ≈ 0.98, 0.79, 0.75 for the first three components on ellipses) and whether the
components are decorrelated. For a generator without labels, :func:`moment_descriptors` measures
factors on the images themselves (mass, centroid, second-moment anisotropy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.base import InMemoryDataset
from ..errors import ConfigError, DataError
from ..models.pca_ae import GeneratorPCAAutoencoder, PCAAEConfig
from ..train.trainer import Trainer, TrainerConfig


@dataclass
class CorrelationTable:
    """Pearson correlation of each latent component (rows) with each factor (columns)."""

    factors: list[str]
    matrix: list[list[float]]

    @property
    def best(self) -> list[tuple[str, float]]:
        """For each component, the factor with the largest |corr| and that |corr|."""
        m = np.abs(np.asarray(self.matrix))
        return [(self.factors[int(j)], float(row[j])) for row, j in zip(m, m.argmax(1))]

    def to_dict(self) -> dict:
        return {
            "factors": self.factors,
            "matrix": self.matrix,
            "best": [{"factor": f, "abs_corr": c} for f, c in self.best],
        }


def _pearson_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Correlations of the columns of ``a`` with the columns of ``b`` (0 for a constant column)."""
    a = (a - a.mean(0)) / np.where(a.std(0) > 0, a.std(0), np.inf)
    b = (b - b.mean(0)) / np.where(b.std(0) > 0, b.std(0), np.inf)
    return a.T @ b / a.shape[0]


def _numpy(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """float64 NumPy values of an array or a tensor (detached, on the CPU): codes straight from
    a model's encoder carry gradients and may live on a GPU."""
    return torch.as_tensor(values).detach().to("cpu", torch.float64).numpy()


def factor_correlations(
    codes: torch.Tensor | np.ndarray,
    factors: Mapping[str, torch.Tensor | np.ndarray],
    rank: bool = False,
) -> CorrelationTable:
    """:class:`CorrelationTable` of codes ``(n, K)`` against named factors, each ``(n,)``
    (arrays or tensors on any device, with or without gradients). ``rank``: Spearman's
    correlation (Pearson's of the ranks) instead of Pearson's, for heavy-tailed factors such as
    ratios of image sums."""
    if rank:
        from scipy.stats import rankdata

        codes = rankdata(_numpy(codes), axis=0)
        factors = {k: rankdata(_numpy(v).reshape(-1)) for k, v in factors.items()}
    z = _numpy(codes)
    if z.ndim != 2 or not factors:
        raise DataError(f"expected codes (n, K) and at least one factor, got {z.shape}")
    columns = []
    for name, values in factors.items():
        v = _numpy(values).reshape(-1)
        if v.shape[0] != z.shape[0]:
            raise DataError(f"factor {name!r} has {v.shape[0]} values for {z.shape[0]} codes")
        columns.append(v)
    matrix = _pearson_matrix(z, np.stack(columns, 1))
    return CorrelationTable(list(factors), matrix.tolist())


def largest_code_correlation(codes: torch.Tensor | np.ndarray) -> float:
    """The largest |corr| between two different components of codes ``(n, K)`` (0 for K = 1)."""
    z = _numpy(codes)
    if z.shape[1] < 2:
        return 0.0
    c = np.abs(_pearson_matrix(z, z))
    np.fill_diagonal(c, 0.0)
    return float(c.max())


def moment_descriptors(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Factors measured on grey images ``(n, 1, H, W)`` (or ``(n, H, W)``) from their moments:
    ``mass`` (sum of the pixels), centroid ``x`` and ``y``, and the second-moment anisotropy
    ``orientation_cos`` = (μ₂₀ − μ₀₂)/(μ₂₀ + μ₀₂) and ``orientation_sin`` = 2μ₁₁/(μ₂₀ + μ₀₂)
    (for an ellipse of semi-axes a, b turned by θ these are (a² − b²)/(a² + b²)·cos 2θ and
    ·sin 2θ, as in :func:`~latentatlas.data.synthetic.shapes.ellipse_descriptors`)."""
    img = torch.as_tensor(images, dtype=torch.float64)
    if img.ndim == 4:
        if img.shape[1] != 1:
            raise DataError(f"moment_descriptors: expected grey images, got {tuple(img.shape)}")
        img = img[:, 0]
    if img.ndim != 3:
        raise DataError(f"moment_descriptors: expected (n, 1, H, W), got {tuple(images.shape)}")
    w = img.clamp(min=0)
    mass = w.sum((1, 2)).clamp_min(1e-12)
    ys = torch.arange(img.shape[1], dtype=torch.float64)[:, None]
    xs = torch.arange(img.shape[2], dtype=torch.float64)[None, :]
    cx = (w * xs).sum((1, 2)) / mass
    cy = (w * ys).sum((1, 2)) / mass
    dx = xs[None] - cx[:, None, None]
    dy = ys[None] - cy[:, None, None]
    mu20 = (w * dx**2).sum((1, 2)) / mass
    mu02 = (w * dy**2).sum((1, 2)) / mass
    mu11 = (w * dx * dy).sum((1, 2)) / mass
    spread = (mu20 + mu02).clamp_min(1e-12)
    return {
        "mass": w.sum((1, 2)),
        "x": cx,
        "y": cy,
        "orientation_cos": (mu20 - mu02) / spread,
        "orientation_sin": 2 * mu11 / spread,
    }


def profile_descriptors(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The ellipse descriptors the PCA-AE authors correlate their components with, measured on
    the (blurred) images ``(n, 1, H, W)`` rather than taken from the drawing's parameters
    (their notebook, github.com/chieupham/PCAAE, ``Introduction_PCAAE.ipynb``):

    * ``pixel_sum`` S: the sum of all pixel values (an area);
    * ``centre_lines_ratio`` H: |sum along the row through the centre / sum along the column
      through it| (the "horizontal and vertical radius" axis; it also moves with the angle);
    * ``diagonals_ratio`` V: |sum along the main diagonal / sum along the anti-diagonal| (the
      "two diagonal directions" axis).

    The authors draw their ellipse centred on pixel 32 of 64 and read row and column 31; ours
    are centred between pixels 31 and 32 ((size − 1)/2), so for an even side the row (column)
    through the centre is the mean of the two middle rows (columns), symmetric about the
    centre as theirs is one pixel off it; the diagonals of a square image pass through the
    centre in both."""
    img = torch.as_tensor(images, dtype=torch.float64)
    if img.ndim == 4 and img.shape[1] == 1:
        img = img[:, 0]
    if img.ndim != 3 or img.shape[1] != img.shape[2]:
        raise DataError(
            f"profile_descriptors: expected square grey images (n, 1, S, S), got "
            f"{tuple(torch.as_tensor(images).shape)}"
        )
    size = img.shape[1]
    middle = [size // 2 - 1, size // 2] if size % 2 == 0 else [size // 2]
    row = img[:, middle, :].mean(1).sum(1)
    column = img[:, :, middle].mean(2).sum(1)
    diagonal = torch.diagonal(img, dim1=1, dim2=2).sum(1)
    anti = torch.diagonal(img.flip(2), dim1=1, dim2=2).sum(1)
    tiny = torch.finfo(torch.float64).tiny
    return {
        "pixel_sum": img.sum((1, 2)),
        "centre_lines_ratio": (row / column.clamp_min(tiny)).abs(),
        "diagonals_ratio": (diagonal / anti.clamp_min(tiny)).abs(),
    }


def organise_generator(
    generator: nn.Module,
    centre: torch.Tensor,
    radius: float = 1.0,
    components: int = 3,
    offsets: int = 4000,
    steps: int = 3000,
    cov_weight: float = 1.0,
    hidden: tuple[int, ...] = (64, 64),
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = False,
) -> tuple[GeneratorPCAAutoencoder, torch.Tensor]:
    """Organise the local latent space of ``generator`` around ``centre`` z̃ (slides 42-46).

    Draws ``offsets`` η ~ N(0, radius²·I) and trains a :class:`GeneratorPCAAutoencoder` with
    ``components`` stages (MLP heads and decoders of ``hidden`` units, LeakyReLU 0.2) on them
    for ``steps`` steps in all, Adam with betas (0.5, 0.999) as the authors. The generator is
    frozen. Returns the model (eval mode) and the offsets it was trained on.
    """
    if not radius > 0:
        raise ConfigError(f"radius: expected σ > 0, got {radius}")
    centre = torch.as_tensor(centre, dtype=torch.float32).reshape(-1)
    g = torch.Generator().manual_seed(seed + 1)
    eta = radius * torch.randn(offsets, centre.shape[0], generator=g)
    mlp = {"name": "mlp", "hidden": list(hidden), "activation": "leaky_relu:0.2"}
    config = PCAAEConfig.from_dict(
        {
            "input_shape": [centre.shape[0]],
            "components": components,
            "cov_weight": cov_weight,
            "encoder": mlp,
            "decoder": mlp,
        }
    )
    torch.manual_seed(seed)
    model = GeneratorPCAAutoencoder(config, generator, centre)
    settings = TrainerConfig(
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        betas=(0.5, 0.999),
        progress=progress,
        log_every=100,
        checkpoint_every=0,
    )
    Trainer(model, InMemoryDataset(eta), settings, seed=seed).fit()
    model.eval()
    return model, eta
