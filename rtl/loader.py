"""The board's command unit: IDENTIFY and LOAD (weights and parameters written at run time).

:class:`Loader` takes the byte stream from the :class:`~rtl.board.EventDecoder` from a
command byte on, until it pulses ``done``; the byte format is :mod:`rtl.protocol`
(``docs/hardware.md``). A LOAD writes every memory of
:meth:`~rtl.config.NetConfig.load_memories` word by word, then reads them all back and
forms :func:`~rtl.protocol.image_checksum` of what it read, so a write that did not take
shows up in the reply.
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .config import NetConfig
from .core import load_signature
from .protocol import (
    CHECKSUM_BYTES,
    IDENTIFY,
    IDENTIFY_LOADED,
    LENGTH_BYTES,
    LOAD,
    LOAD_BUSY,
    LOAD_CHECKSUM,
    LOAD_LENGTH,
    LOAD_TIMEOUT,
    REPLY_SYNC,
    SUM_BITS,
)
from .uart import DATA_BITS


class Loader(wiring.Component):
    """IDENTIFY and LOAD for one network.

    Members
    -------
    i_bytes : In(stream(8))
        The command byte, then whatever belongs to the command (from the decoder).
    done : Out(1)
        Pulses when the command is over: the decoder reads events again.
    o_bytes : Out(stream(8))
        The reply frame; ``replying`` is high while the loader owns the transmitter.
    replying : Out(1)
    idle : In(1)
        No sample is in flight in the network or the result encoder.
    sample_open : In(1)
        A sample has events but no end yet: a LOAD then writes nothing (``LOAD_BUSY``).
    loaded : Out(1)
        The memories hold a complete model whose read-back matched the host's checksum
        (starts high when the design is built with the bundle's contents).
    load_<layer> : Out(load_signature), per layer
        The memories of that core (:func:`~rtl.core.load_signature`).

    A LOAD waits for ``idle`` before it writes; the network does not run while it loads
    (no event reaches it: every byte until ``done`` belongs to the command). A load whose
    bytes stop for ``timeout`` clocks ends with ``LOAD_TIMEOUT``. Cost: one clock per byte
    and one per word written; the read-back, ``2 + ceil(width/8)`` clocks per word.
    """

    def __init__(self, net: NetConfig, timeout: int) -> None:
        self.net = net
        self.timeout = timeout
        self.memories = net.load_memories()
        self.descriptor = net.shape().encode()
        members = {"i_bytes": In(stream.Signature(DATA_BITS)), "done": Out(1),
                   "o_bytes": Out(stream.Signature(DATA_BITS)), "replying": Out(1),
                   "idle": In(1), "sample_open": In(1), "loaded": Out(1, init=net.preload)}
        members |= {f"load_{core.name}": Out(load_signature(core)) for core in net.cores}
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        mems = self.memories
        word_bytes = [(width + 7) // 8 for _, _, _, width in mems]
        self._mem = Signal(range(len(mems)))
        self._addr = Signal(range(max(depth for _, _, depth, _ in mems)))
        self._k = Signal(range(max(max(word_bytes), LENGTH_BYTES, CHECKSUM_BYTES)))
        self._last_addr = Array(Const(depth - 1, len(self._addr)) for _, _, depth, _ in mems)
        self._last_byte = Array(Const(n - 1, len(self._k)) for n in word_bytes)
        self._word = Signal(DATA_BITS * max(word_bytes))  # the word being written
        self._write = Signal()
        self._active = Signal()
        self._status = Signal(DATA_BITS)
        self._sums = Signal(2 * SUM_BITS)  # a << SUM_BITS | b of the read-back
        self._command = Signal(DATA_BITS)
        read_back = self._memory_bus(m)
        reply = self._reply_bytes(m)
        waiting = Signal()  # a state that expects host bytes: the idle timer runs
        timed_out = self._timer(m, waiting, self.i_bytes.valid & self.i_bytes.ready)
        with m.FSM(name="loader"):
            host_sum = self._receive(m, waiting, timed_out)
            self._read_back(m, read_back, host_sum)
            self._reply(m, *reply)
        return m

    def _memory_bus(self, m: Module) -> Value:
        """Drive every core's load port from the shared address and word, the write enable
        of memory ``mem`` only; return the read data of memory ``mem``."""
        read = []
        for k, (core, kind, _, _) in enumerate(self.memories):
            port = getattr(self, f"load_{core.name}")
            m.d.comb += getattr(port, f"we_{kind}").eq(self._write & (self._mem == k))
            if kind == "weights":
                m.d.comb += [port.active.eq(self._active), port.addr.eq(self._addr),
                             port.data.eq(self._word)]
            read.append(getattr(port, kind))
        data = Signal(len(self._word))
        m.d.comb += data.eq(Array(read)[self._mem])
        return data

    def _advance(self, m: Module, last: str, following: str) -> None:
        """Next word (``addr``, then ``mem``); after the last word of the last memory go to
        ``last``, else to ``following``."""
        end_of_memory = self._addr == self._last_addr[self._mem]
        with m.If(end_of_memory & (self._mem == len(self.memories) - 1)):
            m.d.sync += [self._mem.eq(0), self._addr.eq(0)]
            m.next = last
        with m.Else():
            m.next = following
            with m.If(end_of_memory):
                m.d.sync += [self._mem.eq(self._mem + 1), self._addr.eq(0)]
            with m.Else():
                m.d.sync += self._addr.eq(self._addr + 1)

    def _timer(self, m: Module, waiting: Signal, got: Value) -> Value:
        """The idle timer of states that expect host bytes (``waiting``): high in the clock
        the ``timeout``-th byte-less clock ends; it sets ``LOAD_TIMEOUT``."""
        timer = Signal(range(self.timeout + 1))
        with m.If(~waiting | got):
            m.d.sync += timer.eq(0)
        with m.Else():
            m.d.sync += timer.eq(timer + 1)
        timed_out = waiting & ~got & (timer == self.timeout)
        with m.If(timed_out):
            m.d.sync += [self._status.eq(self._status | LOAD_TIMEOUT), self._active.eq(0)]
        return timed_out

    def _take(self, m: Module, waiting: Signal, timed_out: Value) -> None:
        """In a state that expects host bytes: take them; on a timeout, reply."""
        m.d.comb += [self.i_bytes.ready.eq(1), waiting.eq(1)]
        with m.If(timed_out):
            m.next = "REPLY_WAIT"

    def _receive(self, m: Module, waiting: Signal, timed_out: Value) -> Signal:
        """The states that take host bytes: the command, the length, the wait for an idle
        network, the image word by word (``WRITE`` after each), the host's checksum;
        ``DISCARD`` swallows a refused image. Returns the host's checksum."""
        rx, k = self.i_bytes, self._k
        byte, got = rx.payload, rx.valid & rx.ready
        length = Signal(DATA_BITS * LENGTH_BYTES)
        left = Signal(DATA_BITS * LENGTH_BYTES + 1)  # bytes of a refused image and its sum
        host_sum = Signal(DATA_BITS * CHECKSUM_BYTES)
        with m.State("IDLE"):
            m.d.comb += rx.ready.eq(1)
            with m.If(rx.valid):
                m.d.sync += [self._command.eq(byte), self._status.eq(0), self._sums.eq(0),
                             k.eq(0), length.eq(0), self._mem.eq(0), self._addr.eq(0)]
                m.next = "HEADER"
                with m.If(byte == IDENTIFY):
                    m.next = "REPLY_WAIT"
        with m.State("HEADER"):
            self._take(m, waiting, timed_out)
            with m.If(got):
                m.d.sync += [length.eq((length << DATA_BITS) | byte), k.eq(k + 1)]
                with m.If(k == LENGTH_BYTES - 1):
                    m.next = "CHECK"
        with m.State("CHECK"):
            m.d.sync += [left.eq(length + CHECKSUM_BYTES), k.eq(0)]
            with m.If(self.sample_open):
                m.d.sync += self._status.eq(LOAD_BUSY)
                m.next = "DISCARD"
            with m.Elif(length != self.net.image_bytes):
                m.d.sync += self._status.eq(LOAD_LENGTH)
                m.next = "DISCARD"
            with m.Else():
                m.next = "WAIT_IDLE"
        with m.State("DISCARD"):
            self._take(m, waiting, timed_out)
            with m.If(got):
                m.d.sync += left.eq(left - 1)
                with m.If(left == 1):
                    m.next = "REPLY_WAIT"
        with m.State("WAIT_IDLE"), m.If(self.idle):
            m.d.sync += [self.loaded.eq(0), self._active.eq(1)]
            m.next = "PAYLOAD"
        with m.State("PAYLOAD"):
            self._take(m, waiting, timed_out)
            with m.If(got):
                m.d.sync += [self._word.word_select(k, DATA_BITS).eq(byte), k.eq(k + 1)]
                with m.If(k == self._last_byte[self._mem]):
                    m.d.sync += k.eq(0)
                    m.next = "WRITE"
        with m.State("WRITE"):
            m.d.comb += self._write.eq(1)
            self._advance(m, "TRAILER", "PAYLOAD")
        with m.State("TRAILER"):
            self._take(m, waiting, timed_out)
            with m.If(got):
                m.d.sync += [host_sum.eq((host_sum << DATA_BITS) | byte), k.eq(k + 1)]
                with m.If(k == CHECKSUM_BYTES - 1):
                    m.d.sync += [k.eq(0), self._sums.eq(0)]
                    m.next = "READ"
        return host_sum

    def _read_back(self, m: Module, read_back: Value, host_sum: Signal) -> None:
        """States ``READ`` (address out), ``TAKE`` (read data in), ``FOLD`` (one byte per
        clock into the sums) per word, then ``DECIDE``: loaded if the sums match."""
        k = self._k
        back = Signal(len(self._word))  # the word read back, a byte at a time into the sums
        a, b = self._sums[SUM_BITS:], self._sums[:SUM_BITS]
        with m.State("READ"):
            m.next = "TAKE"
        with m.State("TAKE"):
            m.d.sync += back.eq(read_back)
            m.next = "FOLD"
        with m.State("FOLD"):
            new_a = (a + back.word_select(k, DATA_BITS))[:SUM_BITS]
            m.d.sync += [a.eq(new_a), b.eq(b + new_a), k.eq(k + 1)]
            with m.If(k == self._last_byte[self._mem]):
                m.d.sync += k.eq(0)
                self._advance(m, "DECIDE", "READ")
        with m.State("DECIDE"):
            m.d.sync += self._active.eq(0)
            with m.If(self._sums == host_sum):
                m.d.sync += self.loaded.eq(1)
            with m.Else():
                m.d.sync += self._status.eq(self._status | LOAD_CHECKSUM)
            m.next = "REPLY_WAIT"

    def _reply_bytes(self, m: Module) -> tuple[Signal, Signal, Signal, Signal]:
        """Byte ``j`` of the reply to the current command (its checksum past the body):
        returns ``(j, current byte, checksum so far, index of the checksum byte)``."""
        identify = [self.loaded * IDENTIFY_LOADED,
                    *(Const(v, DATA_BITS) for v in self.descriptor)]
        load = [self._status, *(self._sums.word_select(n, DATA_BITS)
                                for n in reversed(range(CHECKSUM_BYTES)))]
        j = Signal(range(len(identify) + len(load) + 5))
        checksum = Signal(DATA_BITS)
        current = Signal(DATA_BITS)
        ends = Signal(len(j))
        for command, body in ((IDENTIFY, identify), (LOAD, load)):
            head = [REPLY_SYNC, command, len(body) >> DATA_BITS, len(body) & 0xFF]
            with m.If(self._command == command):
                m.d.comb += ends.eq(len(head) + len(body))
                with m.Switch(j):
                    for n, value in enumerate([*head, *body]):
                        with m.Case(n):
                            m.d.comb += current.eq(value)
                    with m.Default():
                        m.d.comb += current.eq(checksum)
        return j, current, checksum, ends

    def _reply(self, m: Module, j: Signal, current: Signal, checksum: Signal,
               ends: Signal) -> None:
        """``REPLY_WAIT`` until the transmitter is free, the frame ``0x5A, command,
        length, body, checksum``, then ``DONE`` (the decoder reads events again)."""
        out = self.o_bytes
        with m.State("REPLY_WAIT"), m.If(self.idle):
            m.d.sync += [j.eq(0), checksum.eq(0)]
            m.next = "REPLY"
        with m.State("REPLY"):
            m.d.comb += [self.replying.eq(1), out.valid.eq(1), out.payload.eq(current)]
            with m.If(out.ready):
                m.d.sync += j.eq(j + 1)
                with m.If(j != 0):
                    m.d.sync += checksum.eq(checksum + current)
                with m.If(j == ends):
                    m.next = "DONE"
        with m.State("DONE"):
            m.d.comb += [self.done.eq(1), self.replying.eq(1)]
            m.next = "IDLE"


__all__ = ["Loader"]
