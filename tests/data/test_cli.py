"""``scsr dataset`` as a user runs it: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys

import pytest

from scsr.data import load_dataset, save_dataset

from .helpers import tone, write_wav
from .test_store import make

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scsr(*args, env=None):
    return subprocess.run([sys.executable, "-m", "scsr", "dataset", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_missing_espeak_says_how_to_install_and_writes_nothing(tmp_path):
    done = scsr("build", "digits", "--train-per-class", "1", "--test-per-class", "1",
                "--out", tmp_path / "d.npz", "--no-cache", env={"PATH": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr == ("espeak-ng: is not installed; install it with 'apt-get install "
                           "espeak-ng' (or run 'make setup' as root)\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_build_then_cached_rebuild(tmp_path):
    args = ("build", "letters", "--train-per-class", "1", "--test-per-class", "1",
            "--cache", tmp_path / "cache", "--encoder", "delta", "--set", "delta=0.1")
    first = scsr(*args, "--out", tmp_path / "a.npz")
    second = scsr(*args, "--out", tmp_path / "b.npz")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.startswith(f"wrote {tmp_path / 'a.npz'}: 26 train + 26 test, T = 100, "
                                   "C = 64, 26 classes (built in ")
    assert "(from cache in " in second.stdout
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert load_dataset(tmp_path / "a.npz").config["encoder"] == {"kind": "delta",
                                                                  "delta": 0.1}


def test_bad_parameter_and_bad_folder_exit_2(tmp_path):
    done = scsr("build", "digits", "--set", "bogus=1", "--out", tmp_path / "x.npz")
    assert (done.returncode, done.stderr) == (
        2, "--bogus: is not a parameter of front end 'logmel' or encoder 'rate'\n")
    (tmp_path / "data" / "a").mkdir(parents=True)
    write_wav(tmp_path / "data" / "b" / "0.wav", tone(300), 16000)
    done = scsr("import", "wav", tmp_path / "data", "--out", tmp_path / "x.npz")
    assert (done.returncode, done.stderr) == (
        2, f"{tmp_path / 'data' / 'a'}: class folder holds no audio files\n")
    assert not (tmp_path / "x.npz").exists()


def test_show_prints_counts_and_rates_and_draws(tmp_path):
    save_dataset(make(n_train=4, n_test=2, t=5, c=3, k=2, seed=7), tmp_path / "d.npz")
    done = scsr("show", tmp_path / "d.npz")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    dataset = load_dataset(tmp_path / "d.npz")
    counts = [int((dataset.train_labels == k).sum()) for k in range(2)]
    assert lines[0] == "T = 5, C = 3, K = 2 classes"
    assert lines[1] == f"train: 4 samples (c0:{counts[0]}, c1:{counts[1]})"
    assert lines[2].startswith(f"  firing rate {dataset.train_spikes.mean():.4f} spikes/")
    assert lines[-1] == f"wrote {tmp_path / 'd.png'}"
    png = (tmp_path / "d.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    # all 4 samples are drawn (two per class), side by side above their rasters
    assert (width, height) == (int(3.2 * 4 * 110), int(2.6 * 2 * 110))


@pytest.mark.parametrize(("text", "value"), [("20,40", (20.0, 40.0)), ("30", (30.0, 30.0)),
                                             ("none", None), ("NONE", None)])
def test_snr_option_values(text, value):
    from scsr.cli.dataset import snr_range

    assert snr_range(text) == value


@pytest.mark.parametrize("text", ["40,20", "a,b", "1,2,3", ""])
def test_snr_option_rejects(text):
    import argparse

    from scsr.cli.dataset import snr_range

    with pytest.raises(argparse.ArgumentTypeError, match="should be LOW,HIGH in dB"):
        snr_range(text)


@pytest.mark.parametrize(("text", "value"), [("delta=0.1", ("delta", 0.1)),
                                             ("channels=40", ("channels", 40)),
                                             ("gain=2.0", ("gain", 2.0))])
def test_set_option_values(text, value):
    from scsr.cli.dataset import key_value

    parsed = key_value(text)
    assert parsed == value and type(parsed[1]) is type(value[1])
