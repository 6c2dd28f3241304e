"""Atomic autoencoders: the block-sum decoder, presets, datasets of atoms and the analyses."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from latentatlas.analysis.atomic import (
    SpikeMatching,
    block_code_factors,
    block_images,
    decompose,
    find_peaks,
    interpolate,
    latent_bounds,
    mass_purity,
    match_spikes,
    navigate_block,
    spike_purity,
    submodel_check,
)
from latentatlas.analysis.evaluation import evaluate
from latentatlas.errors import ConfigError, DataError
from latentatlas.models.atomic import AtomicAutoencoder, baseline_spec, paper_spec
from latentatlas.nets.base import Network
from latentatlas.registry import DATASETS, MODELS, NETWORKS, build


def atomic(**kw) -> AtomicAutoencoder:
    spec = {
        "name": "atomic_ae",
        "input_shape": [7],
        "blocks": 3,
        "block_dim": 2,
        "decoder": {"name": "mlp", "hidden": [5]},
        **kw,
    }
    return build(MODELS, spec, "model")


def spikes(**kw):
    spec = {"name": "spikes", "n": 64, "size": 24, "sigma": 1.2, "max_spikes": 4, **kw}
    return build(DATASETS, spec, "dataset")


# -- the decoder ---------------------------------------------------------------------------------
def test_decoder_is_the_sum_of_one_shared_block_over_blocks():
    torch.manual_seed(0)
    model = atomic()
    z = torch.randn(5, 6)
    g = model.decoder.block
    by_hand = sum(g(z[:, 2 * i : 2 * i + 2]) for i in range(3))
    torch.testing.assert_close(model.decode(z), by_hand)
    torch.testing.assert_close(model.parts(z).sum(1), model.decode(z))
    # one parameter set: the decoder's parameters are exactly those of g
    assert [id(p) for p in model.decoder.parameters()] == [id(p) for p in g.parameters()]


def test_permuting_blocks_leaves_the_output_unchanged():
    torch.manual_seed(1)
    model = atomic()
    z = torch.randn(4, 6)
    permuted = z.reshape(4, 3, 2)[:, [2, 0, 1]].reshape(4, 6)
    torch.testing.assert_close(model.decode(permuted), model.decode(z))
    # while a non-atomic decoder of the same size is not invariant
    plain = build(
        MODELS,
        {
            "name": "ae",
            "input_shape": [7],
            "latent": {"name": "point", "dim": 6},
            "decoder": {"name": "mlp", "hidden": [5]},
        },
        "model",
    )
    assert not torch.allclose(plain.decode(permuted), plain.decode(z))


def test_decode_blocks_is_the_sub_model_sum():
    torch.manual_seed(2)
    model = atomic()
    z = torch.randn(3, 6)
    parts = model.parts(z)
    torch.testing.assert_close(
        model.decode_blocks(z, torch.ones(3, dtype=torch.bool)), model.decode(z)
    )
    keep = torch.tensor([[True, False, True], [False, False, False], [False, True, False]])
    want = torch.stack([parts[0, 0] + parts[0, 2], torch.zeros(7), parts[2, 1]])
    torch.testing.assert_close(model.decode_blocks(z, keep), want)
    with pytest.raises(DataError, match=r"keep: expected shape \(n, 3\)"):
        model.decode_blocks(z, torch.ones(4, dtype=torch.bool))
    with pytest.raises(DataError, match=r"\(n, 6\) = \(n, k·d0\)"):
        model.parts(torch.zeros(2, 5))


def test_latent_dim_is_filled_and_a_mismatch_is_refused():
    assert atomic().latent.dim == 6
    with pytest.raises(ConfigError, match=r"latent.dim: 5 does not match blocks·block_dim = 3·2"):
        atomic(latent={"name": "point", "dim": 5})
    with pytest.raises(ConfigError, match="periodic 'circle'"):
        atomic(latent={"name": "circle"})


class _WrongShape(Network):
    """A block network that ignores the shape it is asked for."""

    from latentatlas.nets.mlp import MLPConfig as Config

    def __init__(self, config, in_shape, out_shape):
        super().__init__(config, in_shape, out_shape)
        self.lin = nn.Linear(in_shape[0], 3)

    def forward(self, z):
        return self.lin(z)


def test_block_network_of_the_wrong_shape_is_refused_at_construction():
    NETWORKS.register("test_wrong_shape")(_WrongShape)
    try:
        with pytest.raises(ConfigError, match=r"maps \(2, 2\) to \(2, 3\), expected \(2, 7\)"):
            atomic(decoder={"name": "test_wrong_shape"})
    finally:
        NETWORKS._items.pop("test_wrong_shape")


def test_image_sizes_the_conv_stack_cannot_reach_are_refused():
    with pytest.raises(ConfigError, match="power of two"):
        paper_spec(100)
    spec = {**paper_spec(32, blocks=2, block_dim=3), "input_shape": [1, 24, 24]}
    with pytest.raises(ConfigError, match="not divisible by stride"):
        build(MODELS, spec, "model")


def test_paper_preset_has_about_0_3_m_parameters_and_the_baseline_matches_it():
    spec = {**paper_spec(128, blocks=16, block_dim=6), "input_shape": [1, 128, 128]}
    model = build(MODELS, spec, "model")
    base = build(MODELS, {**baseline_spec(spec), "input_shape": [1, 128, 128]}, "model")
    n_atomic = sum(p.numel() for p in model.parameters())
    n_base = sum(p.numel() for p in base.parameters())
    assert 250_000 < n_atomic < 400_000  # "around 300,000 parameters" (sec. II-B)
    assert abs(n_base - n_atomic) / n_atomic < 0.02
    assert base.latent.dim == model.latent.dim == 96
    x = torch.rand(2, 1, 128, 128)
    assert model.decompose(x).shape == (2, 16, 1, 128, 128)


def test_atomic_vae_has_the_vae_loss_and_evaluation():
    torch.manual_seed(3)
    model = build(
        MODELS, {"name": "atomic_vae", "input_shape": [7], "blocks": 3, "block_dim": 2}, "model"
    )
    out = model(torch.rand(5, 7))
    assert set(out.terms) == {"reconstruction", "kl", "neg_elbo"}
    assert model.latent.dim == 6 and model.latent.has_prior
    metrics = evaluate(model, torch.rand(10, 7), n_samples=4, seed=0).to_dict()
    assert math.isfinite(metrics["neg_elbo"])


# -- datasets ------------------------------------------------------------------------------------
def test_spikes_respect_count_amplitude_separation_and_margin():
    ds = spikes(n=300, max_spikes=6, min_spikes=2, amplitude=[0.4, 0.9])
    cfg = ds.config
    assert ds.counts.min() >= 2 and ds.counts.max() <= 6
    for i in range(len(ds)):
        atoms = ds.atoms[i, : int(ds.counts[i])]
        assert not torch.isnan(atoms).any() and torch.isnan(ds.atoms[i, int(ds.counts[i]) :]).all()
        assert ((atoms[:, 0] >= 0.4) & (atoms[:, 0] <= 0.9)).all()
        xy = atoms[:, 1:]
        assert ((xy >= cfg.border) & (xy <= cfg.size - 1 - cfg.border)).all()
        gaps = torch.cdist(xy, xy) + torch.eye(len(xy)) * 1e9
        assert gaps.min() >= cfg.separation
    x = ds.get_batch(torch.arange(10)).x
    torch.testing.assert_close(x, ds.atom_images(torch.arange(10)).sum(1))
    # each spike image peaks at its amplitude (off the grid: at most, reached between pixels)
    one = ds.atom_images(torch.tensor([0]))[0, 0, 0]
    assert float(one.max()) <= float(ds.atoms[0, 0, 0]) + 1e-6
    torch.testing.assert_close(spikes(n=300).atoms, spikes(n=300).atoms, equal_nan=True)


def test_spikes_refuse_impossible_layouts():
    with pytest.raises(ConfigError, match="larger than sigma"):
        spikes(min_separation=1.0)
    with pytest.raises(ConfigError, match="min_spikes: 5 is larger"):
        spikes(min_spikes=5)
    with pytest.raises(DataError, match="could not place"):
        spikes(size=8, sigma=1.0, max_spikes=10, min_spikes=10, margin=0.0, n=4)


def test_strokes_are_sums_of_known_strokes():
    ds = build(DATASETS, {"name": "strokes", "n": 40, "size": 32}, "dataset")
    assert ds.counts.min() >= 1 and ds.counts.max() <= 4
    idx = torch.arange(8)
    atoms = ds.atom_images(idx)
    torch.testing.assert_close(ds.get_batch(idx).x, atoms.sum(1))
    assert float(atoms.max()) <= 1.0 + 1e-6
    # a stroke is 1 on its curve: every control-point end lies on the pen's core
    p = ds.atoms_of(torch.tensor([0]))[0, 0]
    x0, y0 = round(float(p[0])), round(float(p[1]))
    assert float(atoms[0, 0, 0, y0, x0]) > 0.9


def test_mnist_reads_idx_files_plain_or_gzipped_and_refuses_bad_ones(tmp_path):
    import gzip
    import struct

    import numpy as np

    images = np.arange(3 * 28 * 28, dtype=np.uint64).reshape(3, 28, 28) % 256
    header = b"\0\0\x08\x03" + struct.pack(">3I", 3, 28, 28)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header + images.astype(np.uint8).tobytes())
    labels = b"\0\0\x08\x01" + struct.pack(">I", 3) + bytes([7, 0, 9])
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    ds = build(DATASETS, {"name": "mnist", "root": str(tmp_path)}, "dataset")
    batch = ds.get_batch(torch.arange(3))
    assert batch.x.shape == (3, 1, 28, 28) and batch.factors[:, 0].tolist() == [7, 0, 9]
    torch.testing.assert_close(batch.x[1, 0], torch.from_numpy(images[1] / 255).float())
    big = build(DATASETS, {"name": "mnist", "root": str(tmp_path), "size": 64}, "dataset")
    assert big.get_batch(torch.arange(2)).x.shape == (2, 1, 64, 64)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header + b"\0" * 100)
    with pytest.raises(DataError, match="truncated or corrupt"):
        build(DATASETS, {"name": "mnist", "root": str(tmp_path)}, "dataset")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DataError, match="not an IDX file"):
        build(DATASETS, {"name": "mnist", "root": str(tmp_path)}, "dataset")
    with pytest.raises(DataError, match="no t10k-images-idx3-ubyte"):
        build(DATASETS, {"name": "mnist", "root": str(tmp_path), "split": "test"}, "dataset")


# -- analyses ------------------------------------------------------------------------------------
def test_peaks_of_an_off_grid_gaussian_are_exact():
    ds = spikes(n=20)
    img = ds.atom_images(torch.arange(20))[:, 0, 0]  # the first spike of each image, alone
    peaks = find_peaks(img, threshold=0.1)
    assert peaks.count(20).tolist() == [1] * 20
    truth = ds.atoms[:, 0]
    torch.testing.assert_close(peaks.xy.double(), truth[:, 1:], atol=1e-6, rtol=0)
    torch.testing.assert_close(peaks.height.double(), truth[:, 0], atol=1e-6, rtol=0)


def _perfect_parts(ds, blocks: int) -> torch.Tensor:
    idx = torch.arange(len(ds))
    atoms = ds.atom_images(idx)
    parts = torch.zeros(len(ds), blocks, *atoms.shape[2:])
    parts[:, : atoms.shape[1]] = atoms
    return parts


def test_purity_is_one_for_a_perfect_decoder_and_low_for_a_mixing_one():
    ds = spikes(n=100)
    perfect = _perfect_parts(ds, 6)
    atoms = ds.atoms_of(torch.arange(100))
    good = spike_purity(match_spikes(perfect, atoms, threshold=0.25, tolerance=1.2))
    assert good.purity == 1.0 and good.recall == 1.0 and good.mixed_blocks == 0.0
    assert good.position_error < 1e-6 and good.amplitude_error < 1e-6
    assert good.empty_blocks == good.expected_empty_blocks
    # each block draws half of two neighbouring spikes: mixed, and amplitudes halved
    mixing = perfect.clone()
    mixing[:, :4] = 0.5 * (perfect[:, :4] + perfect[:, :4].roll(1, dims=1))
    bad = spike_purity(match_spikes(mixing, atoms, threshold=0.25, tolerance=1.2))
    assert bad.purity < 0.5 and bad.mixed_blocks > 0.4
    assert mass_purity(perfect, perfect[:, :4]).purity > 0.95
    assert mass_purity(mixing, perfect[:, :4]).purity < 0.8


class PerfectSpikeModel(nn.Module):
    """A hand-built atomic model: block (a, x, y) decodes to the spike a·G(· − (x, y))."""

    def __init__(self, dataset):
        super().__init__()
        self.ds = dataset
        self.likelihood = type("Identity", (), {"mean": staticmethod(lambda p: p)})()

    def parts(self, z):
        blocks = z.reshape(z.shape[0], -1, 3).double()
        img = self.ds.render_atoms(blocks.reshape(-1, 3))
        return img.reshape(*blocks.shape[:2], 1, *img.shape[1:]).float()

    def decode(self, z):
        return self.parts(z).sum(1)

    def decode_blocks(self, z, keep):
        return (self.parts(z) * keep[..., None, None, None]).sum(1)


def test_submodel_check_of_a_perfect_atomic_model_is_exact():
    ds = spikes(n=30)
    atoms = ds.atoms_of(torch.arange(30))
    codes = torch.nan_to_num(atoms, nan=0.0).float()
    codes[..., 1:] = torch.where(torch.isnan(atoms[..., 1:]), 12.0, atoms[..., 1:]).float()
    codes = codes.reshape(30, -1)  # absent spikes: amplitude 0, so empty blocks
    model = PerfectSpikeModel(ds)
    parts = block_images(model, codes)
    matching = match_spikes(parts, atoms, threshold=0.25, tolerance=1.2)
    check = submodel_check(model, codes, matching, ds.atom_images(torch.arange(30)), 0.25)
    assert [r.kept for r in check.rows] == [1, 2, 3, 4]
    for row in check.rows:
        assert row.count_exact > 0.9  # spikes ≥ 2σ apart may still merge into one peak, rarely
        assert row.error < 1e-10
    assert check.rows[-1].expected_spikes == pytest.approx(float(ds.counts.double().mean()))


def test_baseline_block_images_are_ablation_effects():
    torch.manual_seed(4)
    plain = build(
        MODELS,
        {
            "name": "ae",
            "input_shape": [7],
            "latent": {"name": "point", "dim": 6},
            "decoder": {"name": "mlp", "hidden": [5]},
        },
        "model",
    )
    z = torch.randn(4, 6)
    ref = torch.zeros(6)
    parts = block_images(plain, z, blocks=3, reference=ref)
    z1 = z.clone()
    z1[:, 2:4] = 0
    torch.testing.assert_close(parts[:, 1], plain.decode(z) - plain.decode(z1))
    with pytest.raises(ConfigError, match="needs the number of blocks"):
        block_images(plain, z)


def test_navigation_sweeps_one_coordinate_over_the_training_bounds():
    torch.manual_seed(5)
    model = atomic()
    codes = torch.randn(50, 6)
    bounds = latent_bounds(codes)
    nav = navigate_block(model, codes[0], block=1, block_dim=2, bounds=bounds, steps=5)
    assert nav.images.shape == (2, 5, 7)
    for j in range(2):
        c = 2 + j
        sweep = torch.linspace(bounds.low[c], bounds.high[c], 5)
        torch.testing.assert_close(nav.codes[j, :, c], sweep)
        others = [i for i in range(6) if i != c]
        torch.testing.assert_close(nav.codes[j][:, others], codes[0, others].expand(5, 5))
    torch.testing.assert_close(nav.images[0, 2], model.decode(nav.codes[0, 2:3])[0])
    with pytest.raises(DataError, match="outside a code"):
        navigate_block(model, codes[0], block=3, block_dim=2, bounds=bounds)


def test_decomposition_and_interpolation_of_a_model():
    torch.manual_seed(6)
    model = atomic()
    x = torch.rand(6, 7)
    dec = decompose(model, x)
    assert dec.exact and dec.parts.shape == (6, 3, 7)
    assert dec.to_dict()["sum_error"] < 1e-5
    interp = interpolate(model, x[0], x[1], steps=4)
    torch.testing.assert_close(interp.images[0], dec.outputs[0])
    torch.testing.assert_close(interp.images[-1], dec.outputs[1])
    torch.testing.assert_close(interp.parts.sum(1), interp.images)


def test_chunked_block_calls_give_the_same_decoder():
    torch.manual_seed(7)
    model = atomic(blocks=5)
    chunked = atomic(blocks=5, block_chunk=2)
    chunked.load_state_dict(model.state_dict())
    z = torch.randn(4, 10)
    torch.testing.assert_close(chunked.decode(z), model.decode(z))
    torch.testing.assert_close(chunked.parts(z), model.parts(z))


@pytest.mark.slow
def test_atomic_run_folder_round_trip_and_report(tmp_path):
    from latentatlas import train_run
    from latentatlas.train import RunConfig, load
    from latentatlas.viz.report import write_report

    config = RunConfig.from_dict(
        {
            "dataset": {"name": "spikes", "n": 64, "size": 16, "sigma": 1.0, "max_spikes": 2},
            "model": paper_spec(16, blocks=2, block_dim=3),
            "train": {"steps": 3, "batch_size": 8, "progress": False},
        }
    )
    model, _ = train_run(config, tmp_path / "run")
    again = load(tmp_path / "run")
    assert isinstance(again, AtomicAutoencoder) and again.latent.dim == 6
    z = torch.randn(3, 6)
    model.eval()
    torch.testing.assert_close(again.decode(z), model.decode(z))
    assert write_report(tmp_path / "run").is_file()


def test_block_code_factors_finds_linear_but_rotated_factors():
    """Codes that are a rotation of (amplitude, x, y) carry all three linearly (r2 = 1) while no
    single coordinate follows one alone; axis-aligned codes have a coordinate per factor."""
    g = torch.Generator().manual_seed(0)
    n, k, d0 = 40, 2, 3
    atoms = torch.stack(
        [
            torch.rand(n, k, generator=g) + 0.5,
            32 * torch.rand(n, k, generator=g),
            32 * torch.rand(n, k, generator=g),
        ],
        -1,
    )
    spike = torch.arange(k).repeat(n, 1)  # block j holds spike j
    matching = SpikeMatching(
        peaks=torch.ones(n, k, dtype=torch.long),
        spike=spike,
        position_error=torch.zeros(n, k, dtype=torch.float64),
        amplitude_error=torch.zeros(n, k, dtype=torch.float64),
        counts=torch.full((n,), k),
    )
    standard = (atoms - atoms.mean((0, 1))) / atoms.std((0, 1))
    aligned = block_code_factors(standard.reshape(n, k * d0), matching, atoms, d0)
    assert aligned.blocks == n * k and all(v > 1 - 1e-9 for v in aligned.r2.values())
    assert {f: i for f, (i, _) in aligned.best_coordinate.items()} == {
        "amplitude": 0,
        "x": 1,
        "y": 2,
    }
    q, _ = torch.linalg.qr(torch.tensor([[1.0, 1.0, 0.0], [1.0, -1.0, 1.0], [0.0, 1.0, 1.0]]))
    rotated = block_code_factors((standard @ q.T).reshape(n, k * d0), matching, atoms, d0)
    assert all(v > 1 - 1e-9 for v in rotated.r2.values())  # still linearly present
    assert max(c for _, c in rotated.best_coordinate.values()) < 0.95  # but no axis carries one
    flat = atoms.clone()
    flat[..., 0] = 0.7  # every spike of one amplitude: nothing to explain
    constant = block_code_factors(standard.reshape(n, k * d0), matching, flat, d0)
    assert math.isnan(constant.r2["amplitude"]) and constant.r2["x"] > 1 - 1e-9
    with pytest.raises(DataError, match="expected codes"):
        block_code_factors(standard.reshape(n, k * d0)[:, :4], matching, atoms, d0)
    few = SpikeMatching(
        matching.peaks,
        torch.full((n, k), -1),
        matching.position_error,
        matching.amplitude_error,
        matching.counts,
    )
    with pytest.raises(DataError, match="matched blocks"):
        block_code_factors(standard.reshape(n, k * d0), few, atoms, d0)
