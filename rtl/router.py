"""Skip routing: every source of a layer (input, earlier layers through skips, ``delay = 1``
sources) gets a :class:`~rtl.fifo.RegisteredFIFO`; the router turns their events into weight
rows, one timestep at a time.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .config import CoreConfig, bits_for
from .fifo import RegisteredFIFO
from .layouts import event_layout, row_layout


class SkipRouter(wiring.Component):
    """Merges a layer's source streams into one stream of weight rows per timestep.

    Members
    -------
    i_src<k> : In(stream(event_layout)), one per :attr:`CoreConfig.sources` entry
        Events of source ``k`` (its neuron index), each timestep closed by ``eot``. Source 0
        is always the network input: its ``eot`` markers frame the timesteps (and carry
        ``last``), even when the layer has no weights from the input.
    o_rows : Out(stream(row_layout))
        ``row = row_offset(k) + index`` per event, then ``eot`` with ``first``/``last``.
    o_starved : Out(1)
        The FIFO being drained is empty: the layer waits for an upstream producer, not
        for this router (the core leaves such cycles out of its busy count).

    Per timestep the sources are drained in order, each up to its ``eot``. Markers cost
    no cycle: each cycle serves the first source whose frame is not complete while the
    ``eot`` markers of the complete frames before it leave their FIFOs, or offers the
    end-of-timestep row once all are complete. So every cycle either offers a row or has
    ``o_starved`` set, except when a leftover ``delay = 1`` frame is dropped (one cycle
    per event at a sample's start). A ``delay = 1`` source is read one timestep late: at
    the first timestep of a sample it is skipped (the very first sample) or its frame of
    the previous sample's last timestep is dropped.
    Each FIFO holds a whole timestep (:attr:`Source.fifo_depth`), so a producer never
    waits on a consumer that waits on another source: no deadlock whatever the skew.
    """

    def __init__(self, cfg: CoreConfig) -> None:
        self.cfg = cfg
        members = {f"i_src{k}": In(stream.Signature(event_layout(bits_for(s.size))))
                   for k, s in enumerate(cfg.sources)}
        members["o_rows"] = Out(stream.Signature(row_layout(cfg)))
        members["o_starved"] = Out(1)
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        first = Signal(init=1)
        started = Signal()  # a sample has ended: delay-1 FIFOs hold its last frame
        t_last = Signal()
        out = self.o_rows
        sources = self.cfg.sources
        for k, src in enumerate(sources):
            port = getattr(self, f"i_src{k}")
            layout = event_layout(bits_for(src.size))
            queue = RegisteredFIFO(layout.size, src.fifo_depth)
            m.submodules[f"fifo{k}"] = queue
            m.d.comb += queue.w_data.eq(port.payload.as_value())
            if src.weighted:
                m.d.comb += [queue.w_en.eq(port.valid), port.ready.eq(queue.w_rdy)]
            else:  # framing only: keep the eot markers, drop the events
                m.d.comb += [queue.w_en.eq(port.valid & port.payload.eot),
                             port.ready.eq(queue.w_rdy | ~port.payload.eot)]

        queues = [m.submodules[f"fifo{k}"] for k in range(len(sources))]
        heads = [event_layout(bits_for(s.size))(q.r_data) for s, q in zip(sources, queues,
                                                                            strict=True)]

        def end_timestep(last: object, waiting: str) -> None:
            """Offer the end-of-timestep row; once taken, timestep ``t + 1`` starts."""
            m.d.comb += [out.valid.eq(1), out.payload.eot.eq(1),
                         out.payload.first.eq(first), out.payload.last.eq(last)]
            m.next = waiting
            with m.If(out.ready):
                m.d.sync += [first.eq(last), started.eq(started | last)]
                m.next = "SRC0"

        def skipped(j: int) -> object:
            """Source ``j`` has no frame this timestep (``delay = 1``, very first one)."""
            return first & ~started if sources[j].delay else Const(0)

        def close(k: int, j: int) -> None:
            """Frames ``k … j-1`` are complete: their ``eot`` markers leave now."""
            for i in range(k, j):
                m.d.comb += queues[i].r_en.eq(~skipped(i))
            if k == 0 < j:
                m.d.sync += t_last.eq(heads[0].last)

        def drain(k: int, j: int) -> None:
            """In state ``SRC<k>``: the first source from ``j`` on whose frame is not
            complete is served this cycle, or, if none is left, the timestep ends."""
            if j == len(sources):
                close(k, j)
                end_timestep(heads[0].last if k == 0 else t_last, "EOT")
                return
            queue, head = queues[j], heads[j]
            with m.If(~skipped(j) & ~(queue.r_rdy & head.eot)):
                close(k, j)
                m.next = f"SRC{j}"
                m.d.comb += self.o_starved.eq(~queue.r_rdy)
                with m.If(queue.r_rdy):
                    with m.If(first if sources[j].delay else Const(0)):  # last sample's frame
                        m.d.comb += queue.r_en.eq(1)
                    with m.Else():
                        m.d.comb += [out.valid.eq(1), queue.r_en.eq(out.ready),
                                     out.payload.row.eq(sources[j].row_offset + head.index)]
            with m.Else():
                drain(k, j + 1)

        with m.FSM(name="route"):
            for k in range(len(sources)):
                with m.State(f"SRC{k}"):
                    drain(k, k)
            with m.State("EOT"):  # the end-of-timestep row waits for the core
                end_timestep(t_last, "EOT")
        return m
