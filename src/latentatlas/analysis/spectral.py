"""Spectral independence between activation maps and the filters that read them (intrinsic paper,
sec. 3.2 and 4).

The Spectral Dependency Ratio of a cause X filtered by h (eq. 6),

    ρ = ⟨S_x · |ĥ|²⟩ / (⟨S_x⟩ ⟨|ĥ|²⟩),   ⟨·⟩ the mean over the frequency grid,

is 1 when the filter's gain does not adapt to the input's power spectrum and above 1 when it
amplifies the frequencies where the input has power. In a convolutional layer y_o = Σ_i f_io ∗ x_i
(eq. 7) each (map i, partial filter f_io) pair is such a cause-mechanism pair. A transposed
convolution with stride s first upsamples its input by inserting zeros, x↑s, whose spectrum is
the map's spectrum on a compressed frequency axis, x̂↑s(u, v) = x̂(su, sv) (eq. 8): on the output's
(sH × sW) grid the map's spectrum is the H × W spectrum tiled s × s times. The filter's spectrum is
its zero-padded DFT on that grid. A plain convolution (stride ≥ 1 decimates after filtering) reads
the map at its own resolution (s = 1).

Power spectra are estimated over a batch of B maps (Bartlett):

* ``averaging="power"`` (eq. 8, default as in the papers README): S_x = (1/B) Σ_b |x̂_b|²;
* ``averaging="mean"`` (eq. 9): S_x = |(1/B) Σ_b x̂_b|², the power of the mean spectrum.

The SDR of a map is the mean of its ratios over the filters that read it (sec. 4.1).

The SDR objective of eq. 9 for one pair, for fixed maps, is (⟨|f̂|² (S_x / ⟨S_x⟩ − 1)⟩)² =
(⟨|f̂|²⟩ (ρ − 1))²: the squared distance of ρ to 1 times the filter's energy, which avoids the
normalisation's poles (sec. 4.2); the objective of a layer sums it over all pairs. Everything is
vectorised over the pairs with batched FFTs (``benchmarks/sdr.py`` compares with a loop).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..config import Config, field
from ..errors import ConfigError, DataError
from ..registry import AUXILIARY
from .generators import as_generator
from .interventions import named_layers, resolve_layers

AVERAGING = ("power", "mean")


@dataclass(frozen=True)
class ConvGeometry:
    """A (transposed) convolution as the SDR sees it: partial filters ``weight`` indexed
    (input map i, output map o, kh, kw) and the upsampling factor ``s`` of its input."""

    weight: torch.Tensor
    upsampling: tuple[int, int]


def conv_geometry(module: nn.Module, name: str = "layer") -> ConvGeometry:
    """The partial filters and upsampling of a ``Conv2d`` or ``ConvTranspose2d``."""
    if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        raise ConfigError(
            f"{name!r} is a {type(module).__name__}; the SDR needs a Conv2d or ConvTranspose2d "
            "(the filters that read a map)"
        )
    if module.groups != 1 or tuple(module.dilation) != (1, 1):
        raise ConfigError(f"{name!r}: grouped or dilated convolutions are not supported")
    if isinstance(module, nn.ConvTranspose2d):  # weight (C_in, C_out, kh, kw)
        return ConvGeometry(module.weight, tuple(int(s) for s in module.stride))
    return ConvGeometry(module.weight.transpose(0, 1), (1, 1))  # (C_out, C_in, ...) → (C_in, ...)


def _check_averaging(averaging: str) -> None:
    if averaging not in AVERAGING:
        raise ConfigError(f"averaging: expected one of {AVERAGING}, got {averaging!r}")


def map_spectrum(maps: torch.Tensor, averaging: str = "power") -> torch.Tensor:
    """The power spectrum ``(C, H, W)`` of a batch of maps ``(B, C, H, W)`` (eq. 8 or eq. 9)."""
    _check_averaging(averaging)
    if not isinstance(maps, torch.Tensor) or maps.ndim != 4:
        got = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
        raise DataError(f"SDR: expected activation maps (B, C, H, W), got {got}")
    if not torch.isfinite(maps).all():
        raise DataError("SDR: the activation maps contain NaN or inf")
    spectra = torch.fft.fft2(maps.double())
    if averaging == "power":
        return spectra.abs().pow(2).mean(0)
    return spectra.mean(0).abs().pow(2)


def filter_power(weight: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """|f̂|² of every partial filter on a ``size`` frequency grid: ``(C_in, C_out, *size)``."""
    kh, kw = weight.shape[-2:]
    if kh > size[0] or kw > size[1]:
        raise ConfigError(f"SDR: a {kh}×{kw} filter does not fit the {size[0]}×{size[1]} grid")
    return torch.fft.fft2(weight.double(), s=size).abs().pow(2)


def _tiled(spectrum: torch.Tensor, upsampling: tuple[int, int]) -> torch.Tensor:
    """x̂(su, sv) on the (sH × sW) grid: the H × W spectrum repeated s times on each axis."""
    return spectrum.repeat(1, *upsampling)


@dataclass
class SpectralDependency:
    """SDR of every (map, partial filter) pair of one layer.

    ``ratio[i, o]`` is ρ for input map i read by filter f_io (eq. 6/8); ``per_map[i]`` the mean
    over the filters reading map i (sec. 4.1); ``map_power[i]`` = ⟨S_x⟩ (maps with no power have
    an undefined ratio: NaN, left out of the means).
    """

    layer: str
    averaging: str
    ratio: torch.Tensor
    map_power: torch.Tensor

    @property
    def per_map(self) -> torch.Tensor:
        return self.ratio.nanmean(1)

    @property
    def mean(self) -> float:
        return float(self.ratio.nanmean())

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "averaging": self.averaging,
            "mean_sdr": self.mean,
            "per_map": [float(v) for v in self.per_map],
        }


def spectral_dependency(
    maps: torch.Tensor,
    weight: torch.Tensor,
    upsampling: int | tuple[int, int] = 1,
    averaging: str = "power",
    layer: str = "layer",
) -> SpectralDependency:
    """SDR of each pair (map i of ``maps`` (B, C_in, H, W), filter ``weight[i, o]``) — eq. 8
    with ``averaging="power"``, the eq. 9 estimate with ``"mean"``."""
    s = (upsampling, upsampling) if isinstance(upsampling, int) else tuple(upsampling)
    spectrum = map_spectrum(maps, averaging)
    if weight.shape[0] != spectrum.shape[0]:
        raise DataError(
            f"SDR: {spectrum.shape[0]} maps but the filters read {weight.shape[0]} input channels"
        )
    h, w = spectrum.shape[-2:]
    power = filter_power(weight.detach(), (s[0] * h, s[1] * w))
    tiled = _tiled(spectrum, s)
    numerator = torch.einsum("ihw,iohw->io", tiled, power) / tiled[0].numel()
    map_power = spectrum.mean((-2, -1))
    denominator = power.mean((-2, -1)) * map_power[:, None]
    ratio = torch.where(denominator > 0, numerator / denominator, torch.nan)
    return SpectralDependency(layer, averaging, ratio.float(), map_power.float())


def sdr_objective(
    maps: torch.Tensor,
    weight: torch.Tensor,
    upsampling: int | tuple[int, int] = 1,
    averaging: str = "power",
) -> torch.Tensor:
    """The SDR objective of eq. 9 summed over all (map, filter) pairs, differentiable in
    ``weight`` (the maps are held fixed: only the filters adapt)."""
    s = (upsampling, upsampling) if isinstance(upsampling, int) else tuple(upsampling)
    spectrum = map_spectrum(maps.detach(), averaging)
    h, w = spectrum.shape[-2:]
    mean = spectrum.mean((-2, -1), keepdim=True)
    relative = _tiled(spectrum / mean.clamp_min(1e-30) - 1.0, s)  # S_x / ⟨S_x⟩ − 1
    power = torch.fft.fft2(weight.double(), s=(s[0] * h, s[1] * w)).abs().pow(2)
    per_pair = torch.einsum("ihw,iohw->io", relative, power) / relative[0].numel()
    return per_pair.pow(2).sum().to(weight.dtype)


# -- on a generator -------------------------------------------------------------------------------
def layer_inputs(
    model: nn.Module, z: torch.Tensor, layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """The input maps of ``layers`` (names inside ``model``) when the generator runs on ``z``."""
    modules = resolve_layers(model, layers)
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for name, module in zip(layers, modules):

        def hook(module, inputs, name=name):
            captured[name] = inputs[0].detach()

        handles.append(module.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            as_generator(model)(z)
    finally:
        for h in handles:
            h.remove()
    return captured


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the (transposed) convolutions inside ``model``: the layers the SDR can analyse."""
    return [
        n for n, m in named_layers(model).items() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]


def layer_sdr(
    model: nn.Module, z: torch.Tensor, layers: Sequence[str], averaging: str = "power"
) -> list[SpectralDependency]:
    """SDR of each named (transposed) convolution between its input maps — generated from the
    codes ``z`` — and its partial filters."""
    modules = resolve_layers(model, layers)
    geometry = [conv_geometry(m, n) for n, m in zip(layers, modules)]
    maps = layer_inputs(model, z, layers)
    return [
        spectral_dependency(maps[n], g.weight, g.upsampling, averaging, n)
        for n, g in zip(layers, geometry)
    ]


def sdr_training_terms(
    model: nn.Module,
    layers: Sequence[str],
    averaging: str = "power",
    codes: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
):
    """One :class:`~latentatlas.train.auxiliary.AuxiliaryTerm` per layer: the eq. 9 objective of
    that (transposed) convolution's filters for the maps generated from the batch (sec. 5.2).

    The maps come from decoding ``codes(model, x)`` — by default the posterior means of the
    training batch — without gradients; only the layer's weight is optimised.
    """
    from ..train.auxiliary import AuxiliaryTerm

    _check_averaging(averaging)
    modules = resolve_layers(model, layers)
    for n, m in zip(layers, modules):
        conv_geometry(m, n)

    def default_codes(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model.latent.mean(model.encode(x)) if hasattr(model, "encode") else x

    pick = codes or default_codes

    def make(name: str, module: nn.Module) -> AuxiliaryTerm:
        def loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
            maps = layer_inputs(model, pick(model, x), [name])[name]
            g = conv_geometry(module, name)
            return sdr_objective(maps, g.weight, g.upsampling, averaging)

        return AuxiliaryTerm(f"sdr[{name}]", loss, [module.weight])

    return [make(n, m) for n, m in zip(layers, modules)]


@dataclass(frozen=True)
class SDRTrainingConfig(Config):
    layers: tuple[str, ...] = field(doc="(transposed) convolutions whose filters are optimised")
    lr: float = field(1e-4, gt=0.0, doc="Adam learning rate of the SDR steps")
    betas: tuple[float, float] = field((0.5, 0.999), ge=0.0, lt=1.0, doc="Adam betas")
    every: int = field(1, ge=1, doc="one SDR step after every this many training steps")
    averaging: str = field("power", choices=AVERAGING, doc="power (eq. 8) or mean (eq. 9)")

    def validate(self) -> None:
        if not self.layers:
            raise ConfigError("layers: expected at least one convolution name")


@AUXILIARY.register("sdr")
class SDRTraining:
    """The run-config entry ``{name: sdr, layers: [...]}``: SDR-regularised training (sec. 5.2)
    as an :class:`~latentatlas.train.auxiliary.AlternatingObjective` over the named layers."""

    Config = SDRTrainingConfig

    @classmethod
    def from_config(cls, config: SDRTrainingConfig):
        from ..train.auxiliary import AlternatingObjective

        layers, averaging = list(config.layers), config.averaging
        return AlternatingObjective(
            lambda model: sdr_training_terms(model, layers, averaging),
            lr=config.lr,
            betas=config.betas,
            every=config.every,
            split="sdr",
        )
