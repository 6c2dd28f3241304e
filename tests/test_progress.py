"""Progress in a log: plain lines every few seconds when standard error is not a terminal."""

from __future__ import annotations

import io
import json
import subprocess

import pytest

from latentatlas.train.progress import ProgressLines, progress_display

from .conftest import CLI, run_cli, tiny_run_dict


def test_progress_lines_say_where_how_fast_and_how_long_left():
    out = io.StringIO()
    bar = ProgressLines(total=10, unit="step", desc="training", interval=0.0, stream=out)
    bar.set_postfix(loss="1.25")
    for _ in range(4):
        bar.update(1)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[-1].startswith("training: step 4/10 (40%) · loss 1.25 · ")
    assert "steps/s" in lines[-1] and lines[-1].endswith("left")
    bar.close()
    assert len(out.getvalue().splitlines()) == 5  # and a last one at the end
    bar.close()
    assert len(out.getvalue().splitlines()) == 5  # once


def test_progress_lines_respect_their_interval_and_never_raise():
    out = io.StringIO()
    bar = ProgressLines(total=1000, interval=3600.0, stream=out)
    for _ in range(1000):
        bar.update(1)
    assert out.getvalue() == ""  # within the hour: nothing until the end
    bar.close()
    assert out.getvalue().startswith("progress: step 1000/1000 (100%)")
    closed = io.StringIO()
    closed.close()
    broken = ProgressLines(total=3, interval=0.0, stream=closed)
    broken.update(1)  # a closed log must not stop the work
    broken.close()


def test_off_a_terminal_the_display_is_lines(capsys):
    bar = progress_display(5, desc="x")
    assert isinstance(bar, ProgressLines)  # pytest's captured stderr is not a terminal


@pytest.mark.slow
def test_a_training_with_stderr_in_a_file_writes_progress_lines(tmp_path):
    config = tiny_run_dict(steps=60)
    config["train"] = {**config["train"], "progress": True, "progress_every": 0.0}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    log = tmp_path / "log.txt"
    with log.open("w") as stderr:  # as `latent-atlas train ... 2> log.txt`
        proc = subprocess.run(
            [*CLI, "train", str(path), "--out", str(tmp_path / "run")],
            stderr=stderr,
            stdout=subprocess.PIPE,
            timeout=240,
        )
    assert proc.returncode == 0
    lines = [ln for ln in log.read_text().splitlines() if ln.startswith("training: step")]
    assert len(lines) >= 60 and lines[-1].startswith("training: step 60/60 (100%)")
    assert "loss" in lines[-1] and "\r" not in log.read_text()
    quiet = dict(config, train={**config["train"], "progress": False})
    path.write_text(json.dumps(quiet))
    proc = run_cli("train", str(path), "--out", str(tmp_path / "quiet"))
    assert proc.returncode == 0 and "training: step" not in proc.stderr
