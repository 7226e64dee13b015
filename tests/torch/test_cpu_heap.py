"""``scsr.model.cpu_heap``: importing a CPU kernel module sets glibc's malloc to keep freed
memory, after which arrays freed and allocated again cost no page faults; the opt-out and
glibc's own settings leave malloc alone. Each case runs in a fresh interpreter, since the
setting is per process and one-way."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")

_PROBE = """
import resource, torch
import scsr.model.scan_cpu  # what the network imports on its first CPU scan
from scsr.model.cpu_heap import keep_freed_memory
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # the first rounds grow the heap; 16 MiB each, as in train_speed
    a = torch.ones(4 << 20); b = torch.ones(4 << 20); del a, b
before = faults()
a = torch.ones(4 << 20); b = torch.ones(4 << 20)
print(keep_freed_memory(), faults() - before)
"""


def _probe(**env: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _PROBE], env={**os.environ, **env},
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0], int(out[1])


def test_freed_arrays_are_reused_without_page_faults() -> None:
    kept, faults = _probe()
    assert kept == "True"
    assert faults < 100  # two 16 MiB arrays on fresh pages: 8,192


def test_opt_out_and_glibc_settings_leave_malloc_alone() -> None:
    assert _probe(SCSR_KEEP_FREED_MEMORY="0")[0] == "False"
    assert _probe(MALLOC_TRIM_THRESHOLD_="1000000")[0] == "False"
    assert _probe(GLIBC_TUNABLES="glibc.malloc.trim_threshold=1000000")[0] == "False"
