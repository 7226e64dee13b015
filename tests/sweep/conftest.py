"""A tiny trained run and dataset for the sweep tests (trained once per session with the
real ``scsr train``), and the reference study every other test compares with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_scsr
from tests.torch.synthetic import make_dataset

#: The 2 × 2 grid of the end-to-end tests (with 1 QAT epoch per point).
GRID = ("--weight-bits", "3,8", "--state-bits", "8,16", "--decay-bits", "6",
        "--qat-epochs", "1")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(run directory, dataset)``: 12 channels, 3 classes, 8,8 hidden, 2 epochs."""
    root = tmp_path_factory.mktemp("sweep-tiny")
    data = make_dataset(root / "data.npz")
    done = run_scsr("train", data, "--hidden", "8,8", "--epochs", "2", "--qat-epochs", "1",
                    "--threads", "1", "--out", root / "run")
    assert done.returncode == 0, done.stderr
    return root / "run", data


def sweep(tiny: tuple[Path, Path], out: Path, *extra: str, timeout: float = 600):
    run, data = tiny
    return run_scsr("sweep", run, "--data", data, *extra, "--out", out, timeout=timeout)


@pytest.fixture(scope="session")
def reference(tiny: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2 × 2 study run serially (one worker, in-process)."""
    out = tmp_path_factory.mktemp("sweep-ref") / "study"
    done = sweep(tiny, out, *GRID, "--workers", "1")
    assert done.returncode == 0, done.stderr
    return out
