"""Progress of a long loop, in a terminal or in a log file.

On a terminal, a tqdm bar. When standard error is not a terminal (``nohup``, a cluster job,
CI, ``2> log``), a bar's carriage returns make no readable log, so :class:`ProgressLines`
writes one plain line every ``interval`` seconds instead (and one at the end)::

    training: step 1200/20000 (6%) · loss 1.234 · 45.1 steps/s · 6 min 57 s left

as the non-terminal modes of Lightning and tqdm do. :func:`progress_display` picks one.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

#: seconds between two progress lines when standard error is not a terminal
LINE_INTERVAL = 30.0


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


class ProgressLines:
    """Plain progress lines for a log: ``update``, ``set_postfix`` and ``close`` as a tqdm
    bar has them, a line written at most every ``interval`` seconds and one at ``close``."""

    def __init__(
        self,
        total: int,
        initial: int = 0,
        unit: str = "step",
        desc: str = "progress",
        interval: float = LINE_INTERVAL,
        stream: TextIO | None = None,
    ):
        self.total, self.n, self.unit, self.desc = int(total), int(initial), unit, desc
        self.interval = float(interval)
        self.stream = stream if stream is not None else sys.stderr
        self.postfix: dict[str, Any] = {}
        self._start_n = self.n
        self._t0 = self._last = time.monotonic()
        self._closed = False

    def set_postfix(self, **values: Any) -> None:
        self.postfix = dict(values)

    def set_postfix_str(self, text: str) -> None:
        self.postfix = {"now": text}

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self.write()

    def line(self) -> str:
        elapsed = time.monotonic() - self._t0
        rate = (self.n - self._start_n) / elapsed if elapsed > 0 else 0.0
        parts = [
            f"{self.desc}: {self.unit} {self.n}/{self.total}"
            + (f" ({100 * self.n / self.total:.0f}%)" if self.total else "")
        ]
        parts += [f"{k} {v}" for k, v in self.postfix.items()]
        if rate > 0:
            parts.append(f"{rate:.3g} {self.unit}s/s")
            if self.total > self.n:
                parts.append(f"{_duration((self.total - self.n) / rate)} left")
        return " · ".join(parts)

    def write(self) -> None:
        try:
            print(self.line(), file=self.stream, flush=True)
        except (OSError, ValueError):  # a closed or full log must not stop the training
            pass

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.n > self._start_n:
                self.write()


def progress_display(
    total: int,
    initial: int = 0,
    unit: str = "step",
    desc: str = "training",
    interval: float = LINE_INTERVAL,
    position: int | None = None,
) -> Any:
    """A tqdm bar on a terminal (at ``position`` among nested bars); :class:`ProgressLines`
    every ``interval`` seconds otherwise."""
    stream = sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        from tqdm.auto import tqdm

        return tqdm(
            total=total,
            initial=initial,
            unit=unit,
            desc=desc,
            dynamic_ncols=True,
            leave=position is not None,
            position=position,
        )
    return ProgressLines(total, initial, unit, desc, interval, stream)
