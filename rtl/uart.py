"""UART receiver and transmitter (8 data bits, no parity, 1 stop bit) with stream ports.

The bit time is ``divisor`` clock cycles (``round(f_clk / baud)``, see :func:`divisor_for`).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

#: Smallest bit time in clocks the receiver can sample reliably (mid-bit, ±1 clock).
MIN_DIVISOR = 4
#: Largest baud-rate error accepted by :func:`divisor_for` (a UART tolerates ~±2 % in total).
MAX_BAUD_ERROR = 0.02
#: Data bits per character (8N1).
DATA_BITS = 8


def divisor_for(clock_hz: float, baud: int) -> int:
    """Clocks per bit for ``baud`` at ``clock_hz``; ``ValueError`` saying why it cannot work."""
    divisor = round(clock_hz / baud)
    if divisor < MIN_DIVISOR:
        raise ValueError(f"{baud} baud needs at least {MIN_DIVISOR} clocks per bit; "
                         f"{clock_hz / 1e6:g} MHz gives {clock_hz / baud:.2f}")
    error = abs(clock_hz / divisor - baud) / baud
    if error > MAX_BAUD_ERROR:
        raise ValueError(f"{baud} baud at {clock_hz / 1e6:g} MHz is off by {error:.1%} "
                         f"(more than {MAX_BAUD_ERROR:.0%})")
    return divisor


class UartRx(wiring.Component):
    """Receiver: samples ``rx`` in the middle of each bit.

    Members
    -------
    rx : In(1)
        The serial line (idle high); synchronised with two flip-flops inside.
    o_data : Out(stream.Signature(8))
        One beat per received character. The receiver has no buffer: a beat not taken by
        the time the next character is complete is lost and ``overflow`` pulses.
    overflow : Out(1)
        One-cycle pulse per lost character.
    framing_error : Out(1)
        One-cycle pulse per character whose stop bit was 0 (the character is dropped).

    Latency: the character is offered half a bit time after the middle of its stop bit.
    """

    def __init__(self, divisor: int) -> None:
        if divisor < MIN_DIVISOR:
            raise ValueError(f"divisor {divisor} is below {MIN_DIVISOR}")
        self.divisor = divisor
        super().__init__({
            "rx": In(1, init=1),
            "o_data": Out(stream.Signature(DATA_BITS)),
            "overflow": Out(1),
            "framing_error": Out(1),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.divisor))
        bit = Signal(range(DATA_BITS))
        shift = Signal(DATA_BITS)
        held = Signal(DATA_BITS)  # the character on offer; ``shift`` fills the next one
        full = Signal()
        m.d.comb += [self.o_data.valid.eq(full), self.o_data.payload.eq(held)]
        with m.If(self.o_data.ready):
            m.d.sync += full.eq(0)

        def deliver() -> None:
            with m.If(full & ~self.o_data.ready):
                m.d.comb += self.overflow.eq(1)
            m.d.sync += [full.eq(1), held.eq(shift)]

        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.FSM(name="uart_rx"):
            with m.State("IDLE"), m.If(~rx):
                m.d.sync += timer.eq(self.divisor // 2 - 1)
                m.next = "START"
            # START: check the middle of the start bit (a glitch is ignored)
            with m.State("START"), m.If(timer == 0):
                with m.If(rx):
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [timer.eq(self.divisor - 1), bit.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"), m.If(timer == 0):  # LSB first
                m.d.sync += [shift.eq(Cat(shift[1:], rx)), timer.eq(self.divisor - 1),
                             bit.eq(bit + 1)]
                with m.If(bit == DATA_BITS - 1):
                    m.next = "STOP"
            with m.State("STOP"), m.If(timer == 0):
                with m.If(rx):
                    deliver()
                with m.Else():
                    m.d.comb += self.framing_error.eq(1)
                m.next = "WAIT_IDLE"
            # WAIT_IDLE: a break (rx held low) must not start a character
            with m.State("WAIT_IDLE"), m.If(rx):
                m.next = "IDLE"
        return m


class UartTx(wiring.Component):
    """Transmitter: start bit, 8 data bits LSB first, one stop bit.

    Members
    -------
    i_data : In(stream.Signature(8))
        Characters to send; ``ready`` while the line is idle (one character in flight).
    tx : Out(1)
        The serial line (idle high).

    Throughput: one character per ``10 · divisor`` clocks.
    """

    def __init__(self, divisor: int) -> None:
        if divisor < MIN_DIVISOR:
            raise ValueError(f"divisor {divisor} is below {MIN_DIVISOR}")
        self.divisor = divisor
        super().__init__({"i_data": In(stream.Signature(DATA_BITS)), "tx": Out(1, init=1)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        frame_bits = DATA_BITS + 2
        shift = Signal(frame_bits, init=(1 << frame_bits) - 1)  # stop, data, start (LSB)
        left = Signal(range(frame_bits + 1))
        timer = Signal(range(self.divisor))
        m.d.comb += [self.tx.eq(shift[0]), self.i_data.ready.eq(left == 0)]
        with m.If(self.i_data.valid & self.i_data.ready):
            m.d.sync += [shift.eq((1 << (frame_bits - 1)) | (self.i_data.payload << 1)),
                         left.eq(frame_bits), timer.eq(self.divisor - 1)]
        with m.Elif(left == 0):
            pass  # idle line
        with m.Elif(timer == 0):
            m.d.sync += [shift.eq((1 << (frame_bits - 1)) | (shift >> 1)),
                         left.eq(left - 1), timer.eq(self.divisor - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
        return m


__all__ = ["DATA_BITS", "MIN_DIVISOR", "UartRx", "UartTx", "divisor_for"]
