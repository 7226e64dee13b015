"""``scsr sweep`` end to end on a tiny run: results, cache, resume, executors, plots."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from golden_model import save_npz
from scsr.data.store import load_dataset
from tests.conftest import ROOT, run_scsr

from .conftest import GRID, sweep


def rows(study: Path) -> list[dict[str, str]]:
    with open(study / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_grid_study_has_one_row_per_point_with_every_figure(reference: Path) -> None:
    got = rows(reference)
    assert [(r["weight_bits"], r["state_bits"], r["decay_bits"]) for r in got] == [
        ("3", "8", "6"), ("3", "16", "6"), ("8", "8", "6"), ("8", "16", "6")]
    for r in got:
        assert r["status"] == "ok" and r["error"] == ""
        assert 0 <= float(r["accuracy"]) <= 1 and 0 <= float(r["qat_accuracy"]) <= 1
        for layer in ("h1", "h2", "out"):
            for key in ("sat_i", "sat_v", "silent", "rate", "rate_float", "divergence"):
                assert float(r[f"{key}.{layer}"]) >= 0
    # memory: 12->8, 8->8, 12->8 (skip), 8->3, 8->3 (skip) weights; per-neuron parameters
    weights = 12 * 8 + 8 * 8 + 12 * 8 + 8 * 3 + 8 * 3
    assert [int(r["weight_memory_bits"]) for r in got] == [3 * weights] * 2 + [8 * weights] * 2
    record = json.loads((reference / "study.json").read_text())
    assert (record["points"], record["computed"], record["cached"], record["failed"]) == (
        4, 4, 0, 0)
    report = (reference / "report.md").read_text()
    assert "## Smallest weight width within 1 point of float" in report
    assert "![accuracy_vs_memory](accuracy_vs_memory.png)" in report


def test_plots_are_non_empty_pngs(reference: Path) -> None:
    import matplotlib.image

    names = ["accuracy_vs_memory.png", "heatmap_decay6.png", "saturation.png"]
    for name in names:
        data = (reference / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        pixels = matplotlib.image.imread(reference / name)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400, name
        assert float(pixels[..., :3].std()) > 0.05, name  # something is drawn


def test_csv_accuracy_equals_scsr_simulate(reference: Path, tiny, tmp_path: Path) -> None:
    _, data = tiny
    dataset = load_dataset(data)
    save_npz(tmp_path / "test.npz", {"spikes": dataset.test_spikes,
                                     "labels": dataset.test_labels})
    for r in rows(reference)[::3]:
        bundle = reference / "cache" / r["key"] / "bundle"
        done = run_scsr("simulate", "--bundle", bundle, "--input", tmp_path / "test.npz",
                        "--out", tmp_path / "out.npz")
        assert done.returncode == 0, done.stderr
        pred = np.load(tmp_path / "out.npz")["pred"]
        assert f"{np.mean(pred == dataset.test_labels):.6f}" == r["accuracy"]
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["fixed_point"] == {"weight_bits": int(r["weight_bits"]),
                                           "state_bits": int(r["state_bits"]),
                                           "decay_bits": int(r["decay_bits"])}


def test_rerun_is_all_cached_and_identical(reference: Path, tiny, tmp_path: Path) -> None:
    out = tmp_path / "again"
    done = sweep(tiny, out, *GRID, "--workers", "1", "--cache", reference / "cache")
    assert done.returncode == 0, done.stderr
    assert "(0 computed, 4 cached, 0 failed)" in done.stdout
    assert (out / "results.csv").read_bytes() == (reference / "results.csv").read_bytes()


@pytest.mark.slow
def test_resume_after_sigkill_mid_point(reference: Path, tiny, tmp_path: Path) -> None:
    """Kill the whole sweep (SIGKILL, process group) once some points are done; the rerun
    redoes only the rest, a damaged entry included, and writes the same CSV."""
    out = tmp_path / "killed"
    run, data = tiny
    proc = subprocess.Popen([sys.executable, "-m", "scsr", "sweep", run, "--data", data,
                             *GRID, "--workers", "1", "--out", out], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    cache = out / "cache"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        done = [p for p in cache.glob("*/result.json")] if cache.is_dir() else []
        if done:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = sorted(cache.glob("*/result.json"))
    assert 1 <= len(finished) < 8, "the kill should land mid-sweep"  # 4 eval + 4 QAT pieces
    (cache / ".deadbeef.x.part").mkdir()  # what a write killed half-way leaves
    done = sweep(tiny, out, *GRID, "--workers", "1")
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "study.json").read_text())
    assert record["computed"] + record["cached"] == 4 and record["computed"] >= 1
    assert not list(cache.glob(".*.part"))
    assert (out / "results.csv").read_bytes() == (reference / "results.csv").read_bytes()


def test_damaged_entry_is_redone(reference: Path, tiny, tmp_path: Path) -> None:
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(reference / "cache", cache)
    victim = cache / rows(reference)[0]["key"] / "result.json"
    victim.write_text(victim.read_text()[:40])  # truncated, as a full disk might leave it
    done = sweep(tiny, tmp_path / "s", *GRID, "--workers", "1", "--cache", cache)
    assert done.returncode == 0, done.stderr
    assert "(1 computed, 3 cached, 0 failed)" in done.stdout
    assert (tmp_path / "s" / "results.csv").read_bytes() == (
        reference / "results.csv").read_bytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dask_two_worker_cluster_gives_the_local_csv(reference: Path, tiny,
                                                     tmp_path: Path) -> None:
    """A real scheduler and two worker processes on loopback, started as ``dask``
    commands; the CSV equals the serial local one byte for byte."""
    pytest.importorskip("distributed")
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--nworkers", "1",
                                           "--nthreads", "1", "--no-dashboard"], cwd=ROOT,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        out = tmp_path / "dask"
        done = sweep(tiny, out, *GRID, "--executor", "dask", "--scheduler", address)
        assert done.returncode == 0, done.stderr
        assert (out / "results.csv").read_bytes() == (reference / "results.csv").read_bytes()
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow
def test_local_pool_of_two_gives_the_serial_csv(reference: Path, tiny, tmp_path: Path) -> None:
    done = sweep(tiny, tmp_path / "pool", *GRID, "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pool" / "results.csv").read_bytes() == (
        reference / "results.csv").read_bytes()


def test_unreachable_scheduler_is_a_quick_one_line_error(tiny, tmp_path: Path) -> None:
    start = time.monotonic()
    done = sweep(tiny, tmp_path / "x", "--executor", "dask", "--scheduler",
                 f"tcp://127.0.0.1:{_free_port()}", "--workers", "1")
    assert done.returncode == 2
    assert time.monotonic() - start < 30
    line = done.stderr.strip()
    assert "\n" not in line
    assert line.startswith("--scheduler: tcp://127.0.0.1:") and "no Dask scheduler answered "\
        "within 5 s" in line


@pytest.mark.parametrize(("args", "expected"), [
    (("--weight-bits", "2..17"), "--weight-bits: 17: is outside [2, 16] (design §4)"),
    (("--state-bits", "4"), "--state-bits: 4: is outside [8, 32] (design §4)"),
    (("--decay-bits", "8..4"), "--decay-bits: 8..4: not an integer, A..B or A..B:STEP "
                               "(A <= B, STEP >= 1)"),
])
def test_bad_widths_name_the_flag(tiny, tmp_path: Path, args, expected) -> None:
    done = sweep(tiny, tmp_path / "x", *args)
    assert (done.returncode, done.stderr.strip()) == (2, expected)


def test_bad_run_and_dataset_are_one_line_errors(tiny, tmp_path: Path) -> None:
    run, data = tiny
    done = run_scsr("sweep", tmp_path / "nope", "--data", data, "--out", tmp_path / "x")
    assert (done.returncode, done.stderr.strip()) == (
        2, f"{tmp_path / 'nope'}: is not a directory (a run directory of 'scsr train')")
    (tmp_path / "empty").mkdir()
    done = run_scsr("sweep", tmp_path / "empty", "--data", data, "--out", tmp_path / "x")
    assert (done.returncode, done.stderr.strip()) == (
        2, f"{tmp_path / 'empty' / 'checkpoint.pt'}: does not exist (is this a run directory"
           " of 'scsr train'?)")
    from tests.torch.synthetic import make_dataset

    other = make_dataset(tmp_path / "other.npz", channels=15)
    done = run_scsr("sweep", run, "--data", other, "--out", tmp_path / "x")
    assert done.returncode == 2
    assert done.stderr.strip() == (f"{run / 'checkpoint.pt'}: model_config.channels: the run "
                                   "was trained on 12 input channels but the dataset has 15")
