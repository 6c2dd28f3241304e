"""Analyses of atomic autoencoders: decomposition, navigation inside a block, atom purity, the
sub-model check and interpolation (atomic paper sec. II-III; purity and the sub-model measure go
beyond the paper, which shows figures only, and make its claims measurable).

Block images. For an :class:`~latentatlas.models.atomic.AtomicAutoencoder` the image of block i
is g(z_i), and the decoder output is exactly their sum (eq. 3). An ordinary autoencoder has no
such parts; to compare, its code is cut into the same k blocks of d0 coordinates and the image of
block i is its *ablation effect* D(z) − D(z with block i set to a reference code), the reference
being the mean code of the data analysed (:func:`block_images`). Both are ``(n, k, C, H, W)``.

Spike purity (:func:`match_spikes`). Each block image's peaks are its local maxima above a
threshold (sub-pixel position and height from a log-parabola through the three samples around
the maximum on each axis, exact for a Gaussian). A block with no peak is *empty*; a block with one
peak is matched to the ground-truth spikes by the Hungarian algorithm on peak-to-spike distance,
and a pair farther apart than ``tolerance`` pixels is not a match. Purity is the fraction of
non-empty blocks that hold exactly one spike (matched); recall the fraction of spikes held alone
by a block; position and amplitude errors are those of matched pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from scipy.optimize import linear_sum_assignment
from torch.nn import functional as F

from ..errors import ConfigError, DataError


def batched(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """``fn`` over chunks of ``x`` on the device of ``fn``'s model, results on the CPU."""
    return torch.cat([fn(x[s : s + batch_size]).cpu() for s in range(0, x.shape[0], batch_size)])


def is_atomic(model: torch.nn.Module) -> bool:
    """Whether ``model`` decodes as a sum of block images (has ``parts``)."""
    return callable(getattr(model, "parts", None))


@torch.no_grad()
def encode_codes(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Point codes (posterior locations) of ``x``, ``(n, k·d0)``, in batches."""
    return batched(lambda xb: model.representation(xb), x, batch_size)


@torch.no_grad()
def block_images(
    model: torch.nn.Module,
    codes: torch.Tensor,
    blocks: int | None = None,
    reference: torch.Tensor | None = None,
    batch_size: int = 64,
) -> torch.Tensor:
    """Block images ``(n, k, *shape)`` of codes ``(n, k·d0)``: g(z_i) for an atomic model, the
    ablation effect D(z) − D(z_{i ← reference}) for any other (``blocks`` = k required; the
    reference defaults to the mean of ``codes``)."""
    if is_atomic(model):
        return batched(lambda zb: model.parts(zb), codes, batch_size)
    if not blocks:
        raise ConfigError("blocks: a model without block images needs the number of blocks k")
    dim = codes.shape[1]
    if dim % blocks:
        raise DataError(f"codes of size {dim} do not split into {blocks} blocks")
    d0 = dim // blocks
    ref = codes.mean(0) if reference is None else reference.reshape(-1)
    mean = model.likelihood.mean

    def parts(zb: torch.Tensor) -> torch.Tensor:
        full = mean(model.decode(zb))
        ablated = zb[:, None].repeat(1, blocks, 1)  # (b, k, k·d0): block i of copy i ← ref
        for i in range(blocks):
            ablated[:, i, i * d0 : (i + 1) * d0] = ref[i * d0 : (i + 1) * d0]
        out = mean(model.decode(ablated.reshape(-1, dim)))
        return full[:, None] - out.reshape(zb.shape[0], blocks, *full.shape[1:])

    return batched(parts, codes, max(batch_size // blocks, 1))


@dataclass
class Decomposition:
    """Inputs, their reconstructions and block images (fig. 2-3)."""

    inputs: torch.Tensor
    outputs: torch.Tensor
    parts: torch.Tensor
    codes: torch.Tensor
    exact: bool
    """True when outputs = Σ parts exactly (atomic decoders); False for ablation effects."""

    def to_dict(self) -> dict[str, Any]:
        energy = self.parts.flatten(2).pow(2).sum(-1)  # (n, k)
        share = energy / energy.sum(1, keepdim=True).clamp_min(1e-12)
        return {
            "images": int(self.inputs.shape[0]),
            "blocks": int(self.parts.shape[1]),
            "exact_sum": self.exact,
            "sum_error": float((self.parts.sum(1) - self.outputs).abs().max()),
            "largest_block_share": float(share.max(1).values.mean()),
        }


@torch.no_grad()
def decompose(model: torch.nn.Module, x: torch.Tensor, blocks: int | None = None) -> Decomposition:
    """Codes, reconstructions and block images of inputs ``x``."""
    codes = encode_codes(model, x)
    outputs = batched(lambda zb: model.likelihood.mean(model.decode(zb)), codes, 256)
    parts = block_images(model, codes, blocks)
    return Decomposition(x, outputs, parts, codes, is_atomic(model))


@dataclass
class LatentBounds:
    """Per-coordinate range of the codes of the training data (sec. II-B: the latent set is
    bounded; its bounds are estimated from the training codes f_E(x_i))."""

    low: torch.Tensor
    high: torch.Tensor

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low.tolist(), "high": self.high.tolist()}


def latent_bounds(codes: torch.Tensor) -> LatentBounds:
    """Minimum and maximum of every code coordinate over ``codes`` ``(n, dim)``."""
    if codes.ndim != 2 or codes.shape[0] < 1:
        raise DataError(f"expected codes of shape (n, dim) with n ≥ 1, got {tuple(codes.shape)}")
    return LatentBounds(codes.min(0).values, codes.max(0).values)


@dataclass
class Navigation:
    """Fig. 4: coordinate j of one block swept over its training range, the rest fixed."""

    block: int
    values: torch.Tensor
    """``(d0, steps)`` the values given to each coordinate of the block."""
    images: torch.Tensor
    """``(d0, steps, *shape)`` decoded images (likelihood means)."""
    origin: torch.Tensor
    """``(*shape)`` the decoded image of the unchanged code."""
    codes: torch.Tensor
    """``(d0, steps, k·d0)`` the swept codes."""


@torch.no_grad()
def navigate_block(
    model: torch.nn.Module,
    code: torch.Tensor,
    block: int,
    block_dim: int,
    bounds: LatentBounds,
    steps: int = 7,
) -> Navigation:
    """Sweep each coordinate of ``block`` (size ``block_dim``) of ``code`` ``(k·d0,)`` linearly
    from its lower to its upper training bound, keeping the others fixed."""
    code = code.reshape(-1)
    if block < 0 or (block + 1) * block_dim > code.numel():
        raise DataError(f"block {block} of size {block_dim} is outside a code of {code.numel()}")
    if steps < 2:
        raise ConfigError(f"steps: expected at least 2, got {steps}")
    coords = torch.arange(block * block_dim, (block + 1) * block_dim)
    t = torch.linspace(0, 1, steps, dtype=code.dtype)
    values = bounds.low[coords, None] + t * (bounds.high - bounds.low)[coords, None]
    z = code.repeat(block_dim, steps, 1)  # (d0, steps, dim)
    for j, c in enumerate(coords):
        z[j, :, c] = values[j]
    decode = lambda zb: model.likelihood.mean(model.decode(zb))  # noqa: E731
    images = decode(z.reshape(-1, code.numel()))
    origin = decode(code[None])[0]
    images = images.reshape(block_dim, steps, *images.shape[1:])
    return Navigation(block, values, images, origin, z)


@dataclass
class Interpolation:
    """Decodes of (1 − t)·z_a + t·z_b and their block images (the paper's supplementary)."""

    t: torch.Tensor
    images: torch.Tensor
    parts: torch.Tensor


@torch.no_grad()
def interpolate(
    model: torch.nn.Module,
    x_a: torch.Tensor,
    x_b: torch.Tensor,
    steps: int = 7,
    blocks: int | None = None,
) -> Interpolation:
    """Linear interpolation between the codes of two inputs ``(*shape)``."""
    codes = encode_codes(model, torch.stack([x_a, x_b]))
    t = torch.linspace(0, 1, steps)
    z = (1 - t[:, None]) * codes[0] + t[:, None] * codes[1]
    images = model.likelihood.mean(model.decode(z))
    return Interpolation(t, images, block_images(model, z, blocks, reference=codes.mean(0)))


# -- peaks and spike matching ------------------------------------------------------------------
@dataclass
class Peaks:
    """Local maxima of a stack of images: which image, sub-pixel (x, y) and height."""

    image: torch.Tensor
    xy: torch.Tensor
    height: torch.Tensor

    def count(self, images: int) -> torch.Tensor:
        return torch.bincount(self.image, minlength=images)


def _vertex(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Vertex offset and log-height gain of the parabola through log-samples (−1, a), (0, b),
    (1, c); zero where the samples are not strictly concave (flat or convex)."""
    curve = a - 2 * b + c
    ok = curve < -1e-12
    offset = torch.where(ok, (a - c) / (2 * torch.where(ok, curve, -1.0)), 0.0).clamp(-0.5, 0.5)
    return offset, -(a - c) * offset / 4


def find_peaks(images: torch.Tensor, threshold: float, radius: int = 1) -> Peaks:
    """Local maxima (over a (2·radius + 1)² window) above ``threshold`` of images ``(m, H, W)``,
    with log-parabolic sub-pixel refinement (exact for Gaussian peaks)."""
    if images.ndim != 3:
        raise DataError(f"expected images (m, H, W), got {tuple(images.shape)}")
    img = images.double()
    size = 2 * radius + 1
    pooled = F.max_pool2d(img[:, None], size, 1, radius)[:, 0]
    mask = (img >= pooled) & (img > threshold)
    idx = mask.nonzero()
    m, r, c = idx.unbind(1)
    h, w = img.shape[1:]
    logs = img.clamp_min(1e-12).log()

    def at(dr: int, dc: int) -> torch.Tensor:
        return logs[m, (r + dr).clamp(0, h - 1), (c + dc).clamp(0, w - 1)]

    b = logs[m, r, c]
    inner_x = (c > 0) & (c < w - 1) & (img[m, r, (c - 1).clamp(0)] > 0)
    inner_x &= img[m, r, (c + 1).clamp(max=w - 1)] > 0
    inner_y = (r > 0) & (r < h - 1) & (img[m, (r - 1).clamp(0), c] > 0)
    inner_y &= img[m, (r + 1).clamp(max=h - 1), c] > 0
    dx, gx = _vertex(at(0, -1), b, at(0, 1))
    dy, gy = _vertex(at(-1, 0), b, at(1, 0))
    dx, gx = torch.where(inner_x, dx, 0.0), torch.where(inner_x, gx, 0.0)
    dy, gy = torch.where(inner_y, dy, 0.0), torch.where(inner_y, gy, 0.0)
    xy = torch.stack([c + dx, r + dy], -1)
    return Peaks(m, xy, torch.exp(b + gx + gy))


@dataclass
class SpikeMatching:
    """Per image and block: peak count, the matched spike (−1: none) and the matched errors."""

    peaks: torch.Tensor
    """``(n, k)`` number of peaks in each block image."""
    spike: torch.Tensor
    """``(n, k)`` index of the ground-truth spike a block holds alone, −1 if none."""
    position_error: torch.Tensor
    """``(n, k)`` distance (pixels) of the block's peak to its spike, NaN if unmatched."""
    amplitude_error: torch.Tensor
    """``(n, k)`` |peak height − amplitude|, NaN if unmatched."""
    counts: torch.Tensor
    """``(n,)`` number of ground-truth spikes."""


def match_spikes(
    parts: torch.Tensor,
    atoms: torch.Tensor,
    threshold: float,
    tolerance: float,
    radius: int = 1,
) -> SpikeMatching:
    """Match single-peak block images ``(n, k, 1, H, W)`` to spikes ``(n, K, 3)`` (amplitude,
    x, y; NaN rows absent) by the Hungarian algorithm on distance, within ``tolerance`` px."""
    if parts.ndim != 5 or parts.shape[2] != 1:
        raise DataError(f"expected block images (n, k, 1, H, W), got {tuple(parts.shape)}")
    if atoms.ndim != 3 or atoms.shape[0] != parts.shape[0] or atoms.shape[2] != 3:
        raise DataError(
            f"expected spikes (n, K, 3) for {parts.shape[0]} images, got {tuple(atoms.shape)}"
        )
    n, k = parts.shape[:2]
    found = find_peaks(parts.reshape(n * k, *parts.shape[3:]), threshold, radius)
    peaks = found.count(n * k).reshape(n, k)
    spike = torch.full((n, k), -1, dtype=torch.long)
    pos_err = torch.full((n, k), math.nan, dtype=torch.float64)
    amp_err = torch.full((n, k), math.nan, dtype=torch.float64)
    single = (peaks == 1).reshape(-1)
    order = torch.argsort(found.image, stable=True)
    first = torch.zeros(n * k + 1, dtype=torch.long)
    first[1:] = torch.cumsum(found.count(n * k), 0)
    xy, height = found.xy[order], found.height[order]
    present = ~torch.isnan(atoms[..., 0])
    for i in range(n):
        cand = [j for j in range(k) if single[i * k + j]]
        truth = atoms[i][present[i]]
        if not cand or not truth.shape[0]:
            continue
        at = torch.stack([xy[first[i * k + j]] for j in cand])
        cost = torch.cdist(at, truth[:, 1:]).numpy()
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols):
            if cost[r, c] <= tolerance:
                j = cand[r]
                spike[i, j] = int(c)
                pos_err[i, j] = float(cost[r, c])
                amp_err[i, j] = abs(float(height[first[i * k + j]]) - float(truth[c, 0]))
    return SpikeMatching(peaks, spike, pos_err, amp_err, present.sum(1))


@dataclass
class SpikePurity:
    """How well blocks hold single spikes (means over images and blocks)."""

    purity: float
    """fraction of non-empty blocks that hold exactly one spike"""
    recall: float
    """fraction of ground-truth spikes held alone by a block"""
    mixed_blocks: float
    """fraction of non-empty blocks with two or more peaks"""
    empty_blocks: float
    """mean number of empty blocks per image"""
    expected_empty_blocks: float
    """mean of max(k − count, 0): empty blocks of a perfect decomposition"""
    position_error: float
    """mean distance (pixels) of matched peaks to their spikes"""
    amplitude_error: float
    """mean |height − amplitude| of matched peaks"""
    images: int
    blocks: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class BlockCodeFactors:
    """How a block's code ``z_i ∈ R^{d0}`` carries the spike it holds (amplitude, x, y).

    ``r2[f]``: the share of factor f's variance a linear map of the whole code explains (least
    squares with an intercept, over every matched block); ``best_coordinate[f]``: the code
    coordinate most correlated with f and that |corr|. Fig. 4 of the paper shows amplitude on one
    coordinate and position on two; in the model nothing prefers the coordinate axes — the shared
    block g starts with a dense layer, so g(A⁻¹·) after z ↦ A·z decodes the same images for any
    invertible A — so a factor can be linearly present (r2 near 1) without any single coordinate
    carrying it alone."""

    blocks: int
    r2: dict[str, float]
    best_coordinate: dict[str, tuple[int, float]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocks": self.blocks,
            "r2": dict(self.r2),
            "best_coordinate": {
                f: {"coordinate": i, "abs_corr": c} for f, (i, c) in self.best_coordinate.items()
            },
        }


def block_code_factors(
    codes: torch.Tensor, matching: SpikeMatching, atoms: torch.Tensor, block_dim: int
) -> BlockCodeFactors:
    """:class:`BlockCodeFactors` of codes ``(n, k·d0)`` whose blocks ``matching`` matched to
    spikes ``atoms`` ``(n, K, 3)`` (amplitude, x, y). Needs more matched blocks than d0 + 1."""
    n, k = matching.spike.shape
    if codes.shape != (n, k * block_dim):
        raise DataError(f"expected codes ({n}, {k * block_dim}), got {tuple(codes.shape)}")
    image, block = (matching.spike >= 0).nonzero(as_tuple=True)
    if len(image) <= block_dim + 1:
        raise DataError(
            f"block_code_factors: {len(image)} matched blocks, need more than {block_dim + 1}"
        )
    z = codes.reshape(n, k, block_dim)[image, block].to(torch.float64)
    truth = atoms[image, matching.spike[image, block]].to(torch.float64)
    design = torch.cat([z, torch.ones(len(z), 1, dtype=torch.float64)], 1)
    solution = torch.linalg.lstsq(design, truth).solution
    residual = truth - design @ solution
    centred = truth - truth.mean(0)
    spread = centred.pow(2).sum(0)
    constant = spread <= 1e-12 * truth.pow(2).sum(0).clamp_min(1e-300)  # no variance to explain
    explained = 1 - residual.pow(2).sum(0) / spread.clamp_min(1e-300)
    explained = torch.where(constant, torch.full_like(explained, math.nan), explained)
    zc = (z - z.mean(0)) / z.std(0).clamp_min(1e-12)
    fc = centred / truth.std(0).clamp_min(1e-12)
    corr = (zc.T @ fc / (len(z) - 1)).abs()  # (d0, 3)
    names = ("amplitude", "x", "y")
    best = {f: (int(corr[:, j].argmax()), float(corr[:, j].max())) for j, f in enumerate(names)}
    return BlockCodeFactors(len(z), dict(zip(names, explained.tolist())), best)


def spike_purity(matching: SpikeMatching) -> SpikePurity:
    """Summary numbers of a :class:`SpikeMatching`."""
    n, k = matching.peaks.shape
    non_empty = matching.peaks > 0
    matched = matching.spike >= 0
    nonempty_count = int(non_empty.sum())

    def ratio(a: int, b: int) -> float:
        return a / b if b else math.nan

    def mean(t: torch.Tensor) -> float:
        t = t[~torch.isnan(t)]
        return float(t.mean()) if t.numel() else math.nan

    return SpikePurity(
        purity=ratio(int(matched.sum()), nonempty_count),
        recall=ratio(int(matched.sum()), int(matching.counts.sum())),
        mixed_blocks=ratio(int((matching.peaks > 1).sum()), nonempty_count),
        empty_blocks=float((~non_empty).sum(1).double().mean()),
        expected_empty_blocks=float((k - matching.counts).clamp_min(0).double().mean()),
        position_error=mean(matching.position_error),
        amplitude_error=mean(matching.amplitude_error),
        images=n,
        blocks=k,
    )


@dataclass
class MassPurity:
    """For atoms that are shapes rather than points (strokes): where each block's mass lies."""

    purity: float
    """mean over non-empty blocks of the largest share of its positive mass on one atom"""
    single_atom_blocks: float
    """fraction of non-empty blocks with at least ``single`` of their mass on one atom"""
    non_empty_blocks: float
    """mean number of non-empty blocks per image"""
    atoms: float
    """mean number of ground-truth atoms per image"""
    images: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def mass_purity(
    parts: torch.Tensor,
    atom_images: torch.Tensor,
    background: float = 1e-3,
    min_share: float = 0.05,
    single: float = 0.8,
) -> MassPurity:
    """Where each block image's positive mass lies among the ground-truth atoms ``(n, K, C, H,
    W)``: a pixel belongs to the atoms in proportion to their values there (to none where the
    atoms sum to at most ``background``), and a block's share on atom j is the part of its mass
    owned by j. Blocks with less than ``min_share`` of the image's total positive block mass are
    empty. A perfect decomposition of non-overlapping atoms has purity 1."""
    if parts.shape[0] != atom_images.shape[0] or parts.shape[2:] != atom_images.shape[2:]:
        raise DataError(
            f"block images {tuple(parts.shape)} and atom images {tuple(atom_images.shape)} "
            "do not describe the same images"
        )
    mass = parts.clamp_min(0).flatten(2).double()  # (n, k, P)
    atoms = atom_images.flatten(2).double().clamp_min(0)  # (n, K, P)
    total_atoms = atoms.sum(1, keepdim=True)
    owner = torch.where(total_atoms > background, atoms / total_atoms.clamp_min(1e-300), 0.0)
    total = mass.sum(-1)  # (n, k)
    share = torch.einsum("nkp,njp->nkj", mass, owner) / total[..., None].clamp_min(1e-12)
    best = share.max(-1).values if share.shape[-1] else torch.zeros_like(total)
    non_empty = total >= min_share * total.sum(1, keepdim=True).clamp_min(1e-12)
    count = (atoms.amax(-1) > 0).sum(1)
    kept = best[non_empty]
    return MassPurity(
        purity=float(kept.mean()) if kept.numel() else math.nan,
        single_atom_blocks=float((kept >= single).double().mean()) if kept.numel() else math.nan,
        non_empty_blocks=float(non_empty.sum(1).double().mean()),
        atoms=float(count.double().mean()),
        images=int(parts.shape[0]),
    )


# -- the sub-model check -------------------------------------------------------------------------
@dataclass
class SubmodelRow:
    kept: int
    expected_spikes: float
    detected_spikes: float
    count_exact: float
    error: float
    """mean squared error per pixel of the partial decode against the expected spikes"""


@dataclass
class SubmodelCheck:
    """Sec. II-A remark: decoding a subset I of the blocks gives an image of the atoms of I.

    For each number of kept blocks, random subsets I per image: the spikes expected (those
    matched to a block of I), the peaks found in the partial decode, the fraction of images where
    the two counts agree, and the mean squared error per pixel of the partial decode against the
    ground-truth rendering of the expected spikes (to compare with ``full_error``, that of the
    full decode against the image).
    """

    full_error: float
    rows: list[SubmodelRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"full_error": self.full_error, "rows": [dict(vars(r)) for r in self.rows]}


@torch.no_grad()
def submodel_check(
    model: torch.nn.Module,
    codes: torch.Tensor,
    matching: SpikeMatching,
    atom_images: torch.Tensor,
    threshold: float,
    kept: Sequence[int] | None = None,
    radius: int = 1,
    seed: int = 0,
    reference: torch.Tensor | None = None,
) -> SubmodelCheck:
    """Partial decodes of ``codes`` keeping random subsets of blocks. Atomic models sum the kept
    g(z_i) (:meth:`~latentatlas.models.atomic.AtomicAutoencoder.decode_blocks`); others decode
    the code with the dropped blocks set to ``reference`` (default: the mean code)."""
    n, k = matching.peaks.shape
    g = torch.Generator().manual_seed(seed)
    ref = codes.mean(0) if reference is None else reference.reshape(-1)
    d0 = codes.shape[1] // k
    mean = model.likelihood.mean
    full = mean(model.decode(codes))
    truth = atom_images.sum(1)
    full_err = float((full - truth).pow(2).mean())
    check = SubmodelCheck(full_error=full_err)
    for m in kept or range(1, k + 1):
        keep = torch.zeros(n, k, dtype=torch.bool)
        scores = torch.rand(n, k, generator=g)
        keep.scatter_(1, scores.argsort(1)[:, :m], True)
        if is_atomic(model):
            partial = model.decode_blocks(codes, keep)
        else:
            z = codes.clone().reshape(n, k, d0)
            z[~keep] = ref.reshape(k, d0).expand(n, k, d0)[~keep]
            partial = mean(model.decode(z.reshape(n, -1)))
        spikes = torch.where(keep, matching.spike, -1)
        expected = torch.zeros_like(truth)
        for i in range(n):
            held = spikes[i][spikes[i] >= 0]
            if held.numel():
                expected[i] = atom_images[i, held].sum(0)
        exp_count = (spikes >= 0).sum(1)
        found = find_peaks(partial[:, 0], threshold, radius).count(n)
        check.rows.append(
            SubmodelRow(
                kept=m,
                expected_spikes=float(exp_count.double().mean()),
                detected_spikes=float(found.double().mean()),
                count_exact=float((found == exp_count).double().mean()),
                error=float((partial - expected).pow(2).mean()),
            )
        )
    return check
