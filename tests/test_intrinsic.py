"""Intrinsic disentanglement: interventions, Haar scales, SDR and SDR training (intrinsic paper)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from latentatlas import resume_run, train_run
from latentatlas.analysis.interventions import (
    AffineWarp,
    Stretch,
    intervene,
    intervention,
    map_layers,
)
from latentatlas.analysis.spectral import (
    conv_geometry,
    layer_sdr,
    sdr_objective,
    sdr_training_terms,
    spectral_dependency,
)
from latentatlas.analysis.wavelet_scales import haar_components, scale_errors
from latentatlas.errors import ConfigError, DataError
from latentatlas.registry import MODELS, build
from latentatlas.train import checkpoint as ckpt
from latentatlas.train.auxiliary import AlternatingObjective
from latentatlas.train.callbacks import StopAt
from latentatlas.train.run import RunConfig


def tiny_vae(output_kernel: int = 3, seed: int = 0) -> nn.Module:
    """A 3×16×16 VAE whose decoder maps 8@4 → 8@8 → 4@16 → (k×k transposed conv) → 3@16."""
    torch.manual_seed(seed)
    return build(
        MODELS,
        {
            "name": "vae",
            "input_shape": [3, 16, 16],
            "latent": {"name": "euclidean", "dim": 4},
            "encoder": {"name": "conv_encoder", "channels": [8, 8], "dense": [32]},
            "decoder": {
                "name": "conv_decoder",
                "channels": [8, 8, 4],
                "dense": [32],
                "output_kernel": output_kernel,
            },
            "likelihood": {"name": "gaussian", "sigma": 0.1},
        },
    ).eval()


# -- interventions --------------------------------------------------------------------------------
def test_stretch_rejects_non_positive_factors():
    for bad in (0.0, -1.5, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="stretch factor"):
            Stretch(bad)
    with pytest.raises(ConfigError, match="axis"):
        Stretch(1.5, axis="z")
    with pytest.raises(ConfigError, match="2×3"):
        AffineWarp([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ConfigError, match="resampling: expected one of bilinear"):
        Stretch(1.5, mode="lanczos")


def test_the_stretch_resamplings_differ_between_grid_points_and_agree_on_them():
    """Nearest copies a sample, bilinear and bicubic interpolate: on a one-pixel line stretched
    2× they differ; a stretch of 1 is the identity for all three."""
    image = torch.zeros(1, 1, 8, 16)
    image[..., 9] = 1.0
    outs = {m: Stretch(2.0, mode=m)(image) for m in ("bilinear", "nearest", "bicubic")}
    assert set(outs["nearest"].unique().tolist()) <= {0.0, 1.0}
    assert not torch.allclose(outs["bilinear"], outs["nearest"])
    assert not torch.allclose(outs["bilinear"], outs["bicubic"])
    for mode in outs:
        assert torch.allclose(Stretch(1.0, mode=mode)(image), image, atol=1e-5)


def test_stretch_is_a_horizontal_stretch_about_the_centre():
    image = torch.zeros(1, 1, 8, 16)
    image[..., 9] = 1.0  # a vertical line one pixel right of the centre (7.5)
    out = Stretch(3.0)(image)
    # a line at x = 9 (1.5 px from the centre) lands 4.5 px from it: x = 12, rows unchanged
    assert int(out[0, 0, 4].argmax()) == 12
    assert torch.allclose(out[0, 0, 0], out[0, 0, 7])
    assert torch.allclose(Stretch(1.0)(image), image, atol=1e-6)
    vertical = Stretch(2.0, axis="y")(image)
    assert torch.allclose(vertical, image, atol=1e-6)  # a vertical line is unchanged


def test_identity_intervention_reproduces_the_generator_exactly():
    vae = tiny_vae()
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    for layer in vae.decoder.level_names():
        result = intervene(vae, z, f"decoder.{layer}", lambda maps: maps)
        assert torch.equal(result.intervened, result.original)
        assert torch.equal(result.target, result.original)
        assert float(result.error.max()) == 0.0


def test_stretching_the_input_of_a_per_pixel_last_layer_equals_stretching_the_output():
    vae = tiny_vae(output_kernel=1)  # the last layer mixes channels pixel by pixel
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(2))
    image_level = "decoder." + vae.decoder.level_names()[-2]
    result = intervene(vae, z, image_level, Stretch(1.5))
    assert torch.allclose(result.intervened, result.target, atol=1e-5)
    # a layer further up does not commute with the stretch: the comparison can fail
    coarse = intervene(vae, z, "decoder.head", Stretch(1.5))
    assert float(coarse.error.mean()) > 1e-6


def test_layer_errors_name_the_valid_layers_and_need_4d_maps():
    vae = tiny_vae()
    z = torch.randn(2, 4)
    with pytest.raises(ConfigError, match="valid layer names: .*decoder.conv.1"):
        intervene(vae, z, "decoder.nope", Stretch())
    with pytest.raises(DataError, match="not a 4-D map"):
        intervene(vae, z, "decoder.head.0", Stretch())  # a Linear layer's (n, units) output
    with pytest.raises(DataError, match="keep the map shape"):
        intervene(vae, z, "decoder.head", lambda maps: maps[:, :1])
    names = [n for n, _ in map_layers(vae, lambda z: vae.decode(z), z)]
    assert names[:2] == ["decoder.head.5", "decoder.head"] and "decoder.conv.1" in names
    assert "decoder.head.0" not in names  # not a map


def test_hooks_are_removed_after_an_intervention():
    vae = tiny_vae()
    z = torch.randn(3, 4)
    before = vae.decode(z)
    with intervention(vae, "decoder.conv.1", lambda m: m * 0):
        assert not torch.allclose(vae.decode(z), before)
    assert torch.equal(vae.decode(z), before)


# -- Haar scales ----------------------------------------------------------------------------------
def test_haar_components_sum_back_and_split_the_squared_error():
    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(4, 3, 32, 32, generator=g), torch.rand(4, 3, 32, 32, generator=g)
    parts = haar_components(a)
    assert parts.shape == (5, 4, 3, 32, 32)
    assert torch.allclose(parts.sum(0), a, atol=1e-6)
    errors = scale_errors(a, b)
    assert errors.shape == (5,)
    assert torch.allclose(errors.sum(), (a - b).pow(2).mean(), rtol=1e-5)
    # a constant image lives in the coarsest component only; a pixel checkerboard in the finest
    const = torch.full((1, 1, 32, 32), 0.7)
    assert torch.allclose(haar_components(const)[0], const, atol=1e-6)
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None]) % 2
    parts = haar_components(checker[None, None].float())
    assert torch.allclose(parts[-1] + parts[0], checker.float(), atol=1e-6)
    assert float(parts[1:-1].abs().max()) < 1e-6
    with pytest.raises(ConfigError, match="divisible by 16"):
        haar_components(torch.rand(1, 1, 24, 24))


# -- SDR ------------------------------------------------------------------------------------------
def test_sdr_is_one_for_white_noise_and_above_one_for_a_matched_filter():
    g = torch.Generator().manual_seed(4)
    white = torch.randn(256, 3, 16, 16, generator=g, dtype=torch.float64)
    generic = torch.randn(3, 5, 4, 4, generator=g, dtype=torch.float64)
    for averaging in ("power",):
        sdr = spectral_dependency(white, generic, 1, averaging)
        assert sdr.ratio.shape == (3, 5)
        assert abs(sdr.mean - 1.0) < 0.05
    # smooth maps (low-pass) read by a low-pass box filter: the filter favours their power
    smooth = F.avg_pool2d(F.pad(white, (2, 2, 2, 2), mode="circular"), 5, 1)
    box = torch.ones(3, 2, 3, 3, dtype=torch.float64)
    assert spectral_dependency(smooth, box).mean > 2.0
    # ... and a high-pass filter avoids it
    laplace = torch.tensor([[0.0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=torch.float64)
    assert spectral_dependency(smooth, laplace.expand(3, 2, 3, 3)).mean < 0.5


def test_sdr_stride_handling_matches_upsample_then_convolve():
    g = torch.Generator().manual_seed(5)
    maps = torch.randn(8, 1, 8, 8, generator=g, dtype=torch.float64).cumsum(-1)  # coloured
    f = torch.randn(1, 1, 4, 4, generator=g, dtype=torch.float64)
    s = 2
    up = torch.zeros(8, 1, 16, 16, dtype=torch.float64)
    up[..., ::s, ::s] = maps  # x↑s of the paper
    # circular convolution on the 16×16 grid, then the mean output power of eq. 8's numerator
    padded = F.pad(up, (0, 3, 0, 3), mode="circular")
    y = F.conv2d(padded, f.flip(-1, -2))
    numerator = torch.fft.fft2(y).abs().pow(2).mean(0).mean()
    filter_power = torch.fft.fft2(f[0, 0], s=(16, 16)).abs().pow(2).mean()
    map_power = torch.fft.fft2(maps).abs().pow(2).mean(0).mean()
    expected = numerator / (filter_power * map_power)
    got = spectral_dependency(maps, f, upsampling=s)
    assert torch.allclose(got.ratio[0, 0].double(), expected, rtol=1e-5)
    # the geometry of a transposed conv reads its stride; a conv reads its own resolution
    tconv = nn.ConvTranspose2d(2, 3, 4, 2, 1)
    assert conv_geometry(tconv).upsampling == (2, 2)
    assert conv_geometry(tconv).weight.shape == (2, 3, 4, 4)
    conv = nn.Conv2d(2, 3, 3, 2)
    assert conv_geometry(conv).upsampling == (1, 1)
    assert conv_geometry(conv).weight.shape == (2, 3, 3, 3)
    with pytest.raises(ConfigError, match="Conv2d or ConvTranspose2d"):
        conv_geometry(nn.Linear(3, 3), "head.0")


def test_mean_spectrum_averaging_differs_from_power_averaging():
    g = torch.Generator().manual_seed(6)
    maps = torch.randn(64, 2, 8, 8, generator=g, dtype=torch.float64) + 1.0
    f = torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64)
    power, mean = spectral_dependency(maps, f, 1, "power"), spectral_dependency(maps, f, 1, "mean")
    # the mean spectrum of noise around a constant is nearly all DC: ρ = |f̂(0)|² / ⟨|f̂|²⟩
    dc = torch.fft.fft2(f, s=(8, 8)).abs().pow(2)
    assert torch.allclose(
        mean.ratio.double(), dc[..., 0, 0] / dc.mean((-2, -1)), rtol=0.05, atol=0.02
    )
    assert not torch.allclose(power.ratio, mean.ratio, rtol=0.05)
    with pytest.raises(ConfigError, match="averaging"):
        spectral_dependency(maps, f, 1, "median")


def test_sdr_objective_is_eq9_and_has_a_finite_gradient():
    g = torch.Generator().manual_seed(7)
    maps = torch.randn(16, 2, 8, 8, generator=g).cumsum(-2)
    weight = torch.randn(2, 3, 4, 4, generator=g, requires_grad=True)
    loss = sdr_objective(maps, weight, 2)
    loss.backward()
    assert torch.isfinite(weight.grad).all() and weight.grad.abs().sum() > 0
    sdr = spectral_dependency(maps, weight.detach(), 2)
    power = torch.fft.fft2(weight.detach().double(), s=(16, 16)).abs().pow(2).mean((-2, -1))
    expected = (power * (sdr.ratio.double() - 1)).pow(2).sum()
    assert torch.allclose(loss.double(), expected, rtol=1e-4)


def test_layer_sdr_on_a_generator_and_sdr_training_lowers_the_objective():
    vae = tiny_vae()
    z = torch.randn(32, 4, generator=torch.Generator().manual_seed(8))
    results = layer_sdr(vae, z, ["decoder.conv.0", "decoder.conv.4"])
    assert [r.per_map.shape[0] for r in results] == [8, 4]
    assert all(torch.isfinite(r.per_map).all() for r in results)
    with pytest.raises(ConfigError, match="ReLU"):
        layer_sdr(vae, z, ["decoder.conv.1"])
    (term,) = sdr_training_terms(vae, ["decoder.conv.2"], codes=lambda model, x: x)
    opt = torch.optim.Adam(term.parameters, lr=1e-2)
    first = float(term.loss(vae, z).detach())
    for _ in range(30):
        opt.zero_grad()
        term.loss(vae, z).backward()
        opt.step()
    assert float(term.loss(vae, z).detach()) < 0.5 * first


def sdr_run_dict(steps: int, auxiliary: list | None = None) -> dict:
    return {
        "dataset": {"name": "scenes", "n": 64, "size": 16},
        "model": {
            "name": "vae",
            "latent": {"name": "euclidean", "dim": 4},
            "encoder": {"name": "conv_encoder", "channels": [8, 8], "dense": [32]},
            "decoder": {
                "name": "conv_decoder",
                "channels": [8, 8, 4],
                "dense": [32],
                "output_kernel": 3,
            },
            "likelihood": {"name": "gaussian", "sigma": 0.1},
        },
        "train": {
            "steps": steps,
            "batch_size": 16,
            "progress": False,
            "log_every": 2,
            "checkpoint_every": 3,
        },
        "seed": 1,
        "auxiliary": auxiliary or [],
    }


SDR = [{"name": "sdr", "layers": ["decoder.conv.2", "decoder.conv.4"], "lr": 1e-3}]


def test_sdr_training_is_a_run_option_that_alternates_and_resumes_exactly(tmp_path):
    plain, _ = train_run(RunConfig.from_dict(sdr_run_dict(8)), None)
    cfg = RunConfig.from_dict(sdr_run_dict(8, SDR))
    full, _ = train_run(cfg, tmp_path / "full")
    assert not torch.equal(full.decoder.conv[2].weight, plain.decoder.conv[2].weight)
    records = [r for r in ckpt.read_metrics(tmp_path / "full") if r["split"] == "sdr"]
    assert [r["step"] for r in records] == [2, 4, 6, 8]  # logged on the logging steps
    assert [r["term"] for r in records] == [1, 1, 1, 1]  # one SDR step per VAE step: 0,1,0,1…
    assert all(math.isfinite(r["sdr[decoder.conv.4]"]) for r in records)
    # interrupted after 5 steps and resumed from the folder: the same weights
    train_run(cfg, tmp_path / "part", callbacks=[StopAt(5)])
    resumed, fit = resume_run(tmp_path / "part")
    assert fit.step == 8
    a, b = full.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sdr_training_as_a_callback_and_bad_layers_fail_before_writing(tmp_path):
    aux = AlternatingObjective(
        lambda model: sdr_training_terms(model, ["decoder.conv.2", "decoder.conv.4"]), lr=1e-3
    )
    train_run(RunConfig.from_dict(sdr_run_dict(6)), None, callbacks=[aux])
    assert [r["term"] for r in aux.history] == [0, 1] * 3
    assert all(math.isfinite(r["loss"]) for r in aux.history)
    bad = RunConfig.from_dict(sdr_run_dict(6, [{"name": "sdr", "layers": ["decoder.conv.3"]}]))
    with pytest.raises(ConfigError, match="ReLU"):
        train_run(bad, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_intervention_tracker_records_per_scale_errors_during_training(tmp_path):
    from latentatlas.analysis.layer_scales import InterventionTracker

    z = torch.randn(8, 4, generator=torch.Generator().manual_seed(9))
    tracker = InterventionTracker({"fine": "decoder.conv.3", "map": "decoder.conv.1"}, z, every=3)
    train_run(RunConfig.from_dict(sdr_run_dict(7)), tmp_path / "run", callbacks=[tracker])
    assert [r["step"] for r in tracker.records] == [3, 6, 7]  # every 3 steps and at the end
    first = tracker.records[0]
    scales = [first[f"fine/scale{k}"] for k in range(1, 6)]
    assert first["fine/mse"] == pytest.approx(sum(scales)) and "map/mse" in first
    logged = [r for r in ckpt.read_metrics(tmp_path / "run") if r["split"] == "intrinsic"]
    assert [r["step"] for r in logged] == [3, 6, 7]


def test_table_1_generator_has_the_papers_channels_and_map_sizes():
    from latentatlas.models.intrinsic import intrinsic_vae_spec, level_layers, sdr_layers

    vae = build(MODELS, {**intrinsic_vae_spec(64, 16), "input_shape": [3, 64, 64]}).eval()
    assert vae.config.beta == 5e-4
    z = torch.randn(2, 16)
    shapes = dict(map_layers(vae, lambda z: vae.decode(z), z))
    levels = level_layers(vae)
    got = [shapes[levels[k]] for k in ("coarse", "intermediate", "fine", "image")]
    assert got == [(64, 8, 8), (64, 16, 16), (32, 32, 32), (16, 64, 64)]
    assert tuple(vae.decode(z).shape) == (2, 3, 64, 64)
    convs = sum(isinstance(m, nn.ConvTranspose2d) for m in vae.decoder.modules())
    assert convs == 4  # "4 deconv layers"
    assert list(sdr_layers(vae).values()) == ["decoder.conv.2", "decoder.conv.4", "decoder.conv.6"]
    with pytest.raises(ConfigError, match="multiple of 16"):
        intrinsic_vae_spec(40, 16)
