"""Bit-level UART models for cocotb (8N1): :class:`UartSource` drives a line, :class:`UartSink`
decodes one. Queue API in the style of cocotbext: ``send``/``recv_nowait``/``count``/``idle``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import cocotb
from cocotb.triggers import ClockCycles, Event, FallingEdge

DATA_BITS = 8


def frame_bits(byte: int) -> list[int]:
    """Line levels of one character: start bit, 8 data bits LSB first, stop bit."""
    return [0, *((byte >> k) & 1 for k in range(DATA_BITS)), 1]


class UartSource:
    """Drives ``line`` with queued bytes, ``divisor`` clocks per bit.

    ``pause`` (an iterator of idle-bit counts, one per character) inserts idle time between
    characters, so the same test runs with and without gaps.
    """

    def __init__(self, line: object, clock: object, divisor: int,
                 pause: Iterator[int] | None = None) -> None:
        self.line, self.clock, self.divisor, self.pause = line, clock, divisor, pause
        self.queue: deque[int] = deque()
        self.sent = 0
        self._wake = Event()
        self.line.value = 1
        self._task = cocotb.start_soon(self._run())

    def send(self, data: bytes) -> None:
        self.queue.extend(data)
        self._wake.set()

    def idle(self) -> bool:
        return not self.queue

    async def _run(self) -> None:
        while True:
            if not self.queue:
                self._wake.clear()
                await self._wake.wait()
                await FallingEdge(self.clock)
            byte = self.queue.popleft()
            gap = next(self.pause, 0) if self.pause is not None else 0
            if gap:
                await ClockCycles(self.clock, gap * self.divisor)
            for level in frame_bits(byte):
                self.line.value = level
                await ClockCycles(self.clock, self.divisor)
            self.sent += 1


class UartSink:
    """Decodes characters on ``line`` (sampled mid-bit); a bad stop bit is recorded in
    :attr:`framing_errors` and the character dropped."""

    def __init__(self, line: object, clock: object, divisor: int) -> None:
        self.line, self.clock, self.divisor = line, clock, divisor
        self.queue: deque[int] = deque()
        self.framing_errors = 0
        self.received = Event()
        self._task = cocotb.start_soon(self._run())

    def count(self) -> int:
        return len(self.queue)

    def recv_nowait(self, size: int | None = None) -> bytes:
        """Up to ``size`` (default: all) received bytes, removed from the queue."""
        size = len(self.queue) if size is None else min(size, len(self.queue))
        return bytes(self.queue.popleft() for _ in range(size))

    async def _run(self) -> None:
        while True:
            await FallingEdge(self.line)
            await ClockCycles(self.clock, self.divisor // 2)
            if int(self.line.value):
                continue  # a glitch, not a start bit
            value = 0
            for k in range(DATA_BITS):
                await ClockCycles(self.clock, self.divisor)
                value |= int(self.line.value) << k
            await ClockCycles(self.clock, self.divisor)
            if not int(self.line.value):
                self.framing_errors += 1
                continue
            self.queue.append(value)
            self.received.set()


__all__ = ["UartSink", "UartSource", "frame_bits"]
