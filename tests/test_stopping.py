"""Training loops' stop requests: which signals they take over, and what they give back."""

from __future__ import annotations

import os
import signal

import pytest

from latentatlas.train.stopping import StopRequest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals")


def test_sigint_and_sigterm_set_the_flag_and_are_given_back():
    # Python's own Ctrl-C handler, whatever the test run inherited (`make test &` ignores it)
    original = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        stops = StopRequest()
        previous = stops.install()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            assert stops.requested and stops.signal == "SIGTERM"
            with pytest.raises(KeyboardInterrupt):  # a second signal stops at once
                os.kill(os.getpid(), signal.SIGINT)
        finally:
            stops.restore(previous)
        assert {sig: signal.getsignal(sig) for sig in before} == before
    finally:
        signal.signal(signal.SIGINT, original)


def test_an_ignored_sigint_stays_ignored():
    """A script's background job (`cmd &`) starts with SIGINT ignored: Ctrl-C is not for it.
    The loop used to take SIGINT over anyway, so the same job stopped on a SIGINT while training
    and ignored it before and after."""
    original = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        stops = StopRequest()
        previous = stops.install()
        try:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            assert not stops.requested
            os.kill(os.getpid(), signal.SIGTERM)
            assert stops.requested and stops.signal == "SIGTERM"
        finally:
            stops.restore(previous)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, original)
