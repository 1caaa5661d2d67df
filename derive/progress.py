"""One progress line on stderr for stages that run longer than a couple of seconds.

The line says the stage, the layer, how many parameters are done and an
estimate of the time left; it is rewritten in place and erased at the end. It
is written only to a terminal: piped or captured stderr stays silent, so logs
and tests see nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

#: Nothing is shown before a stage has run this long (seconds).
DELAY = 2.0
#: The line is rewritten at most this often (seconds).
INTERVAL = 0.25


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """Progress of one stage over ``total`` units of work (parameters, or parameters × points)."""

    def __init__(
        self,
        stage: str,
        total: int,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stage, self.total = stage, max(total, 1)
        self.stream = sys.stderr if stream is None else stream
        self.enabled = _is_tty(self.stream)
        self.clock = clock
        self.start = clock()
        self.last = -INTERVAL
        self.done = 0
        self.shown = False

    def update(self, layer: int, n: int) -> None:
        """Record ``n`` more units done while working on ``layer``."""
        self.done += n
        if not self.enabled:
            return
        now = self.clock()
        elapsed = now - self.start
        if elapsed < DELAY or now - self.last < INTERVAL:
            return
        self.last = now
        left = elapsed * (self.total - self.done) / max(self.done, 1)
        line = f"{self.stage}: layer {layer}, {self.done:,}/{self.total:,} done, about {left:.0f} s left"
        self.stream.write("\r" + line + "\033[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """Erase the line if one was shown."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


_ACTIVE: ContextVar[Progress | None] = ContextVar("backprop_derive_progress", default=None)


@contextmanager
def tracking(stage: str, total: int, stream: TextIO | None = None) -> Iterator[Progress]:
    """Make a Progress the one :func:`tick` reports to; inside another tracking, keep the outer one.

    A stage that calls another (the per-layer derivation derives a proxy net unit
    by unit) counts the inner stage's work in its own ``total``.
    """
    outer = _ACTIVE.get()
    if outer is not None:
        yield outer
        return
    p = Progress(stage, total, stream=stream)
    token = _ACTIVE.set(p)
    try:
        yield p
    finally:
        _ACTIVE.reset(token)
        p.close()


def tick(layer: int, n: int = 1) -> None:
    """Report ``n`` units of work on ``layer`` to the tracked stage, if there is one."""
    p = _ACTIVE.get()
    if p is not None:
        p.update(layer, n)
