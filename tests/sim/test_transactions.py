"""Transactions and their codec against Amaranth's own packing of the generator's layouts,
and the bus models' width check (no simulator needed)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden_model import FixedPoint
from rtl.config import CoreConfig, Source
from rtl.layouts import event_layout, trace_layout
from sim.drivers import CycleScheduler, SpikeEventSource
from sim.transactions import Codec, SpikeEvent, TraceBeat


@st.composite
def trace_cases(draw):
    """A core config with random widths and lanes, and a trace beat that fits it."""
    fp = FixedPoint(draw(st.integers(2, 16)), draw(st.integers(8, 32)),
                    draw(st.integers(1, 16)))
    lanes, size = draw(st.integers(1, 8)), draw(st.integers(1, 40))
    cfg = CoreConfig("h", size, lanes, fp, (Source("input", 0, 3, 0, True, "w"),), 12)
    state = st.integers(fp.s_min, fp.s_max)
    beat = TraceBeat(draw(st.integers(0, cfg.words - 1)),
                     tuple(draw(st.lists(state, min_size=lanes, max_size=lanes))),
                     tuple(draw(st.lists(state, min_size=lanes, max_size=lanes))),
                     draw(st.integers(0, (1 << lanes) - 1)),
                     draw(st.integers(0, (1 << cfg.cycle_bits) - 1)))
    return cfg, beat


@settings(max_examples=60, deadline=None)
@given(trace_cases())
def test_trace_codec_packs_as_amaranth_does(case):
    """Packing equals Amaranth's ``layout.const(...)`` bits (signed lanes included), and
    unpacking gives the beat back."""
    cfg, beat = case
    layout = trace_layout(cfg)
    codec = Codec(layout, TraceBeat)
    want = layout.const({"word": beat.word, "i": list(beat.i), "v": list(beat.v),
                         "s": beat.s, "cycles": beat.cycles}).as_bits()
    assert codec.pack(beat) == want
    assert codec.unpack(want) == beat


@given(st.integers(1, 12).flatmap(lambda bits: st.tuples(
    st.just(bits), st.integers(0, (1 << bits) - 1), st.booleans(), st.booleans())))
def test_event_codec_round_trips(case):
    bits, index, eot, last = case
    codec = Codec(event_layout(bits), SpikeEvent)
    event = SpikeEvent(index, eot, last)
    assert codec.unpack(codec.pack(event)) == event
    assert codec.pack(event) == event_layout(bits).const(
        {"index": index, "eot": eot, "last": last}).as_bits()


def test_codec_refuses_a_transaction_that_does_not_match_the_layout():
    with pytest.raises(ValueError, match=re.escape(
            "SpikeEvent fields ['index', 'eot', 'last'] do not match the layout's "
            "['word', 'i', 'v', 's', 'cycles']")):
        Codec(trace_layout(CoreConfig("h", 3, 1, FixedPoint(8, 16, 8), (), 4)), SpikeEvent)


class _Handle:
    """Stands in for a cocotb signal handle: a width and a value."""

    def __init__(self, width: int) -> None:
        self.width, self.value = width, 0

    def __len__(self) -> int:
        return self.width


def test_driver_checks_the_payload_width_against_the_bundle():
    """A port narrower or wider than the layout the bundle implies is refused at start-up,
    with the arithmetic shown."""
    dut = SimpleNamespace(**{f"n0__i_events__{name}": _Handle(width)
                             for name, width in (("valid", 1), ("ready", 1), ("payload", 9))})
    with pytest.raises(ValueError) as error:
        SpikeEventSource(dut, "n0__i_events", event_layout(5), CycleScheduler(None))
    assert str(error.value) == ("n0__i_events__payload is 9 bits but the bundle's layout "
                                "has index 5 + eot 1 + last 1 = 7")
