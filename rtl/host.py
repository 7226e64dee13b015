"""Host driver of the board top: streams samples over a serial port and reads result frames.

One object, :class:`BoardLink`, serves the ``scsr board run`` CLI, the simulation tests
(through a pseudo-terminal bridged to the cocotb testbench) and a real board. It imports
pyserial only (no torch, no Amaranth); the byte format is :mod:`rtl.protocol`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from golden_model.errors import ScsrError

from .protocol import SYNC, FrameError, Framing, status_problems

#: Seconds to wait for a sample's result frame before giving up (a board at 1 Mbaud
#: answers a typical sample in milliseconds).
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_BAUD = 1_000_000


class SerialLike(Protocol):
    """The part of :class:`serial.Serial` the driver uses."""

    timeout: float | None

    def write(self, data: bytes) -> int | None: ...
    def read(self, size: int) -> bytes: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


class BoardLink:
    """A serial link to a board (or the simulated :class:`~rtl.board.UartTop`).

    Parameters
    ----------
    port : an open pyserial port (anything :class:`SerialLike`).
    framing : the bundle's :class:`~rtl.protocol.Framing`.
    where : the port's name, used in error messages.
    timeout_s : seconds to wait for one result frame.
    max_steps : longest sample (timesteps) whose counts the board holds exactly.
    """

    def __init__(self, port: SerialLike, framing: Framing, where: str,
                 timeout_s: float = DEFAULT_TIMEOUT_S, max_steps: int | None = None) -> None:
        self.port = port
        self.framing = framing
        self.where = where
        self.timeout_s = timeout_s
        self.max_steps = max_steps

    @classmethod
    def open(cls, url: str, framing: Framing, baud: int = DEFAULT_BAUD,
             timeout_s: float = DEFAULT_TIMEOUT_S, max_steps: int | None = None) -> BoardLink:
        """Open ``url`` (a device such as ``/dev/ttyUSB0`` or any pyserial URL);
        :class:`ScsrError` naming the port if it cannot be opened."""
        import serial

        try:
            port = serial.serial_for_url(url, baudrate=baud, timeout=min(timeout_s, 0.1))
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ScsrError("--port", url, f"cannot open the serial port ({exc}); check the "
                                           "device name, that the board is plugged in, and "
                                           "that you may access it (group 'dialout')") from None
        return cls(port, framing, url, timeout_s, max_steps)

    def __enter__(self) -> BoardLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.port.close()

    def run_sample(self, index: int, sample: np.ndarray) -> tuple[np.ndarray, int]:
        """Send sample ``index`` ``(T, C)``; return the board's ``(counts, pred)``.

        :class:`ScsrError` naming the sample (and byte) when the board times out, answers
        something that is not a result frame, or reports lost input.
        """
        if self.max_steps is not None and len(sample) > self.max_steps:
            raise ScsrError(self.where, f"sample {index}", f"{len(sample)} timesteps exceed "
                            f"the {self.max_steps} the board counts exactly")
        self.port.reset_input_buffer()  # stale bytes belong to no sample
        self.port.write(self.framing.encode_sample(sample))
        frame = self._read(self.framing.frame_bytes, index)
        try:
            counts, pred, status = self.framing.decode_result(frame)
        except FrameError as exc:
            raise ScsrError(self.where, f"sample {index} byte {exc.offset}",
                            f"{exc.problem} (frame: {frame.hex(' ')})") from None
        if status:
            raise ScsrError(self.where, f"sample {index}", "; ".join(status_problems(status)))
        return counts, pred

    def run(self, spikes: np.ndarray,
            progress: Callable[[int], Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Run a batch ``(B, T, C)``; return ``counts`` ``(B, K)`` and ``pred`` ``(B,)``
        (``int32``, as ``scsr simulate`` writes them)."""
        counts = np.zeros((len(spikes), self.framing.classes), np.int32)
        pred = np.zeros(len(spikes), np.int32)
        for b, sample in enumerate(spikes):
            counts[b], pred[b] = self.run_sample(b, sample)
            if progress is not None:
                progress(1)
        return counts, pred

    def _read(self, size: int, index: int) -> bytes:
        """``size`` bytes (fewer when the first is not the sync byte: garbage is reported
        at once), or :class:`ScsrError` after ``timeout_s``."""
        data = bytearray()
        deadline = time.monotonic() + self.timeout_s
        while len(data) < size:
            chunk = self.port.read(size - len(data))
            data += chunk
            if data[:1] not in (b"", bytes([SYNC])):
                time.sleep(0.05)  # garbage: collect what else is there for the message
                return bytes(data + self.port.read(size - len(data)))
            if not chunk and time.monotonic() > deadline:
                got = f" ({bytes(data).hex(' ')})" if data else ""
                raise ScsrError(self.where, f"sample {index} byte {len(data)}",
                                f"timed out after {self.timeout_s:g} s with {len(data)} of "
                                f"{size} bytes of the result frame{got}; is the bitstream for "
                                "this bundle loaded and the baud rate right?")
        return bytes(data)


__all__ = ["DEFAULT_BAUD", "DEFAULT_TIMEOUT_S", "BoardLink", "SerialLike"]
