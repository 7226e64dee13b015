"""cocotb models of the generated design's own stream ports: spike events in, results out,
and the layers' trace ports. Each is a generic role of :mod:`sim.drivers.stream` bound to a
transaction type of :mod:`sim.transactions` and to the layout the generator computes from
the bundle.
"""

from __future__ import annotations

from amaranth.lib import data

from ..transactions import Codec, ResultBeat, SpikeEvent, TraceBeat
from .stream import CycleScheduler, StreamMonitor, StreamSink, StreamSource


class SpikeEventSource(StreamSource[SpikeEvent]):
    """Drives a spike-event stream (the network's ``i_events``) from queued
    :class:`~sim.transactions.SpikeEvent`; ``layout`` is :func:`rtl.layouts.input_layout`."""

    def __init__(self, dut: object, prefix: str, layout: data.StructLayout,
                 scheduler: CycleScheduler, reset: object | None = None) -> None:
        super().__init__(dut, prefix, Codec(layout, SpikeEvent), scheduler, reset)


class ResultSink(StreamSink[ResultBeat]):
    """Collects the network's result stream (``o_result``: ``K`` counts, then ``pred``) as
    :class:`~sim.transactions.ResultBeat`; ``layout`` is :func:`rtl.layouts.result_layout`."""

    def __init__(self, dut: object, prefix: str, layout: data.StructLayout,
                 scheduler: CycleScheduler, reset: object | None = None) -> None:
        super().__init__(dut, prefix, Codec(layout, ResultBeat), scheduler, reset)


class TraceMonitor(StreamMonitor[TraceBeat]):
    """Reads a layer's trace port (``trace_<layer>``: one :class:`~sim.transactions.TraceBeat`
    per updated word; the core ignores ``ready``, so a beat moves on ``valid`` alone);
    ``layout`` is :func:`rtl.layouts.trace_layout` of the layer's core."""

    def __init__(self, dut: object, prefix: str, layout: data.StructLayout,
                 scheduler: CycleScheduler, reset: object | None = None) -> None:
        super().__init__(dut, prefix, Codec(layout, TraceBeat), scheduler, reset,
                         ready_ignored=True)
