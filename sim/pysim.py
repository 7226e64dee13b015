"""Run a :class:`~rtl.top.NetworkTop` in Amaranth's own simulator (fast unit tests)."""

from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from rtl.config import NetConfig
from rtl.top import NetworkTop

from .scoreboard import Scoreboard, input_beats


def run_pysim(net: NetConfig, spikes: np.ndarray, max_cycles: int = 200_000,
              stall_seed: int | None = None) -> Scoreboard:
    """Stream ``spikes`` ``(B, T, C)`` through the network; return the filled scoreboard.

    With ``stall_seed``, the input has random gaps and the result stream random
    back-pressure (seeded), which must change timing only.
    """
    dut = NetworkTop(net)
    board = Scoreboard(net, spikes.shape[0], spikes.shape[1])
    beats = input_beats(net, spikes)
    rng = np.random.default_rng(stall_seed) if stall_seed is not None else None

    async def source(ctx: object) -> None:
        for beat in beats:
            while rng is not None and rng.random() < 0.3:
                await ctx.tick()
            ctx.set(dut.i_events.payload.as_value(), beat)
            ctx.set(dut.i_events.valid, 1)
            await ctx.tick().until(dut.i_events.ready)
            ctx.set(dut.i_events.valid, 0)

    async def sink(ctx: object) -> None:
        traces = [getattr(dut, f"trace_{c.name}") for c in net.cores]
        sampled = [x for t in traces for x in (t.valid, t.payload.as_value())]
        cycles = 0
        async for _clk, _rst, ready, valid, payload, *trace in ctx.tick().sample(
                dut.o_result.ready, dut.o_result.valid, dut.o_result.payload.as_value(),
                *sampled):
            if ready and valid:
                board.result(payload)
            for core, (t_valid, t_payload) in zip(net.cores, zip(trace[::2], trace[1::2],
                                                                  strict=True), strict=True):
                if t_valid:
                    board.trace(core.name, t_payload)
            if board.complete():
                return
            cycles += 1
            if cycles > max_cycles:
                raise TimeoutError(f"no completion within {max_cycles} cycles: "
                                   f"{board.timesteps_done()}")
            ctx.set(dut.o_result.ready, 1 if rng is None else int(rng.random() < 0.6))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    return board
