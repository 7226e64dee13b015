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

from .protocol import (
    CHECKSUM_BYTES,
    IDENTIFY,
    IDENTIFY_LOADED,
    LOAD,
    REPLY_HEADER,
    REPLY_SYNC,
    SYNC,
    FrameError,
    Framing,
    Shape,
    decode_reply,
    encode_load,
    image_checksum,
    load_problems,
    status_problems,
)

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
        frame = self._read(self.framing.frame_bytes, f"sample {index}", "result frame", SYNC)
        try:
            counts, pred, status = self.framing.decode_result(frame)
        except FrameError as exc:
            raise ScsrError(self.where, f"sample {index} byte {exc.offset}",
                            f"{exc.problem} (frame: {frame.hex(' ')})") from None
        if status:
            raise ScsrError(self.where, f"sample {index}", "; ".join(status_problems(status)))
        return counts, pred

    def identify(self) -> tuple[Shape, bool]:
        """Ask the board what it is built for: ``(shape, loaded)``. :class:`ScsrError` when
        it does not answer (a bitstream built without ``--loadable`` ignores IDENTIFY)."""
        self.port.reset_input_buffer()
        self.port.write(bytes([IDENTIFY]))
        body = self.read_reply(IDENTIFY)
        try:
            shape = Shape.decode(body[1:])
        except FrameError as exc:
            raise ScsrError(self.where, "identify", exc.problem) from None
        return shape, bool(body[0] & IDENTIFY_LOADED)

    def load(self, image: bytes, timeout_s: float | None = None) -> int:
        """Send ``image`` with LOAD; return the checksum the board read back, which must be
        the image's: :class:`ScsrError` naming what went wrong otherwise (then the board is
        not loaded and says so in every result frame). ``timeout_s`` (default: the link's
        plus the image's time on the line) bounds the wait for the reply."""
        baud = getattr(self.port, "baudrate", None)
        line_s = 10 * len(image) / baud if baud else 0.0
        self.port.reset_input_buffer()
        self.port.write(encode_load(image))
        body = self.read_reply(LOAD, timeout_s if timeout_s is not None
                               else self.timeout_s + line_s)
        status, board = body[0], int.from_bytes(body[1:1 + CHECKSUM_BYTES], "big")
        sent = image_checksum(image)
        if status:
            detail = f" (read back 0x{board:08X}, sent 0x{sent:08X})" if board else ""
            raise ScsrError(self.where, "load", "; ".join(load_problems(status)) + detail)
        if board != sent:  # the board compares too; this catches a board that did not
            raise ScsrError(self.where, "load", f"the board read back checksum 0x{board:08X}, "
                                                f"the image has 0x{sent:08X}")
        return board

    def read_reply(self, command: int, timeout_s: float | None = None) -> bytes:
        """The body of the board's reply frame to ``command`` (:mod:`rtl.protocol`)."""
        what = {IDENTIFY: "identify", LOAD: "load"}.get(command, f"command 0x{command:02X}")
        head = self._read(REPLY_HEADER, what, "reply", REPLY_SYNC, timeout_s)
        frame = head
        if len(head) == REPLY_HEADER and head[0] == REPLY_SYNC:
            frame += self._read(int.from_bytes(head[2:4], "big") + 1, what, "reply", None,
                                timeout_s, len(head))
        try:
            return decode_reply(frame, command)
        except FrameError as exc:
            raise ScsrError(self.where, f"{what} byte {exc.offset}",
                            f"{exc.problem} (reply: {frame.hex(' ')})") from None

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

    def _read(self, size: int, what: str, frame: str, sync: int | None,
              timeout_s: float | None = None, offset: int = 0) -> bytes:
        """``size`` bytes of a ``frame`` for ``what`` (fewer when the first is not the
        ``sync`` byte: garbage is reported at once), or :class:`ScsrError` after
        ``timeout_s`` (default: the link's); ``offset``: bytes of the frame read before."""
        data = bytearray()
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        while len(data) < size:
            chunk = self.port.read(size - len(data))
            data += chunk
            if sync is not None and data[:1] not in (b"", bytes([sync])):
                time.sleep(0.05)  # garbage: collect what else is there for the message
                return bytes(data + self.port.read(size - len(data)))
            if not chunk and time.monotonic() > deadline:
                got = f" ({bytes(data).hex(' ')})" if data else ""
                hint = ("is the bitstream for this bundle loaded and the baud rate right?"
                        if frame == "result frame" else "is a loadable bitstream ('scsr synth "
                        "--loadable') on the board and the baud rate right?")
                raise ScsrError(self.where, f"{what} byte {offset + len(data)}",
                                f"timed out after {timeout_s:g} s with {offset + len(data)} of "
                                f"{offset + size} bytes of the {frame}{got}; {hint}")
        return bytes(data)


__all__ = ["DEFAULT_BAUD", "DEFAULT_TIMEOUT_S", "BoardLink", "SerialLike"]
