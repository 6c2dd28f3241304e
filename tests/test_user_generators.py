"""A generator trained elsewhere, as MODULE:CALLABLE, in `directions` and `probe` (issue 22)."""

from __future__ import annotations

import json
import textwrap

import pytest

from latentatlas.analysis.generators import import_generator
from latentatlas.errors import DataError

from .conftest import run_cli

MODULE = textwrap.dedent(
    '''
    import torch
    from torch import nn

    class TinyGAN(nn.Module):
        """A DCGAN-like generator: a linear layer to 8 maps of 4x4, two transposed convs."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.fc = nn.Linear(6, 8 * 4 * 4)
            self.up1 = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
            self.up2 = nn.ConvTranspose2d(4, 1, 4, stride=2, padding=1)

        def forward(self, z):
            h = torch.relu(self.fc(z)).reshape(len(z), 8, 4, 4)
            return torch.sigmoid(self.up2(torch.relu(self.up1(h))))

    def make_generator():
        return TinyGAN()

    def with_sampler():
        return TinyGAN(), lambda k: 0.5 * torch.randn(k, 6)

    def not_a_module():
        return 3
    '''
)


@pytest.fixture
def user_module(tmp_path):
    path = tmp_path / "my_gan.py"
    path.write_text(MODULE)
    return path


def test_import_generator_infers_the_latent_size_and_checks_the_output(user_module):
    user = import_generator(f"{user_module}:make_generator")
    assert user.latent_dim == 6 and user.sampler is None  # from the first linear layer
    assert tuple(user.module(user.codes(3)).shape) == (3, 1, 16, 16)
    paired = import_generator(f"{user_module}:with_sampler")
    assert paired.latent_dim == 6 and paired.codes(5).shape == (5, 6)
    for spec, match in (
        (f"{user_module}:not_a_module", "must return a torch.nn.Module"),
        (f"{user_module}:missing", "has no 'missing'"),
        ("no_colon", "expected MODULE:CALLABLE"),
        ("nowhere_at_all_module:make", "importing 'nowhere_at_all_module' failed"),
        (f"{user_module.parent / 'absent.py'}:make", "does not exist"),
    ):
        with pytest.raises(DataError, match=match):
            import_generator(spec)
    with pytest.raises(DataError, match=r"fails on codes of shape \(2, 5\)"):
        import_generator(f"{user_module}:make_generator", latent_dim=5)


@pytest.mark.slow
def test_directions_and_probe_run_on_a_users_generator(user_module, tmp_path):
    spec = f"{user_module}:make_generator"
    out = tmp_path / "dir"
    proc = run_cli(
        "directions",
        "--generator",
        spec,
        "--transform",
        "brightness",
        "--quick",
        "--trajectories",
        "6",
        "--traversals",
        "3",
        "--amounts",
        "0.05",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["run"] == spec and data["transformation"] == "brightness"
    probe = run_cli(
        "probe",
        "--generator",
        spec,
        "--samples",
        "4",
        "--levels",
        "2",
        "--out",
        str(tmp_path / "probe"),
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads((tmp_path / "probe" / "results.json").read_text())
    assert "up1" in json.dumps(result) and "up2" in json.dumps(result)
    both = run_cli("probe", str(tmp_path), "--generator", spec)
    assert both.returncode == 2 and "either RUN_DIR or --generator" in both.stderr
    bad = run_cli("directions", "--generator", f"{user_module}:nope", "--transform", "scale")
    assert bad.returncode == 2 and "has no 'nope'" in bad.stderr and "Traceback" not in bad.stderr


def test_the_explorer_serves_a_users_generator(user_module):
    """explore --generator: sliders ordered by how much the image moves, the user's sampler for
    start codes, decoded images and traversals; no examples."""
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from latentatlas.explorer.app import create_app
    from latentatlas.explorer.session import GeneratorSession

    session = GeneratorSession(import_generator(f"{user_module}:with_sampler"))
    info = session.info()
    assert info["dim"] == 6 and info["examples"] == 0 and info["observation"] == "image"
    scores = [c["score"] for c in info["controls"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    # the sampler's codes have std 0.5: sliders over ±3 of their standard deviation
    assert all(1.0 < c["high"] - c["low"] < 5.0 for c in info["controls"])
    client = TestClient(create_app(session), base_url="http://127.0.0.1")
    start = client.get("/api/start?seed=1").json()["z"]
    assert len(start) == 6
    first = client.post("/api/decode", json={"z": start})
    moved = client.post("/api/decode", json={"z": [v + 1.0 for v in start]})
    assert first.status_code == moved.status_code == 200 and first.content != moved.content
    assert client.post("/api/traversal", json={"z": start, "index": 0}).status_code == 200
    assert client.get("/api/example?index=0").status_code == 400


@pytest.mark.slow
def test_explore_needs_a_run_or_a_generator_and_refuses_a_bad_one(user_module):
    both = run_cli("explore", "somewhere", "--generator", f"{user_module}:make_generator")
    assert both.returncode == 2 and "either RUN_DIR or --generator" in both.stderr
    bad = run_cli("explore", "--generator", f"{user_module}:not_a_module", "--port", "1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "nn.Module" in bad.stderr
