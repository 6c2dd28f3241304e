"""Shared fixtures: tiny run configs that train in well under a second.

Two tiers: tests marked ``slow`` (runs of the CLI, reproductions, benchmarks, the browser,
anything measured at 3 s or more) form the slow tier; ``make check`` runs the others
(``pytest -m "not slow"``), ``make test`` (CI) runs both. A test that starts the CLI without the
mark fails and says so, so the fast tier stays fast."""

from __future__ import annotations

import os
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


def run_cli(
    *args: str, timeout: float = 240, isolated: bool = False, **kw
) -> subprocess.CompletedProcess:
    """``latent-atlas ARGS``, output captured as text (slow tier only).

    By default the command runs in this process through click's test runner, as ``python -m
    latentatlas.cli`` runs it (the same group, its error handling and exit codes; an uncaught
    exception's traceback in stderr and exit status 1, as Python prints them): starting a
    Python that imports torch costs seconds per command, which for the ~130 commands of the
    suite was a quarter of CI's time. What a command sets for the whole process (logging
    handlers and levels, the SIGTERM handler, warning display, torch's thread count,
    ``sys.argv``) is restored afterwards. ``isolated=True`` (or ``LATENTATLAS_TEST_SUBPROCESS=1``
    for every command) starts a real process instead: for what only a process shows (its
    environment, signals, a process pool it starts)."""
    require_slow_tier("starts the CLI")
    if isolated or kw or os.environ.get("LATENTATLAS_TEST_SUBPROCESS") == "1":
        return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, **kw)
    return _run_in_process(list(args))


def _run_in_process(args: list[str]) -> subprocess.CompletedProcess:
    import logging
    import signal
    import traceback
    import warnings

    import torch
    from click.testing import CliRunner

    from latentatlas.cli import cli

    root, ours = logging.getLogger(), logging.getLogger("latentatlas")
    handlers, levels = list(root.handlers), (root.level, ours.level)
    sigterm = signal.getsignal(signal.SIGTERM)
    shown, filters = warnings.showwarning, list(warnings.filters)
    threads, argv = torch.get_num_threads(), sys.argv
    # the command's own logging set-up (basicConfig) must find the root logger as a fresh
    # process does, without pytest's capturing handlers, so that its messages reach its stderr
    for handler in handlers:
        root.removeHandler(handler)
    sys.argv = ["latent-atlas", *args]
    try:
        result = CliRunner().invoke(cli, args, prog_name="latent-atlas")
    finally:
        sys.argv = argv
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(levels[0])
        ours.setLevel(levels[1])
        signal.signal(signal.SIGTERM, sigterm)
        warnings.showwarning, warnings.filters[:] = shown, filters
        torch.set_num_threads(threads)
    stderr, code = result.stderr, result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception(result.exception)
        )
        code = 1
    return subprocess.CompletedProcess([*CLI, *args], code, result.stdout, stderr)


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args: str) -> subprocess.Popen:
    """``latent-atlas ARGS`` started in the background, output piped as text, with SIGINT's
    default disposition: a test that sends it Ctrl-C must not inherit an ignored SIGINT (as
    under ``make test &`` from a script, where the shell starts the job with SIGINT ignored)."""
    require_slow_tier("starts the CLI in a process")
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
