"""The golden model against the naive scalar reading of §4, on random bundles."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from golden_model import simulate
from golden_model.naive import naive_simulate
from golden_model.schedule import has_feedback
from tests.golden.strategies import bundles, inputs


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_golden_equals_naive_scalar_loop(data: st.DataObject) -> None:
    bundle = data.draw(bundles())
    x = data.draw(inputs(bundle.channels))
    expected = naive_simulate(bundle, x)
    got = simulate(bundle, x, trace=True).arrays()
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert np.array_equal(got[key], value), key


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_both_schedules_agree(data: st.DataObject) -> None:
    bundle = data.draw(bundles())
    x = data.draw(inputs(bundle.channels))
    timestep = simulate(bundle, x, trace=True, schedule="timestep").arrays()
    if has_feedback(bundle):
        return
    layer = simulate(bundle, x, trace=True, schedule="layer").arrays()
    for key in timestep:
        assert np.array_equal(timestep[key], layer[key]), key
        assert timestep[key].dtype == layer[key].dtype
