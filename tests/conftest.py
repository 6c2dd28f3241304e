"""Shared fixtures: tiny run configs that train in well under a second.

Two tiers: tests marked ``slow`` (subprocess runs of the CLI, reproductions, benchmarks, the
browser, anything measured at 2 s or more) form the slow tier; ``make check`` runs the others
(``pytest -m "not slow"``), ``make test`` (CI) runs both. A test that starts the CLI without the
mark fails and says so, so the fast tier stays fast."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import pytest

matplotlib.use("Agg")


CLI = [sys.executable, "-m", "latentatlas.cli"]


_RUNNING: list[pytest.Item] = []


@pytest.fixture(autouse=True)
def _running_test(request):
    """The test being run, for :func:`require_slow_tier`."""
    _RUNNING.append(request.node)
    yield
    _RUNNING.pop()


def require_slow_tier(what: str) -> None:
    """Fail a test that does something slow (``what``) without the ``slow`` mark."""
    if _RUNNING and _RUNNING[-1].get_closest_marker("slow") is None:
        pytest.fail(
            f"{_RUNNING[-1].nodeid} {what}: mark it @pytest.mark.slow (the slow tier; "
            "make check runs the fast one)",
            pytrace=False,
        )


def run_cli(*args: str, timeout: float = 240, **kw) -> subprocess.CompletedProcess:
    """``latent-atlas ARGS`` in a subprocess, output captured as text (slow tier only)."""
    require_slow_tier("starts the CLI in a subprocess")
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, **kw)


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args: str) -> subprocess.Popen:
    """``latent-atlas ARGS`` started in the background, output piped as text, with SIGINT's
    default disposition: a test that sends it Ctrl-C must not inherit an ignored SIGINT (as
    under ``make test &`` from a script, where the shell starts the job with SIGINT ignored)."""
    import os

    require_slow_tier("starts the CLI in a subprocess")
    extra = {"preexec_fn": _default_sigint} if os.name == "posix" else {}
    return subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **extra
    )


def tiny_run_dict(steps: int = 20, **train) -> dict:
    """A sine-circle VAE small enough to train in a fraction of a second."""
    return {
        "dataset": {"name": "sine_circle", "n": 256, "dim": 12, "sigma": 0.1},
        "model": {
            "name": "vae",
            "encoder": {"name": "mlp", "hidden": [8]},
            "decoder": {"name": "mlp", "hidden": [8]},
        },
        "train": {"steps": steps, "batch_size": 32, "progress": False, "log_every": 5, **train},
        "seed": 3,
    }


@pytest.fixture
def tiny_run():
    return tiny_run_dict


def assert_judged(experiment: str, result) -> None:
    """The experiment's judges answer every declared claim from the results a run writes (a
    JSON round trip of ``result.to_dict()``), with a verdict word and our value."""
    import json

    from latentatlas.experiments.claims import VERDICTS, claims_of, judge

    data = result if isinstance(result, dict) else result.to_dict()
    results = json.loads(json.dumps(data, default=float))
    verdicts = judge(experiment, results)
    assert {v.claim for v in verdicts} == {c.id for c in claims_of(experiment)}
    assert claims_of(experiment), f"{experiment} declares no claims"
    assert all(v.verdict in VERDICTS and v.ours for v in verdicts)
