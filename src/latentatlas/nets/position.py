"""The position network E_L of the slides (22-30): L layers of the filter ϕ = c·[1, 2, 1]
(eq. 10) each followed by subsampling at the even positions.

For a Dirac δ_a of length n = 2^L (eq. 9, δ_a(i) = 1 if i = a, a = 0 … n − 1), the slides prove
by induction that E_L(δ_a) = 2^L − a (slide 26, table 1 of slide 25): the network reads the
(inverted) position with a single filter. With ϕ = c·[1, 2, 1] the output is c^L (2^L − a). In
2-D the separable filter ϕᵀϕ on an n×n image gives E_L(δ_(a, b)) = (2^L − a)(2^L − b).

Filtering uses zero padding of one sample on each side, so layer ℓ maps u of length m to
u'(j) = c·(u(2j − 1) + 2u(2j) + u(2j + 1)), j = 0 … m/2 − 1, a stride-2 convolution.
``pooling="max"`` filters without subsampling and then max-pools by 2 instead (slide 29): the
identity no longer holds — the position is lost.

``learnable=True`` gives every layer its own trainable filter of three taps (3×3 in 2-D),
randomly initialised: the network a position encoder trained on (δ_a, position) pairs starts from
(slide 27), whose learned filters can then be compared with ϕ.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ConfigError, DataError

PHI = (1.0, 2.0, 1.0)
"""The filter ϕ of eq. 10."""


class PositionNetwork(nn.Module):
    """E_L: ``levels`` layers of c·ϕ filtering and subsampling by 2, in 1-D or 2-D.

    Input ``(n_signals, 2^L)`` (1-D) or ``(n_images, 2^L, 2^L)`` (2-D); output one number per
    signal, ``(n,)``. Fixed weights are float64 buffers, so integer inputs give exact results;
    learnable ones (``learnable=True``, one filter per layer, ``kernels`` ``(L, 3)`` or
    ``(L, 3, 3)``) are float64 parameters drawn uniformly from [0, 1) with ``generator``.
    """

    def __init__(
        self,
        levels: int,
        dims: int = 1,
        scale: float = 1.0,
        pooling: str = "stride",
        learnable: bool = False,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if levels < 1:
            raise ConfigError(f"levels: expected L ≥ 1, got {levels}")
        if dims not in (1, 2):
            raise ConfigError(f"dims: expected 1 or 2, got {dims}")
        if pooling not in ("stride", "max"):
            raise ConfigError(f"pooling: expected 'stride' or 'max', got {pooling!r}")
        self.levels, self.dims, self.pooling = levels, dims, pooling
        phi = scale * torch.tensor(PHI, dtype=torch.float64)
        kernel = phi if dims == 1 else torch.outer(phi, phi)
        if learnable:
            init = torch.rand(levels, *kernel.shape, generator=generator, dtype=torch.float64)
            self.kernels = nn.Parameter(init)
        else:
            self.register_buffer("kernels", kernel.expand(levels, *kernel.shape).clone())

    @property
    def size(self) -> int:
        """The signal length (image side) n = 2^L the network reduces to one number."""
        return 2**self.levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (self.size,) * self.dims
        if x.ndim != self.dims + 1 or tuple(x.shape[1:]) != shape:
            raise DataError(
                f"expected input of shape (n, {', '.join(map(str, shape))}) for L = "
                f"{self.levels}, got {tuple(x.shape)}"
            )
        u = x.to(torch.float64)[:, None]
        conv = F.conv1d if self.dims == 1 else F.conv2d
        pool = F.max_pool1d if self.dims == 1 else F.max_pool2d
        for kernel in self.kernels:
            kernel = kernel[None, None]
            if self.pooling == "stride":
                u = conv(u, kernel, stride=2, padding=1)
            else:
                u = pool(conv(u, kernel, padding=1), 2)
        return u.reshape(x.shape[0])


def diracs(size: int, dims: int = 1) -> torch.Tensor:
    """All Diracs δ_a of eq. 9 (1-D, ``(size, size)``, row a is δ_a) or δ_(a, b) (2-D,
    ``(size², size, size)``, index a·size + b)."""
    eye = torch.eye(size, dtype=torch.float64)
    if dims == 1:
        return eye
    return torch.einsum("ai,bj->abij", eye, eye).reshape(size * size, size, size)
