"""Layer cores and the network top in Amaranth's simulator, against the golden model
trace for trace (every layer, timestep and neuron), over the awkward sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden_model import FixedPoint, simulate
from golden_model.compare import first_mismatch
from rtl.config import ADD_STAGES, NetConfig, accumulator_bits
from sim.measure import events_in
from sim.pysim import run_pysim
from tests.rtl.nets import random_net, saturating, skip_net, stimulus, with_delayed_input


def check(bundle, lanes, spikes, stall_seed=None):
    board = run_pysim(NetConfig.from_bundle(bundle, lanes), spikes, stall_seed=stall_seed)
    got, hw_pred = board.sim_result(trace=True)
    want = simulate(bundle, spikes, trace=True)
    assert first_mismatch(want, got) is None
    for key, value in want.arrays().items():
        assert np.array_equal(got.arrays()[key], value), key
    assert np.array_equal(hw_pred, want.pred)
    return board


@pytest.mark.parametrize(("size", "lanes"), [(1, 1), (3, 3), (4, 3), (5, 2), (2, 4)])
def test_one_layer_sizes_around_lanes(size, lanes):
    """N = 1, N = P, N = P + 1, N < P: padding lanes never fire or leak into the trace."""
    bundle = random_net((6, size), (8, 16, 8), seed=size)
    check(bundle, lanes, stimulus(bundle.channels, steps=8))


@pytest.mark.parametrize("lanes", [1, 3])
def test_every_projection_kind(lanes):
    """Skip, self, dense recurrent, feedback and delayed input, two samples back to back
    (state and delay-1 leftovers are cleared between samples)."""
    bundle = with_delayed_input(random_net((6, 5, 3), (8, 16, 8), seed=2))
    check(bundle, lanes, stimulus(bundle.channels, steps=8, seed=1))


def test_saturation_and_weights_wider_than_state():
    bundle = saturating(random_net((5, 4), (16, 8, 4), seed=1, all_kinds=False))
    spikes = stimulus(bundle.channels, steps=8)
    want = simulate(bundle, spikes, trace=True)
    fp = bundle.fixed_point
    assert any((want.i[n] == fp.s_max).any() and (want.i[n] == fp.s_min).any()
               for n in want.i), "the case must saturate I both ways"
    check(bundle, 2, spikes)


def test_stalls_change_timing_not_results():
    bundle = random_net((6, 5, 3), (8, 16, 8), seed=4)
    spikes = stimulus(bundle.channels, steps=6, seed=2)
    calm = check(bundle, 2, spikes)
    stalled = check(bundle, 2, spikes, stall_seed=5)
    assert calm.timesteps_done() == stalled.timesteps_done()


@pytest.mark.parametrize(("bundle", "lanes"), [
    (random_net((6, 5), (8, 16, 8), seed=5, all_kinds=False), 2),  # out: framing + h1
    (skip_net((6, 5, 3), (8, 16, 8), seed=0), 4),  # out: framing + h1 + h2, one word
], ids=["two_sources", "three_sources"])
@pytest.mark.parametrize(("pipeline", "latency"), [("short", 8), ("deep", 11)])
def test_busy_cycles_are_the_bound_plus_fixed_latency(bundle, lanes, pipeline, latency):
    """Busy cycles per timestep are exactly the bound ``(E_in + 1) · words`` plus the
    end-of-timestep handshake and the update pipeline's drain (``update_stages + 1``),
    plus ``ADD_STAGES`` after events (the fixed latency: 8 with the short pipeline, 11
    with the deep one), for every layer and timestep, with uneven event counts over two
    and three sources (no cycle for the routers' end-of-timestep markers; waits for
    upstream layers are not counted). The results are bit-exact with either pipeline."""
    spikes = stimulus(bundle.channels, batch=2, steps=10, seed=1)
    net = NetConfig.from_bundle(bundle, lanes, pipeline=pipeline)
    board = run_pysim(net, spikes)
    want = simulate(bundle, spikes, trace=True)
    events = events_in(net, spikes, want)
    for core in net.cores:
        bound = (events[core.name] + 1) * core.words
        extra = core.update_stages + 1 + ADD_STAGES * (events[core.name] > 0)
        assert np.array_equal(board.cycles()[core.name] - bound, extra), core.name
        assert core.fixed_latency == latency
    got, _ = board.sim_result(trace=True)
    assert first_mismatch(want, got) is None
    sources = [s.name for s in net.core("out").sources]
    assert sources == ["input", "h1", "h2"][:len(sources)] and len(sources) == {2: 2, 4: 3}[lanes]
    if len(sources) == 3:  # uneven: counts differ, and one source is empty while one is not
        h1, h2 = (want.spikes[name].sum(axis=2) for name in ("h1", "h2"))
        assert (h1 != h2).any() and ((h1 > 0) != (h2 > 0)).any()


@given(bw=st.integers(2, 16), fan_in=st.integers(0, 100_000))
def test_accumulator_holds_the_worst_case(bw, fan_in):
    """§4: the exact sum (plus w_self) never wraps, whatever the event order."""
    fp = FixedPoint(bw, 16, 8)
    bits = accumulator_bits(fp, fan_in)
    worst = (fan_in + 1) * -fp.w_min
    assert -(1 << (bits - 1)) <= -worst and worst <= (1 << (bits - 1)) - 1
    assert worst > (1 << (bits - 2)) - 1  # and one bit less would not do
