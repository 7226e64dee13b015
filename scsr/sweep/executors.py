"""Where a sweep's points run: a local process pool or a Dask cluster.

Both take a picklable function and a list of tasks and yield ``(index, result)`` as tasks
finish, ``result`` being the function's return value or the exception it raised. The
order results arrive in never matters: the study sorts by point.

- ``local``: ``workers`` processes (``spawn``; one torch thread each); with one worker the
  tasks run in this process. Either way the tasks go through :class:`scsr.jobs.JobQueue`,
  the scheduler the ablation benchmark uses too, one slot per worker, so a task is handed to
  the pool only when a worker is free. A worker that dies (killed, out of memory) breaks
  the pool: the pool is rebuilt and the tasks that were running in it are retried, each at
  most :data:`ATTEMPTS` times, then reported as failed.
- ``dask``: ``dask.distributed`` — an existing scheduler (``tcp://HOST:PORT``, which a lab
  starts on its machines or on SLURM with ``dask-jobqueue``), or a ``LocalCluster`` of
  ``workers`` single-threaded processes. Dask itself retries a task whose worker died
  (``distributed.scheduler.allowed-failures``) and then raises ``KilledWorker``.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from golden_model.errors import ScsrError
from scsr.jobs import Done, Handle, JobQueue

EXECUTORS = ("local", "dask")
#: Tries of one task in the local pool before it is reported failed.
ATTEMPTS = 2
#: Seconds to wait for a Dask scheduler to answer before giving up.
CONNECT_TIMEOUT = 5.0
#: Seconds between looks at the pool's tasks while none has ended.
_TICK = 0.05

Results = Iterator[tuple[int, Any]]


class WorkerDied(RuntimeError):
    """A local worker process ended without a result (killed, out of memory)."""


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


class _Call(Handle):
    """A task in the pool: its outcome is the function's value or the exception it raised."""

    def __init__(self, future: cf.Future, pool: cf.ProcessPoolExecutor) -> None:
        self.future, self.pool = future, pool

    def done(self) -> bool:
        return self.future.done()

    def outcome(self) -> Any:
        try:
            return self.future.result()
        except Exception as exc:
            return exc


class _Pool:
    """Starts tasks in a ``spawn`` process pool; a broken pool is replaced by a new one."""

    def __init__(self, fn: Callable[[Any], Any], workers: int) -> None:
        self.fn, self.workers = fn, workers
        self.pool: cf.ProcessPoolExecutor | None = None

    def start(self, task: Any, slot: int) -> Handle:
        if self.pool is None:
            self.pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker)
        return _Call(self.pool.submit(self.fn, task), self.pool)

    def broken(self, call: _Call) -> None:
        """``call`` died with its pool: drop that pool, unless it was already replaced."""
        if call.pool is self.pool:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _run_here(fn: Callable[[Any], Any]) -> Callable[[Any, int], Handle]:
    def start(task: Any, slot: int) -> Handle:
        try:
            return Done(fn(task))
        except Exception as exc:
            return Done(exc)
    return start


def run_local(fn: Callable[[Any], Any], tasks: list[Any], workers: int) -> Results:
    """Run ``tasks`` in ``workers`` processes (here when ``workers`` is 1)."""
    if workers <= 1:
        for event in JobQueue(tasks, 1, _run_here(fn)).run():
            yield event.index, event.outcome
        return
    pool = _Pool(fn, min(workers, len(tasks)))
    queue = JobQueue(tasks, pool.workers, pool.start, tick=_TICK)
    attempts = dict.fromkeys(range(len(tasks)), 0)
    try:
        for event in queue.run():
            outcome = event.outcome
            if isinstance(outcome, BrokenProcessPool):
                pool.broken(event.handle)
                attempts[event.index] += 1
                if attempts[event.index] < ATTEMPTS:
                    queue.retry(event)
                    continue
                outcome = WorkerDied(f"worker process died {ATTEMPTS} times")
            yield event.index, outcome
    finally:
        pool.close()


def connect(scheduler: str | None, workers: int) -> tuple[Any, Any]:
    """``(client, cluster or None)``; an unreachable scheduler is a one-line error after
    :data:`CONNECT_TIMEOUT` seconds."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ScsrError("--executor", "dask", "needs dask.distributed: pip install "
                                              "'dask[distributed]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False), None
        except (OSError, TimeoutError, ValueError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ScsrError("--scheduler", scheduler, f"no Dask scheduler answered within "
                                                      f"{CONNECT_TIMEOUT:g} s ({first})") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster, set_as_default=False), cluster


def probe(scheduler: str) -> None:
    """Connect to ``scheduler`` and disconnect: the one-line error of :func:`connect` if
    it does not answer."""
    client, _ = connect(scheduler, 0)
    client.close()


def run_dask(fn: Callable[[Any], Any], tasks: list[Any], workers: int,
             scheduler: str | None) -> Results:
    """Run ``tasks`` on a Dask cluster (``scheduler``) or a new ``LocalCluster``."""
    from distributed import as_completed

    client, cluster = connect(scheduler, workers)
    try:
        futures = {client.submit(fn, task, pure=False, key=f"scsr-sweep-{os.getpid()}-{i}"): i
                   for i, task in enumerate(tasks)}
        for future in as_completed(list(futures), loop=client.loop):
            index = futures[future]
            try:
                yield index, future.result()
            except Exception as exc:
                yield index, exc
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_tasks(kind: str, fn: Callable[[Any], Any], tasks: list[Any], workers: int,
              scheduler: str | None = None) -> Results:
    """Dispatch to :func:`run_local` or :func:`run_dask`."""
    if kind == "dask":
        return run_dask(fn, tasks, workers, scheduler)
    if scheduler:
        raise ScsrError("--scheduler", scheduler, "needs --executor dask")
    return run_local(fn, tasks, workers)
