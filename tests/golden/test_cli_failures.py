"""Failures the machine or the input's shape causes reach the user as one line, exit 2.

A write the operating system refuses, a full disk, JSON nested too deep or holding an
integer of thousands of digits, a text file that is not UTF-8: each is named, never a
traceback (``--debug`` keeps the traceback for a bug report).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from golden_model import save_bundle
from scsr.cli import describe_failure
from tests.conftest import ROOT
from tests.golden.helpers import make_bundle


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    import numpy as np

    return save_bundle(make_bundle(3, [("h1", 4), ("out", 2)],
                                   [("input", "h1", 0, np.ones((4, 3))),
                                    ("h1", "out", 0, np.ones((2, 4)))]), tmp_path / "m")


def _one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    return done.stderr.strip()


def test_out_below_a_plain_file_is_named(scsr, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine")
    done = scsr("random-model", "--inputs", "4", "--layers", "8,4", "--bits", "8,16,8",
                "--seed", "1", "--out", tmp_path / "afile" / "m")
    assert _one_line(done) == f"{tmp_path / 'afile'}: is a file, where a directory is needed"
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_full_disk_on_stdout_is_one_line(bundle: Path) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "scsr", "inspect", str(bundle)],
                              cwd=ROOT, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    assert _one_line(done) == "scsr inspect: No space left on device"


@pytest.mark.parametrize(("text", "problem"), [
    ("[" * 200_000 + "]" * 200_000, "maximum recursion depth exceeded"),
    ('{"format": ' + "9" * 5000 + "}", "Exceeds the limit (4300 digits)"),
    (b"{\xc3\x28}", "codec can't decode byte 0xc3"),
])
def test_hostile_manifests_are_one_line(scsr, bundle: Path, text: str | bytes,
                                        problem: str) -> None:
    manifest = bundle / "manifest.json"
    manifest.write_bytes(text if isinstance(text, bytes) else text.encode())
    line = _one_line(scsr("inspect", bundle))
    assert line.startswith(f"{manifest}: is not valid JSON (") and problem in line


def test_a_toml_that_is_not_utf8_is_named(scsr, tmp_path: Path) -> None:
    toml = tmp_path / "t.toml"
    toml.write_bytes(b"\xff\xfe[train]\nepochs = 1\n")
    line = _one_line(scsr("train", "d.npz", "--config", toml, "--out", tmp_path / "r"))
    assert line.startswith(f"{toml}: is not valid TOML (")
    assert not (tmp_path / "r").exists()


def test_bugs_keep_their_traceback() -> None:
    """Only what a user or the machine caused is shortened; a bug stays a traceback."""
    assert describe_failure(ValueError("a bug"), "simulate") is None
    assert describe_failure(KeyError("x"), "simulate") is None
    assert describe_failure(MemoryError(), "train") == (
        "scsr train: out of memory (the input asks for more than this machine has)")
    assert describe_failure(FileNotFoundError(2, "No such file or directory", "x/y"),
                            "rtl") == "x/y: No such file or directory"
    assert describe_failure(OSError(28, "No space left on device", "a", None, "b"),
                            "synth") == "a: No space left on device (to b)"


def test_archives_too_big_for_memory_are_refused_before_reading(monkeypatch) -> None:
    """Sizes come from the zip directory and the array headers, checked before numpy
    allocates: a header claiming 8 TB behind 100 bytes of data costs nothing."""
    import io
    import zipfile

    import numpy as np

    from golden_model import ScsrError
    from golden_model.npzio import npz_bytes, read_npz

    monkeypatch.setenv("SCSR_MEMORY_LIMIT", "1M")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, archive.open("spikes.npy", "w") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
        handle.write(bytes(100))
    with pytest.raises(ScsrError) as info:
        read_npz(buffer.getvalue(), "lie.npz")
    assert str(info.value).startswith("lie.npz: spikes: declares a 1000000x1000000 float64 "
                                      "array of 7.3 TiB, more than the 1.0 MiB limit")
    with pytest.raises(ScsrError, match=r"^big\.npz: decompresses to 2\.0 MiB, more than"):
        read_npz(npz_bytes({"a": np.zeros(2**21, np.uint8)}), "big.npz")
    assert read_npz(npz_bytes({"a": np.arange(3)}), "ok.npz")["a"].tolist() == [0, 1, 2]
