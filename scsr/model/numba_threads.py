"""How many threads a numba kernel of this package runs on, shared by every CPU kernel.

Two rules, both measured on the 2-core machine (``docs/history.md``, "CPU speed"):

- never more than torch's thread count (``scsr train --threads``): other processes were
  promised the remaining cores, and oversubscribing them made jobs 5–20× slower;
- one thread below :data:`PARALLEL_MIN` multiply-adds or neuron-steps, where a parallel
  region's thread hand-off costs more than the work on a busy machine.

And two fixes, run when this module is imported, i.e. before any kernel module's first
kernel: numba's OpenMP layer shares libgomp with torch, and starting it can reset torch's
thread count (:func:`keep_torch_threads`); and glibc's malloc is set to keep freed memory,
without which the kernels' large arrays were page-faulted in afresh on some runs' every step
(:func:`scsr.model.cpu_heap.keep_freed_memory`).
"""

from __future__ import annotations

import numba
import torch

from .cpu_heap import keep_freed_memory

#: Below this much work a kernel runs on one thread.
PARALLEL_MIN = 1 << 20


def keep_torch_threads() -> None:
    """Start numba's thread pool now, then restore torch's thread count.

    Why: starting numba's pool (the first parallel kernel or thread call) can reset torch's
    count to numba's default, every core. Measured: ``torch.set_num_threads(1)``,
    ``torch.get_num_threads()``, then the first numba call left torch at 2 threads (without
    the ``get`` it stayed at 1), so ``--threads 1`` silently became 2. Once the pool runs,
    ``torch.set_num_threads`` sticks.
    """
    threads = torch.get_num_threads()
    numba.get_num_threads()
    torch.set_num_threads(threads)


keep_torch_threads()
keep_freed_memory()


def use_threads(work: int, threads: int | None = None) -> int:
    """Set the thread count of the next kernel for ``work`` and return it: ``threads``
    (default: torch's count now), capped by numba's pool, or one below :data:`PARALLEL_MIN`."""
    wanted = torch.get_num_threads() if threads is None else threads
    n = max(1, min(numba.config.NUMBA_NUM_THREADS, wanted)) if work >= PARALLEL_MIN else 1
    numba.set_num_threads(n)
    return n
