"""How much memory one input may ask for, checked before anything is allocated.

A few kilobytes of compressed zeros or a header that claims 10⁷ samples would otherwise make
the process take gigabytes before it fails (or before the kernel kills it). Every reader that
sizes an allocation from its input asks :func:`check_bytes` first. The limit is half of the
memory the machine has available when asked (Linux ``MemAvailable``), or the size in the
environment variable ``SCSR_MEMORY_LIMIT`` (``512M``, ``8G``, or bytes) when set.
"""

from __future__ import annotations

import os

from .errors import ScsrError

ENV = "SCSR_MEMORY_LIMIT"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str, where: str = ENV) -> int:
    """``"512M"`` → bytes (binary units K, M, G, T; a plain number is bytes)."""
    value = text.strip().upper().removesuffix("B")
    number, unit = (value[:-1], value[-1]) if value[-1:] in _UNITS else (value, "")
    try:
        size = int(float(number) * _UNITS[unit])
    except (ValueError, OverflowError):
        raise ScsrError(where, "", f"{text!r} is not a size (e.g. 512M, 8G)") from None
    if size <= 0:
        raise ScsrError(where, "", f"{text!r} must be positive")
    return size


def available_bytes() -> int:
    """Memory the machine can give without swapping, from ``/proc/meminfo``; physical
    memory where that file does not exist."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_limit() -> int:
    """The most bytes one input may ask for (module docstring)."""
    text = os.environ.get(ENV)
    return parse_size(text) if text else available_bytes() // 2


def format_size(size: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if size >= _UNITS[unit]:
            return f"{size / _UNITS[unit]:.1f} {unit}iB"
    return f"{size} B"


def check_bytes(where: str, field: str, size: int, what: str = "needs") -> None:
    """Refuse an input that would take more than :func:`memory_limit` bytes."""
    limit = memory_limit()
    if size > limit:
        source = (f"from {ENV}" if os.environ.get(ENV)
                  else f"half the available memory; set {ENV} to change it")
        raise ScsrError(where, field, f"{what} {format_size(size)}, more than the "
                                      f"{format_size(limit)} limit ({source})")
