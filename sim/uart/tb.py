"""cocotb testbench of :class:`~rtl.board.UartTop` (toplevel ``uart_top``).

The job file named by ``SCSR_UART_JOB`` (written by :mod:`sim.uart.runner`) picks a mode:

* ``bytes``: send the host bytes of a file (with random idle gaps if ``gap_seed`` is set),
  collect ``expect_bytes`` bytes from ``tx`` and write them to ``output``;
* ``pty``: open a pseudo-terminal, write its device name to ``pty_file`` and bridge it to
  the UART until ``stop_file`` appears, so the real host driver can talk to the design
  (``corrupt_at``: flip bit 0 of that byte of the host's stream, a line fault).

Either way a watchdog fails the run when the design goes quiet for ``quiet_cycles``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tty
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles

from .models import UartSink, UartSource

#: Clock cycles between two looks at the pseudo-terminal.
POLL_CYCLES = 64


class UartTopTB:
    """Clock, reset, a :class:`UartSource` on ``rx`` and a :class:`UartSink` on ``tx``."""

    def __init__(self, dut: object, divisor: int, gap_seed: int | None) -> None:
        self.dut = dut
        pause = None
        if gap_seed is not None:
            rng = random.Random(gap_seed)
            pause = iter(lambda: rng.choice((0, 0, 0, 1, 3)), None)
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        self.source = UartSource(dut.rx, dut.clk, divisor, pause)
        self.sink = UartSink(dut.tx, dut.clk, divisor)

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)


async def exchange(tb: UartTopTB, job: dict) -> None:
    tb.source.send(Path(job["input"]).read_bytes())
    got = bytearray()
    quiet = 0
    while len(got) < job["expect_bytes"]:
        await ClockCycles(tb.dut.clk, POLL_CYCLES)
        chunk = tb.sink.recv_nowait()
        got += chunk
        quiet = 0 if chunk or not tb.source.idle() else quiet + POLL_CYCLES
        assert quiet <= job["quiet_cycles"], (
            f"no answer for {quiet} cycles after all input was sent: got {len(got)} of "
            f"{job['expect_bytes']} bytes")
    await ClockCycles(tb.dut.clk, 20 * tb.source.divisor)  # nothing extra may follow
    got += tb.sink.recv_nowait()
    Path(job["output"]).write_bytes(bytes(got))
    assert tb.sink.framing_errors == 0, f"{tb.sink.framing_errors} framing errors on tx"


async def bridge(tb: UartTopTB, job: dict) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    ready = Path(job["pty_file"] + ".part")
    ready.write_text(os.ttyname(slave))
    ready.replace(job["pty_file"])  # the name appears complete or not at all
    stop = Path(job["stop_file"])
    corrupt_at, received = job.get("corrupt_at"), 0
    try:
        while not stop.exists():
            await ClockCycles(tb.dut.clk, POLL_CYCLES)
            with contextlib.suppress(BlockingIOError):
                chunk = bytearray(os.read(master, 4096))
                if corrupt_at is not None and received <= corrupt_at < received + len(chunk):
                    chunk[corrupt_at - received] ^= 1
                received += len(chunk)
                tb.source.send(bytes(chunk))
            out = tb.sink.recv_nowait()
            if out:
                os.write(master, out)
    finally:
        os.close(master)
        os.close(slave)


@cocotb.test()
async def uart_top(dut: object) -> None:
    """Run the job of ``SCSR_UART_JOB`` against the UART top."""
    job = json.loads(Path(os.environ["SCSR_UART_JOB"]).read_text())
    tb = UartTopTB(dut, job["divisor"], job.get("gap_seed"))
    await tb.reset()
    await (exchange if job["mode"] == "bytes" else bridge)(tb, job)
