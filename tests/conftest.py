"""Shared pytest fixtures: running the ``scsr`` CLI as a real subprocess; loading scripts."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_script(path: str):
    """A script outside the package (``benchmarks/``, ``tools/``) as a module, by its path
    relative to the repository root."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_scsr(
    *args: str, cwd: Path | None = None, timeout: float = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``python -m scsr ARGS`` and capture its output (no shell, no installed script
    needed); ``env`` adds variables to this process's environment."""
    return subprocess.run([sys.executable, "-m", "scsr", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env} if env else None)


@pytest.fixture
def scsr():
    """The CLI as a subprocess: ``scsr("simulate", "--bundle", ...)``."""
    return run_scsr
