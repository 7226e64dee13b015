"""``scsr flow --quick`` end to end: every stage runs and agrees (0 mismatches), a second run
reuses every stage (read from the summary's stage records), a run killed with SIGKILL in
the middle of training and again in the middle of synthesis ends with the same figures, a
corrupt stage output is rebuilt, and an output directory that is not a flow is refused."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_scsr

pytestmark = [pytest.mark.slow, pytest.mark.cosim, pytest.mark.synth,
              pytest.mark.xdist_group("flow")]
#: Two epochs, so that a kill after the first one resumes from a checkpoint.
QUICK = ["flow", "--quick", "--epochs", "2", "--fsdd", "none"]
PNG = b"\x89PNG\r\n\x1a\n"


def figures(summary: dict) -> dict:
    """What must not depend on how the run went: everything but times and stage records."""
    return {k: v for k, v in summary.items() if k not in ("stages", "config")}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flow") / "quick"
    # A relative --out, as `make flow` gives: every stage must cope (the simulator runs in
    # a directory of its own).
    done = run_scsr(*QUICK, "--out", out.name, cwd=out.parent, timeout=2400)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def load(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_quick_flow_runs_every_stage_and_agrees(quick: Path) -> None:
    summary = load(quick)
    assert [(s["name"], s["status"]) for s in summary["stages"]] == [
        ("dataset", "ran"), ("fit", "ran"), ("train", "ran"), ("export", "ran"),
        ("evaluate", "ran"), ("cosim", "ran"), ("synth", "ran"), ("fsdd", "skipped")]
    assert summary["mismatches"]["golden_vs_torch"] == 0
    assert summary["mismatches"]["golden_vs_rtl"] == 0
    assert summary["accuracy_pct"]["rtl_samples"] == 2
    assert summary["dataset"] == {"name": "digits", "split": "speaker-independent",
                                  "train_samples": 80, "test_samples": 40, "classes": 10,
                                  "timesteps": 100, "channels": 32}
    assert summary["timing"]["pass"] is True
    for picture in summary["paths"]["pictures"].values():
        data = (quick / picture).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, picture
    bitstream = quick / summary["paths"]["bitstream"]
    report = json.loads((quick / summary["paths"]["synth_report"]).read_text())
    import hashlib
    assert hashlib.sha256(bitstream.read_bytes()).hexdigest() == report["bitstream_sha256"]
    lat = summary["latency"]
    assert lat["us_per_sample_at_fmax"] == pytest.approx(
        lat["cycles_per_sample"] / summary["timing"]["achieved_mhz"], rel=1e-3)
    md = (quick / "summary.md").read_text()
    assert "| mismatches golden vs RTL | 0 |" in md


def test_second_run_reuses_every_stage(quick: Path) -> None:
    before = load(quick)
    done = run_scsr(*QUICK, "--out", quick)
    assert done.returncode == 0, done.stderr
    after = load(quick)
    assert [s["status"] for s in after["stages"]] == ["reused"] * 7 + ["skipped"]
    assert figures(after) == figures(before)


def _wait_for(predicate, process: subprocess.Popen, timeout: float = 1800) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert process.poll() is None, "the flow ended before the kill point"
        assert time.monotonic() < end, "kill point never reached"
        time.sleep(0.2)


def _killed(out: Path, predicate) -> None:
    process = subprocess.Popen([sys.executable, "-m", "scsr", *QUICK, "--out", str(out)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        _wait_for(predicate, process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_sigkill_in_training_and_in_synthesis_gives_the_same_summary(
        quick: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    stages = out / "stages"
    # Mid-training: the first epoch's checkpoint is written, the second epoch is running.
    _killed(out, lambda: (stages / "train.work" / "checkpoint.pt").is_file())
    assert not (stages / "train.json").exists()
    # Mid-synthesis: the synth stage's temporary directory holds the tools' work directory
    # (rtl.synth builds in a temporary directory of its own beside its output).
    _killed(out, lambda: any(stages.glob(".synth.*.part/.board.*.part/build")))
    assert (stages / "train.json").exists() and not (stages / "synth.json").exists()
    done = run_scsr(*QUICK, "--out", out, timeout=2400)
    assert done.returncode == 0, done.stderr
    summary = load(out)
    assert [s["status"] for s in summary["stages"]][:7] == ["reused"] * 6 + ["ran"]
    assert figures(summary) == figures(load(quick))
    assert not list(stages.glob(".*.part"))


def test_corrupt_stage_output_is_rebuilt(quick: Path) -> None:
    counts = quick / "stages" / "evaluate" / "predictions.npz"
    good = counts.read_bytes()
    counts.write_bytes(good[:-7] + b"garbage")
    done = run_scsr(*QUICK, "--out", quick)
    assert done.returncode == 0, done.stderr
    assert "evaluate: running (predictions.npz does not match its recorded hash)" in done.stderr
    assert counts.read_bytes() == good
    assert [s["status"] for s in load(quick)["stages"]][4] == "ran"


def test_lanes_that_do_not_fit_are_refused_before_training(tmp_path: Path) -> None:
    done = run_scsr("flow", "--quick", "--lanes", "48", "--fsdd", "none", "--out", tmp_path)
    assert done.returncode == 2
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("scsr flow: stage fit: --target icebreaker --lanes 48: a 32 -> "
                           "16,16,10 network does not fit: block RAM: needs ")
    assert "(what to try: fewer --lanes, or --target ulx3s-85f" in line
    assert not (tmp_path / "stages" / "train.json").exists()


def test_refuses_a_directory_that_is_not_a_flow(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    done = run_scsr("flow", "--quick", "--out", tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"{tmp_path}: holds files that are not the output of "
                                   "'scsr flow'; choose another --out (nothing was changed)")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(("args", "message"), [
    (["--dataset", "words"], "argument --dataset: invalid choice: 'words'"),
    (["--target", "arty"], "argument --target: invalid choice: 'arty'"),
    (["--force", "nothing"], "argument --force: invalid choice: 'nothing'"),
    (["--bits", "8,16"], "argument --bits: '8,16' should be W,S,F"),
    (["--lanes", "0"], "argument --lanes: 0 must be at least 1"),
])
def test_bad_options_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_scsr("flow", *args, "--out", tmp_path / "f")
    assert done.returncode == 2 and message in done.stderr
    assert not (tmp_path / "f").exists()
