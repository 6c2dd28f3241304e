"""Learning position (slides 27-29): a trained position encoder finds the filter ϕ = [1, 2, 1],
max pooling cannot, and a position decoder learns better from continuous Diracs (eq. 11).

* :func:`train_position_encoder` fits a :class:`~latentatlas.nets.position.PositionNetwork`
  with one learnable three-tap filter per layer to (δ_a, 2^L − a) for every a — the label the
  slides' network predicts (slide 26; slide 27 gives the encoder "the position as the label").
  With strided subsampling an exact fit exists (ϕ itself), and the learned filters, normalised
  by their centre tap, are compared with ϕ / 2 = [0.5, 1, 0.5]. The left tap of the last layer
  only ever sees the zero padding, so no data determine it; it is reported and left out of the
  comparison. With max pooling (slide 29) the same training cannot fit the positions.
* :func:`train_position_decoder` fits an MLP from a position to a signal, either on the n
  integer Diracs (eq. 9) or on continuous Diracs (eq. 11), and :func:`evaluate_position_decoder`
  measures it on held-out real positions (squared error to δ_a and the error of the decoded
  signal's barycentre, which is a for δ_a of eq. 11).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..data.synthetic.diracs import continuous_diracs
from ..errors import ConfigError, DataError
from ..nets.position import PHI, PositionNetwork, diracs


@dataclass
class PositionEncoderFit:
    """A trained position encoder: its filters, its outputs on every Dirac, and the fit."""

    levels: int
    pooling: str
    filters: list[list[float]]
    normalised_filters: list[list[float]]
    outputs: list[float]
    targets: list[float]
    rmse: float
    filter_error: float
    loss_history: list[float]

    def to_dict(self) -> dict:
        return asdict(self)


def train_position_encoder(
    levels: int = 5,
    pooling: str = "stride",
    steps: int = 3000,
    lr: float = 0.03,
    seed: int = 0,
) -> PositionEncoderFit:
    """Fit E_L with learnable filters to E(δ_a) = 2^L − a for all a (full batch, Adam).

    ``filter_error`` is the largest deviation of the centre-normalised taps from
    [0.5, 1, 0.5] (the last layer's undetermined left tap excluded); ``rmse`` the root mean
    squared error of the outputs, in positions.
    """
    if steps < 1 or not lr > 0:
        raise ConfigError(f"expected steps ≥ 1 and lr > 0, got {steps}, {lr}")
    g = torch.Generator().manual_seed(seed)
    net = PositionNetwork(levels, pooling=pooling, learnable=True, generator=g)
    x = diracs(net.size)
    target = net.size - torch.arange(net.size, dtype=torch.float64)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history = []
    for step in range(steps):
        loss = (net(x) - target).pow(2).mean() / net.size**2
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % max(steps // 100, 1) == 0 or step == steps - 1:
            history.append(float(loss.detach()))
    with torch.no_grad():
        out = net(x)
        kernels = net.kernels.detach()
    normalised = kernels / kernels[:, 1:2]
    expected = torch.tensor(PHI, dtype=torch.float64) / PHI[1]
    deviation = (normalised - expected).abs()
    deviation[-1, 0] = 0.0  # the last layer's left tap multiplies zero padding only
    return PositionEncoderFit(
        levels=levels,
        pooling=pooling,
        filters=kernels.tolist(),
        normalised_filters=normalised.tolist(),
        outputs=out.tolist(),
        targets=target.tolist(),
        rmse=float((out - target).pow(2).mean().sqrt()),
        filter_error=float(deviation.max()),
        loss_history=history,
    )


class PositionDecoder(nn.Module):
    """An MLP from a position a (scaled to [0, 1] by the signal length) to a signal ``(size,)``."""

    def __init__(self, size: int, hidden: tuple[int, ...] = (128, 128)):
        super().__init__()
        if size < 2:
            raise ConfigError(f"size: expected a signal length ≥ 2, got {size}")
        self.size = size
        layers: list[nn.Module] = []
        width = 1
        for units in hidden:
            layers += [nn.Linear(width, units), nn.ReLU()]
            width = units
        layers.append(nn.Linear(width, size))
        self.net = nn.Sequential(*layers)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        a = torch.as_tensor(positions, dtype=torch.float32).reshape(-1, 1)
        return self.net(a / (self.size - 1))


def train_position_decoder(
    positions: torch.Tensor,
    size: int,
    steps: int = 3000,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> PositionDecoder:
    """Train a :class:`PositionDecoder` to map each training position a to δ_a of eq. 11
    (an integer a gives the Dirac of eq. 9)."""
    a = torch.as_tensor(positions, dtype=torch.float64).reshape(-1)
    if a.numel() == 0 or not torch.isfinite(a).all() or a.min() < 0 or a.max() > size - 1:
        raise DataError(f"positions: expected finite values in [0, {size - 1}]")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = PositionDecoder(size)
    targets = continuous_diracs(a, size).float()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(len(a), (min(batch_size, len(a)),), generator=g)
        loss = (model(a[idx]) - targets[idx]).pow(2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@dataclass
class PositionDecoderScore:
    """A position decoder on held-out real positions."""

    squared_error: float
    barycentre_error: float
    max_barycentre_error: float

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_position_decoder(
    model: PositionDecoder, positions: torch.Tensor
) -> PositionDecoderScore:
    """Mean ‖D(a) − δ_a‖², and the mean and largest |â − a| over ``positions``, where â is the
    barycentre of the positive part of the decoded signal on the three samples around its
    maximum (exactly a for the δ_a of eq. 11)."""
    a = torch.as_tensor(positions, dtype=torch.float64).reshape(-1)
    with torch.no_grad():
        out = model(a).double()
    target = continuous_diracs(a, model.size)
    peak = out.argmax(1, keepdim=True)
    grid = torch.arange(model.size, dtype=torch.float64)
    window = (grid[None] - peak).abs() <= 1
    mass = torch.where(window, out.clamp(min=0), 0.0)
    bary = (mass * grid).sum(1) / mass.sum(1).clamp_min(1e-12)
    err = (bary - a).abs()
    return PositionDecoderScore(
        squared_error=float((out - target).pow(2).sum(1).mean()),
        barycentre_error=float(err.mean()),
        max_barycentre_error=float(err.max()),
    )
