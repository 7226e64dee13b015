"""The committed reference bitstreams are what their reports say, and reproducible: the
smallest reference build, rebuilt with the same bundle, seed and tools, gives the same
``bitstream_sha256`` (so a bitstream in ``bitstreams/`` can be traced to its sources)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import run_scsr

pytestmark = [pytest.mark.synth, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
BITSTREAMS = ROOT / "bitstreams"
#: The smallest reference build (about a minute of YoWASP on one core).
SMALLEST = "ulx3s-85f-p1"


def reports() -> list[Path]:
    return sorted(BITSTREAMS.glob("*/report.json"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_committed_bitstreams_match_their_reports() -> None:
    """Every build that passed timing has its bitstream committed, with the report's hash;
    a failing build has none. Both boards have at least one."""
    boards = set()
    for path in reports():
        report = json.loads(path.read_text())
        if report["timing"]["pass"]:
            bitstream = path.parent / report["bitstream"]
            assert bitstream.is_file(), f"{bitstream} is missing"
            assert sha256(bitstream) == report["bitstream_sha256"], bitstream
            boards.add(report["target"])
        else:
            assert report["bitstream"] is None
            assert not list(path.parent.glob("scsr_board.bi*")), path.parent
    assert boards == {"ulx3s-85f", "icebreaker"}


@pytest.mark.xdist_group("synth_ecp5")
def test_rebuild_gives_the_same_bitstream(tmp_path: Path) -> None:
    from rtl.synth import _amaranth_version, tool_environment, tool_versions

    report = json.loads((BITSTREAMS / SMALLEST / "report.json").read_text())
    installed = {"amaranth": _amaranth_version(),
                 **tool_versions(tool_environment("ecp5", report["toolchain"]))}
    if installed != report["tools"]:
        pytest.skip(f"tools differ from the reference build's: {installed} vs {report['tools']}")
    out = tmp_path / "rebuild"
    done = run_scsr("synth", ROOT / report["bundle"]["path"], "--target", report["target"],
                    "--lanes", str(report["lanes"]), "--seed", str(report["seed"]),
                    "--clock", str(report["timing"]["requested_mhz"]), "--out", out)
    assert done.returncode == 0, done.stderr
    again = json.loads((out / "report.json").read_text())
    assert again["bundle"]["arrays_sha256"] == report["bundle"]["arrays_sha256"]
    assert again["bitstream_sha256"] == report["bitstream_sha256"]
    assert sha256(out / again["bitstream"]) == sha256(BITSTREAMS / SMALLEST / report["bitstream"])
