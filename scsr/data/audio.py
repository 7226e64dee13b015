"""Reading audio: RIFF/WAVE and NIST SPHERE, mixed to mono float64 at the configured rate.

Written here rather than taken from ``scipy.io.wavfile`` because we need (a) the streaming
headers ``espeak-ng --stdout`` writes (sizes of ``0x7fffffff``), (b) NIST SPHERE (TI46 as
distributed), and (c) one :class:`~golden_model.errors.ScsrError` per problem that names the
file and the header field, never a traceback.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from golden_model.errors import ScsrError
from golden_model.limits import check_bytes

#: Sample rates a file may declare: telephone speech to studio audio. Outside it a header
#: is broken, and resampling from it would ask for absurd amounts of memory and time.
RATE_RANGE = (1000, 384_000)

_WAVE_PCM, _WAVE_FLOAT, _WAVE_EXTENSIBLE = 1, 3, 0xFFFE


def _pcm_to_float(where: str, raw: bytes, width: int, kind: str) -> np.ndarray:
    """Little-endian PCM / IEEE float bytes → float64 in [-1, 1]."""
    usable = len(raw) - len(raw) % width
    raw = raw[:usable]
    if kind == "float":
        if width not in (4, 8):
            raise ScsrError(where, "fmt.bits_per_sample", f"{8 * width}-bit float is not "
                                                          "supported (32 or 64)")
        return np.frombuffer(raw, dtype=f"<f{width}").astype(np.float64)
    if width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float64) / float(1 << 23)
    if width in (2, 4):
        return np.frombuffer(raw, dtype=f"<i{width}").astype(np.float64) / float(
            1 << (8 * width - 1))
    raise ScsrError(where, "fmt.bits_per_sample", f"{8 * width}-bit PCM is not supported "
                                                  "(8, 16, 24 or 32)")


def read_wav_bytes(where: str, data: bytes) -> tuple[np.ndarray, int]:
    """Decode a RIFF/WAVE byte string to ``(samples (n, channels) float64, rate)``."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ScsrError(where, "", "is not a RIFF/WAVE audio file")
    pos, fmt, payload = 12, None, None
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]  # a streaming header over-states the size
        if tag == b"fmt ":
            if len(body) < 16:
                raise ScsrError(where, "fmt", "chunk is truncated")
            fmt = struct.unpack("<HHIIHH", body[:16]), body
        elif tag == b"data":
            payload = body
            break
        pos += 8 + size + (size & 1)
    if fmt is None:
        raise ScsrError(where, "fmt", "chunk is missing")
    if payload is None:
        raise ScsrError(where, "data", "chunk is missing")
    (code, channels, rate, _, _, bits), body = fmt
    if code == _WAVE_EXTENSIBLE and len(body) >= 26:
        code = struct.unpack("<H", body[24:26])[0]
    if code not in (_WAVE_PCM, _WAVE_FLOAT):
        raise ScsrError(where, "fmt.format", f"sample format {code:#x} is not supported "
                                             "(PCM or IEEE float only)")
    if channels < 1 or rate < 1 or bits % 8 or bits == 0:
        raise ScsrError(where, "fmt", f"invalid header: {channels} channels, {rate} Hz, "
                                      f"{bits} bits per sample")
    _check_rate(where, "fmt.sample_rate", rate)
    flat = _pcm_to_float(where, payload, bits // 8, "float" if code == _WAVE_FLOAT else "pcm")
    flat = flat[: len(flat) - len(flat) % channels]
    return flat.reshape(-1, channels), rate


def read_sphere_bytes(where: str, data: bytes) -> tuple[np.ndarray, int]:
    """Decode a NIST SPHERE file (TI46 as distributed): 1024-byte text header, raw PCM.

    Only uncompressed PCM is read (``sample_coding`` ``pcm`` or absent); shorten-compressed
    files must be converted first (e.g. ``sph2pipe -f wav``).
    """
    if not data.startswith(b"NIST_1A"):
        raise ScsrError(where, "", "is not a NIST SPHERE file (no NIST_1A header)")
    lines = data[:1024].decode("ascii", "replace").splitlines()
    try:
        header_size = int(lines[1].strip())
    except (IndexError, ValueError):
        raise ScsrError(where, "header", "size line is missing") from None
    fields: dict[str, str] = {}
    for line in lines[2:]:
        parts = line.split(None, 2)
        if parts and parts[0] == "end_head":
            break
        if len(parts) == 3:
            fields[parts[0]] = parts[2].strip()
    coding = fields.get("sample_coding", "pcm")
    if not coding.startswith("pcm") or "shorten" in coding:
        raise ScsrError(where, "sample_coding", f"{coding!r} is not supported (uncompressed "
                                                "PCM only; convert with sph2pipe)")
    try:
        rate = int(fields["sample_rate"])
        width = int(fields.get("sample_n_bytes", "2"))
        channels = int(fields.get("channel_count", "1"))
    except (KeyError, ValueError) as exc:
        raise ScsrError(where, "sample_rate", f"missing or invalid ({exc})") from None
    _check_rate(where, "sample_rate", rate)
    raw = data[header_size:]
    if fields.get("sample_byte_format", "01") == "10" and width == 2:
        raw = np.frombuffer(raw[: len(raw) - len(raw) % 2], dtype=">i2").astype("<i2").tobytes()
    flat = _pcm_to_float(where, raw, width, "pcm")
    flat = flat[: len(flat) - len(flat) % channels]
    return flat.reshape(-1, channels), rate


def _check_rate(where: str, field: str, rate: int) -> None:
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise ScsrError(where, field, f"{rate} Hz is outside [{RATE_RANGE[0]}, "
                                      f"{RATE_RANGE[1]}] Hz")


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a WAV or SPHERE file as mono float64 samples (stereo is averaged) and its rate."""
    where = os.fspath(path)
    try:
        data = Path(where).read_bytes()
    except OSError as exc:
        raise ScsrError(where, "", f"cannot be read ({exc.strerror})") from None
    check_bytes(where, "data", 8 * len(data), "decodes to up to")  # float64 of 8-bit PCM
    if data.startswith(b"NIST_1A"):
        samples, rate = read_sphere_bytes(where, data)
    else:
        samples, rate = read_wav_bytes(where, data)
    if samples.shape[0] == 0:
        raise ScsrError(where, "data", "holds no samples (zero-length audio)")
    return samples.mean(axis=1), rate


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling to ``target`` Hz (exact rational ratio, deterministic)."""
    if rate == target:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, target)
    return resample_poly(samples, target // g, rate // g)


def level_frame(rate: int) -> int:
    """Samples in the 10 ms frame that :func:`trim` measures the level on."""
    return max(1, rate // 100)


def too_short(samples: int, rate: int) -> str:
    """The problem of audio shorter than one :func:`level_frame`."""
    return (f"is {samples} sample(s) long; at least 10 ms ({level_frame(rate)} samples at "
            f"{rate} Hz) is needed")


def trim(samples: np.ndarray, rate: int, top_db: float, where: str = "audio") -> np.ndarray:
    """Cut leading and trailing parts quieter than ``top_db`` below the loudest 10 ms.

    Silent input is a user error: it would encode to no spikes at all; so is one shorter than
    the 10 ms frame the level is measured on.
    """
    hop = level_frame(rate)
    n = len(samples) // hop
    if n == 0:
        raise ScsrError(where, "data", too_short(len(samples), rate))
    if not np.any(samples):
        raise ScsrError(where, "data", "is silent (every sample is zero)")
    energy = np.square(samples[: n * hop].reshape(n, hop)).mean(axis=1)
    level = 10 * np.log10(energy + 1e-20)
    loud = np.flatnonzero(level >= level.max() - top_db)
    return samples[loud[0] * hop:(loud[-1] + 1) * hop]
