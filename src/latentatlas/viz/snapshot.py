"""Render an HTML file to a PNG screenshot with headless Chromium.

Used to check what a report looks like (and in tests, that it renders at all) without a desktop.
Chromium's ``--screenshot`` captures exactly the window, so a full-page capture (``height=None``)
renders into a tall window and trims the empty background below the content.

Chromium is an external program, found on ``PATH`` as ``chromium`` or ``chromium-browser`` (or
``google-chrome``); on Debian/Ubuntu install the package ``chromium``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import LatentAtlasError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class BrowserNotFound(LatentAtlasError, RuntimeError):
    """No headless browser is installed."""


class SnapshotError(LatentAtlasError, RuntimeError):
    """The browser failed or timed out."""


def find_chromium() -> str:
    """Path of a Chromium executable, or :class:`BrowserNotFound` saying what to install."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserNotFound(
        "no Chromium found on PATH (looked for "
        + ", ".join(CANDIDATES)
        + "); install the Debian package `chromium` (apt-get install chromium)"
    )


def _trim_bottom(png_path: Path, margin: int = 24) -> None:
    """Crop rows at the bottom that are all the colour of the last row (keep ``margin`` px)."""
    import numpy as np
    from PIL import Image

    with Image.open(png_path) as im:
        rgb = np.asarray(im.convert("RGB"))
    background = rgb[-1, 0]
    same = (rgb == background).all(axis=(1, 2))
    content = np.nonzero(~same)[0]
    bottom = int(content[-1]) + 1 if content.size else 1
    bottom = min(rgb.shape[0], bottom + margin)
    if bottom < rgb.shape[0]:
        Image.fromarray(rgb[:bottom]).save(png_path)


def render_html_to_png(
    html_path: str | Path,
    png_path: str | Path,
    width: int = 1280,
    height: int | None = None,
    timeout: float = 60.0,
    max_height: int = 12000,
    scale: float = 1.0,
) -> Path:
    """Screenshot ``html_path`` into ``png_path`` with headless Chromium; returns ``png_path``.

    Args:
        html_path: an HTML file on disk (loaded as a ``file://`` URL).
        png_path: where to write the PNG (written to a temporary name, then renamed).
        width: window width in CSS pixels.
        height: window height in CSS pixels, or None for a full-page capture: the page is
            rendered ``max_height`` tall and the uniform background below the content trimmed.
        timeout: seconds before the browser is killed and :class:`SnapshotError` raised.
        max_height: window height of a full-page capture.
        scale: device scale factor (2 gives a sharper, twice-as-large image).
    """
    html_path = Path(html_path).resolve()
    png_path = Path(png_path)
    if not html_path.is_file():
        raise FileNotFoundError(f"no HTML file at {html_path}")
    browser = find_chromium()
    window_h = int(max_height if height is None else height)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{png_path.name}.", suffix=".png", dir=png_path.parent)
    os.close(fd)
    os.unlink(tmp)  # chromium writes it; an existing empty file would hide a failure
    with tempfile.TemporaryDirectory(prefix="latentatlas-chromium-") as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--mute-audio",
            f"--force-device-scale-factor={scale:g}",
            f"--user-data-dir={profile}",
            f"--window-size={int(width)},{window_h}",
            f"--screenshot={tmp}",
            html_path.as_uri(),
        ]
        try:
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise SnapshotError(f"{browser} did not finish within {timeout:g} s") from None
    if not os.path.exists(tmp) or os.path.getsize(tmp) == 0:
        if os.path.exists(tmp):
            os.unlink(tmp)
        tail = (proc.stderr or "").strip().splitlines()[-5:]
        raise SnapshotError(
            f"{browser} wrote no screenshot (exit status {proc.returncode})"
            + (": " + " | ".join(tail) if tail else "")
        )
    try:
        if height is None:
            _trim_bottom(Path(tmp), margin=int(24 * scale))
        os.replace(tmp, png_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return png_path
