"""Reading audio files: formats, mix-down, resampling, and the bad-input errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from golden_model.errors import ScsrError
from scsr.data import encode_audio, encode_wav, encoding_config
from scsr.data.audio import read_audio

from .helpers import tone, wav_bytes, write_wav


@pytest.mark.parametrize(("bits", "fmt", "tolerance"),
                         [(8, 1, 1 / 64), (16, 1, 1e-4), (24, 1, 1e-6), (32, 1, 1e-8),
                          (32, 3, 1e-7)])
def test_sample_formats_decode_to_the_same_signal(tmp_path, bits, fmt, tolerance):
    signal = 0.8 * np.sin(np.linspace(0, 20, 500))
    samples, rate = read_audio(write_wav(tmp_path / "x.wav", signal, 8000, bits=bits, fmt=fmt))
    assert rate == 8000 and samples.shape == (500,)
    assert np.max(np.abs(samples - signal)) < tolerance


def test_stereo_is_mixed_down_and_streaming_headers_are_read(tmp_path):
    left, right = np.full(100, 0.5), np.full(100, -0.25)
    path = write_wav(tmp_path / "s.wav", np.stack([left, right], axis=1), 8000, streaming=True)
    samples, _ = read_audio(path)
    assert np.allclose(samples, 0.125, atol=1e-4)


def test_sphere_file_is_read(tmp_path):
    values = (np.sin(np.linspace(0, 30, 800)) * 10000).astype("<i2")
    header = (b"NIST_1A\n   1024\nsample_rate -i 16000\nsample_n_bytes -i 2\n"
              b"channel_count -i 1\nsample_byte_format -s2 01\nsample_coding -s3 pcm\n"
              b"end_head\n")
    path = tmp_path / "00f1set0.sph"
    path.write_bytes(header.ljust(1024, b" ") + values.tobytes())
    samples, rate = read_audio(path)
    assert rate == 16000 and np.array_equal(np.round(samples * 32768).astype(int), values)


def test_resampled_audio_encodes_like_the_original(tmp_path):
    """A tone at 8 kHz and the same tone at 16 kHz give nearly the same spikes; an exact
    copy of a file gives exactly the same spikes."""
    config = encoding_config("logmel", "delta")
    a = encode_wav(write_wav(tmp_path / "a.wav", tone(500, 16000), 16000), config)
    b = encode_wav(write_wav(tmp_path / "b.wav", tone(500, 16000), 16000, bits=32), config)
    c = encode_audio(tone(500, 8000), 8000, config)
    assert a.shape == (100, 64) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.mean(a != c) < 0.02


@pytest.mark.parametrize(("content", "field", "problem"), [
    (b"hello, not audio", "", "is not a RIFF/WAVE audio file"),
    (wav_bytes(np.zeros(0), 8000), "data", "holds no samples (zero-length audio)"),
    (wav_bytes(np.zeros(800), 8000), "data", "is silent (every sample is zero)"),
    (wav_bytes(np.array([0.5]), 8000), "data",
     "is 1 sample(s) long; at least 10 ms (80 samples at 8000 Hz) is needed"),
    (wav_bytes(np.ones(10) * 0.1, 8000)[:36], "data", "chunk is missing"),
    (wav_bytes(np.ones(10) * 0.1, 8000)[:12], "fmt", "chunk is missing"),
    (b"RIFF" + struct.pack("<I", 40) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 2, 1, 8000,
                                                                  4000, 1, 4) + b"data\0\0\0\0",
     "fmt.format", "sample format 0x2 is not supported (PCM or IEEE float only)"),
    (wav_bytes(np.ones(10) * 0.1, 8000, bits=64, fmt=1)[:44] + b"\0" * 80,
     "fmt.bits_per_sample", "64-bit PCM is not supported (8, 16, 24 or 32)"),
])
def test_bad_audio_is_a_user_error(tmp_path, content, field, problem):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(ScsrError) as info:
        encode_wav(path, encoding_config())
    assert str(info.value) == ": ".join(x for x in (str(path), field, problem) if x)


def test_event_dataset_config_cannot_encode_audio(tmp_path):
    path = write_wav(tmp_path / "a.wav", tone(500), 16000)
    with pytest.raises(ScsrError) as info:
        encode_wav(path, {"timesteps": 100, "front_end": None, "encoder": {"kind": "bin"}})
    assert str(info.value) == ("config: audio: is missing: this dataset was not made from "
                               "audio (event data cannot encode a WAV file)")


@pytest.mark.parametrize(("rate", "bits", "problem"), [
    (0, 16, "fmt: invalid header: 1 channels, 0 Hz, 16 bits per sample"),
    (8000, 0, "fmt: invalid header: 1 channels, 8000 Hz, 0 bits per sample"),
    (999, 16, "fmt.sample_rate: 999 Hz is outside [1000, 384000] Hz"),
    (4_000_000_000, 16, "fmt.sample_rate: 4000000000 Hz is outside [1000, 384000] Hz"),
])
def test_absurd_wav_headers_are_refused(tmp_path, rate, bits, problem):
    """A header's rate sizes the resampling (memory and time) and its width the decoding."""
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(np.full(800, 0.1), 8000, bits=16))
    data = bytearray(path.read_bytes())
    data[24:28] = rate.to_bytes(4, "little")
    data[34:36] = bits.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ScsrError) as info:
        read_audio(path)
    assert str(info.value) == f"{path}: {problem}"
