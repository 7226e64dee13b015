"""Front ends: audio samples → frames ``(T, F)`` in ``[0, 1]``, one frame per SNN timestep.

Two are offered (``docs/datasets.md`` says why the defaults are what they are):

- ``logmel``: a log-power mel spectrogram (numpy only, fast),
- ``lyon``: Lyon's passive-ear cochlear model (PyPI ``lyon``), as the paper used; 78 channels
  by default at 16 kHz, like the paper.

Both normalise each utterance on its own (no dataset statistics), so that a single new WAV
file is encoded exactly like the training data: log-mel as ``dB - max`` over a fixed dynamic
range, Lyon divided by its maximum.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from golden_model.errors import ScsrError

#: Default front-end parameters; a build config holds the full, resolved set.
LOGMEL_DEFAULTS: dict[str, Any] = {
    "kind": "logmel", "channels": 32, "window_ms": 25.0, "fmin_hz": 60.0, "fmax_hz": 7600.0,
    "dynamic_range_db": 60.0,
}
#: Optional log-mel parameters: absent from a config means off, so configs (and cache keys)
#: written before they existed keep their meaning. ``cmn`` 1: per-utterance channel-mean
#: normalisation instead of the peak normalisation (see :func:`logmel`).
LOGMEL_OPTIONS: dict[str, Any] = {"cmn": 0}
LYON_DEFAULTS: dict[str, Any] = {"kind": "lyon", "channels": 78, "ear_q": 8.0}
FRONT_ENDS = ("logmel", "lyon")


def front_end_defaults(kind: str) -> dict[str, Any]:
    """A fresh copy of the default parameters of front end ``kind``."""
    return dict({"logmel": LOGMEL_DEFAULTS, "lyon": LYON_DEFAULTS}[kind])


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@functools.lru_cache(maxsize=16)
def mel_filterbank(channels: int, n_fft: int, rate: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular HTK-mel filters, each of unit area, as ``(n_fft // 2 + 1, channels)``.

    Stored transposed and contiguous: a transposed view makes the matrix product ~50x
    slower with OpenBLAS.
    """
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), channels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (bins[None, :] - lower) / (centre - lower)
    fall = (upper - bins[None, :]) / (upper - centre)
    weights = np.clip(np.minimum(rise, fall), 0.0, None)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    weights = np.ascontiguousarray(weights.T)
    weights.setflags(write=False)
    return weights


def logmel(samples: np.ndarray, rate: int, hop: int, timesteps: int,
           params: dict[str, Any]) -> np.ndarray:
    """Log-mel frames ``(timesteps, channels)`` float32 in ``[0, 1]``.

    Frame ``t`` is a Hann window of ``window_ms`` centred on sample ``t * hop + hop // 2``;
    the power in each mel band is taken in dB, the utterance's maximum maps to 1 and
    ``dynamic_range_db`` below it to 0.

    With ``cmn`` set, each band is instead taken relative to its own mean over the
    utterance's audible frames (those with a band above the peak-normalised floor; values
    floored there first), mapped so that the mean is 0.5 and ``±dynamic_range_db / 2`` are
    1 and 0; silent frames are 0. A microphone or room multiplies each band's power by a
    constant, which this removes (cepstral mean normalisation in the mel domain).
    """
    window = round(params["window_ms"] * rate / 1000.0)
    n_fft = 1 << max(0, (window - 1).bit_length())
    padded = np.pad(samples, (n_fft, n_fft + timesteps * hop))
    starts = n_fft + np.arange(timesteps) * hop + hop // 2 - window // 2
    frames = padded[starts[:, None] + np.arange(window)[None, :]] * np.hanning(window)[None, :]
    power = np.square(np.abs(np.fft.rfft(frames, n=n_fft, axis=1)))
    fmax = min(float(params["fmax_hz"]), rate / 2.0)
    mel = power @ mel_filterbank(int(params["channels"]), n_fft, rate,
                                 float(params["fmin_hz"]), fmax)
    db = 10.0 * np.log10(mel + 1e-12)
    span = float(params["dynamic_range_db"])
    if not params.get("cmn", 0):
        return np.clip((db - db.max() + span) / span, 0.0, 1.0).astype(np.float32)
    floored = np.maximum(db, db.max() - span)
    audible = db.max(axis=1) > db.max() - span
    if not np.any(audible):
        return np.zeros(db.shape, dtype=np.float32)
    mean = floored[audible].mean(axis=0)
    out = np.clip((floored - mean) / span + 0.5, 0.0, 1.0)
    return np.where(audible[:, None], out, 0.0).astype(np.float32)


@functools.lru_cache(maxsize=16)
def lyon_step_factor(rate: int, ear_q: float, channels: int) -> float:
    """The filter step factor that gives Lyon's model exactly ``channels`` output channels.

    The channel count falls as the step factor grows. Bisection finds the interval of steps
    that give ``channels`` and takes its middle: at the interval's edge the filter design
    puts a channel where its formulas yield NaN.
    """
    import warnings

    from lyon.utils import design_lyon_filters

    def design(step: float) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return design_lyon_filters(rate, ear_q, step)[0]

    def count(step: float) -> int:
        return int(design(step).shape[1]) - 2  # lyon_passive_ear drops two channels

    def last_step_with_at_least(wanted: int) -> float:
        low, high = 0.01, 2.0
        for _ in range(60):
            mid = (low + high) / 2
            low, high = (mid, high) if count(mid) >= wanted else (low, mid)
        return low

    if count(0.01) < channels:
        raise ScsrError("--channels", "", f"Lyon's model gives at most {count(0.01)} channels "
                                          f"at {rate} Hz with ear_q {ear_q}")
    step = (last_step_with_at_least(channels) + last_step_with_at_least(channels + 1)) / 2
    if count(step) != channels or not np.all(np.isfinite(design(step))):
        raise ScsrError("--channels", "", f"no Lyon filter spacing gives exactly {channels} "
                                          f"channels at {rate} Hz")
    return step


def lyon(samples: np.ndarray, rate: int, hop: int, timesteps: int,
         params: dict[str, Any]) -> np.ndarray:
    """Lyon cochleagram ``(timesteps, channels)`` float32 in ``[0, 1]`` (divided by its max).

    Channels run from high to low frequency, as the model computes them.
    """
    from lyon.calc import LyonCalc

    step = lyon_step_factor(rate, float(params["ear_q"]), int(params["channels"]))
    signal = np.ascontiguousarray(np.pad(samples, (0, max(0, timesteps * hop - len(samples))))
                                  [: timesteps * hop], dtype=np.float64)
    out = LyonCalc().lyon_passive_ear(signal, rate, decimation_factor=hop,
                                      ear_q=float(params["ear_q"]), step_factor=step)
    peak = out.max()
    return (out / peak if peak > 0 else out).astype(np.float32)


def frames(samples: np.ndarray, rate: int, hop: int, timesteps: int,
           params: dict[str, Any]) -> np.ndarray:
    """Dispatch to the front end named by ``params["kind"]``."""
    kind = params["kind"]
    if kind == "logmel":
        return logmel(samples, rate, hop, timesteps, params)
    if kind == "lyon":
        return lyon(samples, rate, hop, timesteps, params)
    raise ScsrError("config", "front_end.kind", f"{kind!r} is not one of {FRONT_ENDS}")
