"""The happy paths of ``scsr simulate``, ``scsr random-model`` and ``scsr inspect``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from golden_model import load_bundle, simulate
from golden_model.random_bundle import RATE_WINDOW


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import run_scsr

    out = tmp_path_factory.mktemp("cli") / "model"
    result = run_scsr("random-model", "--inputs", "12", "--layers", "16,12,5", "--skip", "--self",
                      "--recurrent", "--bits", "6,12,5", "--timesteps", "30", "--seed", "7",
                      "--out", out)
    assert result.returncode == 0, result.stderr
    assert "12 -> h1[16] -> h2[12] -> out[5]" in result.stdout
    return out


def test_simulate_writes_the_golden_arrays(model: Path, tmp_path: Path, scsr) -> None:
    rng = np.random.default_rng(3)
    x = (rng.random((7, 30, 12)) < 0.2).astype(np.uint8)
    labels = np.array([0, 1, 2, 3, 4, 0, 1])
    np.savez(tmp_path / "x.npz", spikes=x, labels=labels)
    result = scsr("simulate", "--bundle", model, "--input", tmp_path / "x.npz",
                  "--out", tmp_path / "y.npz", "--trace", "--chunk", "3")
    assert result.returncode == 0, result.stderr
    expected = simulate(load_bundle(model), x, trace=True)
    with np.load(tmp_path / "y.npz") as got:
        assert sorted(got.files) == sorted(expected.arrays())
        for key, value in expected.arrays().items():
            assert got[key].dtype == value.dtype and np.array_equal(got[key], value), key
    traces = [f"{k}.{n}" for k in ("spikes", "i", "v") for n in ("h1", "h2", "out")]
    assert sorted(expected.arrays()) == sorted(["counts", "pred", *traces])
    correct = int(np.sum(expected.pred == labels))
    assert f"accuracy {correct / 7:.2%} ({correct}/7)" in result.stdout


def test_simulate_without_trace_writes_counts_and_pred_only(model: Path, tmp_path: Path,
                                                            scsr) -> None:
    np.savez(tmp_path / "x.npz", spikes=np.ones((2, 4, 12), np.uint8))
    assert scsr("simulate", "--bundle", model, "--input", tmp_path / "x.npz",
                "--out", tmp_path / "y.npz").returncode == 0
    with np.load(tmp_path / "y.npz") as got:
        assert sorted(got.files) == ["counts", "pred"]
        assert got["counts"].shape == (2, 5) and got["counts"].dtype == np.int32
        assert np.array_equal(got["pred"], np.argmax(got["counts"], axis=1))


def test_random_model_is_deterministic(model: Path, tmp_path: Path, scsr) -> None:
    again = tmp_path / "again"
    result = scsr("random-model", "--inputs", "12", "--layers", "16,12,5", "--skip", "--self",
                  "--recurrent", "--bits", "6,12,5", "--timesteps", "30", "--seed", "7",
                  "--out", again)
    assert result.returncode == 0, result.stderr
    assert (again / "arrays.npz").read_bytes() == (model / "arrays.npz").read_bytes()
    umask = os.umask(0)
    os.umask(umask)
    assert (again / "manifest.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert again.stat().st_mode & 0o777 == 0o777 & ~umask


def test_random_model_refuses_to_overwrite_other_files(tmp_path: Path, scsr) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "notes.txt").write_text("precious")
    result = scsr("random-model", "--inputs", "4", "--layers", "3", "--bits", "8,16,8",
                  "--seed", "1", "--out", tmp_path / "work")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"{tmp_path / 'work'}: exists and holds other files "
                                     "(notes.txt); refusing to replace it")
    assert (tmp_path / "work" / "notes.txt").read_text() == "precious"


@pytest.mark.parametrize("bits", ["1,16,8", "8,40,8", "8,16", "a,b,c"])
def test_random_model_rejects_bad_bits_at_parse_time(bits: str, tmp_path: Path, scsr) -> None:
    result = scsr("random-model", "--inputs", "4", "--layers", "3", "--bits", bits,
                  "--seed", "1", "--out", tmp_path / "m")
    assert result.returncode == 2 and "--bits" in result.stderr
    assert not (tmp_path / "m").exists()


def test_inspect_reports_ranges_and_memory(model: Path, scsr) -> None:
    result = scsr("inspect", model)
    assert result.returncode == 0, result.stderr
    bundle = load_bundle(model)
    text = result.stdout
    assert "weight_bits=6 state_bits=12 decay_bits=5" in text
    assert "weights [-32, 31], I/V [-2048, 2047], theta [1, 2047]" in text
    # memory: weights 6 bits each, alpha/beta 5, theta 11, w_self 6
    total = sum(w.size for w in (bundle.weights(p) for p in bundle.projections)) * 6
    total += sum(layer.size * (5 + 5 + 11 + 6) for layer in bundle.layers)
    assert f"total {total:,}".replace(" ", "") in text.replace(" ", "")
    assert "input->h2" in text and "h1->h1@1" in text


def test_help_explains_every_command(scsr) -> None:
    top = scsr("--help")
    assert top.returncode == 0
    for command in ("simulate", "random-model", "inspect"):
        assert command in top.stdout
        sub = scsr(command, "--help")
        assert sub.returncode == 0 and "usage: scsr " + command in sub.stdout


RATE_CASES = {
    "benchmark net": ["--inputs", "64", "--layers", "128,128,128,26", "--skip", "--self",
                      "--bits", "8,16,8"],
    "narrow weights": ["--inputs", "20", "--layers", "40,30,10", "--skip", "--self",
                       "--bits", "2,8,1"],
    "wide everything": ["--inputs", "20", "--layers", "40,30,10", "--recurrent", "--feedback",
                        "--self", "--bits", "16,32,16"],
    "weights wider than state": ["--inputs", "20", "--layers", "40,30,10", "--skip",
                                 "--feedback", "--bits", "16,8,4"],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(RATE_CASES))
def test_random_models_spike_in_the_required_window(case: str, tmp_path: Path, scsr) -> None:
    result = scsr("random-model", *RATE_CASES[case], "--timesteps", "200", "--seed", "11",
                  "--out", tmp_path / "m")
    assert result.returncode == 0, result.stderr
    bundle = load_bundle(tmp_path / "m")
    x = (np.random.default_rng(99).random((32, 200, bundle.channels)) < 0.1).astype(np.uint8)
    spikes = simulate(bundle, x, trace=True).spikes
    for layer in bundle.layers[:-1]:
        rate = float(spikes[layer.name].mean())
        assert RATE_WINDOW[0] <= rate <= RATE_WINDOW[1], (layer.name, rate)
    if case != "benchmark net":
        return
    assert all(np.any(bundle.param(layer.name, "w_self")) for layer in bundle.layers)
