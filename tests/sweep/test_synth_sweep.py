"""``scsr sweep --synth``: synthesis figures in the CSV, and a fit-check refusal recorded
instead of stopping the sweep."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from golden_model import load_bundle
from golden_model.errors import ScsrError
from tests.conftest import run_scsr

from .conftest import sweep

pytestmark = [pytest.mark.synth, pytest.mark.slow]


def toolchain_missing() -> str | None:
    from rtl.synth import tool_environment

    try:
        tool_environment("ice40", "yowasp")
    except ScsrError as exc:
        return str(exc)
    return None


def test_one_point_synthesised_for_the_icebreaker(tiny, tmp_path: Path) -> None:
    if (why := toolchain_missing()) is not None:
        pytest.skip(why)
    points = tmp_path / "points.csv"
    points.write_text("weight_bits,state_bits,decay_bits\n8,16,6\n")
    out = tmp_path / "synth"
    done = sweep(tiny, out, "--points", points, "--synth", "icebreaker", "--lanes", "1",
                 "--workers", "1", timeout=1200)
    assert done.returncode == 0, done.stderr
    with open(out / "results.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["target"], row["lanes"], row["status"], row["error"]) == (
        "icebreaker", "1", "ok", "")
    for key in ("lut4", "ff", "bram", "fmax_mhz", "cycles_per_step", "us_per_sample"):
        assert float(row[key]) > 0, key
    assert int(row["lut4"]) <= 5280 and row["timing_pass"] in ("0", "1")
    # §7's bound: the slowest core, (E_in + 1) · ceil(N / P), so at least N_max + 1 cycles
    assert float(row["cycles_per_step"]) >= 8 + 1
    assert (out / "accuracy_vs_lut4_icebreaker.png").stat().st_size > 10_000


def test_fit_refusal_is_a_result(tmp_path: Path) -> None:
    """A net the iCE40's block RAM cannot hold: the reason comes back as the piece's
    error (the CSV's ``error`` column), nothing is raised and no tool runs."""
    from scsr.sweep.evaluate import synthesis

    big = tmp_path / "big"
    assert run_scsr("random-model", "--inputs", "40", "--layers", "64,64,10", "--bits",
                    "8,16,8", "--seed", "1", "--out", big).returncode == 0
    bundle = load_bundle(big)
    events = {"input": 4.0, "h1": 6.0, "h2": 6.0, "out": 1.0}
    got = synthesis(bundle, "icebreaker", 4, events, 100.0, tmp_path / "work")
    assert got["error"].startswith("fit check: block RAM: needs ")
    assert got["cycles_per_step"] == (6.0 + 1) * 16  # h2, the slowest: (E_in + 1) · ceil(64 / 4)
    assert not (tmp_path / "work").exists()
