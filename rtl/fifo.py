"""The FIFO every stream buffer of the design uses (router sources, the cores' spike
queues, the board's receive buffer): its output comes from flip-flops, not from a block
RAM's read port (on the ECP5 a DP16KD's unregistered clock-to-output is ~5.8 ns of the
10 ns at 100 MHz).
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out


class RegisteredFIFO(wiring.Component):
    """``depth`` (≥ 2) entries: a :class:`~amaranth.lib.fifo.SyncFIFOBuffered` of
    ``depth - 1`` followed by one output register, so ``r_data`` is a flip-flop and logic
    behind the FIFO starts its clock period fresh instead of after a block RAM read.
    Same port names as Amaranth's FIFOs; ``level`` counts all entries (II = 1 both sides)."""

    def __init__(self, width: int, depth: int) -> None:
        if depth < 2:
            raise ValueError(f"RegisteredFIFO depth {depth} < 2")
        self.width, self.depth = width, depth
        super().__init__({
            "w_data": In(width), "w_en": In(1), "w_rdy": Out(1),
            "r_data": Out(width), "r_en": In(1), "r_rdy": Out(1),
            "level": Out(range(depth + 1)),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.inner = inner = fifo.SyncFIFOBuffered(width=self.width,
                                                           depth=self.depth - 1)
        m.d.comb += [inner.w_data.eq(self.w_data), inner.w_en.eq(self.w_en),
                     self.w_rdy.eq(inner.w_rdy), self.level.eq(inner.level + self.r_rdy)]
        take = inner.r_rdy & (~self.r_rdy | self.r_en)
        m.d.comb += inner.r_en.eq(take)
        with m.If(take):
            m.d.sync += [self.r_data.eq(inner.r_data), self.r_rdy.eq(1)]
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        return m

    @property
    def w_stream(self) -> stream.Interface:
        """The write side as a stream (as Amaranth's FIFOs have it)."""
        port = stream.Signature(self.width).flip().create()
        port.payload, port.valid, port.ready = self.w_data, self.w_en, self.w_rdy
        return port

    @property
    def r_stream(self) -> stream.Interface:
        """The read side as a stream (as Amaranth's FIFOs have it)."""
        port = stream.Signature(self.width).create()
        port.payload, port.valid, port.ready = self.r_data, self.r_rdy, self.r_en
        return port
