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

Commands (a loadable design only; other bytes ≥ 0x82 where an event would start are
reserved and ignored)::

    IDENTIFY                                   → reply: status, shape descriptor
    LOAD  length[3]  image[length]  sum[4]     → reply: status, read-back sum[4]

A reply frame is ``0x5A  command  length[2]  body[length]  checksum`` (checksum as in a
result frame: the sum modulo 256 of every byte after ``0x5A``). The image is every
weight and parameter memory of every core in :meth:`rtl.config.NetConfig.load_memories`
order, each word ``ceil(width/8)`` bytes, least significant first, unused high bits 0;
``sum`` is :func:`image_checksum` of the image, big-endian.
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
#: Only a loadable design sets it: its memories hold no complete, verified model (a loadable
#: build without a bundle starts so; a failed or cut-off load leaves it so).
STATUS_NOT_LOADED = 0x08
STATUS_BITS = {STATUS_OVERFLOW: "the board's receive FIFO overflowed (input bytes were lost; "
                                "lower the baud rate)",
               STATUS_FRAMING: "the board saw a UART framing error (check the baud rate)",
               STATUS_BAD_INDEX: "an input event named a channel the bundle does not have",
               STATUS_NOT_LOADED: "the board holds no complete model (the last load failed "
                                  "or was cut off, or none was made); run 'scsr board load'"}
#: Largest channel count the two-byte event form can address (15 bits).
MAX_CHANNELS = 1 << 15
#: Command bytes (where an event would start): describe the design; load the memories.
IDENTIFY = 0x82
LOAD = 0x83
COMMANDS = (IDENTIFY, LOAD)
#: First byte of every command reply frame.
REPLY_SYNC = 0x5A
#: Bytes of a reply frame before its body (sync, command, body length) and after (checksum).
REPLY_HEADER = 4
#: Bytes of the LOAD header's image length (big-endian): images up to 16 MiB.
LENGTH_BYTES = 3
#: Bytes of the image checksum (:func:`image_checksum`), after the image and in the reply.
CHECKSUM_BYTES = 4
#: Width of each of the two running sums of :func:`image_checksum`.
SUM_BITS = 16
#: Status bits of a LOAD reply.
LOAD_LENGTH = 0x01
LOAD_BUSY = 0x02
LOAD_TIMEOUT = 0x04
LOAD_CHECKSUM = 0x08
LOAD_BITS = {LOAD_LENGTH: "the image length differs from the board's design (nothing was "
                          "written)",
             LOAD_BUSY: "a sample was still open on the board (nothing was written)",
             LOAD_TIMEOUT: "the image stopped arriving before its end (the board is not "
                           "loaded; load again)",
             LOAD_CHECKSUM: "the board read back other memory contents than were sent (the "
                            "board is not loaded; load again)"}
#: Status bit of an IDENTIFY reply: the memories hold a complete, verified model.
IDENTIFY_LOADED = 0x01
#: Byte times without a byte after which the board gives up an open load (scaled by the
#: baud rate: 250 ms at 1 Mbaud) and replies with :data:`LOAD_TIMEOUT`.
LOAD_TIMEOUT_BYTES = 25_000
#: Version of the shape descriptor of an IDENTIFY reply (:class:`Shape`).
SHAPE_VERSION = 1


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


# --- commands: IDENTIFY and LOAD ------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """What one loadable bitstream is built for: every bundle with this shape loads into it.

    ``layers`` are the layer sizes in manifest order; ``projections`` are
    ``(src, dst, delay)`` with 0 for ``input`` and ``k + 1`` for layer ``k``, in manifest
    order (it fixes where each projection's rows sit in the weight memory).
    """

    weight_bits: int
    state_bits: int
    decay_bits: int
    lanes: int
    channels: int
    layers: tuple[int, ...]
    projections: tuple[tuple[int, int, int], ...]

    def encode(self) -> bytes:
        """The descriptor of an IDENTIFY reply: 16-bit big-endian fields, in order: version,
        weight_bits, state_bits, decay_bits, lanes, channels, layer count, sizes,
        projection count, then src, dst, delay per projection."""
        fields = [SHAPE_VERSION, self.weight_bits, self.state_bits, self.decay_bits, self.lanes,
                  self.channels, len(self.layers), *self.layers, len(self.projections),
                  *(v for p in self.projections for v in p)]
        if max(fields) >= 1 << 16:
            raise ValueError("a shape field does not fit the descriptor's 16 bits")
        return b"".join(v.to_bytes(2, "big") for v in fields)

    @classmethod
    def decode(cls, data: bytes) -> Shape:
        """The inverse of :meth:`encode`; :class:`FrameError` naming the byte if malformed."""
        fields = [int.from_bytes(data[k:k + 2], "big") for k in range(0, len(data) - 1, 2)]
        if len(data) % 2 or len(fields) < 8 or fields[0] != SHAPE_VERSION:
            raise FrameError(0, f"not a version-{SHAPE_VERSION} shape descriptor "
                                f"({data.hex(' ')})")
        n = fields[6]
        if len(fields) < 8 + n or len(fields) != 8 + n + 3 * fields[7 + n]:
            raise FrameError(0, f"shape descriptor of {len(data)} bytes does not match its "
                                "layer and projection counts")
        rest = fields[8 + n:]
        return cls(*fields[1:6], tuple(fields[7:7 + n]),
                   tuple(tuple(rest[k:k + 3]) for k in range(0, len(rest), 3)))

    def first_difference(self, board: Shape) -> tuple[str, str, str] | None:
        """``(field, this shape's value, the board's)`` of the first field that differs
        (``None`` when the shapes agree), for a one-line error."""
        pairs = [("fixed_point.weight_bits", self.weight_bits, board.weight_bits),
                 ("fixed_point.state_bits", self.state_bits, board.state_bits),
                 ("fixed_point.decay_bits", self.decay_bits, board.decay_bits),
                 ("lanes", self.lanes, board.lanes),
                 ("input.channels", self.channels, board.channels),
                 ("layers", f"{len(self.layers)} layers", f"{len(board.layers)} layers")]
        pairs += [(f"layers[{k}].size", a, b)
                  for k, (a, b) in enumerate(zip(self.layers, board.layers, strict=False))]
        pairs.append(("projections", f"{len(self.projections)} projections",
                      f"{len(board.projections)} projections"))
        pairs += [(f"projections[{k}]", _projection(a), _projection(b))
                  for k, (a, b) in enumerate(zip(self.projections, board.projections,
                                                 strict=False))]
        return next(((f, str(a), str(b)) for f, a, b in pairs if a != b), None)


def _projection(p: tuple[int, int, int]) -> str:
    def name(k: int) -> str:
        return "input" if k == 0 else f"layer {k - 1}"
    return f"{name(p[0])} -> {name(p[1])} delay {p[2]}"


def pack_words(words: Iterable[int], width: int) -> bytes:
    """One memory's image: each ``width``-bit word as ``ceil(width/8)`` bytes, least
    significant first (the high bits above ``width`` are 0)."""
    n = (width + 7) // 8
    mask = (1 << width) - 1
    out = bytearray()
    for word in words:
        if word & ~mask:
            raise ValueError(f"word 0x{word:x} does not fit {width} bits")
        out += word.to_bytes(n, "little")
    return bytes(out)


def image_checksum(image: bytes) -> int:
    """Two running sums modulo ``2^SUM_BITS`` over the bytes, ``a += byte; b += a``
    (Fletcher's scheme without the prime modulus, so the board needs two adders and no
    division), as ``a << SUM_BITS | b``. Unlike a plain sum it changes when two bytes trade
    places."""
    a = b = 0
    mask = (1 << SUM_BITS) - 1
    for byte in image:
        a = (a + byte) & mask
        b = (b + a) & mask
    return a << SUM_BITS | b


def encode_load(image: bytes) -> bytes:
    """The LOAD command for ``image``: command, length, image, :func:`image_checksum`."""
    if len(image) >= 1 << (8 * LENGTH_BYTES):
        raise ValueError(f"an image of {len(image)} bytes is more than LOAD can carry")
    return (bytes([LOAD]) + len(image).to_bytes(LENGTH_BYTES, "big") + image
            + image_checksum(image).to_bytes(CHECKSUM_BYTES, "big"))


def encode_reply(command: int, body: bytes) -> bytes:
    """A command reply frame (what the board sends)."""
    head = bytes([command]) + len(body).to_bytes(2, "big")
    return bytes([REPLY_SYNC]) + head + body + bytes([sum(head + body) & 0xFF])


def decode_reply(frame: bytes, command: int) -> bytes:
    """The body of the reply to ``command``; :class:`FrameError` naming the byte."""
    if frame and frame[0] != REPLY_SYNC:
        raise FrameError(0, f"expected the reply byte 0x{REPLY_SYNC:02X}, got 0x{frame[0]:02X}")
    if len(frame) > 1 and frame[1] != command:
        raise FrameError(1, f"a reply to command 0x{frame[1]:02X}, expected 0x{command:02X}")
    if len(frame) < REPLY_HEADER + 1 or len(frame) != (REPLY_HEADER + 1
                                                       + int.from_bytes(frame[2:4], "big")):
        raise FrameError(len(frame), f"reply is {len(frame)} bytes, shorter or longer than "
                                     "its length field says")
    checksum = sum(frame[1:-1]) & 0xFF
    if frame[-1] != checksum:
        raise FrameError(len(frame) - 1, f"checksum 0x{frame[-1]:02X} does not match "
                                         f"0x{checksum:02X} computed from the reply")
    return frame[REPLY_HEADER:-1]


def load_problems(status: int) -> list[str]:
    """Human-readable meaning of each LOAD reply status bit that is set."""
    return [text for bit, text in LOAD_BITS.items() if status & bit]


__all__ = ["CHECKSUM_BYTES", "COMMANDS", "EOT", "EOT_LAST", "IDENTIFY", "IDENTIFY_LOADED",
           "LENGTH_BYTES", "LOAD", "LOAD_BITS", "LOAD_BUSY", "LOAD_CHECKSUM", "LOAD_LENGTH",
           "LOAD_TIMEOUT", "LOAD_TIMEOUT_BYTES", "REPLY_HEADER", "REPLY_SYNC", "STATUS_BAD_INDEX",
           "STATUS_FRAMING", "STATUS_NOT_LOADED", "STATUS_OVERFLOW", "SUM_BITS", "SYNC",
           "FrameError", "Framing", "Shape", "decode_reply", "encode_load", "encode_reply",
           "image_checksum", "load_problems", "pack_words", "status_problems"]
