"""Importing real data the user already has (design §8): audio folders and TI46 through the
same audio pipeline as the built-in sets, event sets (SHD, N-TIDIGITS) binned to T steps."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from golden_model.errors import ScsrError
from golden_model.limits import check_bytes
from golden_model.progress import bar as progress_bar

from . import encoders
from .audio import read_audio
from .build import FORMAT, tool_versions
from .pipeline import features, prepare
from .store import Dataset

AUDIO_SUFFIXES = (".wav", ".sph")
TI46_NAME = re.compile(r"^(?P<word>[0-9a-z]{2})(?P<speaker>[fm]\d)set(?P<take>\d+)\.(sph|wav)$",
                       re.IGNORECASE)
TI46_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _split_indices(labels: np.ndarray, test_fraction: float, seed: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A stratified split: the last ``round(fraction * n)`` of each class (shuffled) go to
    test (halves round down), at least one and never all of a class with two or more
    items."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n = len(members)
        count = min(n - 1, max(1, int(np.floor(test_fraction * n + 0.5 - 1e-9)))) if n > 1 else 0
        test.extend(members[len(members) - count:])
        train.extend(members[: len(members) - count])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(test, dtype=np.int64))


def _encode_files(files: list[Path], encoding: dict[str, Any], progress: bool
                  ) -> tuple[np.ndarray, np.ndarray]:
    frames = []
    for path in progress_bar(files, unit="file", desc="encode", disable=not progress,
                             leave=False):
        samples, rate = read_audio(path)
        frames.append(features(prepare(samples, rate, encoding, os.fspath(path)), encoding))
    stack = np.stack(frames).astype(np.float32)
    return stack, encoders.encode(stack, encoding["encoder"])


def _audio_dataset(source: dict[str, Any], encoding: dict[str, Any], classes: list[str],
                   split_files: dict[str, list[tuple[Path, int]]], store_features: bool,
                   progress: bool) -> Dataset:
    arrays: dict[str, Any] = {}
    for split, entries in split_files.items():
        feats, spikes = _encode_files([p for p, _ in entries], encoding, progress)
        arrays[f"{split}_spikes"] = spikes
        arrays[f"{split}_labels"] = np.array([label for _, label in entries], dtype=np.int64)
        arrays[f"{split}_features"] = feats if store_features else None
    config = {**FORMAT, "source": source, **encoding, "store_features": store_features,
              "tools": tool_versions(encoding["front_end"]["kind"], espeak=False)}
    return Dataset(classes=np.array(classes, dtype=np.str_), config=config, **arrays)


def import_wav_folder(root: str | os.PathLike[str], encoding: dict[str, Any], *,
                      test_fraction: float = 0.2, seed: int = 0, store_features: bool = False,
                      progress: bool = True) -> Dataset:
    """A folder with one sub-folder per class, each holding ``.wav`` (or ``.sph``) files.

    Classes are the sub-folder names in sorted order; files are split per class into train
    and test (``test_fraction``, seeded). Any other file in a class folder is an error, as is
    a class folder without audio.
    """
    where = os.fspath(root)
    base = Path(where)
    if not base.is_dir():
        raise ScsrError(where, "", "is not a directory (expected one sub-folder per class)")
    folders = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ScsrError(where, "", "holds no class sub-folders")
    files: list[Path] = []
    labels: list[int] = []
    for label, folder in enumerate(folders):
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        others = [p for p in entries if p.suffix.lower() not in AUDIO_SUFFIXES]
        if others:
            raise ScsrError(os.fspath(others[0]), "", "is not a .wav or .sph audio file")
        if not entries:
            raise ScsrError(os.fspath(folder), "", "class folder holds no audio files")
        files.extend(entries)
        labels.extend([label] * len(entries))
    train, test = _split_indices(np.array(labels), test_fraction, seed)
    if test.size == 0:
        raise ScsrError(where, "", "too few files for a test split (need 2 per class)")
    source = {"kind": "wav", "path": os.path.abspath(where), "test_fraction": test_fraction,
              "seed": seed, "files": len(files)}
    split_files = {name: [(files[i], labels[i]) for i in index]
                   for name, index in (("train", train), ("test", test))}
    return _audio_dataset(source, encoding, [f.name for f in folders], split_files,
                          store_features, progress)


def import_ti46(root: str | os.PathLike[str], encoding: dict[str, Any], *,
                store_features: bool = False, progress: bool = True) -> Dataset:
    """TI46 as distributed (NIST SPHERE) or converted to WAV, file names kept.

    Files are found anywhere under ``root`` by their TI46 name ``<WW><speaker>set<N>.sph``
    (e.g. ``00f1set0.sph``); the split comes from a ``train`` or ``test`` directory on the
    path, the class from the word code ``WW`` (``00``-``09`` are named ``zero``-``nine``,
    other codes are kept as they are).
    """
    where = os.fspath(root)
    if not Path(where).is_dir():
        raise ScsrError(where, "", "is not a directory")
    found: dict[str, list[tuple[Path, str]]] = {"train": [], "test": []}
    for path in sorted(Path(where).rglob("*")):
        match = TI46_NAME.match(path.name)
        if not match:
            continue
        parts = {part.lower() for part in path.relative_to(where).parts[:-1]}
        split = "train" if "train" in parts else "test" if "test" in parts else None
        if split is None:
            raise ScsrError(os.fspath(path), "", "is under neither a 'train' nor a 'test' "
                                                 "directory")
        code = match["word"].lower()
        name = TI46_DIGITS[int(code)] if code.isdigit() and int(code) < 10 else code
        found[split].append((path, name))
    for split, entries in found.items():
        if not entries:
            raise ScsrError(where, split, "no TI46 files (<WW><speaker>set<N>.sph) found")
    classes = sorted({name for entries in found.values() for _, name in entries},
                     key=lambda n: (n not in TI46_DIGITS, TI46_DIGITS.index(n)
                                    if n in TI46_DIGITS else 0, n))
    index = {name: i for i, name in enumerate(classes)}
    split_files = {s: [(p, index[n]) for p, n in entries] for s, entries in found.items()}
    source = {"kind": "ti46", "path": os.path.abspath(where)}
    return _audio_dataset(source, encoding, classes, split_files, store_features, progress)


# ---------------------------------------------------------------------------- event data


def bin_events(times_s: np.ndarray, units: np.ndarray, timesteps: int, dt_ms: float,
               channels: int, pool: int = 1) -> np.ndarray:
    """Events → spikes ``(timesteps, channels // pool)``: 1 where any event of the (pooled)
    channel falls into the step ``[t*dt, (t+1)*dt)``; later events are dropped."""
    steps = np.floor(np.asarray(times_s, dtype=np.float64) * 1000.0 / dt_ms).astype(np.int64)
    keep = (steps >= 0) & (steps < timesteps)
    out = np.zeros((timesteps, channels // pool), dtype=np.uint8)
    out[steps[keep], np.asarray(units, dtype=np.int64)[keep] // pool] = 1
    return out


def check_events(where: str, field: str, times_s: np.ndarray, units: np.ndarray,
                 channels: int, unit_name: str = "unit") -> None:
    """One sample's events must pair up, name a channel that exists and happen at a finite,
    non-negative time: NaN or negative times would otherwise be dropped without a word."""
    if len(times_s) != len(units):
        raise ScsrError(where, field, f"{len(units)} {unit_name}s for {len(times_s)} times")
    if len(units) and (np.min(units) < 0 or np.max(units) >= channels):
        raise ScsrError(where, field, f"{unit_name} outside [0, {channels - 1}]")
    times = np.asarray(times_s, dtype=np.float64)
    if not np.all(np.isfinite(times)):
        raise ScsrError(where, field, "a spike time is NaN or infinite")
    if len(times) and times.min() < 0:
        raise ScsrError(where, field, f"a spike time is negative ({times.min():g} s)")


def _h5(path: str) -> Any:
    import h5py

    if not Path(path).is_file():
        raise ScsrError(path, "", "does not exist")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ScsrError(path, "", f"is not a readable HDF5 file ({exc})") from None


def _dataset(h5: Any, where: str, key: str, prefix: str = "") -> Any:
    """``h5[key]``, or an error naming the missing key (``prefix`` is the group's path)."""
    if key not in h5:
        raise ScsrError(where, prefix + key, "is missing (wrong HDF5 layout)")
    return h5[key]


#: Bytes one ragged (variable-length) HDF5 element costs once read, beyond its values:
#: numpy's object pointer and the small array object behind it.
_RAGGED_OVERHEAD = 128


def _read(where: str, key: str, node: Any) -> np.ndarray:
    """A whole HDF5 dataset, once its declared shape is known to fit in memory."""
    import h5py

    ragged = h5py.check_vlen_dtype(node.dtype) is not None
    per_element = node.dtype.itemsize + (_RAGGED_OVERHEAD if ragged else 0)
    check_bytes(where, key, int(node.size) * per_element, f"declares {node.shape} and needs")
    try:
        return node[()]
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise ScsrError(where, key, f"cannot be read; the file is corrupt or truncated "
                                    f"({exc})") from None


def _check_spike_array(where: str, key: str, samples: int, timesteps: int,
                       channels: int) -> None:
    """The binned ``(samples, timesteps, channels)`` uint8 array must fit, before reading."""
    check_bytes(where, key, samples * timesteps * channels,
                f"declares {samples} samples; their {timesteps} x {channels} spikes need")


def _read_shd_file(where: str, timesteps: int, dt_ms: float, pool: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str] | None]:
    """SHD layout: ``spikes/times`` and ``spikes/units`` (one ragged array per sample, times
    in seconds, units 0-699), ``labels``, ``extra/speaker``, optional ``extra/keys``."""
    with _h5(where) as h5:
        labels_node = _dataset(h5, where, "labels")
        _check_spike_array(where, "labels", labels_node.size, timesteps, 700 // pool)
        times = _read(where, "spikes/times", _dataset(h5, where, "spikes/times"))
        units = _read(where, "spikes/units", _dataset(h5, where, "spikes/units"))
        labels = _read(where, "labels", labels_node).astype(np.int64)
        speakers = _read(where, "extra/speaker", _dataset(h5, where, "extra/speaker"))
        keys = None
        if "extra/keys" in h5:
            keys = [k.decode() if isinstance(k, bytes) else str(k)
                    for k in _read(where, "extra/keys", h5["extra/keys"])]
    if not (len(times) == len(units) == len(labels) == len(speakers)):
        raise ScsrError(where, "labels", f"{len(labels)} labels for {len(times)} samples")
    spikes = np.zeros((len(labels), timesteps, 700 // pool), dtype=np.uint8)
    for i, (t, u) in enumerate(zip(times, units, strict=True)):
        check_events(where, f"spikes[{i}]", t, u, 700)
        spikes[i] = bin_events(t, u, timesteps, dt_ms, 700, pool)
    return spikes, labels, np.asarray(speakers), keys


def import_shd(path: str | os.PathLike[str], *, timesteps: int = 100, dt_ms: float = 10.0,
               pool: int = 1) -> Dataset:
    """SHD (Spiking Heidelberg Digits): a directory with ``shd_train.h5`` and ``shd_test.h5``
    (the published split, test speakers unseen), or those two files' directory."""
    where = os.fspath(path)
    base = Path(where)
    if not base.is_dir():
        raise ScsrError(where, "", "should be the directory holding shd_train.h5 and "
                                   "shd_test.h5")
    if 700 % pool:
        raise ScsrError("--pool", "", f"{pool} does not divide SHD's 700 channels")
    arrays: dict[str, Any] = {}
    classes: list[str] | None = None
    for split in ("train", "test"):
        spikes, labels, _, keys = _read_shd_file(os.fspath(base / f"shd_{split}.h5"),
                                                 timesteps, dt_ms, pool)
        arrays[f"{split}_spikes"], arrays[f"{split}_labels"] = spikes, labels
        classes = classes or keys
    count = int(max(arrays["train_labels"].max(), arrays["test_labels"].max())) + 1
    classes = classes or [str(i) for i in range(count)]
    config = {**FORMAT, "source": {"kind": "shd", "path": os.path.abspath(where)},
              "timesteps": timesteps, "dt_ms": dt_ms, "pool": pool, "front_end": None,
              "encoder": {"kind": "bin"}, "store_features": False,
              "tools": tool_versions(None, espeak=False)}
    return Dataset(classes=np.array(classes, dtype=np.str_), config=config, **arrays)


def ntidigits_class(label: str) -> str:
    """The digit sequence of an N-TIDIGITS sample id, e.g. ``man-ae-o4a`` → ``o4``
    (``z`` is zero, ``o`` is oh; the trailing letter is the take)."""
    return label.split("-")[-1][:-1]


def import_ntidigits(path: str | os.PathLike[str], *, timesteps: int = 100,
                     dt_ms: float = 10.0, single_digits: bool = True) -> Dataset:
    """N-TIDIGITS (``n-tidigits.hdf5``): ``{train,test}_labels`` sample ids (bytes) and per id
    ``{split}_timestamps/<id>`` (s) and ``{split}_addresses/<id>`` (channels 0-63).

    With ``single_digits`` only isolated digits are kept (11 classes: z, o, 1-9), as in the
    paper's use; otherwise every digit sequence is its own class.
    """
    where = os.fspath(path)
    arrays: dict[str, Any] = {}
    per_split: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    with _h5(where) as h5:
        for split in ("train", "test"):
            labels = _dataset(h5, where, f"{split}_labels")
            _check_spike_array(where, f"{split}_labels", labels.size, timesteps, 64)
            ids = [x.decode() if isinstance(x, bytes) else str(x) for x in
                   _read(where, f"{split}_labels", labels)]
            stamps = _dataset(h5, where, f"{split}_timestamps")
            addresses = _dataset(h5, where, f"{split}_addresses")
            names, samples = [], []
            for sample in ids:
                name = ntidigits_class(sample)
                if single_digits and len(name) != 1:
                    continue
                t = _read(where, f"{split}_timestamps/{sample}",
                          _dataset(stamps, where, sample, f"{split}_timestamps/"))
                a = _read(where, f"{split}_addresses/{sample}",
                          _dataset(addresses, where, sample, f"{split}_addresses/"))
                check_events(where, f"{split}_addresses/{sample}", t, a, 64, "address")
                names.append(name)
                samples.append(bin_events(t, a, timesteps, dt_ms, 64))
            if not samples:
                raise ScsrError(where, f"{split}_labels", "no usable samples")
            per_split[split] = (names, samples)
    order = "zo123456789"
    classes = sorted({n for names, _ in per_split.values() for n in names},
                     key=lambda n: (len(n), [order.find(c) for c in n]))
    index = {name: i for i, name in enumerate(classes)}
    for split, (names, samples) in per_split.items():
        arrays[f"{split}_spikes"] = np.stack(samples)
        arrays[f"{split}_labels"] = np.array([index[n] for n in names], dtype=np.int64)
    config = {**FORMAT, "source": {"kind": "ntidigits", "path": os.path.abspath(where),
                                   "single_digits": single_digits},
              "timesteps": timesteps, "dt_ms": dt_ms, "front_end": None,
              "encoder": {"kind": "bin"}, "store_features": False,
              "tools": tool_versions(None, espeak=False)}
    return Dataset(classes=np.array(classes, dtype=np.str_), config=config, **arrays)
