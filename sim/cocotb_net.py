"""cocotb testbench of one or more generated networks (a :class:`~rtl.top.Harness`).

The job file named by ``SCSR_COSIM_JOB`` (written by :mod:`sim.runner`) lists, per net,
its bundle, lanes, input spikes, stall settings and where to write what it saw. Every
clock cycle (at the falling edge, when all signals are settled) the testbench:

* drives the input stream from a queue of beats, with random gaps if asked;
* drives ``ready`` of the result stream, with random back-pressure if asked;
* records handshakes and every layer's trace beat into a :class:`~sim.scoreboard.Scoreboard`.

A watchdog fails the run, naming the stuck layer, when nothing moves for a bounded number
of cycles. The comparison with the golden model happens in the caller.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from golden_model import load_bundle
from rtl.config import NetConfig

from .scoreboard import Scoreboard, input_beats


def stuck_limit(net: NetConfig) -> int:
    """Cycles without any handshake or trace beat after which a net counts as stuck: far
    above the longest legitimate quiet stretch (a core's whole timestep plus its emitter)."""
    return 4 * max((c.rows + 3) * c.words + 3 * c.words + c.size for c in net.cores) + 256


class NetTB:
    """Drivers and monitors of one net's ports (prefix ``n<k>__``) for one batch."""

    def __init__(self, dut: object, prefix: str, job: dict) -> None:
        self.job = job
        self.net = NetConfig.from_bundle(load_bundle(job["bundle"]), job["lanes"])
        spikes = np.load(job["spikes"])["spikes"]
        self.board = Scoreboard(self.net, spikes.shape[0], spikes.shape[1])
        self.beats = input_beats(self.net, spikes)
        self.next_beat = 0
        self.rng = np.random.default_rng(job["stall_seed"]) if job.get("stall_seed") is not None \
            else None
        self.limit = stuck_limit(self.net)
        self.quiet = 0
        self.cycles = 0
        self.pending = False

        def port(name: str) -> object:
            return getattr(dut, f"{prefix}{name}")

        self.i_valid, self.i_ready, self.i_payload = (
            port(f"i_events__{n}") for n in ("valid", "ready", "payload"))
        self.o_valid, self.o_ready, self.o_payload = (
            port(f"o_result__{n}") for n in ("valid", "ready", "payload"))
        self.traces = [(c.name, port(f"trace_{c.name}__valid"), port(f"trace_{c.name}__payload"))
                       for c in self.net.cores]
        for _name, _valid, _payload in self.traces:
            port(f"trace_{_name}__ready").value = 1
        self.i_valid.value = 0
        self.o_ready.value = 0

    def drive(self) -> None:
        """Set this cycle's input beat (or a gap) and result ``ready`` (or a stall)."""
        if not self.pending:  # a beat once offered stays offered until it is taken
            gap = self.rng is not None and self.rng.random() < 0.3
            self.pending = self.next_beat < len(self.beats) and not gap
            if self.pending:
                self.i_payload.value = self.beats[self.next_beat]
            self.i_valid.value = int(self.pending)
        if self.job.get("hold_output"):  # a sink that never takes anything (watchdog test)
            self.o_ready.value = 0
        else:
            self.o_ready.value = 1 if self.rng is None else int(self.rng.random() < 0.6)

    def sample(self) -> None:
        """Record what moves at the coming clock edge (signals are settled now)."""
        moved = False
        if self.pending and int(self.i_ready.value):
            self.next_beat += 1
            self.pending = False
            moved = True
        if int(self.o_valid.value) and int(self.o_ready.value):
            self.board.result(int(self.o_payload.value))
            moved = True
        for name, valid, payload in self.traces:
            if int(valid.value):
                self.board.trace(name, int(payload.value))
                moved = True
        self.cycles += 1
        self.quiet = 0 if moved else self.quiet + 1

    def stuck(self) -> str | None:
        """A message naming the stuck layer once the watchdog limit passes."""
        if self.quiet <= self.limit:
            return None
        done = self.board.timesteps_done()
        layer = min(done, key=lambda name: done[name])
        return (f"no progress for {self.limit} cycles: layer {layer!r} is stuck after "
                f"{done[layer]} timesteps (per layer: {done}; input beats sent "
                f"{self.next_beat}/{len(self.beats)})")

    def write(self, wall: float, error: str | None) -> None:
        result, hw_pred = (self.board.sim_result(self.job["trace"]) if error is None
                           else (None, None))
        out = {"status": json.dumps({"error": error, "cycles": self.cycles, "wall_s": wall})}
        if result is not None:
            out |= result.arrays() | {"hw_pred": hw_pred}
            out |= {f"cycles.{name}": c for name, c in self.board.cycles().items()}
        np.savez(self.job["out"], **out)


@cocotb.test()
async def run_jobs(dut: object) -> None:
    """Stream every job's samples through its net; write results; fail on a stuck net."""
    job_file = Path(os.environ["SCSR_COSIM_JOB"])
    jobs = json.loads(job_file.read_text())
    benches = [NetTB(dut, f"n{k}__", job) for k, job in enumerate(jobs)]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    start = time.perf_counter()
    active = list(benches)
    errors: dict[int, str] = {}
    while active:
        await FallingEdge(dut.clk)
        for tb in active:
            tb.drive()
        await ReadOnly()
        for tb in active:
            tb.sample()
        still = []
        for tb in active:
            problem = tb.stuck()
            if problem is not None:
                errors[benches.index(tb)] = problem
            elif not tb.board.complete():
                still.append(tb)
        active = still
    wall = time.perf_counter() - start
    for k, tb in enumerate(benches):
        tb.write(wall, errors.get(k))
    assert not errors, "; ".join(errors.values())
