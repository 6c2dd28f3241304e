"""The two tiers (tests/conftest.py): a test that starts the CLI must be in the slow tier."""

from __future__ import annotations

import pytest

from .conftest import require_slow_tier, run_cli


def test_starting_the_cli_outside_the_slow_tier_fails_the_test():
    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.slow"):
        require_slow_tier("starts the CLI in a subprocess")


@pytest.mark.slow
def test_a_slow_test_may_start_the_cli():
    require_slow_tier("starts the CLI in a subprocess")  # no failure: it is in the slow tier


@pytest.mark.slow
def test_the_cli_in_this_process_answers_as_a_process_does(tmp_path, monkeypatch):
    """run_cli runs commands in the test's process: its answers (exit status, stdout, stderr,
    the log messages of every invocation) are those of ``python -m latentatlas.cli``, and what
    a command sets for the whole process is restored."""
    import logging
    import signal

    import torch

    sets = ["dataset.n=64", "dataset.size=16", "train.steps=2", "train.progress=false"]
    train = ["train", "--dataset", "disks", "--model", "vae", *(f"--set={s}" for s in sets)]
    bad = ["reproduce", "slides-disk", "--set", "steps=-3"]
    threads, handlers = torch.get_num_threads(), list(logging.getLogger().handlers)
    sigterm = signal.getsignal(signal.SIGTERM)
    for k, args in enumerate([bad, train, train]):  # train twice: each invocation logs
        here = run_cli(*args, "--out", str(tmp_path / f"here{k}"))
        there = run_cli(*args, "--out", str(tmp_path / f"there{k}"), isolated=True)
        assert here.returncode == there.returncode, (here.stderr, there.stderr)
        assert here.stdout.replace("here", "there") == there.stdout
        # the first lines: the error, or what trains where and the data's choice of settings
        first = here.stderr.replace("here", "there").splitlines()[:2]
        assert first == there.stderr.splitlines()[:2]
    assert "defaults chosen from the data" in here.stderr
    assert torch.get_num_threads() == threads and logging.getLogger().handlers == handlers
    assert signal.getsignal(signal.SIGTERM) == sigterm
    # an exception the CLI does not turn into a message: its traceback, status 1, as Python

    def boom() -> None:
        raise ValueError("boom")

    monkeypatch.setattr("latentatlas.cli._list_experiments", boom)
    crash = run_cli("reproduce", "--list")
    assert crash.returncode == 1 and "Traceback" in crash.stderr
    assert crash.stderr.rstrip().endswith("ValueError: boom")
