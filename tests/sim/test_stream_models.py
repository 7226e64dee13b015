"""The cocotb bus models against a FIFO loop under Icarus (sim/cocotb_stream.py)."""

from __future__ import annotations

import json

import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.fifo import RegisteredFIFO
from rtl.layouts import event_layout
from sim import runner

pytestmark = [pytest.mark.cosim, pytest.mark.xdist_group("icarus")]


class FifoLoop(wiring.Component):
    """An event stream through a 4-entry :class:`RegisteredFIFO`, nothing else."""

    def __init__(self, index_bits: int) -> None:
        layout = event_layout(index_bits)
        super().__init__({"i_events": In(stream.Signature(layout)),
                          "o_events": Out(stream.Signature(layout))})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.fifo = fifo = RegisteredFIFO(len(self.i_events.payload.as_value()), 4)
        m.d.comb += [fifo.w_data.eq(self.i_events.payload), fifo.w_en.eq(self.i_events.valid),
                     self.i_events.ready.eq(fifo.w_rdy),
                     self.o_events.payload.eq(fifo.r_data), self.o_events.valid.eq(fifo.r_rdy),
                     fifo.r_en.eq(self.o_events.ready)]
        return m


def test_source_sink_monitor_agree_under_gaps_back_pressure_and_reset(tmp_path):
    if runner.simulator_available("icarus") is not None:
        pytest.skip(runner.simulator_available("icarus"))
    build_dir = runner.compile_design(FifoLoop(5), "fifo_loop", "icarus", tmp_path / "build")
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"seed": 4, "events": 300, "out": str(tmp_path / "out.json")}))
    runner.run_module("icarus", build_dir, "fifo_loop", "sim.cocotb_stream", tmp_path / "run",
                      {"SCSR_STREAM_JOB": str(job)})
    verdict = json.loads((tmp_path / "out.json").read_text())
    assert verdict == {"error": None, "sent": 300, "sink_equal": True, "monitor_equal": True,
                       "source_transfers": 300, "sink_transfers": 300,
                       "cleared_by_reset": True, "left": [0, 0]}
