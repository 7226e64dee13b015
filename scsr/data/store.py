"""The dataset file: one ``.npz`` with both splits, class names and the build config.

Contract (other packages read it; see ``docs/datasets.md``):

- ``train_spikes`` uint8 ``(N_train, T, C)`` of 0/1, ``train_labels`` int64 ``(N_train,)``,
- ``test_spikes`` uint8 ``(N_test, T, C)``, ``test_labels`` int64 ``(N_test,)``,
- ``classes`` unicode ``(K,)``, unique, labels in ``[0, K)``,
- ``config`` 0-d unicode: the JSON text of the full build config (source, split, seed, front
  end and encoder parameters, tool versions). Training copies it into a bundle's provenance
  so that new audio is encoded exactly like the training data (:func:`scsr.data.encode_wav`),
- optional ``train_features`` / ``test_features`` float32 ``(N, T, F)``: front-end frames
  before spike encoding (for the non-spiking reference models).

The file is written atomically and read with ``allow_pickle=False``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from golden_model.atomic import atomic_file
from golden_model.errors import ScsrError
from golden_model.npzio import read_npz_file

REQUIRED_KEYS = ("train_spikes", "train_labels", "test_spikes", "test_labels", "classes",
                 "config")
OPTIONAL_KEYS = ("train_features", "test_features")
SPLITS = ("train", "test")


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Both splits of a spike dataset plus what is needed to reproduce its encoding.

    Attributes
    ----------
    train_spikes, test_spikes : np.ndarray
        uint8 ``(N, T, C)`` of 0/1; T and C are the same for both splits.
    train_labels, test_labels : np.ndarray
        int64 ``(N,)`` indices into ``classes``.
    classes : np.ndarray
        unicode ``(K,)`` class names, unique.
    config : dict
        The full build config (JSON-serialisable); ``encode_wav(path, config)`` reproduces it.
    train_features, test_features : np.ndarray or None
        float32 ``(N, T, F)`` front-end frames before encoding, when the source has them.
    """

    train_spikes: np.ndarray
    train_labels: np.ndarray
    test_spikes: np.ndarray
    test_labels: np.ndarray
    classes: np.ndarray
    config: dict[str, Any]
    train_features: np.ndarray | None = None
    test_features: np.ndarray | None = None

    @property
    def timesteps(self) -> int:
        return int(self.train_spikes.shape[1])

    @property
    def channels(self) -> int:
        return int(self.train_spikes.shape[2])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(spikes, labels, features)`` of split ``name`` (``train`` or ``test``)."""
        if name not in SPLITS:
            raise ValueError(f"split {name!r} is not one of {SPLITS}")
        return (getattr(self, f"{name}_spikes"), getattr(self, f"{name}_labels"),
                getattr(self, f"{name}_features"))


def _check_spikes(where: str, key: str, spikes: np.ndarray) -> None:
    if spikes.dtype != np.uint8:
        raise ScsrError(where, key, f"dtype {spikes.dtype} should be uint8")
    if spikes.ndim != 3:
        raise ScsrError(where, key, f"shape {spikes.shape} should be (N, T, C)")
    if spikes.shape[0] < 1:
        raise ScsrError(where, key, "holds no samples (N is 0)")
    if spikes.shape[1] < 1 or spikes.shape[2] < 1:
        raise ScsrError(where, key, f"shape {spikes.shape} has no timesteps or no channels")
    bad = np.flatnonzero(spikes > 1)
    if bad.size:
        index = np.unravel_index(bad[0], spikes.shape)
        raise ScsrError(where, f"{key}[{', '.join(str(int(i)) for i in index)}]",
                        f"{int(spikes[index])} is not 0 or 1")


def _check_labels(where: str, key: str, labels: np.ndarray, count: int, classes: int) -> None:
    if labels.dtype != np.int64:
        raise ScsrError(where, key, f"dtype {labels.dtype} should be int64")
    if labels.shape != (count,):
        raise ScsrError(where, key, f"shape {labels.shape} should be ({count},)")
    bad = np.flatnonzero((labels < 0) | (labels >= classes))
    if bad.size:
        raise ScsrError(where, f"{key}[{bad[0]}]",
                        f"{int(labels[bad[0]])} is outside [0, {classes - 1}]")


def _check_features(where: str, key: str, features: np.ndarray, spikes: np.ndarray) -> None:
    if features.dtype != np.float32:
        raise ScsrError(where, key, f"dtype {features.dtype} should be float32")
    if features.ndim != 3 or features.shape[:2] != spikes.shape[:2] or features.shape[2] < 1:
        raise ScsrError(where, key, f"shape {features.shape} should be "
                                    f"({spikes.shape[0]}, {spikes.shape[1]}, F)")
    if not np.all(np.isfinite(features)):
        raise ScsrError(where, key, "holds NaN or infinite values")


def _parse_config(where: str, raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype.kind != "U" or raw.ndim != 0:
        raise ScsrError(where, "config", f"should be a 0-d unicode array (JSON text), "
                                         f"not {raw.dtype} {raw.shape}")
    try:
        config = json.loads(str(raw))
    except (ValueError, RecursionError) as exc:
        raise ScsrError(where, "config", f"is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ScsrError(where, "config", "should be a JSON object")
    return config


def validate(where: str, content: dict[str, np.ndarray]) -> Dataset:
    """Check every rule of the contract on raw arrays and return the :class:`Dataset`."""
    for key in content:
        if key not in REQUIRED_KEYS + OPTIONAL_KEYS:
            raise ScsrError(where, key, "is not allowed in a dataset file")
    for key in REQUIRED_KEYS:
        if key not in content:
            raise ScsrError(where, key, "is missing")
    classes = content["classes"]
    if classes.dtype.kind != "U" or classes.ndim != 1 or classes.size < 1:
        raise ScsrError(where, "classes", f"should be a non-empty 1-d unicode array, "
                                          f"not {classes.dtype} {classes.shape}")
    names, counts = np.unique(classes, return_counts=True)
    if np.any(counts > 1):
        raise ScsrError(where, "classes", f"{str(names[counts > 1][0])!r} appears more than once")
    config = _parse_config(where, content["config"])
    shape: tuple[int, int] | None = None
    for split in SPLITS:
        spikes = content[f"{split}_spikes"]
        _check_spikes(where, f"{split}_spikes", spikes)
        if shape is None:
            shape = spikes.shape[1:]
        elif spikes.shape[1:] != shape:
            raise ScsrError(where, f"{split}_spikes", f"(T, C) = {spikes.shape[1:]} differs "
                                                      f"from train's {shape}")
        _check_labels(where, f"{split}_labels", content[f"{split}_labels"], spikes.shape[0],
                      classes.size)
        features = content.get(f"{split}_features")
        if features is not None:
            _check_features(where, f"{split}_features", features, spikes)
    if ("train_features" in content) != ("test_features" in content):
        raise ScsrError(where, "test_features" if "train_features" in content
                        else "train_features", "is missing (features come for both splits)")
    if "train_features" in content and (content["train_features"].shape[2]
                                        != content["test_features"].shape[2]):
        raise ScsrError(where, "test_features", "feature width F differs from train_features")
    return Dataset(
        train_spikes=content["train_spikes"], train_labels=content["train_labels"],
        test_spikes=content["test_spikes"], test_labels=content["test_labels"],
        classes=classes, config=config,
        train_features=content.get("train_features"), test_features=content.get("test_features"),
    )


def load_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Read and validate a dataset file; any violation is an :class:`ScsrError`."""
    return validate(os.fspath(path), read_npz_file(path))


def to_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    """The arrays of the file contract, in a fixed key order (so bytes are reproducible)."""
    arrays = {
        "train_spikes": dataset.train_spikes, "train_labels": dataset.train_labels,
        "test_spikes": dataset.test_spikes, "test_labels": dataset.test_labels,
        "classes": dataset.classes,
        "config": np.array(json.dumps(dataset.config, sort_keys=True)),
    }
    for key in OPTIONAL_KEYS:
        value = getattr(dataset, key)
        if value is not None:
            arrays[key] = value
    return arrays


def save_dataset(dataset: Dataset, path: str | os.PathLike[str]) -> None:
    """Validate ``dataset`` and write it atomically to ``path``.

    The output is byte-identical for identical content: members are written in a fixed order
    with a fixed timestamp (``np.savez`` would stamp the current time into the zip).
    """
    arrays = to_arrays(dataset)
    validate(os.fspath(path), arrays)
    with atomic_file(path) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue(), compresslevel=1)
