"""Shared pytest fixtures: running the ``scsr`` CLI as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_scsr(
    *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run ``python -m scsr ARGS`` and capture its output (no shell, no installed script needed)."""
    return subprocess.run([sys.executable, "-m", "scsr", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def scsr():
    """The CLI as a subprocess: ``scsr("simulate", "--bundle", ...)``."""
    return run_scsr
