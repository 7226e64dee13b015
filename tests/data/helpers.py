"""Writers of small audio files for the data tests (the formats the importers must read)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def wav_bytes(samples: np.ndarray, rate: int, bits: int = 16, fmt: int = 1,
              streaming: bool = False) -> bytes:
    """A RIFF/WAVE file of ``samples`` ``(n,)`` or ``(n, channels)`` in [-1, 1].

    ``fmt`` 1 = PCM (8/16/24/32 bits), 3 = IEEE float (32 bits); ``streaming`` writes the
    0x7fffffff sizes espeak-ng --stdout uses.
    """
    data = np.atleast_2d(np.asarray(samples, dtype=np.float64).T).T
    channels = data.shape[1]
    if fmt == 3:
        payload = data.astype("<f4").tobytes()
    elif bits == 8:
        payload = np.clip(np.round(data * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    elif bits == 24:
        ints = np.clip(np.round(data * (2**23 - 1)), -(2**23), 2**23 - 1).astype("<i4")
        payload = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        scale = 2 ** (bits - 1) - 1
        payload = np.round(data * scale).astype(f"<i{bits // 8}").tobytes()
    block = channels * bits // 8
    size = 0x7FFFFFFF if streaming else len(payload)
    header = b"RIFF" + struct.pack("<I", 0x7FFFFFFF if streaming else 36 + len(payload))
    header += b"WAVEfmt " + struct.pack("<IHHIIHH", 16, fmt, channels, rate, rate * block,
                                        block, bits)
    return header + b"data" + struct.pack("<I", size) + payload


def write_wav(path: Path, samples: np.ndarray, rate: int, **kwargs: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(samples, rate, **kwargs))
    return path


def tone(freq: float, rate: int = 16000, seconds: float = 0.4, onset: float = 0.1) -> np.ndarray:
    """A sine burst after ``onset`` seconds of silence, then silence again."""
    t = np.arange(int(rate * seconds)) / rate
    signal = 0.5 * np.sin(2 * np.pi * freq * t)
    signal[: int(onset * rate)] = 0
    return np.concatenate([signal, np.zeros(int(0.1 * rate))])


def write_shd(path, samples, labels, keys=("zero", "one", "two")):
    """``samples``: list of (times_s, units) pairs."""
    import h5py

    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (len(samples),),
                                 dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (len(samples),),
                                 dtype=h5py.vlen_dtype(np.uint16))
        for i, (t, u) in enumerate(samples):
            times[i] = np.asarray(t, np.float32)
            units[i] = np.asarray(u, np.uint16)
        f["labels"] = np.asarray(labels, np.uint16)
        f["extra/speaker"] = np.zeros(len(labels), np.uint16)
        f["extra/keys"] = np.array([k.encode() for k in keys])


def write_ntidigits(path, splits):
    """``splits``: {split: {sample_id: (timestamps_s, addresses)}}."""
    import h5py

    with h5py.File(path, "w") as f:
        for split, samples in splits.items():
            f[f"{split}_labels"] = np.array([k.encode() for k in samples])
            for key, (t, a) in samples.items():
                f[f"{split}_timestamps/{key}"] = np.asarray(t, np.float64)
                f[f"{split}_addresses/{key}"] = np.asarray(a, np.int16)


def write_shd_claiming(path, count):
    """An HDF5 file of a few kilobytes whose SHD datasets declare ``count`` samples (chunked
    and never written, so nothing is stored)."""
    import h5py

    with h5py.File(path, "w") as f:
        for key, dtype in (("spikes/times", h5py.vlen_dtype(np.float32)),
                           ("spikes/units", h5py.vlen_dtype(np.uint16)),
                           ("labels", np.uint16), ("extra/speaker", np.uint16)):
            f.create_dataset(key, (count,), dtype=dtype, chunks=(1024,), compression="gzip")
