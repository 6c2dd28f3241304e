"""Other ways to get latent directions, to compare on the same evaluation as the inversion method.

* :func:`encoder_records` — with an encoder (goes beyond the directions paper): encode images and
  their transformed versions; the records (z₀, z_δt, δt) then feed the same direction model, and
  :func:`~latentatlas.analysis.directions.displacement_direction` (mean displacement per unit of
  t) or ``linear_direction`` (least squares) give the direction in closed form.
* :func:`pca_directions` — principal axes of a set of codes (posterior means of data).
* :func:`ganspace_directions` — GANSpace (Härkönen et al. 2020): PCA of an early layer's
  activations for prior codes, carried back to the latent space by least-squares regression of
  z on the principal coordinates.
* :func:`sefa_directions` — SeFa (Shen & Zhou 2021): the top eigenvectors of AᵀA for the weight A
  of the first layer that reads z.

Unsupervised directions have no sign or factor attached; :func:`match_direction` picks, among
candidates, the one along which a measured factor changes most and orients it so that the factor
grows with α.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ...data.transforms import Transformation, get_transformation
from ...errors import DataError
from .evaluation import evaluate_direction
from .trajectories import DEFAULT_AMOUNTS


def encoder_records(
    encode: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    transformation: str | Transformation,
    amounts: Sequence[float] = DEFAULT_AMOUNTS,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(z₀, z_δt, δt) from an encoder ``encode: images → codes`` (e.g. posterior means), for
    every image and every amount ±δt (undefined pixels of a transformed image are 0)."""
    transform = get_transformation(transformation)
    with torch.no_grad():
        z_images = encode(images)
        z0s, zts, ts = [], [], []
        for a in amounts:
            for sign in (1.0, -1.0):
                moved, _ = transform(images, sign * float(a))
                z0s.append(z_images)
                zts.append(encode(moved))
                ts.append(torch.full((len(images),), sign * float(a)))
    return torch.cat(z0s), torch.cat(zts), torch.cat(ts)


def _pca_axes(data: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    if len(data) < 2:
        raise DataError(f"PCA needs at least 2 samples, got {len(data)}")
    pca = PCA(n_components=min(k, *data.shape))
    coords = pca.fit_transform(data)
    return pca.components_, coords


def pca_directions(codes: torch.Tensor, k: int = 10) -> torch.Tensor:
    """The first ``k`` principal axes ``(k, d)`` of codes ``(n, d)``."""
    axes, _ = _pca_axes(codes.detach().double().numpy(), k)
    return torch.as_tensor(axes, dtype=torch.float32)


def layer_activations(
    generator: Callable[[torch.Tensor], torch.Tensor], layer: nn.Module, z: torch.Tensor
) -> torch.Tensor:
    """The output of ``layer`` (a submodule of the generator) for codes ``z``, flattened."""
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.append(out.detach()))
    try:
        with torch.no_grad():
            generator(z)
    finally:
        handle.remove()
    if not captured:
        raise DataError("the layer was not called by the generator's forward pass")
    return captured[0].reshape(len(z), -1)


def ganspace_directions(
    generator: Callable[[torch.Tensor], torch.Tensor],
    layer: nn.Module,
    latent_dim: int,
    k: int = 10,
    n: int = 4096,
    seed: int = 0,
) -> torch.Tensor:
    """GANSpace directions ``(k, d)``: PCA of ``layer``'s activations for n prior codes, each
    principal coordinate regressed on z (the latent direction that moves along that axis)."""
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    acts = layer_activations(generator, layer, z).double().numpy()
    _, coords = _pca_axes(acts, k)
    # least squares z ≈ coords·V: row i of V is the latent direction of principal axis i
    v, *_ = np.linalg.lstsq(coords, z.double().numpy(), rcond=None)
    v /= np.linalg.norm(v, axis=1, keepdims=True).clip(1e-12)
    return torch.as_tensor(v, dtype=torch.float32)


def first_linear(module: nn.Module, in_features: int) -> nn.Linear:
    """The first ``nn.Linear`` in ``module`` that reads ``in_features`` inputs (the layer fed z)."""
    for m in module.modules():
        if isinstance(m, nn.Linear) and m.in_features == in_features:
            return m
    raise DataError(f"no linear layer with {in_features} inputs in {type(module).__name__}")


def sefa_directions(weight: torch.Tensor, k: int = 10) -> torch.Tensor:
    """SeFa directions ``(k, d)``: eigenvectors of AᵀA for the first layer's weight A (out × d),
    by decreasing eigenvalue (the latent directions that change that layer's output most)."""
    a = torch.as_tensor(weight.detach() if torch.is_tensor(weight) else weight, dtype=torch.float64)
    if a.ndim != 2:
        raise DataError(f"SeFa needs a 2-D weight (out, d), got {tuple(a.shape)}")
    values, vectors = torch.linalg.eigh(a.T @ a)
    order = torch.argsort(values, descending=True)[:k]
    return vectors[:, order].T.float()


def match_direction(
    generator: Callable[[torch.Tensor], torch.Tensor],
    candidates: torch.Tensor,
    measure: str,
    n: int = 32,
    seed: int = 0,
) -> tuple[int, torch.Tensor]:
    """Among candidate directions ``(k, d)``, the index and oriented unit vector along which the
    mean of ``measure`` changes most between α = −2 and α = 2."""
    best, best_change, best_u = -1, -1.0, None
    for i, u in enumerate(candidates):
        ev = evaluate_direction(generator, u, measure, alphas=(-2.0, 2.0), n=n, seed=seed)
        change = float(ev.mean[1] - ev.mean[0])
        if abs(change) > best_change:
            best, best_change = i, abs(change)
            best_u = (u if change >= 0 else -u) / u.norm()
    assert best_u is not None
    return best, best_u
