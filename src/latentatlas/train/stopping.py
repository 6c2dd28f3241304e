"""Stopping a training loop cleanly: Ctrl-C (SIGINT), SIGTERM or a callback's request.

A loop checks :attr:`StopRequest.requested` before each step; the first signal only sets it (the
step in progress finishes and the loop saves what it has), a second one raises
``KeyboardInterrupt`` at once. Shared by the :class:`~latentatlas.train.trainer.Trainer` and
the vectorised ensemble (:mod:`latentatlas.train.ensemble`).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

log = logging.getLogger(__name__)


class StopRequest:
    """A training loop's stop flag and the signal that set it (``None`` for a request made by
    code, e.g. early stopping)."""

    def __init__(self) -> None:
        self.requested = False
        self.signal: str | None = None

    def request(self) -> None:
        """Stop after the current step."""
        self.requested = True

    def install(self, what: str = "saving a checkpoint") -> dict[int, Any]:
        """Route SIGINT and SIGTERM here until :meth:`restore`; returns the previous handlers
        (none outside the main thread, where Python cannot install handlers).

        A SIGINT that is ignored stays ignored: a shell starts a script's background job
        (``cmd &``) with SIGINT ignored so that Ctrl-C does not reach it, and the loop keeps
        that (SIGTERM stops it cleanly)."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        signals = [signal.SIGTERM]
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signals.insert(0, signal.SIGINT)

        def handler(signum, frame):
            if self.requested:  # a second signal: stop now
                raise KeyboardInterrupt
            name = signal.Signals(signum).name
            log.warning("%s received: finishing the step and %s", name, what)
            self.signal = name
            self.requested = True

        return {sig: signal.signal(sig, handler) for sig in signals}

    @staticmethod
    def restore(previous: dict[int, Any]) -> None:
        """Put back the handlers :meth:`install` replaced."""
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
