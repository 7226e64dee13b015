"""``benchmarks/spikerplus.py`` on a reduced size: bundles, fit table, cycle formula (checked
in Amaranth's simulator) and the bandwidth bound, without synthesis, so the script cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_reduced_size_run_fits_and_validates_the_cycle_formula(tmp_path) -> None:
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "benchmarks.spikerplus", "--sizes", "40,24,6",
           "--timesteps", "12", "--events", "4", "--samples", "1", "--max-lanes", "8",
           "--validate", "4", "--validate-timesteps", "4", "--work", str(tmp_path / "w"),
           "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("spikerplus (4 input events/timestep): ff: 8 of 8 lane")
    report = json.loads(out.read_text())
    assert report["synth"] == [] and set(report["variants"]) == {"ff", "scsr"}
    for variant in report["variants"].values():
        assert [row["lanes"] for row in variant["fits"]] == list(range(1, 9))
        assert variant["best_lanes"] == 8  # ceil(24/8) = 3 words: the fewest at <= 8 lanes
        assert variant["validation"]["exact"], variant["validation"]
        row = variant["rates"]["4"]["lanes"]["8"]
        assert row["us_per_sample"] == row["cycles_per_timestep"] * 12 / 100
        h1 = row["bandwidth"]["h1"]
        assert h1["row_bits"] == 24 * 6 and h1["design_bits_per_clock"] == 8 * 6
    ff, scsr = report["variants"]["ff"], report["variants"]["scsr"]
    # The skip input -> out makes the output layer read the input's events too.
    assert scsr["rates"]["4"]["lanes"]["8"]["events_in"]["out"] > \
        ff["rates"]["4"]["lanes"]["8"]["events_in"]["out"]
