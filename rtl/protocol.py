"""The board's UART framing, as plain Python (no torch, no Amaranth).

One definition used by the host driver (:mod:`rtl.host`), the cocotb UART models and the
gateware generator (:mod:`rtl.board`), so the three cannot drift apart. The byte format is
documented in ``docs/hardware.md``; in short:

Host → board (8N1, no flow control), per timestep::

    event*  EOT          event = channel index, ``index_bytes`` bytes big-endian, first byte < 0x80
                         EOT = 0x80 (end of timestep) or 0x81 (end of timestep and of sample)

Board → host, one result frame per sample::

    0xA5  status  count[0] … count[K-1]  pred  checksum

``count``/``pred`` are ``value_bytes`` bytes big-endian; ``status`` has :data:`STATUS_OVERFLOW`
(input bytes were lost), :data:`STATUS_FRAMING` (a bad stop bit) and :data:`STATUS_BAD_INDEX`
(an event named a channel ≥ C); ``checksum`` is the sum modulo 256 of every byte after
``0xA5``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

#: First byte of every result frame.
SYNC = 0xA5
#: End of timestep; end of timestep and of the sample.
EOT = 0x80
EOT_LAST = 0x81
#: Status bits of a result frame.
STATUS_OVERFLOW = 0x01
STATUS_FRAMING = 0x02
STATUS_BAD_INDEX = 0x04
STATUS_BITS = {STATUS_OVERFLOW: "the board's receive FIFO overflowed (input bytes were lost; "
                                "lower the baud rate)",
               STATUS_FRAMING: "the board saw a UART framing error (check the baud rate)",
               STATUS_BAD_INDEX: "an input event named a channel the bundle does not have"}
#: Largest channel count the two-byte event form can address (15 bits).
MAX_CHANNELS = 1 << 15


class FrameError(Exception):
    """A result frame that breaks the format; ``offset`` is the byte within the frame."""

    def __init__(self, offset: int, problem: str) -> None:
        self.offset = offset
        self.problem = problem
        super().__init__(f"byte {offset}: {problem}")


@dataclass(frozen=True)
class Framing:
    """Byte geometry of one bundle's protocol.

    Attributes
    ----------
    channels : C, input channels (events carry ``0 … C-1``).
    classes : K, output neurons (one count each).
    value_bits : width of a count / the prediction in the network's result stream.
    """

    channels: int
    classes: int
    value_bits: int

    def __post_init__(self) -> None:
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise ValueError(f"{self.channels} channels: the framing carries 1 to {MAX_CHANNELS}")
        if self.classes < 1 or self.value_bits < 1:
            raise ValueError("classes and value_bits must be at least 1")

    @property
    def index_bytes(self) -> int:
        """Bytes per input event: 1 up to 128 channels, else 2 (top bit of the first is 0)."""
        return 1 if self.channels <= EOT else 2

    @property
    def value_bytes(self) -> int:
        return (self.value_bits + 7) // 8

    @property
    def frame_bytes(self) -> int:
        """Length of a result frame: sync, status, K counts, pred, checksum."""
        return 3 + (self.classes + 1) * self.value_bytes

    # --- host → board ---------------------------------------------------------------------
    def encode_sample(self, spikes: np.ndarray) -> bytes:
        """Bytes of one sample ``(T, C)`` of 0/1: per timestep its spiking channels in
        ascending order, then EOT (EOT_LAST after the final timestep)."""
        spikes = np.asarray(spikes)
        if spikes.ndim != 2 or spikes.shape[1] != self.channels or len(spikes) < 1:
            raise ValueError(f"a sample is (T ≥ 1, {self.channels}), not {spikes.shape}")
        out = bytearray()
        for t, row in enumerate(spikes):
            for j in np.flatnonzero(row):
                out += int(j).to_bytes(self.index_bytes, "big")
            out.append(EOT_LAST if t == len(spikes) - 1 else EOT)
        return bytes(out)

    def decode_events(self, data: Iterable[int]) -> list[tuple[int, bool, bool]]:
        """``(index, eot, last)`` per event in host bytes (the reference of the RX decoder)."""
        events, pending = [], []
        for byte in data:
            if not pending and byte >= EOT:
                if byte in (EOT, EOT_LAST):
                    events.append((0, True, byte == EOT_LAST))
                continue  # other command bytes are reserved and ignored
            pending.append(byte)
            if len(pending) == self.index_bytes:
                events.append((int.from_bytes(bytes(pending), "big"), False, False))
                pending = []
        return events

    # --- board → host ---------------------------------------------------------------------
    def encode_result(self, counts: Iterable[int], pred: int, status: int = 0) -> bytes:
        """The result frame of one sample (what the board sends)."""
        body = bytearray([status])
        for value in [*counts, pred]:
            body += int(value).to_bytes(self.value_bytes, "big")
        return bytes([SYNC, *body, sum(body) & 0xFF])

    def decode_result(self, frame: bytes) -> tuple[np.ndarray, int, int]:
        """``(counts, pred, status)`` of one frame; :class:`FrameError` naming the byte."""
        if frame and frame[0] != SYNC:
            raise FrameError(0, f"expected the sync byte 0x{SYNC:02X}, got 0x{frame[0]:02X}")
        if len(frame) != self.frame_bytes:
            raise FrameError(len(frame), f"frame is {len(frame)} bytes, expected "
                                         f"{self.frame_bytes}")
        checksum = sum(frame[1:-1]) & 0xFF
        if frame[-1] != checksum:
            raise FrameError(len(frame) - 1, f"checksum 0x{frame[-1]:02X} does not match "
                                             f"0x{checksum:02X} computed from the frame")
        status = frame[1]
        if status & ~sum(STATUS_BITS):
            raise FrameError(1, f"status 0x{status:02X} has undefined bits set")
        n = self.value_bytes
        values = [int.from_bytes(frame[2 + k * n:2 + (k + 1) * n], "big")
                  for k in range(self.classes + 1)]
        counts, pred = np.array(values[:-1], np.int64), values[-1]
        if pred >= self.classes:
            raise FrameError(2 + self.classes * n, f"prediction {pred} is not a class "
                                                  f"(0 … {self.classes - 1})")
        return counts, pred, status


def status_problems(status: int) -> list[str]:
    """Human-readable meaning of each status bit that is set."""
    return [text for bit, text in STATUS_BITS.items() if status & bit]


__all__ = ["EOT", "EOT_LAST", "STATUS_BAD_INDEX", "STATUS_FRAMING", "STATUS_OVERFLOW", "SYNC",
           "FrameError", "Framing", "status_problems"]
