"""Keep freed memory in the process, so that the CPU kernels' large arrays are not page-faulted
in afresh on every training step.

A training step on the CPU allocates and frees the same few large arrays every time (the
scan's ``s``, ``I``, ``v`` and ``dL/dx``, the matmul's output and gradients: 16 MiB each at
B=16, T=500, N=512). glibc's malloc serves such arrays from fresh ``mmap`` pages or from a
heap that it trims whenever more than 2× the largest array is free at its top, and which one
it does depends on the order of earlier allocations and frees, so it changes from one process
to the next: ``benchmarks/train_speed.py`` counted 4,000, 8,000 or 12,000 minor page faults
per ``fused`` step in different runs (its ``faults`` record), each ≈ 4 µs on this 2-core KVM
machine (one 16 MiB array: 15–20 ms, against 1.5–2 ms to rewrite it), up to 50 ms on a
step that takes 50–80 ms without them. With freed memory kept: 0 per step in 11 of 14 runs,
4,000 (one array) in the other 3, where the heap still grew from fragments.

:func:`keep_freed_memory` (run by :mod:`scsr.model.numba_threads`, i.e. when a CPU kernel
module is first imported) tells glibc to serve every size from its heap (``M_MMAP_MAX = 0``)
and to return memory to the system only above 2 GiB free at the top (``M_TRIM_THRESHOLD``).
The cost: the process keeps its peak heap size (up to 2 GiB more) until it exits.
``SCSR_KEEP_FREED_MEMORY=0``, or any of glibc's own malloc settings in the environment, leaves
malloc as it is; other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import os
import platform

#: Environment variable that leaves glibc's malloc settings alone (``0``).
OPT_OUT = "SCSR_KEEP_FREED_MEMORY"
#: glibc's own settings; any of them in the environment means the user chose already.
GLIBC_SETTINGS = ("MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                  "MALLOC_TOP_PAD_")
# mallopt parameters, glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: Largest value mallopt takes (a C int): trim only above 2 GiB free at the heap's top.
TRIM_THRESHOLD = 2**31 - 1

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's malloc to keep freed memory (see the module docstring), once per process;
    return whether it is set."""
    global _applied
    if _applied is None:
        _applied = _wanted() and _mallopt()
    return _applied


def _wanted() -> bool:
    if os.environ.get(OPT_OUT, "1") == "0" or platform.libc_ver()[0] != "glibc":
        return False
    return (not any(name in os.environ for name in GLIBC_SETTINGS)
            and "glibc.malloc." not in os.environ.get("GLIBC_TUNABLES", ""))


def _mallopt() -> bool:
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    # mallopt returns 1 on success; the trim setting first, so a refused mmap one keeps it.
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) & bool(mallopt(_M_MMAP_MAX, 0))
