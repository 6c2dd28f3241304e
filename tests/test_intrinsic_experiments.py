"""The intrinsic reproductions (tiny scales) and the ``latent-atlas probe`` command."""

from __future__ import annotations

import json

import pytest

from latentatlas.experiments.claims import judge
from latentatlas.papers.intrinsic.common import IntrinsicScale
from latentatlas.papers.intrinsic.stretch import (
    StretchScale,
    reproduce_stretch,
    write_stretch_outputs,
)
from latentatlas.papers.intrinsic.training import (
    TrackingScale,
    reproduce_sdr_training,
    reproduce_tracking,
    write_tracking_outputs,
)

from .conftest import assert_judged, run_cli

TINY = IntrinsicScale(16, 128, 20, samples=8, latent_dim=6, batch_size=16)


def test_stretch_experiment_compares_every_level_at_two_lengths(tmp_path):
    result = reproduce_stretch(StretchScale(TINY, (8, 20)))
    assert_judged("intrinsic-stretch", result)
    assert set(result.errors) == {8, 20}
    found = result.errors[20]
    assert found.labels == ["coarse", "intermediate", "fine", "image"]
    assert found.errors.shape == (4, 5) and bool((found.errors >= 0).all())
    # the per-scale errors add up to the whole-image error of each intervention
    for row, r in zip(found.errors, found.results):
        assert float(row.sum()) == pytest.approx(float(r.error.mean()), rel=1e-4)
    write_stretch_outputs(result, tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert set(data["lengths"]) == {"8", "20"}
    # the first length is also measured with the stretch's other resamplings, and reported
    assert set(data["resampling_alternatives"]) == {"nearest", "bicubic"}
    finer = {v.claim: v for v in judge("intrinsic-stretch", data)}["finer-scales"]
    assert "nearest resampling:" in finer.reason and "bicubic resampling:" in finer.reason
    assert (tmp_path / "report.html").is_file() and (tmp_path / "figures/differences.png").is_file()


@pytest.mark.slow
def test_tracking_and_sdr_training_experiments_run(tmp_path):
    tracking = reproduce_tracking(TrackingScale(TINY, 5))
    assert_judged("intrinsic-tracking", tracking)
    records = tracking.runs["VAE"].tracking
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    assert {"fine/scale1", "fine/mse", "coarse/mse"} <= set(records[0])
    write_tracking_outputs(tracking, tmp_path / "tracking")
    sdr = reproduce_sdr_training(TrackingScale(TINY, 10))
    assert_judged("intrinsic-sdr-training", sdr)
    plain, regularised = sdr.runs["VAE"], sdr.runs["VAE + SDR"]
    assert len(plain.sdr_losses) == 0 and len(regularised.sdr_losses) == 20
    assert [s.layer for s in regularised.sdr] == [
        "decoder.conv.2",
        "decoder.conv.4",
        "decoder.conv.6",
    ]
    # same seed and data: only the SDR steps make the two runs differ
    assert plain.tracking[0] != regularised.tracking[0]
    write_tracking_outputs(sdr, tmp_path / "sdr")
    data = json.loads((tmp_path / "sdr" / "results.json").read_text())
    assert data["runs"]["VAE + SDR"]["sdr_objective_steps"] == 20


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "scenes"
    proc = run_cli(
        "train",
        "--dataset",
        "scenes",
        "--model",
        "vae",
        "--set",
        "dataset.n=64",
        "--set",
        "dataset.size=16",
        "--set",
        "model.latent.dim=4",
        "--set",
        "model.encoder.name=conv_encoder",
        "--set",
        "model.encoder.channels=[8,8]",
        "--set",
        "model.decoder.name=conv_decoder",
        "--set",
        "model.decoder.channels=[8,8,4]",
        "--set",
        "model.decoder.output_kernel=3",
        "--set",
        "train.steps=10",
        "--set",
        "train.progress=false",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow
def test_probe_command_writes_interventions_and_sdr(conv_run, tmp_path):
    out = tmp_path / "probe"
    proc = run_cli("probe", str(conv_run), "--out", str(out), "--samples", "8")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "results.json").read_text())
    layers = data["interventions"]["layers"]
    assert list(layers) == ["decoder.head", "decoder.conv.1", "decoder.conv.3", "decoder.conv.5"]
    assert set(data["sdr"]) == {"decoder.conv.0", "decoder.conv.2", "decoder.conv.4"}
    assert (out / "report.html").is_file()
    picked = run_cli(
        "probe",
        str(conv_run),
        "--out",
        str(tmp_path / "p2"),
        "--samples",
        "4",
        "--layers",
        "decoder.conv.1",
        "--sdr-layers",
        "none",
        "--codes",
        "data",
    )
    assert picked.returncode == 0, picked.stderr
    data = json.loads((tmp_path / "p2" / "results.json").read_text())
    assert list(data["interventions"]["layers"]) == ["decoder.conv.1"] and data["sdr"] == {}


@pytest.mark.slow
def test_probe_refuses_bad_input_without_a_traceback(conv_run, tmp_path):
    for args, message in (
        (["--layers", "decoder.nope"], "valid layer names: "),
        (["--layers", "decoder.head.0"], "not a 4-D map"),
        (["--sdr-layers", "decoder.conv.1"], "needs a Conv2d or ConvTranspose2d"),
        (["--stretch", "0"], "stretch factor"),
    ):
        proc = run_cli("probe", str(conv_run), "--out", str(tmp_path / "x"), "--force", *args)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr
    missing = run_cli("probe", str(tmp_path / "none"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_probe_of_a_model_without_feature_maps_says_so(tmp_path):
    """An MLP decoder has nothing to intervene on: the probe says that, not a shape error."""
    from latentatlas import train_run
    from latentatlas.errors import ConfigError
    from latentatlas.tools.probe import run_probe
    from latentatlas.train.run import RunConfig

    from .conftest import tiny_run_dict

    run_dir = tmp_path / "mlp"
    train_run(RunConfig.from_dict(tiny_run_dict(steps=2)), run_dir)
    with pytest.raises(ConfigError, match="no feature maps"):
        run_probe(run_dir, samples=4)
