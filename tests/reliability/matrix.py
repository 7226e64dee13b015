"""The bad-input matrix: every input the project reads × the faults a user (or a hostile
file) brings, each with the one line ``scsr`` must answer and exit code 2.

One row is one real run of the CLI in a scratch directory (relative paths, so the message is
the same on every machine). ``tests/reliability/test_matrix.py`` runs every row and checks
the exact message, that nothing was written and that nothing foreign was lost;
``docs/reliability.md`` shows the same rows, rendered from this list
(``python -m tests.reliability.matrix`` rewrites it, and a test fails if it is stale).
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden_model import FixedPoint, save_bundle
from golden_model.npzio import npz_bytes
from golden_model.random_bundle import RandomSpec, random_bundle
from tests.data.helpers import wav_bytes, write_ntidigits, write_shd, write_shd_claiming
from tests.golden.helpers import edit_arrays, edit_manifest

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
ANSWERS = Path(__file__).with_name("answers.json")
BEGIN, END = "<!-- matrix:begin -->", "<!-- matrix:end -->"
#: Rows that size memory from their input see this limit, so their messages are stable.
MEMORY_LIMIT = "1G"


@dataclass(frozen=True)
class Row:
    """``setup`` writes the faulty input into the current directory and returns the argv."""

    input: str
    fault: str
    setup: Callable[[], list[str]]
    out: str | None = None      # must not exist after the run
    keep: str | None = None     # a foreign file that must survive the run
    stdout: str | None = None   # run with stdout sent here (a full disk is /dev/full)

    @property
    def id(self) -> str:
        return f"{self.input}: {self.fault}"

    @property
    def message(self) -> str:
        """The recorded answer (``answers.json``)."""
        return answers().get(self.id, "(not recorded)")


def answers() -> dict[str, str]:
    return json.loads(ANSWERS.read_text()) if ANSWERS.exists() else {}


# --------------------------------------------------------------------------- fixtures
def bundle(path: str = "m") -> str:
    """A valid small bundle at ``path`` (4 channels → 5 → 3)."""
    if not Path(path).exists():
        save_bundle(random_bundle(RandomSpec(4, (5, 3), FixedPoint(8, 16, 8), seed=1,
                                             timesteps=10)), path)
    return path


def spikes(path: str = "x.npz", **arrays: np.ndarray) -> str:
    arrays = arrays or {"spikes": np.zeros((2, 5, 4), np.uint8)}
    Path(path).write_bytes(npz_bytes(arrays))
    return path


def edited(change: Callable[[dict], None], root: str = "bad") -> str:
    """A copy of the valid bundle with its manifest changed."""
    shutil.copytree(bundle(), root)
    edit_manifest(Path(root), change)
    return root


def with_arrays(change: Callable[[dict[str, np.ndarray]], None], root: str = "bad",
                raw: bytes | None = None) -> str:
    """A copy of the valid bundle with arrays.npz changed (or replaced by ``raw``) and its
    hash updated, so only the array problem is left."""
    shutil.copytree(bundle(), root)
    edit_arrays(Path(root), change, raw)
    return root


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """An .npy member that claims ``shape`` but holds 100 bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue() + bytes(100)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def pickled() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def simulate(spike_file: str, out: str = "y.npz") -> list[str]:
    return ["simulate", "--bundle", bundle(), "--input", spike_file, "--out", out]


def wav_folder(data: bytes, name: str = "a/x.wav") -> list[str]:
    """A two-class WAV folder where one file is ``data``."""
    tone = wav_bytes(0.3 * np.sin(np.arange(4000) / 3.0), 8000)
    for path in ("a/ok.wav", "b/ok.wav", "b/ok2.wav", "a/ok2.wav"):
        Path(path).parent.mkdir(exist_ok=True)
        Path(path).write_bytes(tone)
    Path(name).write_bytes(data)
    return ["dataset", "import", "wav", ".", "--out", "ds.npz"]


def wav_header(rate: int = 8000, bits: int = 16, fmt: int = 1) -> bytes:
    data = bytearray(wav_bytes(0.3 * np.sin(np.arange(4000) / 3.0), 8000))
    data[20:22] = fmt.to_bytes(2, "little")
    data[24:28] = rate.to_bytes(4, "little")
    data[34:36] = bits.to_bytes(2, "little")
    return bytes(data)


def shd(train: Callable[[str], None]) -> list[str]:
    Path("shd").mkdir(exist_ok=True)
    write_shd("shd/shd_test.h5", [([0.0], [0])], [0])
    train("shd/shd_train.h5")
    return ["dataset", "import", "shd", "shd", "--out", "ds.npz"]


def dataset(path: str = "ds.npz") -> str:
    """A valid small dataset file (two SHD-format samples per split)."""
    if not Path(path).exists():
        from scsr.data import importers
        from scsr.data.store import save_dataset

        Path("shd").mkdir(exist_ok=True)
        write_shd("shd/shd_train.h5", [([0.0], [0]), ([0.01], [1])], [0, 1])
        write_shd("shd/shd_test.h5", [([0.0], [0])], [0])
        save_dataset(importers.import_shd("shd", timesteps=10), path)
    return path


def toml(text: bytes) -> list[str]:
    Path("c.toml").write_bytes(text)
    return ["train", dataset(), "--config", "c.toml", "--out", "run"]


def write(path: str, data: bytes) -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data)
    return path


def foreign(path: str) -> str:
    """A directory holding someone else's file."""
    write(f"{path}/notes.txt", b"keep me")
    return path


# --------------------------------------------------------------------------------- rows
def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


ROWS: list[Row] = [
    # bundles (§5), read by every command that takes one
    Row("bundle", "missing", lambda: ["inspect", "nothere"]),
    Row("bundle", "empty directory", lambda: (Path("e").mkdir(), ["inspect", "e"])[1]),
    Row("bundle", "wrong kind (a file)", lambda: ["inspect", f"{bundle()}/manifest.json"]),
    Row("bundle", "truncated manifest",
        lambda: ["inspect", edited(lambda m: None) and write("bad/manifest.json", b'{"for')
                 and "bad"]),
    Row("bundle", "manifest not UTF-8",
        lambda: ["inspect", edited(lambda m: None) and write("bad/manifest.json", b"\xff{}")
                 and "bad"]),
    Row("bundle", "JSON nested 200,000 deep",
        lambda: ["inspect", edited(lambda m: None)
                 and write("bad/manifest.json", _deep(200_000)) and "bad"]),
    Row("bundle", "integer of 5,000 digits",
        lambda: ["inspect", edited(lambda m: None) and write("bad/manifest.json", Path(
            "bad/manifest.json").read_bytes().replace(b'"version": 1', b'"version": 1'
                                                      + b"0" * 4999)) and "bad"]),
    Row("bundle", "value out of range",
        lambda: ["inspect", with_arrays(lambda a: a.__setitem__("h1.theta", np.zeros(5, int)))]),
    Row("bundle", "wrong dtype (float weights)",
        lambda: ["inspect", with_arrays(
            lambda a: a.__setitem__("input->h1", a["input->h1"].astype(np.float32)))]),
    Row("bundle", "NaN in an array",
        lambda: ["inspect", with_arrays(
            lambda a: a.__setitem__("h1.alpha", np.full(5, np.nan)))]),
    Row("bundle", "truncated arrays.npz",
        lambda: ["inspect", with_arrays(lambda a: None, raw=npz_bytes({"x": np.zeros(9)})[:60])]),
    Row("bundle", "absurd size (header claims 7 TiB)",
        lambda: ["inspect", with_arrays(lambda a: None, raw=zip_of(
            {"h1.theta.npy": npy_header((10**6, 10**6))}))]),
    Row("bundle", "pickled object array",
        lambda: ["inspect", with_arrays(lambda a: None, raw=zip_of(
            {"h1.theta.npy": pickled()}))]),
    Row("bundle", "path trick (member ../x.npy)",
        lambda: ["inspect", with_arrays(lambda a: None, raw=zip_of(
            {"../x.npy": npy_bytes(np.zeros(1))}))]),
    Row("bundle", "arrays changed after hashing",
        lambda: ["inspect", edited(lambda m: m.update(arrays_sha256="0" * 64))]),
    # spike files (§6), scsr simulate
    Row("spike file", "missing", lambda: simulate("nothere.npz"), out="y.npz"),
    Row("spike file", "empty", lambda: simulate(write("x.npz", b"")), out="y.npz"),
    Row("spike file", "truncated",
        lambda: simulate(write("x.npz", Path(spikes()).read_bytes()[:50])), out="y.npz"),
    Row("spike file", "wrong kind (a directory)",
        lambda: simulate((Path("d.npz").mkdir(), "d.npz")[1]), out="y.npz"),
    Row("spike file", "wrong dtype",
        lambda: simulate(spikes(spikes=np.zeros((2, 5, 4), np.float32))), out="y.npz"),
    Row("spike file", "value out of range (2)",
        lambda: simulate(spikes(spikes=np.full((2, 5, 4), 2, np.uint8))), out="y.npz"),
    Row("spike file", "wrong channel count",
        lambda: simulate(spikes(spikes=np.zeros((2, 5, 3), np.uint8))), out="y.npz"),
    Row("spike file", "empty batch",
        lambda: simulate(spikes(spikes=np.zeros((0, 5, 4), np.uint8))), out="y.npz"),
    Row("spike file", "absurd size (2 GB of zeros)",
        lambda: simulate(write("x.npz", zip_of({"spikes.npy": npy_header((2000, 1000, 1000),
                                                                         "|u1")}))), out="y.npz"),
    Row("spike file", "label out of range",
        lambda: simulate(spikes(spikes=np.zeros((2, 5, 4), np.uint8),
                                labels=np.array([0, 7]))), out="y.npz"),
    # where results go
    Row("--out", "is a directory", lambda: simulate(spikes(), (Path("o").mkdir(), "o")[1])),
    Row("--out", "under a plain file",
        lambda: simulate(spikes(), write("f", b"x") and "f/y.npz"), out="f/y.npz"),
    Row("--out", "not writable (/proc)", lambda: simulate(spikes(), "/proc/y.npz"),
        out="/proc/y.npz"),
    Row("stdout", "disk full", lambda: ["inspect", bundle()], stdout="/dev/full"),
    Row("--out", "foreign directory (rtl)",
        lambda: ["rtl", bundle(), "--out", foreign("mine")], keep="mine/notes.txt"),
    Row("--out", "foreign directory (random-model)",
        lambda: ["random-model", "--inputs", "4", "--layers", "5,3", "--bits", "8,16,8",
                 "--seed", "1", "--out", foreign("mine")], keep="mine/notes.txt"),
    Row("--out", "foreign directory (fuzz)",
        lambda: ["fuzz", "--cases", "1", "--backends", "golden", "--out", foreign("mine")],
        keep="mine/notes.txt"),
    Row("--out", "plain file where a directory goes (rtl)",
        lambda: ["rtl", bundle(), "--out", write("mine", b"keep me")], keep="mine"),
    # dataset files
    Row("dataset", "missing", lambda: ["dataset", "show", "nothere.npz"]),
    Row("dataset", "truncated",
        lambda: ["dataset", "show", write("d.npz", Path(dataset()).read_bytes()[:200])]),
    Row("dataset", "wrong kind (a spike file)", lambda: ["dataset", "show", spikes()]),
    Row("dataset", "absurd size (header claims 7 TiB)",
        lambda: ["dataset", "show", write("d.npz", zip_of(
            {"train_spikes.npy": npy_header((10**6, 10**6))}))]),
    # WAV folders (dataset import wav; predict reads files the same way)
    Row("WAV", "empty file", lambda: wav_folder(b""), out="ds.npz"),
    Row("WAV", "not RIFF", lambda: wav_folder(b"hello, this is text"), out="ds.npz"),
    Row("WAV", "truncated header", lambda: wav_folder(wav_header()[:30]), out="ds.npz"),
    Row("WAV", "0 bits per sample", lambda: wav_folder(wav_header(bits=0)), out="ds.npz"),
    Row("WAV", "absurd sample rate", lambda: wav_folder(wav_header(rate=4_000_000_000)),
        out="ds.npz"),
    Row("WAV", "not PCM (A-law)", lambda: wav_folder(wav_header(fmt=6)), out="ds.npz"),
    Row("WAV", "silent", lambda: wav_folder(wav_bytes(np.zeros(4000), 8000)),
        out="ds.npz"),
    Row("WAV", "shorter than 10 ms", lambda: wav_folder(wav_bytes(np.full(40, 0.2), 8000)),
        out="ds.npz"),
    # HDF5 event data
    Row("SHD file", "missing", lambda: shd(lambda p: None), out="ds.npz"),
    Row("SHD file", "not HDF5", lambda: shd(lambda p: write(p, b"not hdf5")),
        out="ds.npz"),
    Row("SHD file", "missing dataset",
        lambda: shd(lambda p: write_shd(p, [], []) or _drop_h5(p, "labels")),
        out="ds.npz"),
    Row("SHD file", "NaN spike time",
        lambda: shd(lambda p: write_shd(p, [([float("nan")], [0])], [0])), out="ds.npz"),
    Row("SHD file", "negative spike time",
        lambda: shd(lambda p: write_shd(p, [([-1.0], [0])], [0])), out="ds.npz"),
    Row("SHD file", "absurd size (claims 10^7 samples)",
        lambda: shd(lambda p: write_shd_claiming(p, 10**7)), out="ds.npz"),
    Row("N-TIDIGITS file", "sample listed but missing",
        lambda: (write_ntidigits("n.hdf5", {"train": {"man-ae-1a": ([0.0], [0])},
                                            "test": {}}) or _drop_h5(
                     "n.hdf5", "train_addresses/man-ae-1a"),
                 ["dataset", "import", "ntidigits", "n.hdf5", "--out", "ds.npz"])[1],
        out="ds.npz"),
    # training settings (TOML) and runs
    Row("train config", "not UTF-8", lambda: toml(b"lr = \xff"), out="run"),
    Row("train config", "syntax error", lambda: toml(b"lr = = 1"), out="run"),
    Row("train config", "unknown key", lambda: toml(b"learning_rate = 0.1"), out="run"),
    Row("train config", "NaN learning rate", lambda: toml(b"lr = nan"), out="run"),
    Row("train config", "zero hidden size", lambda: toml(b"hidden = [0]"), out="run"),
    Row("train config", "impossible bit widths", lambda: toml(b"bits = [1, 16, 8]"),
        out="run"),
    Row("train config", "zero epochs", lambda: toml(b"epochs = 0"), out="run"),
    Row("train run", "--resume without a run",
        lambda: ["train", dataset(), "--out", "norun", "--resume"], out="norun"),
    # other inputs
    Row("NIR graph", "not HDF5",
        lambda: ["nir", "import", write("g.nir", b"text"), "--bits", "8,16,8", "--out", "b"],
        out="b"),
    Row("fuzz reproducer", "not a reproducer", lambda: ["fuzz", "--replay", foreign("mine")]),
    # flags
    Row("flag", "simulate --chunk 0", lambda: [*simulate(spikes()), "--chunk", "0"],
        out="y.npz"),
    Row("flag", "cosim --rate 2", lambda: ["cosim", bundle(), "--rate", "2"]),
    Row("flag", "cosim --rate nan", lambda: ["cosim", bundle(), "--rate", "nan"]),
    Row("flag", "negative seed",
        lambda: ["random-model", "--inputs", "4", "--layers", "5,3", "--bits", "8,16,8",
                 "--seed", "-1", "--out", "r"], out="r"),
    Row("flag", "size that cannot be allocated",
        lambda: ["random-model", "--inputs", "1000000000", "--layers", "1000000000,2",
                 "--bits", "8,16,8", "--seed", "1", "--out", "r"], out="r"),
    Row("flag", "--lanes beyond the generator", lambda: ["rtl", bundle(), "--lanes", "1000",
                                                         "--out", "r"], out="r"),
]


def _drop_h5(path: str, key: str) -> None:
    import h5py

    with h5py.File(path, "a") as f:
        del f[key]


# ------------------------------------------------------------------------------ running
@dataclass(frozen=True)
class Outcome:
    argv: list[str]
    code: int
    stderr: str


def run_row(row: Row) -> Outcome:
    """Set ``row`` up in the current directory and run it: in this process, or as a
    subprocess when its stdout must go to a file (the disk-full row)."""
    import contextlib
    import os
    import subprocess
    import sys

    from scsr.cli import main

    os.environ["SCSR_MEMORY_LIMIT"] = MEMORY_LIMIT
    argv = row.setup()
    if row.stdout is not None:
        with open(row.stdout, "w") as sink:
            done = subprocess.run([sys.executable, "-m", "scsr", *argv], stdout=sink,
                                  stderr=subprocess.PIPE, text=True, check=False)
        return Outcome(argv, done.returncode, done.stderr)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refusing a flag
            code = exc.code if isinstance(exc.code, int) else 1
    return Outcome(argv, code, err.getvalue())


def last_line(text: str) -> str:
    """The answer: argparse prints its usage first, then the one error line."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ------------------------------------------------------------------------------ the doc
def render() -> str:
    """The matrix as the markdown table of ``docs/reliability.md``; each row's command is
    made by running its set-up in a scratch directory."""
    import os
    import tempfile

    lines = ["| Input | Fault | Command | Answer (stderr, exit 2) |", "|---|---|---|---|"]
    here = os.getcwd()
    for row in ROWS:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                argv = row.setup()
            finally:
                os.chdir(here)
        command = " ".join(argv) + ("" if row.stdout is None else f" > {row.stdout}")
        lines.append(f"| {row.input} | {row.fault} | {_cell('scsr ' + command)} | "
                     f"{_cell(row.message)} |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def update_doc() -> None:
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{render()}\n{END}{tail}")


def record() -> None:
    """Run every row and store what ``scsr`` answered (review the diff before committing)."""
    import os
    import tempfile

    here, found = os.getcwd(), {}
    for row in ROWS:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                found[row.id] = last_line(run_row(row).stderr)
            finally:
                os.chdir(here)
    ANSWERS.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    import sys

    if "--record" in sys.argv:
        record()
    update_doc()
