"""Audio → input spikes, driven entirely by a dataset's build config.

The config is the single description of the encoding (``docs/datasets.md``):

``audio``      ``rate`` (Hz, everything is resampled to it), ``trim_db`` (silence cut)
``timesteps``  T, and ``step_ms`` (frame step = SNN timestep); a clip covers ``T * step_ms``
``front_end``  ``logmel`` or ``lyon`` parameters (:mod:`scsr.data.frontends`)
``encoder``    ``bsa``, ``delta`` or ``rate`` parameters (:mod:`scsr.data.encoders`)

:func:`encode_wav` is what ``scsr predict`` uses on new audio; the dataset builders call the
same :func:`prepare` and :func:`features` so the two can never drift apart.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from golden_model.errors import ScsrError

from . import encoders, frontends
from .audio import level_frame, read_audio, resample, too_short, trim

AUDIO_DEFAULTS: dict[str, Any] = {"rate": 16000, "trim_db": 40.0}
TIMESTEPS_DEFAULT = 100
STEP_MS_DEFAULT = 10.0


def encoding_config(front_end: str = "logmel", encoder: str = "rate", *,
                    timesteps: int = TIMESTEPS_DEFAULT, step_ms: float = STEP_MS_DEFAULT,
                    rate: int = AUDIO_DEFAULTS["rate"], channels: int | None = None,
                    **overrides: Any) -> dict[str, Any]:
    """The audio → spikes part of a build config, defaults filled in.

    ``overrides`` replace front-end or encoder parameters by name (e.g. ``delta=0.1``).
    """
    fe = frontends.front_end_defaults(front_end)
    enc = encoders.encoder_defaults(encoder)
    if channels is not None:
        fe["channels"] = channels
    for key, value in overrides.items():
        if key in fe and key != "kind":
            fe[key] = value
        elif key in enc and key != "kind":
            enc[key] = value
        elif front_end == "logmel" and key in frontends.LOGMEL_OPTIONS:
            fe[key] = value
        else:
            raise ScsrError(f"--{key.replace('_', '-')}", "",
                            f"is not a parameter of front end {front_end!r} or encoder "
                            f"{encoder!r}")
    config = {"audio": dict(AUDIO_DEFAULTS, rate=rate), "timesteps": timesteps,
              "step_ms": step_ms, "front_end": fe, "encoder": enc}
    hop(config)  # validates step_ms against the rate
    return config


def hop(config: dict[str, Any]) -> int:
    """Samples per timestep; the step must be a whole number of samples."""
    rate, step_ms = int(config["audio"]["rate"]), float(config["step_ms"])
    samples = rate * step_ms / 1000.0
    if samples < 1 or abs(samples - round(samples)) > 1e-9:
        raise ScsrError("config", "step_ms", f"{step_ms} ms is not a whole number of samples "
                                             f"at {rate} Hz")
    return round(samples)


def channels(config: dict[str, Any]) -> int:
    """Spike channels C of the encoded input."""
    return encoders.output_channels(config["encoder"], int(config["front_end"]["channels"]))


def prepare(samples: np.ndarray, rate: int, config: dict[str, Any],
            where: str = "audio") -> np.ndarray:
    """Resample to the configured rate, cut leading/trailing silence, then cut or pad with
    zeros at the end to exactly ``T * hop`` samples."""
    if samples.size == 0:
        raise ScsrError(where, "data", "holds no samples (zero-length audio)")
    if not np.all(np.isfinite(samples)):
        raise ScsrError(where, "data", "holds NaN or infinite samples")
    if samples.size < level_frame(rate):
        raise ScsrError(where, "data", too_short(samples.size, rate))
    target = int(config["audio"]["rate"])
    samples = trim(resample(samples, rate, target), target, float(config["audio"]["trim_db"]),
                   where)
    length = int(config["timesteps"]) * hop(config)
    return np.pad(samples[:length], (0, max(0, length - len(samples))))


def features(prepared: np.ndarray, config: dict[str, Any]) -> np.ndarray:
    """Front-end frames ``(T, F)`` float32 in ``[0, 1]`` of prepared samples."""
    return frontends.frames(prepared, int(config["audio"]["rate"]), hop(config),
                            int(config["timesteps"]), config["front_end"])


def _check_audio_config(config: dict[str, Any]) -> None:
    for key in ("audio", "timesteps", "step_ms", "front_end", "encoder"):
        if config.get(key) is None:
            raise ScsrError("config", key, "is missing: this dataset was not made from audio "
                                           "(event data cannot encode a WAV file)")


def encode_audio(samples: np.ndarray, rate: int, config: dict[str, Any],
                 where: str = "audio") -> np.ndarray:
    """Encode mono samples (float, any rate) exactly like the dataset whose config is given.

    Returns spikes ``(T, C)`` uint8 0/1.
    """
    _check_audio_config(config)
    frames = features(prepare(np.asarray(samples, dtype=np.float64), rate, config, where),
                      config)
    return encoders.encode(frames, config["encoder"])


def encode_wav(path: str | os.PathLike[str], config: dict[str, Any]) -> np.ndarray:
    """Encode a WAV (or NIST SPHERE) file like the dataset whose config is given: ``(T, C)``
    uint8. Stereo is mixed down and the audio resampled to the configured rate."""
    _check_audio_config(config)
    samples, rate = read_audio(path)
    return encode_audio(samples, rate, config, os.fspath(path))
