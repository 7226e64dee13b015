"""The skip router alone in Amaranth's simulator: rows in source order with the right
flags, and no cycle of its own: every cycle it offers a row or waits for an empty FIFO."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from rtl.config import NetConfig
from rtl.layouts import event_layout
from rtl.router import SkipRouter
from sim.pysim import stream_source
from sim.transactions import Codec, SpikeEvent
from tests.rtl.nets import skip_net


def frames(sizes: list[int], steps: int, seed: int) -> list[list[list[int]]]:
    """Per source, per timestep, the spiking indices: uneven counts, with a timestep where
    only the last source has events, one where a middle source is empty and one burst."""
    rng = np.random.default_rng(seed)
    out = [[sorted(rng.choice(n, rng.integers(0, n + 1), replace=False).tolist())
            for _ in range(steps)] for n in sizes]
    for k, n in enumerate(sizes):
        out[k][0] = list(range(n)) if k == len(sizes) - 1 else []
        out[k][1] = [] if 0 < k < len(sizes) - 1 else [n - 1]
        out[k][2] = list(range(n))
    return out


def run_router(cfg, per_source, samples, stall_seed):
    """Feed every source its frames (a sample = ``steps`` timesteps, repeated
    ``samples`` times); return the rows taken and the cycles that offered nothing while
    the router was not starved."""
    dut = SkipRouter(cfg)
    steps = len(per_source[0])
    rng = np.random.default_rng(stall_seed) if stall_seed is not None else None
    taken, idle = [], []

    def feeder(k, src):
        port = getattr(dut, f"i_src{k}")
        codec = Codec(event_layout(len(port.payload.index)), SpikeEvent)
        events = []
        for _ in range(samples):
            for t in range(steps):
                events += [SpikeEvent(j) for j in (per_source[k][t] if src.weighted else [])]
                events.append(SpikeEvent(eot=True, last=t == steps - 1))
        return stream_source(port, [codec.pack(e) for e in events], rng)

    async def sink(ctx):
        out = dut.o_rows
        want = samples * (sum(len(f) for s, per_t in zip(cfg.sources, per_source, strict=True)
                              if s.weighted for f in per_t) + steps)
        cycle = 0
        while len(taken) < want:
            ready = 1 if rng is None else int(rng.random() < 0.6)
            ctx.set(out.ready, ready)
            await ctx.delay(1e-9)  # settle the combinational offer
            valid, starved = ctx.get(out.valid), ctx.get(dut.o_starved)
            if valid and ready:
                row = ctx.get(out.payload)
                taken.append((row.row, row.eot, row.first, row.last))
            if not valid and not starved:
                idle.append(cycle)
            await ctx.tick()
            cycle += 1
            assert cycle < 20_000, "router stopped making progress"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for k, src in enumerate(cfg.sources):
        sim.add_testbench(feeder(k, src), background=True)
    sim.add_testbench(sink)
    sim.run()
    return taken, idle


@pytest.mark.parametrize("stall_seed", [None, 3])
def test_rows_in_source_order_and_no_cycle_lost_to_markers(stall_seed):
    """Three sources (input framing, ``h1`` skip, ``h2``) with uneven and empty frames:
    rows arrive as ``row_offset + index`` in source order, the end-of-timestep row carries
    ``first``/``last``, and the router is never idle while a FIFO it needs has data
    (its ``eot`` markers leave in the same cycle as the next row is offered)."""
    bundle = skip_net((6, 5, 3), (8, 16, 8), seed=5)
    cfg = NetConfig.from_bundle(bundle, 4).core("out")
    assert [(s.name, s.weighted) for s in cfg.sources] == [
        ("input", False), ("h1", True), ("h2", True)]
    steps, samples = 6, 2
    per_source = frames([s.size for s in cfg.sources], steps, seed=1)
    taken, idle = run_router(cfg, per_source, samples, stall_seed)
    want = []
    for _ in range(samples):
        for t in range(steps):
            want += [(s.row_offset + j, 0, 0, 0) for s, per_t in zip(cfg.sources, per_source,
                                                                   strict=True)
                     if s.weighted for j in per_t[t]]
            want.append((0, 1, int(t == 0), int(t == steps - 1)))
    assert taken == want
    assert idle == []
