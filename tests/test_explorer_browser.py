"""The explorer page in a real headless browser (Debian's chromium and chromium-driver, driven by
Selenium). ``.ci/run`` installs them and sets CI=1, where a missing browser fails the test instead
of skipping it."""

from __future__ import annotations

import base64
import io
import math
import os
import shutil
import socket
import threading
import time

import pytest

from .test_explorer import sine_run, train

pytestmark = pytest.mark.slow  # the slow tier: a real browser (make check skips it)

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _need_browser() -> None:
    if CHROMEDRIVER and CHROMIUM:
        return
    message = "the browser tests need Debian's chromium and chromium-driver packages"
    if os.environ.get("CI"):
        pytest.fail(message + " (.ci/run installs them)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The explorer's app served by uvicorn in a thread on a free loopback port."""

    def __init__(self, run_dir):
        import uvicorn

        from latentatlas.explorer import ExplorerSession
        from latentatlas.explorer.app import create_app

        self.port = free_port()
        config = uvicorn.Config(
            create_app(ExplorerSession(run_dir)),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}/"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def browser():
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1200,800",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(20)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout: float = 20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(condition)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {condition}")


CURRENT_IMAGE = """
const done = arguments[arguments.length - 1];
fetch(document.getElementById('image').src).then(r => r.arrayBuffer()).then(b => {
  done(btoa(String.fromCharCode(...new Uint8Array(b))));
});
"""


def screenshot(driver, tmp_path, name: str) -> None:
    """Take a screenshot; keep it in $LATENT_ATLAS_SCREENSHOTS (if set) to look at."""
    driver.save_screenshot(str(tmp_path / f"{name}.png"))
    shots = os.environ.get("LATENT_ATLAS_SCREENSHOTS")
    if shots:
        shutil.copy(tmp_path / f"{name}.png", os.path.join(shots, f"{name}.png"))


def image_after(driver, action: str) -> bytes:
    """Run ``action`` in the page, wait for the next decoded image, return its PNG bytes."""
    before = driver.execute_script("return document.getElementById('image').dataset.version || ''")
    driver.execute_script(action)
    image = "document.getElementById('image')"
    wait_for(driver, f"return ({image}.dataset.version || '') !== '{before}' && {image}.complete")
    return base64.b64decode(driver.execute_async_script(CURRENT_IMAGE))


def test_moving_a_slider_changes_the_image(browser, tmp_path):
    run = train(tmp_path, {"name": "euclidean", "dim": 3})
    with Server(run) as url:
        browser.get(url)
        wait_for(browser, "return document.getElementById('image').dataset.version")
        first = base64.b64decode(browser.execute_async_script(CURRENT_IMAGE))
        moved = image_after(
            browser,
            """
            const s = document.querySelector('input[type=range]');
            s.value = s.max; s.dispatchEvent(new Event('input'));""",
        )
        assert first[:8] == b"\x89PNG\r\n\x1a\n" and moved != first
        assert "z=" in browser.current_url and "seed=" in browser.current_url  # shareable state
        screenshot(browser, tmp_path, "explorer-slider")


def test_the_main_jobs_vectors_are_line_plots_with_sliders_and_a_strip(browser, tmp_path):
    """The demo's kind of run (sine vectors) is explorable: line plots drawn smoothly, the slider
    moves the plot, the traversal strip and an encoded example show."""
    from PIL import Image

    with Server(sine_run(tmp_path)) as url:
        browser.get(url)
        wait_for(browser, "return document.getElementById('image').dataset.version")
        assert browser.execute_script("return document.body.classList.contains('vectors')")
        rendering = "return getComputedStyle(document.getElementById('image')).imageRendering"
        assert browser.execute_script(rendering) == "auto"
        first = base64.b64decode(browser.execute_async_script(CURRENT_IMAGE))
        moved = image_after(
            browser,
            """
            const s = document.querySelector('input[type=range]');
            s.value = s.min; s.dispatchEvent(new Event('input'));""",
        )
        assert moved != first and Image.open(io.BytesIO(moved)).size == (320, 200)
        wait_for(browser, "return document.getElementById('strip').naturalWidth === 9 * 320")
        image_after(browser, "document.getElementById('example').click()")
        assert browser.execute_script("return !document.getElementById('original-box').hidden")
        screenshot(browser, tmp_path, "explorer-vectors")


def test_a_dial_at_plus_and_minus_pi_gives_the_same_image(browser, tmp_path):
    run = train(
        tmp_path,
        {"name": "circle"},
        name="diffusion_vae",
        dataset={"name": "pixel_shift", "size": [8, 8]},
    )
    with Server(run) as url:
        browser.get(url)
        wait_for(browser, "return document.getElementById('image').dataset.version")
        assert browser.execute_script("return document.querySelectorAll('svg.dial').length") == 1
        plus = image_after(browser, f"setValue(0, {math.pi})")
        minus = image_after(browser, f"setValue(0, {-math.pi} + 1e-9)")
        other = image_after(browser, "setValue(0, 1.0)")
        assert plus == minus and other != plus


def test_blocks_examples_and_the_traversal_strip_in_the_page(browser, tmp_path):
    from latentatlas import train_run
    from latentatlas.train.run import RunConfig

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
    with Server(tmp_path / "atomic") as url:
        browser.get(url)
        wait_for(browser, "return document.getElementById('image').dataset.version")
        assert browser.execute_script("return document.querySelectorAll('.block').length") == 2
        wait_for(browser, "return document.getElementById('strip').naturalWidth > 0")
        wait_for(browser, "return document.querySelector('[data-block-image]').naturalWidth > 0")
        both = base64.b64decode(browser.execute_async_script(CURRENT_IMAGE))
        one = image_after(
            browser,
            """
            const t = document.querySelector('[data-block="1"]');
            t.checked = false; t.dispatchEvent(new Event('change'));""",
        )
        assert one != both and "keep=10" in browser.current_url
        image_after(browser, "document.getElementById('example').click()")
        assert browser.execute_script("return !document.getElementById('original-box').hidden")
        screenshot(browser, tmp_path, "explorer-atomic")
