"""Independent jobs on a fixed number of worker slots: the one scheduling loop of the project.

``scsr sweep``'s local executor (:func:`scsr.sweep.executors.run_local`) and the ablation
benchmark (``benchmarks/ablation.py``) both hand their jobs to a :class:`JobQueue`. It keeps
at most one job running per slot, starts them in order, and yields each job's end as a
:class:`Finished` event (or a :class:`Skipped` one, when ``admit`` turns a job away before it
starts). How a job runs is the caller's: ``start(job, slot)`` returns a :class:`Handle` (a
worker process, a pool future, a call that already ran here). So is what an outcome means:
between events the caller may put a job back (:meth:`JobQueue.retry`), and after the loop
has returned early (``stop_when``) or been interrupted, end what still runs
(:meth:`JobQueue.stop`).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any


class Handle:
    """A started job: poll :meth:`done`, then read :meth:`outcome`."""

    def done(self) -> bool:
        """Whether the job has ended."""
        raise NotImplementedError

    def outcome(self) -> Any:
        """What the job ended with (called once, after :meth:`done`)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Ask a running job to end (by default there is no way to ask)."""

    def join(self) -> None:
        """Wait for a job that was asked to :meth:`stop` (by default: nothing to wait for)."""


class Done(Handle):
    """A job that had ended by the time it was started (it ran in this process)."""

    def __init__(self, outcome: Any) -> None:
        self._outcome = outcome

    def done(self) -> bool:
        return True

    def outcome(self) -> Any:
        return self._outcome


@dataclass(frozen=True)
class Skipped:
    """``job`` (number ``index`` of the list) was not started: ``admit`` gave ``reason``."""

    index: int
    job: Any
    reason: str


@dataclass(frozen=True)
class Finished:
    """``job`` ended on ``slot`` with ``outcome``, ``seconds`` after it was started."""

    index: int
    job: Any
    slot: int
    outcome: Any
    seconds: float
    handle: Handle


class JobQueue:
    """Runs ``jobs`` in order on ``slots`` slots; see the module docstring.

    Parameters
    ----------
    start : ``start(job, slot) -> Handle``, called when a slot is free.
    admit : ``admit(job) -> reason or None``, asked just before a job would start; a reason
        skips the job.
    tick : seconds to sleep when a pass over the slots started and ended nothing.
    """

    def __init__(self, jobs: Iterable[Any], slots: int, start: Callable[[Any, int], Handle],
                 admit: Callable[[Any], str | None] | None = None, tick: float = 0.5) -> None:
        self.slots, self.start, self.admit, self.tick = slots, start, admit, tick
        self.pending: collections.deque[tuple[int, Any]] = collections.deque(enumerate(jobs))
        #: slot → (index, job, handle, perf_counter at start), in the order they started
        self.running: dict[int, tuple[int, Any, Handle, float]] = {}

    def retry(self, event: Finished) -> None:
        """Put a finished job back at the head of the queue (it starts on the next free
        slot)."""
        self.pending.appendleft((event.index, event.job))

    def run(self, stop_when: Callable[[], bool] | None = None
            ) -> Iterator[Skipped | Finished]:
        """Start and collect jobs until none is left; return early (leaving the running and
        pending jobs in place) once ``stop_when()`` is true while some job runs."""
        while self.pending or self.running:
            moved = False
            for slot in range(self.slots):
                if slot in self.running or not self.pending:
                    continue
                moved = True
                index, job = self.pending.popleft()
                reason = self.admit(job) if self.admit else None
                if reason is not None:
                    yield Skipped(index, job, reason)
                    continue
                self.running[slot] = (index, job, self.start(job, slot), time.perf_counter())
            for slot, (index, job, handle, began) in list(self.running.items()):
                if not handle.done():
                    continue
                moved = True
                del self.running[slot]
                outcome = handle.outcome()
                yield Finished(index, job, slot, outcome, time.perf_counter() - began, handle)
            if self.running and stop_when is not None and stop_when():
                return
            if not moved:
                time.sleep(self.tick)

    def stop(self) -> tuple[list[Any], list[Any]]:
        """Stop every running job (all are asked first, then each is waited for); return the
        jobs that were running and those never started, and forget both."""
        handles = [handle for _, _, handle, _ in self.running.values()]
        for handle in handles:
            handle.stop()
        for handle in handles:
            handle.join()
        running = [job for _, job, _, _ in self.running.values()]
        pending = [job for _, job in self.pending]
        self.running.clear()
        self.pending.clear()
        return running, pending
