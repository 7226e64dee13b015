"""Every validation error of bundles (§5) and spike files (§6), through the real CLI.

Each case corrupts one thing, runs ``scsr simulate`` as a subprocess and expects exit code
2, exactly one stderr line ``<path>: <field>: <problem>``, and no output file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from golden_model import save_bundle
from tests.golden.helpers import edit_arrays, edit_manifest, make_bundle

Manifest = dict[str, Any]


def _base(tmp_path: Path) -> Path:
    bundle = make_bundle(
        3, [("h1", 4), ("h2", 3), ("out", 2)],
        [("input", "h1", 0, np.ones((4, 3))), ("h1", "h2", 0, np.ones((3, 4))),
         ("input", "h2", 0, np.ones((3, 3))), ("h2", "out", 0, np.ones((2, 3))),
         ("h2", "h1", 1, np.ones((4, 3)))],
        params={"h1": {"theta": 2}, "h2": {"theta": 2}, "out": {"theta": 2}})
    return save_bundle(bundle, tmp_path / "model")


def _edit_manifest(change: Callable[[Manifest], None]) -> Callable[[Path], None]:
    return lambda root: edit_manifest(root, change)


def _edit_arrays(change: Callable[[dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    return lambda root: edit_arrays(root, change)


def _set(path: str, value: Any) -> Callable[[Manifest], None]:
    def change(manifest: Manifest) -> None:
        *parents, last = path.split("/")
        node: Any = manifest
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return change


def _write(name: str, text: bytes) -> Callable[[Path], None]:
    return lambda root: (root / name).write_bytes(text)


def _put(key: str, value: Any) -> Callable[[dict[str, np.ndarray]], None]:
    return lambda arrays: arrays.__setitem__(key, np.asarray(value))


def _dup_key(root: Path) -> None:
    text = (root / "manifest.json").read_text()
    (root / "manifest.json").write_text(text.replace('"version": 1', '"version": 1, "version": 1'))


BUNDLE_CASES = {
    "malformed json": (_write("manifest.json", b'{"format": '), "manifest.json: is not valid JSON"),
    "not utf-8": (_write("manifest.json", b"\xff\xfe{}"), "manifest.json: is not valid JSON"),
    "duplicate key": (_dup_key, "manifest.json: version: duplicate JSON object key"),
    "missing key": (_edit_manifest(lambda m: m.pop("classes")),
                    "manifest.json: classes: is missing"),
    "extra key": (_edit_manifest(_set("comment", "x")), "manifest.json: comment: is not allowed"),
    "extra nested key": (_edit_manifest(_set("layers/0/bias", 1)),
                         "manifest.json: layers[0].bias: is not allowed"),
    "wrong format": (_edit_manifest(_set("format", "onnx")), "manifest.json: format: must be"),
    "wrong version": (_edit_manifest(_set("version", 2)),
                      "manifest.json: version: 2 is not supported"),
    "string version": (_edit_manifest(_set("version", "1")), "manifest.json: version:"),
    "float width": (_edit_manifest(_set("fixed_point/weight_bits", 8.0)),
                    "manifest.json: fixed_point.weight_bits: must be a JSON integer"),
    "bool width": (_edit_manifest(_set("fixed_point/decay_bits", True)),
                   "manifest.json: fixed_point.decay_bits: must be a JSON integer"),
    "width out of range": (_edit_manifest(_set("fixed_point/state_bits", 40)),
                           "manifest.json: fixed_point.state_bits: 40 is outside [8, 32]"),
    "zero channels": (_edit_manifest(_set("input/channels", 0)), "manifest.json: input.channels:"),
    "no layers": (_edit_manifest(_set("layers", [])), "manifest.json: layers: must hold"),
    "string size": (_edit_manifest(_set("layers/1/size", "3")),
                    "manifest.json: layers[1].size: must be a JSON integer"),
    "reserved name": (_edit_manifest(_set("layers/0/name", "input")),
                      "manifest.json: layers[0].name:"),
    "bad name": (_edit_manifest(_set("layers/0/name", "2x")), "manifest.json: layers[0].name:"),
    "duplicate layer": (_edit_manifest(_set("layers/1/name", "h1")),
                        "manifest.json: layers[1].name:"),
    "unknown src": (_edit_manifest(_set("projections/0/src", "h9")),
                    "manifest.json: projections[0].src:"),
    "unknown dst": (_edit_manifest(_set("projections/0/dst", "h9")),
                    "manifest.json: projections[0].dst:"),
    "input as dst": (_edit_manifest(_set("projections/0/dst", "input")),
                     "manifest.json: projections[0].dst:"),
    "delay 2": (_edit_manifest(_set("projections/0/delay", 2)),
                "manifest.json: projections[0].delay: 2 is outside [0, 1]"),
    "delay-0 cycle": (_edit_manifest(_set("projections/4/delay", 0)),
                      "manifest.json: projections[4].src:"),
    "delay-0 self": (_edit_manifest(lambda m: m["projections"][4].update(src="h1", delay=0)),
                     "manifest.json: projections[4].src:"),
    "duplicate triple": (_edit_manifest(lambda m: m["projections"].append(
        dict(m["projections"][0], weights="again"))), "manifest.json: projections[5]:"),
    "duplicate weights": (_edit_manifest(_set("projections/1/weights", "input->h1@0")),
                          "manifest.json: projections[1].weights:"),
    "weights collide": (_edit_manifest(_set("projections/1/weights", "h1.theta")),
                        "manifest.json: projections[1].weights:"),
    "class count": (_edit_manifest(_set("classes", ["a"])), "manifest.json: classes: has 1"),
    "duplicate class": (_edit_manifest(_set("classes", ["a", "a"])),
                        "manifest.json: classes[1]:"),
    "class not string": (_edit_manifest(_set("classes", ["a", 1])), "manifest.json: classes[1]:"),
    "bad hash format": (_edit_manifest(_set("arrays_sha256", "ABC")),
                        "manifest.json: arrays_sha256: must be 64"),
    "hash mismatch": (_edit_manifest(_set("arrays_sha256", "0" * 64)),
                      "manifest.json: arrays_sha256: 000000000000… does not match"),
    "provenance list": (_edit_manifest(_set("provenance", [])), "manifest.json: provenance:"),
    "float weights": (_edit_arrays(_put("input->h1@0", np.ones((4, 3)))),
                      "arrays.npz: input->h1@0: dtype float64 is not an integer type"),
    "bool array": (_edit_arrays(_put("h1.w_self", np.zeros(4, bool))),
                   "arrays.npz: h1.w_self: dtype bool"),
    "theta zero": (_edit_arrays(_put("h2.theta", [2, 0, 2])),
                   "arrays.npz: h2.theta[1]: 0 is outside [1, 32767]"),
    "weight too big": (_edit_arrays(_put("h2->out@0", [[1, 1, 1], [1, 128, 1]])),
                       "arrays.npz: h2->out@0[1, 1]: 128 is outside [-128, 127]"),
    "alpha too big": (_edit_arrays(_put("out.alpha", [0, 256])),
                      "arrays.npz: out.alpha[1]: 256 is outside [0, 255]"),
    "wrong shape": (_edit_arrays(_put("h1->h2@0", np.ones((4, 3), np.int8))),
                    "arrays.npz: h1->h2@0: shape (4, 3) should be (3, 4)"),
    "missing array": (_edit_arrays(lambda a: a.pop("out.beta")),
                      "arrays.npz: out.beta: is missing"),
    "extra array": (_edit_arrays(_put("bias", [1])), "arrays.npz: bias: is not an array"),
    "missing arrays file": (lambda root: (root / "arrays.npz").unlink(), "arrays.npz: is missing"),
    "missing manifest": (lambda root: (root / "manifest.json").unlink(),
                         "manifest.json: is missing"),
}


def _corrupt_npz(root: Path) -> None:
    data = b"PK\x03\x04 this is not a zip archive"
    (root / "arrays.npz").write_bytes(data)
    _edit_manifest(lambda m: m.update(arrays_sha256=hashlib.sha256(data).hexdigest()))(root)


BUNDLE_CASES["corrupt npz"] = (_corrupt_npz, "arrays.npz: is not a readable .npz file")


def _expect_rejected(result: Any, expected: str, out: Path) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def _good_input(path: Path, channels: int = 3) -> Path:
    np.savez(path, spikes=np.zeros((2, 5, channels), np.uint8), labels=np.array([0, 1]))
    return path


@pytest.mark.parametrize("case", sorted(BUNDLE_CASES))
def test_bad_bundle_is_rejected(case: str, tmp_path: Path, scsr) -> None:
    root = _base(tmp_path)
    corrupt, expected = BUNDLE_CASES[case]
    corrupt(root)
    out = tmp_path / "out.npz"
    result = scsr("simulate", "--bundle", root, "--input", _good_input(tmp_path / "x.npz"),
                  "--out", out)
    _expect_rejected(result, f"{root}/{expected}", out)


def _spikes(**arrays: Any) -> Callable[[Path], None]:
    return lambda path: np.savez(path, **arrays)


ok = np.zeros((2, 5, 3), np.uint8)
SPIKE_CASES = {
    "value 2": (_spikes(spikes=np.where(np.arange(30).reshape(2, 5, 3) == 17, 2, 0)
                        .astype(np.uint8)),
                "spikes[1, 0, 2]: 2 is not 0 or 1"),
    "wrong channels": (_spikes(spikes=np.zeros((2, 5, 4), np.uint8)),
                       "spikes: has 4 channels but the bundle expects 3"),
    "empty batch": (_spikes(spikes=np.zeros((0, 5, 3), np.uint8)), "spikes: holds no samples"),
    "no timesteps": (_spikes(spikes=np.zeros((2, 0, 3), np.uint8)), "spikes: holds no timesteps"),
    "int64 spikes": (_spikes(spikes=ok.astype(np.int64)), "spikes: dtype int64 should be uint8"),
    "bool spikes": (_spikes(spikes=ok.astype(bool)), "spikes: dtype bool should be uint8"),
    "2-d spikes": (_spikes(spikes=np.zeros((5, 3), np.uint8)), "spikes: shape (5, 3) should be"),
    "missing spikes": (_spikes(labels=np.array([0, 1])), "spikes: is missing"),
    "extra key": (_spikes(spikes=ok, extra=np.array([1])), "extra: is not allowed"),
    "labels out of range": (_spikes(spikes=ok, labels=np.array([0, 2])),
                            "labels[1]: 2 is outside [0, 1]"),
    "negative label": (_spikes(spikes=ok, labels=np.array([-1, 0])),
                       "labels[0]: -1 is outside [0, 1]"),
    "float labels": (_spikes(spikes=ok, labels=np.array([0.0, 1.0])),
                     "labels: dtype float64 is not an integer type"),
    "labels shape": (_spikes(spikes=ok, labels=np.array([0, 1, 1])),
                     "labels: shape (3,) should be (2,)"),
    "not npz": (lambda path: path.write_bytes(b"hello"), "is not a readable .npz file"),
    "object array": (_spikes(spikes=np.array([None, 1], dtype=object)),
                     "holds object arrays, which need pickle"),
}


@pytest.mark.parametrize("case", sorted(SPIKE_CASES))
def test_bad_spike_file_is_rejected(case: str, tmp_path: Path, scsr) -> None:
    root = _base(tmp_path)
    write, expected = SPIKE_CASES[case]
    path = tmp_path / "x.npz"
    write(path)
    out = tmp_path / "out.npz"
    result = scsr("simulate", "--bundle", root, "--input", path, "--out", out)
    _expect_rejected(result, f"{path}: {expected}", out)


def test_missing_input_and_bundle_are_named(tmp_path: Path, scsr) -> None:
    out = tmp_path / "out.npz"
    result = scsr("simulate", "--bundle", tmp_path / "nope", "--input", tmp_path / "x.npz",
                  "--out", out)
    _expect_rejected(result, f"{tmp_path / 'nope'}: does not exist", out)
    result = scsr("simulate", "--bundle", _base(tmp_path), "--input", tmp_path / "x.npz",
                  "--out", out)
    _expect_rejected(result, f"{tmp_path / 'x.npz'}: does not exist", out)


def test_debug_shows_the_traceback(tmp_path: Path, scsr) -> None:
    result = scsr("--debug", "simulate", "--bundle", tmp_path / "nope", "--input", "x.npz",
                  "--out", tmp_path / "o.npz")
    assert result.returncode != 0 and "Traceback" in result.stderr
