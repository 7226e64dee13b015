"""cocotb testbench of one or more generated networks (a :class:`~rtl.top.Harness`).

The job file named by ``SCSR_COSIM_JOB`` (written by :mod:`sim.runner`) lists, per net,
its bundle, lanes, input spikes, stall settings and where to write what it saw. Each net
gets a :class:`NetworkTB`: a :class:`~sim.drivers.SpikeEventSource` on ``i_events`` (random
gaps if asked), a :class:`~sim.drivers.ResultSink` on ``o_result`` (random back-pressure if
asked) and a :class:`~sim.drivers.TraceMonitor` per layer, whose transactions fill a
:class:`~sim.scoreboard.Scoreboard`. One :class:`~sim.drivers.CycleScheduler` clocks them all.

A watchdog fails the run, naming the stuck layer, when nothing moves for a bounded number
of cycles. The comparison with the golden model happens in the caller.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from golden_model import load_bundle
from rtl.config import NetConfig
from rtl.layouts import input_layout, result_layout, trace_layout

from .drivers import CycleScheduler, ResultSink, SpikeEventSource, TraceMonitor, random_pause
from .scoreboard import GAP_CHANCE, READY_CHANCE, Scoreboard, input_events


def stuck_limit(net: NetConfig) -> int:
    """Cycles without any handshake or trace beat after which a net counts as stuck: far
    above the longest legitimate quiet stretch (a core's whole timestep plus its emitter)."""
    return 4 * max((c.rows + 3) * c.words + 3 * c.words + c.size for c in net.cores) + 256


class NetworkTB:
    """The bus models of one net (ports ``<prefix>…``) and its scoreboard, for one batch."""

    def __init__(self, dut: object, prefix: str, job: dict, scheduler: CycleScheduler) -> None:
        self.job = job
        self.net = NetConfig.from_bundle(load_bundle(job["bundle"]), job["lanes"],
                                         pipeline=job["pipeline"])
        self.spikes = np.load(job["spikes"])["spikes"]
        self.board = Scoreboard(self.net, self.spikes.shape[0], self.spikes.shape[1])
        self.source = SpikeEventSource(dut, f"{prefix}i_events", input_layout(self.net),
                                       scheduler, reset=dut.rst)
        self.sink = ResultSink(dut, f"{prefix}o_result", result_layout(self.net), scheduler,
                               reset=dut.rst)
        self.traces = {c.name: TraceMonitor(dut, f"{prefix}trace_{c.name}", trace_layout(c),
                                            scheduler, reset=dut.rst) for c in self.net.cores}
        for monitor in self.traces.values():
            monitor.ready.value = 1  # ignored by the core; tied so no input floats
        seed = job.get("stall_seed")
        if seed is not None:
            self.source.set_pause_generator(random_pause(seed, GAP_CHANCE))
            self.sink.set_pause_generator(random_pause(seed + 1_000_003, 1 - READY_CHANCE))
        if job.get("hold_output"):  # a sink that never takes anything (watchdog test)
            self.sink.set_pause_generator(itertools.repeat(True))
        self.limit = stuck_limit(self.net)
        self.quiet = 0
        self.cycles = 0  # until this net completed (or stalled)
        self._moved = 0
        self._events = 0

    def start(self) -> None:
        """Queue the whole batch (after reset: a reset clears the queues)."""
        events = input_events(self.spikes)
        self._events = len(events)
        for event in events:
            self.source.send_nowait(event)

    def collect(self) -> None:
        """Move this cycle's transactions into the scoreboard; count quiet cycles."""
        self.cycles += 1
        while not self.sink.empty():
            self.board.result(self.sink.recv_nowait())
        for name, monitor in self.traces.items():
            while not monitor.empty():
                self.board.trace(name, monitor.recv_nowait())
        moved = self.source.transfers + self.sink.transfers + sum(
            m.transfers for m in self.traces.values())
        self.quiet = 0 if moved != self._moved else self.quiet + 1
        self._moved = moved

    def stuck(self) -> str | None:
        """A message naming the stuck layer once the watchdog limit passes."""
        if self.quiet <= self.limit:
            return None
        done = self.board.timesteps_done()
        layer = min(done, key=lambda name: done[name])
        return (f"no progress for {self.limit} cycles: layer {layer!r} is stuck after "
                f"{done[layer]} timesteps (per layer: {done}; input beats sent "
                f"{self.source.transfers}/{self._events})")

    def write(self, wall: float, error: str | None) -> None:
        result, hw_pred = (self.board.sim_result(self.job["trace"]) if error is None
                           else (None, None))
        out = {"status": json.dumps({"error": error, "cycles": self.cycles, "wall_s": wall})}
        if result is not None:
            out |= result.arrays() | {"hw_pred": hw_pred}
            out |= {f"cycles.{name}": c for name, c in self.board.cycles().items()}
        np.savez(self.job["out"], **out)


class HarnessTB:
    """Clock, reset and one :class:`NetworkTB` per net of the harness (``n<k>__`` ports)."""

    def __init__(self, dut: object, jobs: list[dict]) -> None:
        self.dut = dut
        self.scheduler = CycleScheduler(dut.clk)
        self.nets = [NetworkTB(dut, f"n{k}__", job, self.scheduler)
                     for k, job in enumerate(jobs)]
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())

    async def reset(self) -> None:
        self.dut.rst.value = 1
        for _ in range(3):
            await self.scheduler.cycle()
        await FallingEdge(self.dut.clk)  # out of the read-only phase the cycle ended in
        self.dut.rst.value = 0
        for net in self.nets:
            net.start()

    async def run(self) -> dict[int, str]:
        """Clock until every net has completed or is stuck; the stuck nets' messages."""
        active = list(range(len(self.nets)))
        errors: dict[int, str] = {}
        while active:
            await self.scheduler.cycle()
            still = []
            for k in active:
                net = self.nets[k]
                net.collect()
                problem = net.stuck()
                if problem is not None:
                    errors[k] = problem
                elif not net.board.complete():
                    still.append(k)
            active = still
        return errors


@cocotb.test()
async def run_jobs(dut: object) -> None:
    """Stream every job's samples through its net; write results; fail on a stuck net."""
    jobs = json.loads(Path(os.environ["SCSR_COSIM_JOB"]).read_text())
    tb = HarnessTB(dut, jobs)
    await tb.reset()
    start = time.perf_counter()
    errors = await tb.run()
    wall = time.perf_counter() - start
    for k, net in enumerate(tb.nets):
        net.write(wall, errors.get(k))
    assert not errors, "; ".join(errors.values())
