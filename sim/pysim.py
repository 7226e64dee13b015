"""Run a :class:`~rtl.top.NetworkTop` in Amaranth's own simulator (fast unit tests)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np
from amaranth.sim import Simulator

from rtl.config import NetConfig
from rtl.top import NetworkTop

from .scoreboard import GAP_CHANCE, READY_CHANCE, Scoreboard, input_beats


def stream_source(port: object, beats: list[int], rng: np.random.Generator | None
                  ) -> Callable[[Any], Coroutine[Any, Any, None]]:
    """An Amaranth testbench that offers ``beats`` on the stream ``port`` in order, a beat
    held until taken, with random idle cycles before beats when ``rng`` is given."""

    async def bench(ctx: Any) -> None:
        for beat in beats:
            while rng is not None and rng.random() < GAP_CHANCE:
                await ctx.tick()
            ctx.set(port.payload.as_value(), beat)
            ctx.set(port.valid, 1)
            await ctx.tick().until(port.ready)
            ctx.set(port.valid, 0)

    return bench


def run_pysim(net: NetConfig, spikes: np.ndarray, max_cycles: int = 200_000,
              stall_seed: int | None = None) -> Scoreboard:
    """Stream ``spikes`` ``(B, T, C)`` through the network; return the filled scoreboard.

    With ``stall_seed``, the input has random gaps and the result stream random
    back-pressure (seeded), which must change timing only.
    """
    dut = NetworkTop(net)
    board = Scoreboard(net, spikes.shape[0], spikes.shape[1])
    rng = np.random.default_rng(stall_seed) if stall_seed is not None else None

    async def sink(ctx: Any) -> None:
        traces = [getattr(dut, f"trace_{c.name}") for c in net.cores]
        sampled = [x for t in traces for x in (t.valid, t.payload.as_value())]
        cycles = 0
        async for _clk, _rst, ready, valid, payload, *trace in ctx.tick().sample(
                dut.o_result.ready, dut.o_result.valid, dut.o_result.payload.as_value(),
                *sampled):
            if ready and valid:
                board.result(board.result_codec.unpack(payload))
            for core, (t_valid, t_payload) in zip(net.cores, zip(trace[::2], trace[1::2],
                                                                  strict=True), strict=True):
                if t_valid:
                    board.trace(core.name, board.trace_codecs[core.name].unpack(t_payload))
            if board.complete():
                return
            cycles += 1
            if cycles > max_cycles:
                raise TimeoutError(f"no completion within {max_cycles} cycles: "
                                   f"{board.timesteps_done()}")
            ctx.set(dut.o_result.ready, 1 if rng is None else int(rng.random() < READY_CHANCE))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(stream_source(dut.i_events, input_beats(net, spikes), rng),
                      background=True)
    sim.add_testbench(sink)
    sim.run()
    return board
