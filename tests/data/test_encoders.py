"""Spike encoders and front ends on synthetic signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scsr.data import encoders, frontends


@pytest.mark.parametrize(("base", "amplitude", "period"),
                         [(0.2, 0.15, 40), (0.45, 0.35, 80), (0.7, 0.25, 40), (0.5, 0.45, 80)])
def test_bsa_reconstructs_a_smooth_signal(base, amplitude, period):
    t = np.arange(400)
    x = (base + amplitude * np.sin(2 * np.pi * t / period))[None, :, None]
    spikes = encoders.bsa(x, filter_length=6, gain=1.8, threshold=0.0)
    error = np.abs(encoders.bsa_decode(spikes, 6) - x)[0, 40:360, 0]
    # Binary spikes of a 6-tap filter quantise to about one tap (~0.27); on average the
    # decoded signal follows within 0.1 of full scale, with no drift.
    assert error.mean() < 0.1
    assert error.max() < 0.25
    assert abs(spikes.mean() - x.mean()) < 0.1


def test_bsa_is_silent_on_silence_and_saturates_on_full_scale():
    assert encoders.bsa(np.zeros((1, 50, 3)), 6, 1.8, 0.0).sum() == 0
    full = encoders.bsa(np.ones((1, 50, 1)), 6, 1.8, 0.0)
    assert full[0, :44, 0].all()  # every step fires until the padded tail


@pytest.mark.parametrize("step", [0.05, 0.1, 0.25])
def test_delta_counts_on_a_ramp(step):
    # a ramp rising exactly `step` per frame from 0 to 1, then falling back to 0
    n = round(1 / step)
    up = np.arange(1, n + 1) * step
    x = np.concatenate([up, up[::-1][1:], [0.0]])[None, :, None]
    spikes = encoders.delta(x, step)
    on, off = spikes[0, :, 0], spikes[0, :, 1]
    assert on.sum() == n and on[:n].all()
    assert off.sum() == n and off[n:].all()


def test_delta_on_a_slow_ramp_fires_every_k_frames():
    x = (np.arange(100) * 0.01)[None, :, None]  # 0.01 per frame
    on = encoders.delta(x, 0.1)[0, :, 0]
    assert np.flatnonzero(on).tolist() == [10 * k for k in range(1, 10)]


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 4)),
              elements=st.floats(0, 1)), st.sampled_from([0.05, 0.1, 0.2]))
def test_delta_reference_tracks_the_signal(x, step):
    """ON minus OFF counts, times the step, stay within one step of the final value when the
    signal moves at most one step per frame."""
    x = np.cumsum(np.clip(np.diff(x, axis=0, prepend=0.0), -step, step), axis=0)
    spikes = encoders.delta(x[None], step)[0]
    f = x.shape[1]
    level = (spikes[:, :f].astype(int) - spikes[:, f:]).sum(axis=0) * step
    assert np.all(np.abs(level - x[-1]) < step + 1e-9)
    assert not np.any(spikes[:, :f] & spikes[:, f:])


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 60), st.integers(1, 3)),
              elements=st.floats(0, 1)), st.floats(0.1, 1.0))
def test_rate_fires_floor_of_the_integral(x, max_rate):
    spikes = encoders.rate(x[None], max_rate)[0]
    expected = np.floor(np.cumsum(x * max_rate, axis=0)[-1] + 1e-12)
    assert np.array_equal(spikes.sum(axis=0), expected.astype(int))


def test_logmel_puts_a_tone_in_the_right_band():
    rate, hop = 16000, 160
    t = np.arange(rate) / rate
    params = frontends.front_end_defaults("logmel")
    for freq in (300.0, 1000.0, 3000.0):
        frames = frontends.logmel(np.sin(2 * np.pi * freq * t), rate, hop, 100, params)
        edges = frontends._mel_to_hz(np.linspace(frontends._hz_to_mel(60.0),
                                                 frontends._hz_to_mel(7600.0), 34))
        expected = int(np.argmin(np.abs(edges[1:-1] - freq)))
        assert frames.shape == (100, 32) and frames.max() == 1.0
        assert abs(int(np.argmax(frames[50])) - expected) <= 1


def test_lyon_gives_78_channels_and_follows_the_tone():
    pytest.importorskip("lyon")
    rate = 16000
    t = np.arange(rate) / rate
    params = frontends.front_end_defaults("lyon")
    low = frontends.lyon(np.sin(2 * np.pi * 300 * t), rate, 160, 100, params)
    high = frontends.lyon(np.sin(2 * np.pi * 3000 * t), rate, 160, 100, params)
    assert low.shape == high.shape == (100, 78)
    # channels run from high to low frequency
    assert np.argmax(high[50:].mean(axis=0)) < np.argmax(low[50:].mean(axis=0))


@pytest.mark.parametrize("channels", [40, 64, 78])
def test_lyon_channel_count_is_whatever_is_asked(channels):
    pytest.importorskip("lyon")
    params = dict(frontends.front_end_defaults("lyon"), channels=channels)
    frames = frontends.lyon(np.random.default_rng(0).normal(size=4000), 16000, 160, 25, params)
    assert frames.shape == (25, channels) and frames.max() == 1.0
