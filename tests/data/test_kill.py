"""``scsr dataset build`` killed with SIGKILL at random moments: the rerun writes the same
bytes as an uninterrupted build, and the cache never serves a half-written entry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT

BUILD = ("dataset", "build", "digits", "--train-per-class", "2", "--test-per-class", "1",
         "--speakers", "4", "--workers", "1", "--no-augment")


def _build(out: Path, cache: Path, kill_after: float | None = None) -> int | None:
    process = subprocess.Popen([sys.executable, "-m", "scsr", *BUILD, "--out", str(out),
                                "--cache", str(cache)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    if kill_after is None:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        return 0
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None
    return process.returncode


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> bytes:
    root = tmp_path_factory.mktemp("clean")
    _build(root / "d.npz", root / "cache")
    return (root / "d.npz").read_bytes()


@pytest.mark.slow
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kill_after=st.floats(0.3, 8.0), twice=st.booleans())
def test_a_killed_build_reruns_to_the_same_bytes(clean, tmp_path_factory, kill_after, twice):
    root = tmp_path_factory.mktemp("killed")
    out, cache = root / "d.npz", root / "cache"
    _build(out, cache, kill_after)
    if twice:  # killed again while rebuilding
        _build(out, cache, kill_after / 2)
    _build(out, cache)
    assert out.read_bytes() == clean
    entries = list(cache.glob("*.npz"))
    assert len(entries) == 1 and entries[0].read_bytes() == clean  # a second build reads it
    again = root / "again.npz"
    _build(again, cache)
    assert again.read_bytes() == clean
