"""Importers on small files written here in the exact SHD, N-TIDIGITS, TI46 and WAV-folder
layouts, including their error paths."""

from __future__ import annotations

import numpy as np
import pytest

from golden_model.errors import ScsrError
from scsr.data import encode_wav, encoding_config, importers

from .helpers import tone, write_ntidigits, write_shd, write_shd_claiming, write_wav

h5py = pytest.importorskip("h5py")


def test_shd_events_are_binned_exactly(tmp_path):
    write_shd(tmp_path / "shd_train.h5",
              [([0.0, 0.0049, 0.012, 0.5], [3, 3, 699, 10]), ([0.0305], [0])], [2, 0])
    write_shd(tmp_path / "shd_test.h5", [([0.001], [1])], [1])
    dataset = importers.import_shd(tmp_path, timesteps=10, dt_ms=5.0)
    assert dataset.classes.tolist() == ["zero", "one", "two"]
    assert dataset.train_labels.tolist() == [2, 0] and dataset.test_labels.tolist() == [1]
    assert dataset.train_spikes.shape == (2, 10, 700)
    assert sorted(zip(*np.nonzero(dataset.train_spikes[0]), strict=True)) == [(0, 3), (2, 699)]
    assert list(zip(*np.nonzero(dataset.train_spikes[1]), strict=True)) == [(6, 0)]
    pooled = importers.import_shd(tmp_path, timesteps=10, dt_ms=5.0, pool=7)
    assert pooled.channels == 100 and pooled.train_spikes[0, 2, 99] == 1


def test_shd_errors_name_file_and_key(tmp_path):
    with pytest.raises(ScsrError) as info:
        importers.import_shd(tmp_path)
    assert str(info.value) == f"{tmp_path / 'shd_train.h5'}: does not exist"
    with h5py.File(tmp_path / "shd_train.h5", "w") as f:
        f["labels"] = np.zeros(1, np.uint16)
    with pytest.raises(ScsrError) as info:
        importers.import_shd(tmp_path)
    assert str(info.value) == (f"{tmp_path / 'shd_train.h5'}: spikes/times: is missing "
                               "(wrong HDF5 layout)")
    write_shd(tmp_path / "shd_train.h5", [([0.0], [0])] * 50, [0] * 50)
    data = (tmp_path / "shd_train.h5").read_bytes()
    (tmp_path / "shd_train.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ScsrError, match=r"shd_train\.h5: (is not a readable HDF5 file|"
                                        r"\S+: cannot be read; the file is corrupt)"):
        importers.import_shd(tmp_path)
    (tmp_path / "shd_train.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(ScsrError, match=r"shd_train\.h5: is not a readable HDF5 file"):
        importers.import_shd(tmp_path)


@pytest.mark.parametrize(("times", "units", "problem"), [
    ([0.01, float("nan")], [1, 2], "a spike time is NaN or infinite"),
    ([0.01, float("inf")], [1, 2], "a spike time is NaN or infinite"),
    ([-0.5, 0.01], [1, 2], "a spike time is negative (-0.5 s)"),
    ([0.01], [700], "unit outside [0, 699]"),
])
def test_shd_events_that_would_vanish_are_refused(tmp_path, times, units, problem):
    """NaN, infinite or negative times would bin to no step and drop without a word."""
    write_shd(tmp_path / "shd_train.h5", [([0.0], [0]), (times, units)], [0, 1])
    write_shd(tmp_path / "shd_test.h5", [([0.0], [0])], [0])
    with pytest.raises(ScsrError) as info:
        importers.import_shd(tmp_path)
    assert str(info.value) == f"{tmp_path / 'shd_train.h5'}: spikes[1]: {problem}"


def test_ntidigits_single_digits_and_sequences(tmp_path):
    path = tmp_path / "n-tidigits.hdf5"
    write_ntidigits(path, {
        "train": {"man-ae-1a": ([0.0, 0.021], [5, 63]), "woman-bc-za": ([0.5], [0]),
                  "man-ae-o4a": ([0.1], [1])},
        "test": {"boy-xy-1b": ([0.0999], [2])},
    })
    dataset = importers.import_ntidigits(path, timesteps=20, dt_ms=10.0)
    assert dataset.classes.tolist() == ["z", "1"]
    assert dataset.train_labels.tolist() == [1, 0]
    assert dataset.train_spikes.shape == (2, 20, 64)
    assert sorted(zip(*np.nonzero(dataset.train_spikes[0]), strict=True)) == [(0, 5), (2, 63)]
    assert list(zip(*np.nonzero(dataset.test_spikes[0]), strict=True)) == [(9, 2)]
    everything = importers.import_ntidigits(path, timesteps=20, single_digits=False)
    assert everything.classes.tolist() == ["z", "1", "o4"]


def test_ntidigits_missing_sample_is_named(tmp_path):
    path = tmp_path / "n.hdf5"
    write_ntidigits(path, {"train": {"man-ae-1a": ([0.0], [5])},
                           "test": {"boy-xy-1b": ([0.0], [2])}})
    with h5py.File(path, "a") as f:
        del f["test_addresses/boy-xy-1b"]
    with pytest.raises(ScsrError) as info:
        importers.import_ntidigits(path)
    assert str(info.value) == (f"{path}: test_addresses/boy-xy-1b: is missing (wrong HDF5 "
                               "layout)")


def make_folder(root, classes=("high", "low"), per_class=3):
    for c, freq in zip(classes, (2000.0, 300.0), strict=False):
        for i in range(per_class):
            write_wav(root / c / f"{i}.wav", tone(freq * (1 + 0.05 * i)), 16000)


def test_wav_folder_is_split_per_class_and_encoded_like_encode_wav(tmp_path):
    make_folder(tmp_path / "data")
    config = encoding_config("logmel", "bsa")
    dataset = importers.import_wav_folder(tmp_path / "data", config, test_fraction=0.3,
                                          seed=1, store_features=True, progress=False)
    assert dataset.classes.tolist() == ["high", "low"]
    assert sorted(dataset.train_labels.tolist()) == [0, 0, 1, 1]
    assert sorted(dataset.test_labels.tolist()) == [0, 1]
    # each training sample is exactly what encode_wav makes of one of the files
    files = sorted((tmp_path / "data").rglob("*.wav"))
    encoded = [encode_wav(f, dataset.config) for f in files]
    for sample in dataset.train_spikes:
        assert sum(np.array_equal(sample, e) for e in encoded) == 1


@pytest.mark.parametrize(("setup", "where", "problem"), [
    (lambda r: (r / "a").mkdir(parents=True), "a", "class folder holds no audio files"),
    (lambda r: (r / "a").mkdir(parents=True) or (r / "a" / "notes.txt").write_text("x"),
     "a/notes.txt", "is not a .wav or .sph audio file"),
    (lambda r: r.mkdir(), "", "holds no class sub-folders"),
    (lambda r: write_wav(r / "a" / "x.wav", np.zeros(100), 8000)
     and write_wav(r / "a" / "y.wav", np.zeros(100), 8000), "a/x.wav",
     "data: is silent (every sample is zero)"),
])
def test_wav_folder_errors(tmp_path, setup, where, problem):
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(ScsrError) as info:
        importers.import_wav_folder(root, encoding_config(), progress=False)
    assert str(info.value) == f"{root / where if where else root}: {problem}"


def test_ti46_names_splits_and_classes(tmp_path):
    for split, take in (("train", 0), ("test", 1)):
        for word in ("00", "01", "09"):
            write_wav(tmp_path / "ti20" / split / "f1" / f"{word}f1set{take}.wav",
                      tone(400 + 100 * int(word)), 16000)
    dataset = importers.import_ti46(tmp_path, encoding_config(), progress=False)
    assert dataset.classes.tolist() == ["zero", "one", "nine"]
    assert sorted(dataset.train_labels.tolist()) == [0, 1, 2]
    assert dataset.config["source"]["kind"] == "ti46"


def test_test_fraction_rounds_to_the_nearest_count():
    labels = np.repeat(np.arange(4), 3)  # 3 files per class
    _, test = importers._split_indices(labels, 0.34, seed=0)
    assert np.bincount(labels[test]).tolist() == [1, 1, 1, 1]  # 1.02 -> 1, not 2
    _, test = importers._split_indices(labels, 0.5, seed=0)
    assert np.bincount(labels[test]).tolist() == [1, 1, 1, 1]  # 1.5 -> 1 (halves down)
    _, test = importers._split_indices(labels, 0.9, seed=0)
    assert np.bincount(labels[test]).tolist() == [2, 2, 2, 2]  # never a whole class


def test_hdf5_sizes_are_checked_before_reading(tmp_path):
    """A 4 KB file claiming 10^7 samples is refused from its declared shape, before h5py
    reads (and numpy allocates) anything."""
    write_shd_claiming(tmp_path / "shd_train.h5", 10**7)
    assert (tmp_path / "shd_train.h5").stat().st_size < 64_000
    with pytest.raises(ScsrError) as info:
        importers.import_shd(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'shd_train.h5'}: labels: declares "
                                      "10000000 samples; their 100 x 700 spikes need 651.9 GiB")
    with h5py.File(tmp_path / "big.h5", "w") as f:
        f.create_dataset("x", (10**12,), dtype=np.float64, chunks=(4096,), compression="gzip")
        with pytest.raises(ScsrError, match=r"big\.h5: x: declares \(1000000000000,\) and "
                                            r"needs 7\.3 TiB, more than the"):
            importers._read(str(tmp_path / "big.h5"), "x", f["x"])


def test_ntidigits_label_counts_are_checked_before_reading(tmp_path):
    path = tmp_path / "n.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("train_labels", (10**9,), dtype="S16", chunks=(4096,),
                         compression="gzip")
    with pytest.raises(ScsrError, match=r"n\.hdf5: train_labels: declares 1000000000 "
                                        r"samples; their 100 x 64 spikes need"):
        importers.import_ntidigits(path)
