"""The training perturbations of the built-in digits: noise colours with the right spectral
slope, noise confined to the speech, and per-item draws independent of the worker."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scsr.data import builtin


@pytest.mark.parametrize(("colour", "slope"), [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_noise_colours_have_unit_variance_and_their_spectral_slope(colour, slope):
    noise = builtin.coloured_noise(1 << 16, colour, np.random.default_rng(0))
    assert np.mean(noise ** 2) == pytest.approx(1.0, abs=1e-9)
    power = np.square(np.abs(np.fft.rfft(noise)))[1:]
    freq = np.arange(1, len(power) + 1)
    # mean power in octave bands, then the log-log slope
    edges = 2 ** np.arange(4, 15)
    band = [power[(freq >= a) & (freq < b)].mean() for a, b in itertools.pairwise(edges)]
    fitted = np.polyfit(np.log2(edges[:-1]), np.log2(band), 1)[0]
    assert fitted == pytest.approx(slope, abs=0.1)


@settings(max_examples=25, deadline=None)
@given(voiced=st.integers(1, 400), pad=st.integers(0, 300), snr=st.floats(0.0, 40.0),
       colour=st.sampled_from(builtin.NOISE_COLOURS))
def test_noise_over_speech_leaves_the_padding_silent_at_the_asked_snr(voiced, pad, snr, colour):
    rng = np.random.default_rng(voiced)
    speech = np.concatenate([rng.normal(0, 0.3, voiced), np.zeros(pad)])
    noisy = builtin.add_noise(speech, voiced, snr, np.random.default_rng(1), colour, True)
    assert np.array_equal(noisy[voiced:], np.zeros(pad))
    noise = noisy[:voiced] - speech[:voiced]
    if np.any(speech):
        measured = 10 * np.log10(np.mean(speech[:voiced] ** 2) / np.mean(noise ** 2))
        assert measured == pytest.approx(snr, abs=1e-6)


def test_white_noise_over_the_clip_is_the_original_draw():
    """Builds without the new keys (letters) keep their bytes and their cache key."""
    clip = np.linspace(-1, 1, 500)
    ours = builtin.add_noise(clip, 300, 20.0, np.random.default_rng(5))
    sigma = np.sqrt(np.mean(clip[:300] ** 2) / 100.0)
    assert np.array_equal(ours, clip + np.random.default_rng(5).normal(0.0, sigma, 500))


def test_perturbations_are_drawn_per_item_for_training_items_only():
    source = builtin.source_config("digits", train_per_class=2, test_per_class=1)
    items = builtin.plan(source)
    draws = [builtin.perturbation(item, source) for item in items]
    assert draws == [builtin.perturbation(item, source) for item in items]
    train = [d for d, item in zip(draws, items, strict=True) if item["split"] == "train"]
    test = [d for d, item in zip(draws, items, strict=True) if item["split"] == "test"]
    assert test == [(1.0, 0.0, "white")] * 10
    augment = builtin.DIGITS_AUGMENT
    assert all(augment["speed"][0] <= s <= augment["speed"][1]
               and augment["tilt"][0] <= t <= augment["tilt"][1] for s, t, _ in train)
    assert len({d for d in train}) == len(train)
    plain = builtin.source_config("digits", augment=False)
    assert builtin.perturbation(items[0], plain) == (1.0, 0.0, "white")


def test_channel_mean_normalisation_removes_gain_and_band_gains():
    """``cmn``: every band's mean over the audible frames is 0.5 (no clipping on stationary
    noise), a gain or a fixed filter (pre-emphasis) changes nothing beyond float rounding
    of the band means, and the zero padding stays silent."""
    from scsr.data import pipeline

    config = pipeline.encoding_config(rate=8000, cmn=1)
    rng = np.random.default_rng(0)
    noise = np.concatenate([rng.normal(0.0, 0.3, 4000), np.zeros(4000)])
    plain = pipeline.features(noise, config)
    audible = plain.max(axis=1) > 0
    assert audible[:45].all() and not audible[55:].any()
    assert np.allclose(plain[audible].mean(axis=0), 0.5, atol=1e-6)
    assert np.allclose(pipeline.features(noise * 0.01, config), plain, atol=1e-5)
    emphasised = noise.copy()
    emphasised[1:] -= 0.9 * noise[:-1]
    # measured: mean |difference| 0.003 with cmn, 0.108 with the peak normalisation
    assert np.abs(pipeline.features(emphasised, config) - plain)[audible].mean() < 0.01
    peak = pipeline.encoding_config(rate=8000)
    assert np.abs(pipeline.features(emphasised, peak) - pipeline.features(noise, peak)
                  )[audible].mean() > 0.05
    assert "cmn" not in pipeline.encoding_config()["front_end"]  # old configs keep meaning
