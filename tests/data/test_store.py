"""The dataset file contract (scsr/data/store.py): round trip, determinism, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden_model.errors import ScsrError
from scsr.data import Dataset, load_dataset, save_dataset
from scsr.data.store import to_arrays


def make(n_train: int = 5, n_test: int = 3, t: int = 7, c: int = 4, k: int = 3,
         features: bool = True, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    return Dataset(
        train_spikes=rng.integers(0, 2, (n_train, t, c), dtype=np.uint8),
        train_labels=rng.integers(0, k, n_train).astype(np.int64),
        test_spikes=rng.integers(0, 2, (n_test, t, c), dtype=np.uint8),
        test_labels=rng.integers(0, k, n_test).astype(np.int64),
        classes=np.array([f"c{i}" for i in range(k)]),
        config={"source": {"kind": "test"}, "seed": seed},
        train_features=rng.random((n_train, t, 2), dtype=np.float32) if features else None,
        test_features=rng.random((n_test, t, 2), dtype=np.float32) if features else None,
    )


@settings(max_examples=25, deadline=None)
@given(n_train=st.integers(1, 6), n_test=st.integers(1, 4), t=st.integers(1, 9),
       c=st.integers(1, 5), k=st.integers(1, 4), features=st.booleans(),
       seed=st.integers(0, 2**16))
def test_round_trip_is_exact_and_bytes_are_reproducible(tmp_path_factory, n_train, n_test, t,
                                                        c, k, features, seed):
    tmp = tmp_path_factory.mktemp("rt")
    dataset = make(n_train, n_test, t, c, k, features, seed)
    save_dataset(dataset, tmp / "a.npz")
    save_dataset(dataset, tmp / "b.npz")
    assert (tmp / "a.npz").read_bytes() == (tmp / "b.npz").read_bytes()
    back = load_dataset(tmp / "a.npz")
    for key, value in to_arrays(dataset).items():
        if key != "config":
            assert np.array_equal(getattr(back, key), value) and getattr(back, key).dtype == \
                value.dtype
    assert back.config == dataset.config
    with np.load(tmp / "a.npz", allow_pickle=False) as npz:
        assert json.loads(str(npz["config"])) == dataset.config
        assert npz["config"].shape == () and npz["classes"].dtype.kind == "U"


def corrupt(tmp_path, **changes) -> str:
    arrays = to_arrays(make())
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(("changes", "field", "problem"), [
    ({"extra": np.zeros(1)}, "extra", "is not allowed in a dataset file"),
    ({"classes": None}, "classes", "is missing"),
    ({"train_spikes": np.full((5, 7, 4), 2, np.uint8)}, "train_spikes[0, 0, 0]",
     "2 is not 0 or 1"),
    ({"test_spikes": np.zeros((3, 7, 4), np.int8)}, "test_spikes", "dtype int8 should be uint8"),
    ({"test_spikes": np.zeros((3, 8, 4), np.uint8)}, "test_spikes",
     "(T, C) = (8, 4) differs from train's (7, 4)"),
    ({"train_labels": np.full(5, 3, np.int64)}, "train_labels[0]", "3 is outside [0, 2]"),
    ({"train_labels": np.zeros(5, np.int32)}, "train_labels", "dtype int32 should be int64"),
    ({"test_labels": np.zeros(2, np.int64)}, "test_labels", "shape (2,) should be (3,)"),
    ({"classes": np.array(["a", "a", "b"])}, "classes", "'a' appears more than once"),
    ({"config": np.array("[1]")}, "config", "should be a JSON object"),
    ({"config": np.array("{")}, "config",
     "is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
     "(char 1))"),
    ({"test_features": None}, "test_features",
     "is missing (features come for both splits)"),
    ({"train_features": np.zeros((5, 7, 2), np.float64)}, "train_features",
     "dtype float64 should be float32"),
    ({"train_features": np.full((5, 7, 2), np.nan, np.float32)}, "train_features",
     "holds NaN or infinite values"),
])
def test_every_violation_is_named(tmp_path, changes, field, problem):
    path = corrupt(tmp_path, **changes)
    with pytest.raises(ScsrError) as info:
        load_dataset(path)
    assert str(info.value) == f"{path}: {field}: {problem}"


def test_a_failed_save_leaves_nothing(tmp_path):
    bad = make()
    object.__setattr__(bad, "train_labels", np.full(5, 9, np.int64))
    with pytest.raises(ScsrError, match=r"train_labels\[0\]: 9 is outside \[0, 2\]"):
        save_dataset(bad, tmp_path / "out.npz")
    assert list(tmp_path.iterdir()) == []


def test_truncated_file_is_a_user_error(tmp_path):
    save_dataset(make(), tmp_path / "ok.npz")
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ScsrError, match=r"cut\.npz: is not a readable \.npz file"):
        load_dataset(tmp_path / "cut.npz")
