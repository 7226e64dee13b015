"""Build :class:`~rtl.board.UartTop` for Icarus and run :mod:`sim.uart.tb` on it.

:func:`exchange` pushes host bytes through the simulated UART and returns what came back;
:func:`pty_bridge` exposes the simulated board as a pseudo-terminal so that the unchanged
host driver (:class:`~rtl.host.BoardLink`) can be tested against it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rtl.board import UartTop
from rtl.config import NetConfig
from rtl.top import to_verilog
from sim.runner import simulator_environment

TOPLEVEL = "uart_top"
_REPO = Path(__file__).resolve().parents[2]


@dataclass
class UartBuild:
    net: NetConfig
    divisor: int
    directory: Path


def build(net: NetConfig, divisor: int, directory: Path, **options: int) -> UartBuild:
    """Generate the UART top's Verilog and compile it with Icarus (``options``: further
    :class:`~rtl.board.UartTop` arguments, e.g. a short ``load_timeout_bytes``)."""
    from cocotb_tools.runner import get_runner

    simulator_environment("icarus")
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{TOPLEVEL}.v"
    source.write_text(to_verilog(UartTop(net, divisor, **options), TOPLEVEL))
    # -g2005: see sim.runner.build (Yosys' always @* initialisation under Icarus).
    get_runner("icarus").build(sources=[source], hdl_toplevel=TOPLEVEL,
                               build_dir=directory / "build", build_args=["-g2005"],
                               timescale=("1ns", "1ps"), always=True)
    return UartBuild(net, divisor, directory)


def _run(built: UartBuild, job: dict, directory: Path) -> None:
    from cocotb_tools.runner import get_results, get_runner

    directory.mkdir(parents=True, exist_ok=True)
    job_file = directory / "job.json"
    job_file.write_text(json.dumps(job | {"divisor": built.divisor}))
    env = {"SCSR_UART_JOB": str(job_file),
           "PYTHONPATH": os.pathsep.join([str(_REPO), os.environ.get("PYTHONPATH", "")])}
    results = get_runner("icarus").test(
        test_module="sim.uart.tb", hdl_toplevel=TOPLEVEL, hdl_toplevel_lang="verilog",
        build_dir=built.directory / "build", test_dir=directory, extra_env=env)
    total, failed = get_results(results)
    if total != 1 or failed:
        raise RuntimeError(f"the UART-top cocotb test failed; see the log above ({results})")


def exchange(built: UartBuild, data: bytes, expect_bytes: int, directory: Path,
             gap_seed: int | None = None, quiet_cycles: int = 200_000) -> bytes:
    """Send ``data`` into ``rx``; return the ``expect_bytes`` (plus any extra) from ``tx``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "in.bin").write_bytes(data)
    _run(built, {"mode": "bytes", "input": str(directory / "in.bin"),
                 "output": str(directory / "out.bin"), "expect_bytes": expect_bytes,
                 "gap_seed": gap_seed, "quiet_cycles": quiet_cycles}, directory)
    return (directory / "out.bin").read_bytes()


@contextlib.contextmanager
def pty_bridge(built: UartBuild, directory: Path, start_timeout_s: float = 60.0,
               corrupt_at: int | None = None) -> Iterator[str]:
    """Run the simulated board in the background; yield its pseudo-terminal's device name.

    ``corrupt_at``: flip bit 0 of that byte (counted from 0) of what the host sends, as a
    noisy line would."""
    directory.mkdir(parents=True, exist_ok=True)
    pty_file, stop_file = directory / "pty.txt", directory / "stop"
    for path in (pty_file, stop_file):
        path.unlink(missing_ok=True)
    failure: list[BaseException] = []

    def target() -> None:
        try:
            _run(built, {"mode": "pty", "pty_file": str(pty_file),
                         "stop_file": str(stop_file), "corrupt_at": corrupt_at}, directory)
        except BaseException as exc:  # reported in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name="uart-sim", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not pty_file.exists():
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the simulated board did not start: {failure or 'timeout'}")
        time.sleep(0.05)
    try:
        yield pty_file.read_text()
    finally:
        stop_file.touch()
        thread.join(timeout=60)
    if failure:
        raise failure[0]


__all__ = ["UartBuild", "build", "exchange", "pty_bridge"]
