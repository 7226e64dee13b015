"""Readout: spike counts of the output layer and the prediction, per sample."""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .config import NetConfig, bits_for
from .layouts import event_layout, result_layout


class Readout(wiring.Component):
    """Counts output spikes; at the end of a sample streams ``K`` counts, then ``pred``.

    Members
    -------
    i_events : In(stream(event_layout))
        The output layer's events; an ``eot`` with ``last`` closes the sample.
    o_result : Out(stream(result_layout))
        ``counts[0] … counts[K-1]`` (``pred = 0``), then ``argmax`` (``pred = 1``) with
        ties to the lowest index (§4). Counts are ``count_bits`` wide; the driver refuses
        samples longer than ``2^count_bits - 1`` timesteps.
    """

    def __init__(self, net: NetConfig) -> None:
        self.net = net
        super().__init__({
            "i_events": In(stream.Signature(event_layout(bits_for(net.bundle.output.size)))),
            "o_result": Out(stream.Signature(result_layout(net))),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        classes = self.net.bundle.output.size
        counts = [Signal(self.net.count_bits, name=f"count{k}") for k in range(classes)]
        k = Signal(range(classes))
        best = Signal(range(classes))
        best_count = Signal(self.net.count_bits)
        event, out = self.i_events, self.o_result
        # Events are registered before they are counted: the emitter's priority encoder
        # and a counter's increment do not fit in one 10 ns clock on the ECP5 together.
        taken = Signal()
        beat = Signal.like(event.payload, reset_less=True)
        m.d.sync += [taken.eq(event.valid & event.ready), beat.eq(event.payload)]
        with m.FSM(name="readout"):
            with m.State("COUNT"):
                m.d.comb += event.ready.eq(~(taken & beat.eot & beat.last))
                for n, count in enumerate(counts):
                    with m.If(taken & ~beat.eot & (beat.index == n)):
                        m.d.sync += count.eq(count + 1)
                with m.If(taken & beat.eot & beat.last):
                    m.d.sync += [k.eq(0), best.eq(0), best_count.eq(0)]
                    m.next = "COUNTS"
            # The counts leave through count0, shifting down (zeros in at the top, so all
            # are 0 for the next sample): no multiplexer in front of the argmax compare.
            with m.State("COUNTS"):
                m.d.comb += [out.valid.eq(1), out.payload.value.eq(counts[0])]
                with m.If(out.ready):
                    with m.If(counts[0] > best_count):
                        m.d.sync += [best.eq(k), best_count.eq(counts[0])]
                    m.d.sync += [low.eq(high) for low, high in zip(counts, [*counts[1:], 0],
                                                                   strict=True)]
                    with m.If(k == classes - 1):
                        m.next = "PRED"
                    with m.Else():
                        m.d.sync += k.eq(k + 1)
            with m.State("PRED"):
                m.d.comb += [out.valid.eq(1), out.payload.value.eq(best),
                             out.payload.pred.eq(1)]
                with m.If(out.ready):
                    m.next = "COUNT"
        return m
