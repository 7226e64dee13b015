"""One progress policy for every long step: a live bar on a terminal, a plain line every few
seconds otherwise (a CI log or ``| tee`` gets a readable record, not hundreds of redraws).

It lives at the bottom of the tree so that ``rtl`` and ``sim`` (which may not import
``scsr``) show progress the same way as the CLI. tqdm is imported only when a bar is made.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

#: Seconds between progress lines when the output is not a terminal.
LINE_INTERVAL_S = 5.0
#: The running :func:`activity` steps, innermost last (only the innermost one ticks).
_ACTIVE: list[threading.Event] = []


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def bar(iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str = "",
        unit: str = "it", leave: bool = True, disable: bool = False,
        stream: TextIO | None = None) -> Any:
    """A tqdm progress bar on stderr; off a terminal, one line every :data:`LINE_INTERVAL_S`
    seconds and one at the end (``desc: n/total [elapsed<eta]``)."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    if is_terminal(stream):
        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, file=stream,
                    disable=disable, dynamic_ncols=True)

    return _Lines(iterable, total, desc, unit, disable, stream)


class _Lines:
    """The off-terminal bar: the subset of tqdm's API that the project uses, printing
    ``desc: n/total (pct) elapsed, eta`` at most every :data:`LINE_INTERVAL_S` seconds and
    once at the end."""

    def __init__(self, iterable: Iterable[Any] | None, total: int | None, desc: str,
                 unit: str, disable: bool, stream: TextIO) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.disable, self.stream, self.n, self.postfix = disable, stream, 0, ""
        self.start = self.last = time.perf_counter()
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable or ():
            yield item
            self.update()
        self.close()

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self) -> str:
        elapsed = time.perf_counter() - self.start
        done = f"{self.n}/{self.total}" if self.total else str(self.n)
        line = f"{self.desc}: {done} {self.unit}"
        if self.total:
            line += f" ({100 * self.n / self.total:.0f} %)"
        line += f", {elapsed:.0f} s"
        if self.total and 0 < self.n < self.total:
            line += f", about {elapsed * (self.total - self.n) / self.n:.0f} s left"
        return line + (f" [{self.postfix}]" if self.postfix else "")

    def _emit(self) -> None:
        if not self.disable:
            self.stream.write(self._line() + "\n")
            self.stream.flush()
        self.last = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.perf_counter() - self.last >= LINE_INTERVAL_S:
            self._emit()

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.n:
                self._emit()


def write(text: str, stream: TextIO | None = None) -> None:
    """Print a line without breaking a live bar."""
    from tqdm import tqdm

    tqdm.write(text, file=stream or sys.stderr)


@contextlib.contextmanager
def activity(desc: str, stream: TextIO | None = None) -> Iterator[None]:
    """Say that a step without a countable total (a Verilator build, a place-and-route) is
    running: a ticking elapsed time on a terminal, a line every :data:`LINE_INTERVAL_S` × 2
    seconds otherwise, and ``desc: done in X s`` at the end."""
    own = None
    if stream is None:
        # A copy of fd 2 as it is now: the step may point fd 2 at its own log (the
        # simulators' C code writes there), and the ticks should still be seen.
        try:
            sys.stderr.flush()
            own = stream = os.fdopen(os.dup(sys.stderr.fileno()), "w")
        except (AttributeError, OSError, ValueError):
            stream = sys.stderr
    tty = is_terminal(stream)
    start = time.perf_counter()
    stop = threading.Event()

    def tick() -> None:
        period = 1.0 if tty else 2 * LINE_INTERVAL_S
        while not stop.wait(period):
            if _ACTIVE[-1] is not stop:
                continue  # an inner step is running and says so itself
            elapsed = time.perf_counter() - start
            if tty:
                stream.write(f"\r{desc} ... {elapsed:.0f} s")
            else:
                stream.write(f"{desc} ... {elapsed:.0f} s\n")
            stream.flush()

    stream.write(f"{desc} ...\n" if not tty else f"{desc} ...")
    stream.flush()
    ticker = threading.Thread(target=tick, daemon=True)
    _ACTIVE.append(stop)
    ticker.start()
    ok = False
    try:
        yield
        ok = True
    finally:
        _ACTIVE.remove(stop)
        stop.set()
        ticker.join()
        elapsed = time.perf_counter() - start
        end = "done" if ok else "stopped"
        stream.write(("\r" if tty else "") + f"{desc}: {end} in {elapsed:.1f} s\n")
        stream.flush()
        if own is not None:
            own.close()


__all__ = ["LINE_INTERVAL_S", "activity", "bar", "is_terminal", "write"]
