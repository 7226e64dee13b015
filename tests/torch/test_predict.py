"""``scsr predict``: audio encoded like the training data, one line per file, accuracy and
confusion matrix for class folders — end to end from WAV files to a trained bundle."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from golden_model import load_bundle, simulate
from scsr.data import encode_wav, encoding_config
from scsr.data.store import Dataset, save_dataset

pytestmark = pytest.mark.xdist_group("torch-predict")
TONES = {"low": 300.0, "mid": 1200.0, "high": 4000.0}
RATE = 16000


def _write_wav(path: Path, hz: float, rng: np.random.Generator) -> None:
    t = np.arange(int(0.25 * RATE)) / RATE
    sound = rng.uniform(0.3, 0.8) * np.sin(2 * np.pi * hz * rng.uniform(0.95, 1.05) * t)
    sound = sound * np.hanning(len(t)) + rng.normal(0, 0.01, len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.clip(sound, -1, 1) * 32767).astype("<i2").tobytes())


def _folder(root: Path, per_class: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    for name, hz in TONES.items():
        for k in range(per_class):
            _write_wav(root / name / f"{k}.wav", hz, rng)
    return root


@pytest.mark.slow
def test_predict_scores_a_class_folder(scsr, tmp_path) -> None:
    config = encoding_config("logmel", "delta", timesteps=25, channels=12)
    classes = list(TONES)
    splits = {}
    for split, seed in (("train", 1), ("test", 2)):
        root = _folder(tmp_path / split, 8 if split == "train" else 4, seed)
        files = [(f, c) for c, name in enumerate(classes)
                 for f in sorted((root / name).glob("*.wav"))]
        splits[split] = (np.stack([encode_wav(f, config) for f, _ in files]),
                         np.array([c for _, c in files], np.int64))
    save_dataset(Dataset(*splits["train"], *splits["test"], np.array(classes), config),
                 tmp_path / "tones.npz")
    done = scsr("train", tmp_path / "tones.npz", "--out", tmp_path / "run", "--hidden", "16",
                "--epochs", "6", "--batch", "8", "--lr", "0.02", "--qat-epochs", "1",
                "--threads", "1")
    assert done.returncode == 0, done.stderr
    done = scsr("export", tmp_path / "run", "--bits", "8,16,8", "--out", tmp_path / "b")
    assert done.returncode == 0, done.stderr
    expected = simulate(load_bundle(tmp_path / "b"), splits["test"][0]).pred
    hits = int(np.sum(expected == splits["test"][1]))
    for backend in ("golden", "torch"):
        done = scsr("predict", tmp_path / "b", tmp_path / "test", "--backend", backend)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert sorted(lines[:12]) == sorted(
            f"{tmp_path / 'test' / classes[c] / f'{k}.wav'}: {classes[expected[4 * c + k]]}"
            for c in range(3) for k in range(4))
        assert lines[12] == f"accuracy {hits / 12:.2%} ({hits}/12)"
        assert lines[13].split() == ["true\\pred", *classes]
        assert sum(int(v) for line in lines[14:17] for v in line.split()[1:]) == 12
    assert hits >= 8  # the tones are told apart
    # '.WAV' is scored like '.wav'; folders not named like the classes get a warning and
    # no accuracy, and --folder-names maps them.
    first = tmp_path / "test" / classes[0] / "0.wav"
    first.rename(first.with_suffix(".WAV"))
    done = scsr("predict", tmp_path / "b", tmp_path / "test", "--quiet")
    assert done.returncode == 0 and f"accuracy {hits / 12:.2%} ({hits}/12)" in done.stdout
    for k, name in enumerate(classes):
        (tmp_path / "test" / name).rename(tmp_path / "test" / str(k))
    done = scsr("predict", tmp_path / "b", tmp_path / "test", "--quiet")
    assert done.returncode == 0 and "accuracy" not in done.stdout
    assert done.stderr.startswith(f"warning: {tmp_path / 'test'}: no sub-folder is named like "
                                  "the bundle's classes")
    assert "--folder-names" in done.stderr
    done = scsr("predict", tmp_path / "b", tmp_path / "test", "--quiet", "--folder-names",
                "0,1,2")
    assert f"accuracy {hits / 12:.2%} ({hits}/12)" in done.stdout


def test_predict_refuses_a_bundle_without_encoding(scsr, tmp_path) -> None:
    made = scsr("random-model", "--inputs", "4", "--layers", "6,3", "--bits", "8,16,8",
                "--seed", "1", "--out", tmp_path / "m")
    assert made.returncode == 0, made.stderr
    _write_wav(tmp_path / "a.wav", 440.0, np.random.default_rng(0))
    done = scsr("predict", tmp_path / "m", tmp_path / "a.wav")
    assert done.returncode == 2
    assert done.stderr.strip() == (f"{tmp_path / 'm' / 'manifest.json'}: provenance.dataset: "
                                   "is missing: this bundle does not say how its inputs "
                                   "were encoded")


def test_confusion_matrix_aligns_long_class_names():
    from scsr.cli.predict import confusion

    text = confusion(np.array([0, 1, 1]), np.array([0, 1, 0]), ("a", "quite-long-name"))
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1  # every row as wide as the header
    assert lines[2].split() == ["quite-long-name", "1", "1"]
