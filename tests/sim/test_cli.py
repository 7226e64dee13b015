"""``scsr rtl`` and ``scsr cosim``: what they write and print, and how they refuse."""

from __future__ import annotations

import json

import numpy as np
import pytest

from golden_model import (
    Bundle,
    FixedPoint,
    Layer,
    Projection,
    ScsrError,
    load_bundle,
    save_bundle,
)
from rtl.config import MAX_ADDRESS_BITS, NetConfig
from scsr.cli import main
from sim import runner
from tests.rtl.nets import random_net


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m"
    save_bundle(random_net((10, 7, 3), (8, 16, 8), seed=4), path)
    return path


def test_rtl_writes_verilog_memory_images_and_report(model, tmp_path, capsys):
    out = tmp_path / "rtl"
    assert main(["rtl", str(model), "--lanes", "4", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    h1 = report["layers"][0]
    # h1 reads input (7), h1@1 (10), h2@1 feedback (7): 24 rows of ceil(10/4) = 3 words.
    assert (h1["name"], h1["words"], h1["rows"]) == ("h1", 3, 24)
    assert h1["acc_bits"] == (25 * 128).bit_length() + 1  # (fan-in + 1) · 2^(Bw-1)
    assert report["memory_bits"]["weights"] == sum(
        max(1, layer["rows"]) * layer["words"] * 4 * 8 for layer in report["layers"])
    assert "module scsr_net(" in (out / "scsr_net.v").read_text()
    # Word 0 of h1's weights: input channel 0 into neurons 0..3, lane 0 in the low bits.
    w = load_bundle(model).arrays["input->h1"][:4, 0]
    first = int((out / "mem" / "h1.weights.hex").read_text().split()[0], 16)
    assert [(first >> (8 * p) & 0xFF) - ((first >> (8 * p) & 0x80) << 1) for p in range(4)] \
        == w.tolist()
    assert capsys.readouterr().out.startswith(f"{out}: 3 layer cores, 4 lanes")


def test_rtl_refuses_bad_lanes_and_writes_nothing(model, tmp_path, capsys):
    out = tmp_path / "rtl"
    assert main(["rtl", str(model), "--lanes", "65", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == "--lanes: 65 is outside [1, 64]"
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_rtl_replaces_its_own_output_but_refuses_anything_else(model, tmp_path, capsys):
    out = tmp_path / "rtl"
    assert main(["rtl", str(model), "--lanes", "4", "--out", str(out)]) == 0
    assert main(["rtl", str(model), "--lanes", "2", "--out", str(out)]) == 0  # its own
    assert json.loads((out / "report.json").read_text())["lanes"] == 2
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert main(["rtl", str(model), "--out", str(mine)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"{mine}: exists and holds files that are not a scsr-rtl-report output; refusing "
        "to replace it (choose another --out)")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    plain = tmp_path / "file"
    plain.write_text("x")
    assert main(["rtl", str(model), "--out", str(plain)]) == 2
    assert plain.read_text() == "x"


def test_layer_too_large_for_the_address_space():
    fp = FixedPoint(2, 8, 1)
    channels, size = 1 << 11, 1 << 10  # 2^21 weight words at one lane
    arrays = {"big->w": np.zeros((size, channels), np.int8)}
    for kind, value in (("alpha", 0), ("beta", 0), ("theta", 1), ("w_self", 0)):
        arrays[f"big.{kind}"] = np.full(size, value, np.int8)
    arrays = {"input->big": arrays.pop("big->w")} | arrays
    bundle = Bundle(fp, channels, 1, (Layer("big", size),),
                    (Projection("input", "big", 0, "input->big"),),
                    tuple(str(k) for k in range(size)), arrays)
    with pytest.raises(ScsrError) as error:
        NetConfig.from_bundle(bundle, 1, where="m")
    assert str(error.value) == (
        f"m: layers[0]: 'big' needs {1 << 21} weight words (2048 rows x 1024 words at 1 "
        f"lanes), more than the {1 << MAX_ADDRESS_BITS} one memory may address; use more lanes")
    assert NetConfig.from_bundle(bundle, 4).cores[0].weight_depth == 1 << 19


@pytest.mark.cosim
@pytest.mark.xdist_group("icarus")
def test_cosim_reports_zero_mismatches_and_cycles(model, tmp_path, capsys):
    if runner.simulator_available("icarus") is not None:
        pytest.skip(runner.simulator_available("icarus"))
    report = tmp_path / "c.json"
    assert main(["cosim", str(model), "--samples", "2", "--lanes", "3", "--sim", "icarus",
                 "--stalls", "4", "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "icarus, 3 lanes, 2 samples x 16 timesteps: 0 mismatches" in printed
    data = json.loads(report.read_text())
    assert data["mismatches"] == 0 and data["first_mismatch"] is None
    assert set(data["layers"]) == {"h1", "h2", "out"}
    assert all(row["ratio"] >= 1.0 for row in data["layers"].values())
