"""cocotb self-test of the stream bus models (:mod:`sim.drivers`) on a FIFO loop.

The toplevel has one event stream in (``i_events``) and the same stream out
(``o_events``) through a :class:`~rtl.fifo.RegisteredFIFO`. A source with random gaps
feeds it, a sink with random back-pressure drains it and a monitor watches the output:
the sink and the monitor must both see exactly what was sent, and a reset must empty
every queue. Settings come from ``SCSR_STREAM_JOB`` (a JSON file, written by the test):
``seed``, ``events`` and ``out`` (where to write the verdict).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from rtl.layouts import event_layout

from .drivers import CycleScheduler, SpikeEventSource, StreamMonitor, StreamSink, random_pause
from .transactions import Codec, SpikeEvent


async def _clocked(scheduler: CycleScheduler) -> None:
    while True:
        await scheduler.cycle()


@cocotb.test()
async def stream_models(dut: object) -> None:
    """Every event sent arrives once, in order, at the sink and at the monitor; a reset
    clears the source's queue; all queues end empty."""
    job = json.loads(Path(os.environ["SCSR_STREAM_JOB"]).read_text())
    verdict: dict[str, object] = {"error": None}
    try:
        layout = event_layout(len(dut.i_events__payload) - 2)
        codec = Codec(layout, SpikeEvent)
        scheduler = CycleScheduler(dut.clk)
        source = SpikeEventSource(dut, "i_events", layout, scheduler, reset=dut.rst)
        sink = StreamSink(dut, "o_events", codec, scheduler, reset=dut.rst)
        monitor = StreamMonitor(dut, "o_events", codec, scheduler)
        source.set_pause_generator(random_pause(job["seed"], 0.3))
        sink.set_pause_generator(random_pause(job["seed"] + 1, 0.4))
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        cocotb.start_soon(_clocked(scheduler))
        dut.rst.value = 1
        for _ in range(3):
            await FallingEdge(dut.clk)
        dut.rst.value = 0

        rng = np.random.default_rng(job["seed"])
        sent = [SpikeEvent(int(rng.integers(0, 1 << layout["index"].width)),
                           bool(rng.random() < 0.2), bool(rng.random() < 0.1))
                for _ in range(job["events"])]
        for event in sent:
            await source.send(event)
        got = [await sink.recv() for _ in sent]
        await source.wait()
        seen = [monitor.recv_nowait() for _ in range(monitor.count())]
        verdict |= {"sent": len(sent), "sink_equal": got == sent, "monitor_equal": seen == sent,
                    "source_transfers": source.transfers, "sink_transfers": sink.transfers}

        for event in sent:  # queued, then dropped by a reset before much can move
            source.send_nowait(event)
        await FallingEdge(dut.clk)
        dut.rst.value = 1
        await FallingEdge(dut.clk)
        verdict |= {"cleared_by_reset": source.idle() and source.count() == 0}
        dut.rst.value = 0
        await FallingEdge(dut.clk)
        verdict |= {"left": [source.count(), sink.count()]}
    except Exception as exc:  # the verdict file says what went wrong
        verdict["error"] = repr(exc)
        raise
    finally:
        Path(job["out"]).write_text(json.dumps(verdict))
