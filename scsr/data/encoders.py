"""Spike encoders: frames ``(N, T, F)`` in ``[0, 1]`` → spikes ``(N, T, C)`` uint8 0/1.

All three are deterministic (no random draws), so ``encode_wav`` reproduces a dataset's
encoding bit for bit from its config alone.

- ``bsa``: Ben's Spiker Algorithm (Schrauwen & Van Campenhout 2003), as the paper used.
  C = F. Decoding is a convolution of the spikes with the filter (:func:`bsa_decode`).
- ``delta``: send-on-delta with separate ON and OFF channels, C = 2F (ON first, then OFF).
- ``rate``: a deterministic rate code (integrate-and-fire on the value), C = F.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from golden_model.errors import ScsrError

ENCODERS = ("bsa", "delta", "rate")
DEFAULTS: dict[str, dict[str, Any]] = {
    "bsa": {"kind": "bsa", "filter_length": 6, "gain": 1.8, "threshold": 0.0},
    "delta": {"kind": "delta", "delta": 0.05},
    "rate": {"kind": "rate", "max_rate": 0.5},
}


def encoder_defaults(kind: str) -> dict[str, Any]:
    """A fresh copy of the default parameters of encoder ``kind``."""
    return dict(DEFAULTS[kind])


def output_channels(params: dict[str, Any], features: int) -> int:
    """Spike channels C produced from ``features`` front-end channels."""
    return 2 * features if params["kind"] == "delta" else features


def bsa_filter(length: int) -> np.ndarray:
    """The BSA decoding filter: a Hann bump of ``length`` taps with unit sum.

    Unit sum means a spike on every step decodes to a constant 1, the top of the range.
    """
    taps = np.hanning(length + 2)[1:-1]
    return taps / taps.sum()


def bsa(frames: np.ndarray, filter_length: int, gain: float, threshold: float) -> np.ndarray:
    """Ben's Spiker Algorithm over the time axis (axis -2) of ``frames``.

    At each step ``t`` the encoder fires when subtracting the filter ``h = gain * bsa_filter``
    from the residual ``r = x[t:t+M]`` lowers its error by more than ``threshold``, and then
    subtracts it. The error is the squared one (fire iff ``r·h > |h|²/2 + threshold``), not
    Schrauwen's absolute one: measured here, the absolute form overshoots smooth signals by
    0.15-0.2 of full scale, the squared form with ``gain`` ≈ 1.8 stays within about 0.1
    (``docs/datasets.md``). A greedy causal encoder fires about twice too often with a
    unit-gain filter because the window's later samples still wait for later spikes; the
    gain compensates.
    """
    h = bsa_filter(filter_length) * gain
    half_energy = float(np.square(h).sum()) / 2.0
    steps = frames.shape[-2]
    residual = np.concatenate(
        [np.asarray(frames, dtype=np.float64),
         np.zeros((*frames.shape[:-2], filter_length, frames.shape[-1]))], axis=-2)
    spikes = np.zeros(frames.shape, dtype=np.uint8)
    h_col = h[:, None]
    for t in range(steps):
        window = residual[..., t:t + filter_length, :]  # a view: the subtraction sticks
        fire = (window * h_col).sum(axis=-2) > half_energy + threshold
        spikes[..., t, :] = fire
        window -= h_col * fire[..., None, :]
    return spikes


def bsa_decode(spikes: np.ndarray, filter_length: int) -> np.ndarray:
    """Reconstruct frames from BSA spikes: a spike at ``t`` adds :func:`bsa_filter` at
    ``t … t+M-1``."""
    h = bsa_filter(filter_length)
    steps = spikes.shape[-2]
    out = np.zeros(spikes.shape, dtype=np.float64)
    for k, tap in enumerate(h):
        out[..., k:, :] += tap * spikes[..., : steps - k, :]
    return out


def delta(frames: np.ndarray, step: float) -> np.ndarray:
    """Send-on-delta: an ON spike when the value has risen ``step`` above the reference
    (which then rises by ``step``), an OFF spike when it has fallen ``step`` below it.

    The reference starts at 0, so an onset is coded as a burst of ON spikes; at most one
    spike per channel and step, the remainder carries over to later steps.
    """
    x = np.asarray(frames, dtype=np.float64)
    reference = np.zeros((*x.shape[:-2], x.shape[-1]))
    on = np.zeros(x.shape, dtype=np.uint8)
    off = np.zeros(x.shape, dtype=np.uint8)
    tolerance = 1e-9 * step  # so that a ramp of exactly `step` per frame fires every frame
    for t in range(x.shape[-2]):
        rise = x[..., t, :] - reference >= step - tolerance
        fall = reference - x[..., t, :] >= step - tolerance
        on[..., t, :] = rise
        off[..., t, :] = fall
        reference += step * (rise.astype(np.float64) - fall)
    return np.concatenate([on, off], axis=-1)


def rate(frames: np.ndarray, max_rate: float) -> np.ndarray:
    """Deterministic rate code: integrate ``value * max_rate`` per step, fire and subtract 1
    when the sum reaches 1, so a channel fires ``floor(Σ value * max_rate)`` times."""
    x = np.asarray(frames, dtype=np.float64) * max_rate
    acc = np.zeros((*x.shape[:-2], x.shape[-1]))
    spikes = np.zeros(x.shape, dtype=np.uint8)
    for t in range(x.shape[-2]):
        acc += x[..., t, :]
        fire = acc >= 1.0 - 1e-12
        spikes[..., t, :] = fire
        acc -= fire
    return spikes


def encode(frames: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Encode frames ``(..., T, F)`` with the encoder named by ``params["kind"]``."""
    kind = params["kind"]
    if kind == "bsa":
        return bsa(frames, int(params["filter_length"]), float(params["gain"]),
                   float(params["threshold"]))
    if kind == "delta":
        return delta(frames, float(params["delta"]))
    if kind == "rate":
        return rate(frames, float(params["max_rate"]))
    raise ScsrError("config", "encoder.kind", f"{kind!r} is not one of {ENCODERS}")
