"""The latent explorer's server (API level; the page's browser tests are not written yet)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from latentatlas import train_run
from latentatlas.errors import DataError, RunFolderError
from latentatlas.explorer import ExplorerSession
from latentatlas.train.run import RunConfig

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from latentatlas.explorer.app import create_app, is_loopback


def train(tmp_path, latent: dict, name: str = "vae", dataset: dict | None = None):
    config = RunConfig.from_dict(
        {
            "dataset": dataset
            or {
                "name": "disks",
                "n": 128,
                "size": 16,
                "position_range": 4,
                "radius_min": 2,
                "radius_max": 4,
            },
            "model": {"name": name, "latent": latent, "likelihood": {"name": "bernoulli"}},
            "train": {"steps": 10, "batch_size": 32, "progress": False},
        }
    )
    run = tmp_path / "run"
    train_run(config, run)
    return run


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    return train(tmp_path_factory.mktemp("explorer"), {"name": "euclidean", "dim": 3})


def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_info_orders_controls_by_kl_and_decode_returns_a_png(vae_run):
    client = TestClient(create_app(ExplorerSession(vae_run)), base_url="http://127.0.0.1")
    info = client.get("/api/info").json()
    assert info["dim"] == 3 and len(info["start"]) == 3 and not info["periodic"]
    scores = [c["score"] for c in info["controls"]]
    assert scores == sorted(scores, reverse=True)
    assert {c["kind"] for c in info["controls"]} == {"slider"}
    assert info["controls"][0]["low"] == -3.0 and info["controls"][0]["high"] == 3.0
    a = client.post("/api/decode", json={"z": [0.0, 0.0, 0.0]})
    assert a.status_code == 200 and a.headers["content-type"] == "image/png"
    assert png_size(a.content) == (256, 256)  # 16×16 enlarged
    b = client.post("/api/decode", json={"z": [2.5, -2.5, 1.0]})
    assert a.content != b.content
    page = client.get("/")
    assert page.status_code == 200 and "latent-atlas explorer" in page.text
    again = client.get("/api/start", params={"seed": 5}).json()
    assert again["seed"] == 5 and again["z"] == client.get("/api/start?seed=5").json()["z"]


def test_bad_codes_get_a_400_with_a_message(vae_run):
    client = TestClient(create_app(ExplorerSession(vae_run)), base_url="http://127.0.0.1")
    for body, message in (
        ({"z": [0.0, 0.0]}, "expected 3 numbers"),
        ({"z": [0.0, "x", 0.0]}, "list of 3 numbers"),
        ({"z": [0.0, 1e9, 0.0]}, "within ±50"),
        ({"w": [0.0]}, "JSON body"),
    ):
        response = client.post("/api/decode", json=body)
        assert response.status_code == 400 and message in response.json()["error"]
    nan = client.post(
        "/api/decode", content=b'{"z": [0, NaN, 0]}', headers={"content-type": "application/json"}
    )
    assert nan.status_code == 400 and "finite" in nan.json()["error"]
    assert client.get("/api/start?seed=abc").status_code == 400


def test_no_path_from_a_request_reaches_the_file_system(vae_run):
    figures = vae_run / "figures"
    figures.mkdir(exist_ok=True)
    Image.new("RGB", (4, 4)).save(figures / "curves.png")
    client = TestClient(create_app(ExplorerSession(vae_run)), base_url="http://127.0.0.1")
    assert client.get("/figures/curves.png").status_code == 200
    assert "curves.png" in client.get("/api/info").json()["figures"]
    for path in ("/figures/..%2Fconfig.json", "/figures/config.json", "/figures/%2Fetc%2Fpasswd"):
        assert client.get(path).status_code == 404
    assert client.get("/config.json").status_code == 404


def test_circle_latents_get_dials_that_wrap(tmp_path):
    run = train(
        tmp_path,
        {"name": "circle"},
        name="diffusion_vae",
        dataset={"name": "pixel_shift", "size": [8, 8]},
    )
    session = ExplorerSession(run)
    assert session.periodic and session.controls[0].kind == "dial"
    client = TestClient(create_app(session), base_url="http://127.0.0.1")
    plus = client.post("/api/decode", json={"z": [math.pi]})
    minus = client.post("/api/decode", json={"z": [-math.pi]})
    assert plus.status_code == minus.status_code == 200
    assert plus.content == minus.content  # +π and −π are one code
    far = client.post("/api/decode", json={"z": [5 * math.pi]})  # angles wrap, never refused
    assert far.content == plus.content


def test_a_run_without_a_decodable_model_fails_before_serving(tmp_path):
    with pytest.raises(RunFolderError):
        ExplorerSession(tmp_path / "missing")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    with pytest.raises(DataError):
        import torch

        from latentatlas.explorer import to_png

        to_png(torch.zeros(0, 4, 4))  # no channels


def test_examples_traversals_and_exports(vae_run):
    client = TestClient(create_app(ExplorerSession(vae_run)), base_url="http://127.0.0.1")
    example = client.get("/api/example?index=3").json()
    assert example["index"] == 3 and len(example["z"]) == 3
    assert example["image"].startswith("data:image/png;base64,")
    # the example's ground truth, shown beside it on the page
    session = ExplorerSession(vae_run)
    truth = session.data.get_batch(torch.tensor([3])).factors[0].tolist()
    names = session.data.factor_space.names
    assert example["factors"] == pytest.approx(dict(zip(names, truth)))
    assert client.get("/api/example?index=100000").status_code == 400
    strip = client.post("/api/traversal", json={"z": [0.0, 0.0, 0.0], "index": 1})
    assert strip.headers["content-type"] == "image/png"
    width, height = png_size(strip.content)
    assert width == 9 * height  # nine images side by side
    gif = client.post("/api/traversal", json={"z": [0.0, 0.0, 0.0], "index": 1, "format": "gif"})
    frames = Image.open(io.BytesIO(gif.content))
    assert frames.format == "GIF" and frames.n_frames == 16  # there and back
    assert client.post("/api/traversal", json={"z": [0.0, 0.0, 0.0], "index": 7}).status_code == 400


def test_atomic_blocks_have_images_and_toggles(tmp_path):
    config = RunConfig.from_dict(
        {
            "dataset": {"name": "spikes", "n": 32, "size": 32, "max_spikes": 2},
            "model": {
                "name": "atomic_ae",
                "blocks": 2,
                "block_dim": 3,
                "decoder": {"name": "mlp", "hidden": [16]},
            },
            "train": {"steps": 3, "batch_size": 8, "progress": False},
        }
    )
    train_run(config, tmp_path / "atomic")
    session = ExplorerSession(tmp_path / "atomic")
    assert session.blocks == 2
    assert [c.block for c in session.controls] == [0, 0, 0, 1, 1, 1]  # grouped per block
    client = TestClient(create_app(session), base_url="http://127.0.0.1")
    z = [0.5, -0.2, 0.1, 0.3, 0.9, -0.4]
    images = client.post("/api/blocks", json={"z": z}).json()["images"]
    assert len(images) == 2 and all(i.startswith("data:image/png") for i in images)
    both = client.post("/api/decode", json={"z": z}).content
    assert client.post("/api/decode", json={"z": z, "keep": [True, True]}).content == both
    assert client.post("/api/decode", json={"z": z, "keep": [True, False]}).content != both
    bad = client.post("/api/decode", json={"z": z, "keep": [True]})
    assert bad.status_code == 400 and "2 true/false" in bad.json()["error"]


def test_saved_directions_become_sliders_in_their_units(vae_run):
    import torch

    from latentatlas.analysis.directions import DirectionModel

    direction = DirectionModel(3, transformation="translate-x", units="fraction of the width")
    with torch.no_grad():
        direction.w.copy_(torch.tensor([1.0, 0.0, 0.0]))
    direction.save(vae_run / "directions-translate-x" / "direction.safetensors")
    client = TestClient(create_app(ExplorerSession(vae_run)), base_url="http://127.0.0.1")
    (info,) = client.get("/api/info").json()["directions"]
    assert info["transformation"] == "translate-x" and info["low"] < 0 < info["high"]
    body = {"z": [0.0, 0.5, -0.5], "name": "directions-translate-x", "value": 0.1}
    z = client.post("/api/direction", json=body).json()["z"]
    assert z[1:] == pytest.approx([0.5, -0.5])  # only the coordinate along u moved
    with torch.no_grad():
        assert float(direction(torch.tensor([z]))) == pytest.approx(0.1, abs=1e-5)
    bad = client.post("/api/direction", json={"z": [0.0, 0.0, 0.0], "name": "nope", "value": 1})
    assert bad.status_code == 400


@pytest.mark.slow
def test_pca_ae_keeps_its_order_and_the_command_refuses_bad_runs(tmp_path):
    from .conftest import run_cli

    config = RunConfig.from_dict(
        {
            "dataset": {"name": "disks", "n": 64, "size": 16},
            "model": {"name": "pca_ae", "components": 3},
            "train": {"steps": 6, "batch_size": 16, "progress": False},
        }
    )
    train_run(config, tmp_path / "pca")
    session = ExplorerSession(tmp_path / "pca")
    assert [c.index for c in session.controls] == [0, 1, 2]
    assert "PCA-AE order" in session.controls[0].score_name
    missing = run_cli("explore", str(tmp_path / "none"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def sine_run(tmp_path):
    """The main job's kind of run: a VAE on the sine circle (vectors of 12 values)."""
    config = RunConfig.from_dict(
        {
            "dataset": {"name": "sine_circle", "n": 128, "dim": 12},
            "model": {"name": "vae", "latent": {"name": "euclidean", "dim": 2}},
            "train": {"steps": 10, "batch_size": 32, "progress": False},
        }
    )
    train_run(config, tmp_path / "sine")
    return tmp_path / "sine"


def test_vector_observations_are_line_plots(tmp_path):
    from latentatlas.explorer.session import PLOT_SIZE, TRAVERSAL_STEPS, vector_picture

    session = ExplorerSession(sine_run(tmp_path))
    assert session.info()["observation"] == "vector" and session.image_shape == (12,)
    low, high = session.value_range  # the evaluation set's range (sines in [-1, 1]) plus 10 %
    assert low == pytest.approx(-1.2, abs=0.01) and high == pytest.approx(1.2, abs=0.01)
    image = Image.open(io.BytesIO(session.decode_png([0.0, 0.0])))
    assert image.size == PLOT_SIZE
    assert session.decode_png([0.0, 0.0]) != session.decode_png([2.0, -1.0])
    strip = Image.open(io.BytesIO(session.traversal_png([0.0, 0.0], 0)))
    assert strip.size == (PLOT_SIZE[0] * TRAVERSAL_STEPS, PLOT_SIZE[1])
    code, example = session.example(3)
    assert len(code) == 2 and Image.open(io.BytesIO(example)).size == PLOT_SIZE
    client = TestClient(create_app(session), base_url="http://127.0.0.1")
    assert client.post("/api/decode", json={"z": [0.5, 0.5]}).status_code == 200
    # the plot draws each value at its height: a constant vector at the top or bottom of the range
    blue = np.array([37, 99, 235])
    for value, rows in ((1.0, slice(0, 40)), (-1.0, slice(160, 200))):
        pixels = np.asarray(vector_picture(torch.full((12,), value), -1.0, 1.0))
        drawn = np.argwhere(np.abs(pixels.astype(int) - blue).sum(-1) < 30)[:, 0]
        assert len(drawn) and np.all((drawn >= rows.start) & (drawn < rows.stop)), value
    with pytest.raises(DataError, match="finite"):
        vector_picture(torch.tensor([0.0, float("nan")]), -1.0, 1.0)


# -- hostile requests: every one gets a 4xx with a reason, never a 500 ----------------------------
BAD_REQUESTS = [
    ("post", "/api/traversal", {"json": {"z": [0.0, 0.0], "index": 0}}, 400, "z: expected 3"),
    ("post", "/api/traversal", {"json": {"z": [0.0, 0.0, 0.0], "index": 7}}, 400, "index"),
    (
        "post",
        "/api/direction",
        {"json": {"z": [0, 0, 0], "name": ["a"], "value": 1}},
        400,
        "direction",
    ),
    (
        "post",
        "/api/direction",
        {"json": {"z": [0, 0, 0], "name": {"a": 1}, "value": 1}},
        400,
        "direction",
    ),
    ("get", "/api/start?seed=12345678901234567890123", {}, 400, "seed"),
    ("get", "/api/start?seed=-1", {}, 400, "seed"),
    ("get", "/api/example?index=1234567890123456789012345", {}, 400, "index"),
    ("post", "/api/decode", {"json": {"z": [int("9" * 400), 0, 0]}}, 400, "finite"),
    (
        "post",
        "/api/decode",
        {"content": "[" * 100_000 + "]" * 100_000, "headers": {"content-type": "application/json"}},
        400,
        "JSON body",
    ),
    (
        "post",
        "/api/decode",
        {"content": '{"z": [0, 0, 0]}', "headers": {"content-type": "text/plain"}},
        415,
        "application/json",
    ),
    (
        "post",
        "/api/decode",
        {"content": "{" + " " * (2 << 20) + "}", "headers": {"content-type": "application/json"}},
        413,
        "body over",
    ),
    ("post", "/api/decode", {"json": {"z": [0, 0, "a"]}}, 400, "z: expected"),
    ("post", "/api/decode", {"json": [0, 0, 0]}, 400, "JSON body"),
    ("post", "/api/traversal", {"json": {"z": [0.0, 0.0, 0.0], "index": True}}, 400, "index"),
    # strict parsing: ASCII integers, known formats, no keep for a model without blocks
    ("get", "/api/example?index=%D9%A1", {}, 400, "ASCII digits"),
    ("get", "/api/example?index=1_0", {}, 400, "index"),
    ("get", "/api/example?index=%201", {}, 400, "index"),
    ("get", "/api/start?seed=%D9%A1", {}, 400, "seed"),
    (
        "post",
        "/api/traversal",
        {"json": {"z": [0.0] * 3, "index": 0, "format": ["gif"]}},
        400,
        "format",
    ),
    (
        "post",
        "/api/traversal",
        {"json": {"z": [0.0] * 3, "index": 0, "format": {}}},
        400,
        "format",
    ),
    (
        "post",
        "/api/traversal",
        {"json": {"z": [0.0] * 3, "index": 0, "format": "jpg"}},
        400,
        "format",
    ),
    ("post", "/api/decode", {"json": {"z": [0.0] * 3, "keep": [True]}}, 400, "no atomic blocks"),
    (
        "post",
        "/api/decode",
        {
            "content": iter([b'{"z": [' + b"0," * 600_000 + b"0]}"]),
            "headers": {"content-type": "application/json"},
        },
        413,
        "body over",
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "reason"), BAD_REQUESTS)
def test_bad_requests_get_a_reason_not_a_traceback(vae_run, method, path, kwargs, status, reason):
    client = TestClient(
        create_app(ExplorerSession(vae_run)),
        base_url="http://127.0.0.1",
        raise_server_exceptions=True,
    )  # a server error would raise here
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text[:200]
    error = response.json()["error"]
    assert isinstance(error, str) and error
    if reason is not None:
        assert reason in error


def test_requests_for_another_host_are_refused(vae_run):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host name."""
    app = create_app(ExplorerSession(vae_run))
    for good in ("http://127.0.0.1:8765", "http://localhost", "http://[::1]:8765"):
        assert TestClient(app, base_url=good).get("/api/info").status_code == 200
    evil = TestClient(app, base_url="http://evil.example:8765")
    response = evil.post("/api/decode", json={"z": [0.0, 0.0, 0.0]})
    assert response.status_code == 400 and "Host header" in response.json()["error"]
    assert evil.get("/").status_code == 400
    # a server bound to another address answers that address only
    lan = create_app(ExplorerSession(vae_run), host="192.168.1.5")
    assert TestClient(lan, base_url="http://192.168.1.5:80").get("/api/info").status_code == 200
    assert TestClient(lan, base_url="http://127.0.0.1").get("/api/info").status_code == 400


def test_a_real_server_answers_500_decodes_from_20_threads(vae_run):
    """The audit's load test, through the request guard: every answer a PNG, none refused."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    pytest.importorskip("uvicorn")
    from .test_explorer_browser import Server

    with Server(vae_run) as url:

        def decode(i: int) -> tuple[int, bytes]:
            body = json.dumps({"z": [math.sin(i), math.cos(i), 0.01 * i]}).encode()
            request = urllib.request.Request(
                url + "api/decode", body, {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(decode, range(500)))
    assert all(status == 200 and data[:8] == b"\x89PNG\r\n\x1a\n" for status, data in answers)
    assert len({data for _, data in answers}) > 400  # different codes, different images


def test_numbers_beyond_any_float_are_not_finite():
    from latentatlas.explorer.session import _finite

    assert _finite(3) and _finite(-2.5) and not _finite(int("9" * 400)) and not _finite(math.inf)


def test_images_of_two_channels_are_shown_side_by_side():
    """lit_sphere's front and back views (2, H, W): one grey picture with a white seam."""
    from latentatlas.explorer.session import image_picture

    image = torch.zeros(2, 8, 6)
    image[1] = 1.0
    picture = image_picture(image)
    assert picture.size == (13, 8) and picture.mode == "L"
    pixels = np.asarray(picture)
    assert (
        (pixels[:, :6] == 0).all() and (pixels[:, 6] == 255).all() and (pixels[:, 7:] == 255).all()
    )
    assert image_picture(torch.rand(3, 4, 4)).mode == "RGB"


def _sphere_run(tmp_path, latent: dict, dataset: dict):
    config = RunConfig.from_dict(
        {
            "dataset": dataset,
            "model": {
                "name": "diffusion_vae",
                "latent": latent,
                "encoder": {"name": "mlp", "hidden": [16]},
                "decoder": {"name": "mlp", "hidden": [16]},
            },
            "train": {"steps": 10, "batch_size": 32, "progress": False},
        }
    )
    train_run(config, tmp_path / "run")
    return tmp_path / "run"


def test_a_sphere_run_is_explored_by_its_angles(tmp_path):
    """On S² the sliders are the polar angle and a wrapping azimuth dial; every code the page
    sends is a point of the sphere, and the page's numbers round-trip through it."""
    run = _sphere_run(
        tmp_path, {"name": "sphere"}, {"name": "lit_sphere", "n": 64, "size": 8, "n_vis": 40}
    )
    session = ExplorerSession(run)
    assert session.dim == 2 and not session.directions
    kinds = {c.index: (c.kind, c.low, c.high) for c in session.controls}
    assert kinds[0] == ("slider", 0.0, math.pi) and kinds[1] == ("dial", -math.pi, math.pi)
    start = session.start_code(3)
    assert len(start) == 2
    z = session.check_code(start)
    assert z.shape == (1, 3) and torch.allclose(z.norm(dim=-1), torch.ones(1))
    torch.testing.assert_close(session._to_page(z)[0], torch.tensor(start), atol=1e-5, rtol=0)
    assert torch.allclose(
        session.check_code([0.4, 7.0]), session.check_code([0.4, 7.0 - 2 * math.pi]), atol=1e-6
    )
    strip = session.traversal(start, 1)
    assert strip.shape[0] > 2 and strip.shape[1:] == (2, 8, 8)
    code, png = session.example(0)
    assert len(code) == 2 and png[:4] == b"\x89PNG"
    assert Image.open(io.BytesIO(session.decode_png(start))).size[0] > 0


def test_a_rotation_run_is_explored_by_its_rotation_vector(tmp_path):
    run = _sphere_run(
        tmp_path,
        {"name": "rotation"},
        {"name": "tumbling_object", "n": 64, "size": 8, "supersample": 1, "n_vis": 40},
    )
    session = ExplorerSession(run)
    assert session.dim == 3
    assert {(c.kind, c.low, c.high) for c in session.controls} == {("slider", -math.pi, math.pi)}
    z = session.check_code([0.3, -1.0, 2.0])
    assert z.shape == (1, 4) and torch.allclose(z.norm(dim=-1), torch.ones(1))
    assert session.image_shape == (1, 8, 8)
