"""The sweep's progress bar: points done / cached / failed of the total, and an ETA.

On a terminal one line is redrawn in place; otherwise (a log file, CI) a plain line is
written every :data:`INTERVAL` seconds and once at the end.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

INTERVAL = 5.0


class Progress:
    """Counts points as they finish; ``cached`` are known before anything runs."""

    def __init__(self, total: int, cached: int, stream: TextIO | None = None) -> None:
        self.total, self.cached, self.done, self.failed = total, cached, 0, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.began = self.last = time.monotonic()
        self._show(force=True)

    def update(self, failed: bool = False) -> None:
        """One more point finished (or failed)."""
        if failed:
            self.failed += 1
        else:
            self.done += 1
        self._show()

    def line(self) -> str:
        finished = self.done + self.failed
        left = self.total - self.cached - finished
        elapsed = time.monotonic() - self.began
        eta = f"{elapsed / finished * left:.0f} s" if finished and left else "-"
        width = 24
        filled = round(width * (self.total - left) / max(self.total, 1))
        return (f"sweep [{'#' * filled}{'.' * (width - filled)}] "
                f"{self.total - left}/{self.total} points: {self.done} done, {self.cached} "
                f"cached, {self.failed} failed; {elapsed:.0f} s, ETA {eta}")

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line())
        elif force or now - self.last >= INTERVAL:
            self.stream.write(self.line() + "\n")
            self.last = now
        self.stream.flush()

    def close(self) -> None:
        self.stream.write(("\r" if self.tty else "") + self.line() + "\n")
        self.stream.flush()
