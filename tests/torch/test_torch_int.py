"""The torch integer path against the golden model: identical arrays, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden_model import FixedPoint, simulate
from golden_model.random_bundle import RandomSpec, random_bundle
from scsr import torch_int
from tests.golden.helpers import make_bundle, spikes
from tests.golden.strategies import bundles, inputs


def assert_identical(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        assert got[key].shape == value.shape, key
        assert np.array_equal(got[key], value), key


@settings(max_examples=120, deadline=None)
@given(data=st.data(), trace=st.booleans())
def test_torch_equals_golden_on_random_bundles(data: st.DataObject, trace: bool) -> None:
    bundle = data.draw(bundles())
    x = data.draw(inputs(bundle.channels))
    assert_identical(torch_int.simulate(bundle, x, trace).arrays(),
                     simulate(bundle, x, trace=trace).arrays())


@pytest.mark.parametrize("bits", [(2, 8, 1), (16, 32, 16), (16, 8, 16), (2, 32, 1), (8, 16, 8)])
@pytest.mark.parametrize("extras", [dict(skip=True, self_recurrent=True),
                                    dict(recurrent=True), dict(feedback=True, skip=True)])
def test_torch_equals_golden_on_calibrated_nets(bits: tuple[int, int, int],
                                                extras: dict[str, bool]) -> None:
    """Lively nets (every layer spikes) at the extreme widths, with long inputs."""
    bundle = random_bundle(RandomSpec(inputs=12, layers=(16, 12, 5), timesteps=40,
                                      fixed_point=FixedPoint(*bits), seed=sum(bits), **extras))
    x = (np.random.default_rng(3).random((6, 40, 12)) < 0.15).astype(np.uint8)
    got = torch_int.simulate(bundle, x, trace=True).arrays()
    assert_identical(got, simulate(bundle, x, trace=True).arrays())
    assert got["spikes.h1"].any() and got["spikes.h2"].any()


def test_saturation_and_sticky_decay_match() -> None:
    """Weights at the top of an 8-bit state: I and V clamp at s_max and s_min; the
    round-half-up decay keeps -1 at -1 — values the golden model pins down exactly."""
    fp = FixedPoint(8, 8, 4)
    bundle = make_bundle(2, [("out", 2)], [("input", "out", 0, [[fp.w_max, fp.w_max],
                                                                 [fp.w_min, fp.w_min]])],
                         {"out": {"alpha": [fp.decay_max, 12], "beta": [fp.decay_max, 12],
                                  "theta": fp.theta_max}}, bits=(8, 8, 4))
    x = spikes([1, 1], [1, 1], [0, 0], [0, 0])
    got = torch_int.simulate(bundle, x, trace=True).arrays()
    assert_identical(got, simulate(bundle, x, trace=True).arrays())
    assert got["i.out"][0, 1].tolist() == [fp.s_max, fp.s_min]
    assert got["v.out"][0, 1].tolist() == [fp.s_max, fp.s_min]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), trace=st.booleans(), window=st.integers(1, 5))
def test_lookup_and_blocks_equal_golden(data: st.DataObject, trace: bool, window: int) -> None:
    """The table-lookup product on every projection and short time blocks (so block edges
    and ``delay = 1`` reads across them are exercised) give the golden model's arrays."""
    bundle = data.draw(bundles())
    x = data.draw(inputs(bundle.channels))
    saved = torch_int.LOOKUP_MIN_SOURCES, torch_int.WINDOW
    torch_int.LOOKUP_MIN_SOURCES, torch_int.WINDOW = 1, window
    try:
        got = torch_int.simulate(bundle, x, trace).arrays()
    finally:
        torch_int.LOOKUP_MIN_SOURCES, torch_int.WINDOW = saved
    assert_identical(got, simulate(bundle, x, trace=trace).arrays())
