"""Where a sweep's points run: a local process pool or a Dask cluster.

Both take a picklable function and a list of tasks and yield ``(index, result)`` as tasks
finish, ``result`` being the function's return value or the exception it raised. The
order results arrive in never matters: the study sorts by point.

- ``local``: ``workers`` processes (``spawn``; one torch thread each); with one worker the
  tasks run in this process. A worker that dies (killed, out of memory) breaks the pool:
  the pool is rebuilt and the unfinished tasks are retried, each at most
  :data:`ATTEMPTS` times, then reported as failed.
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

EXECUTORS = ("local", "dask")
#: Tries of one task in the local pool before it is reported failed.
ATTEMPTS = 2
#: Seconds to wait for a Dask scheduler to answer before giving up.
CONNECT_TIMEOUT = 5.0

Results = Iterator[tuple[int, Any]]


class WorkerDied(RuntimeError):
    """A local worker process ended without a result (killed, out of memory)."""


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def run_local(fn: Callable[[Any], Any], tasks: list[Any], workers: int) -> Results:
    """Run ``tasks`` in ``workers`` processes (here when ``workers`` is 1)."""
    if workers <= 1:
        for index, task in enumerate(tasks):
            try:
                yield index, fn(task)
            except Exception as exc:
                yield index, exc
        return
    attempts = dict.fromkeys(range(len(tasks)), 0)
    pending = list(range(len(tasks)))
    while pending:
        pool = cf.ProcessPoolExecutor(max_workers=min(workers, len(pending)),
                                      mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_init_worker)
        futures = {pool.submit(fn, tasks[i]): i for i in pending}
        pending = []
        try:
            for future in cf.as_completed(futures):
                index = futures[future]
                try:
                    yield index, future.result()
                except BrokenProcessPool:
                    attempts[index] += 1
                    if attempts[index] < ATTEMPTS:
                        pending.append(index)
                    else:
                        yield index, WorkerDied(f"worker process died {ATTEMPTS} times")
                except Exception as exc:
                    yield index, exc
        finally:
            pool.shutdown(wait=not pending, cancel_futures=True)
        pending.sort()


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
