"""The board top: UART framing around :class:`~rtl.top.NetworkTop`, and per-board clocking.

:class:`UartTop` is platform-independent (it is what the cocotb testbench simulates);
:class:`BoardTop` adds the PLL and the pins of one :class:`~rtl.platforms.Target`.
The byte format is :mod:`rtl.protocol` (documented in ``docs/hardware.md``).
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockDomain, Elaboratable, Instance, Module, Mux, Signal, Value
from amaranth.lib import io, stream, wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import In, Out

from .config import NetConfig
from .fifo import RegisteredFIFO
from .layouts import input_layout, result_layout
from .protocol import (
    COMMANDS,
    EOT,
    EOT_LAST,
    LOAD_TIMEOUT_BYTES,
    STATUS_BAD_INDEX,
    STATUS_FRAMING,
    STATUS_NOT_LOADED,
    STATUS_OVERFLOW,
    SYNC,
    Framing,
)
from .top import NetworkTop
from .uart import DATA_BITS, UartRx, UartTx

#: Depth (bytes) of the receive FIFO that absorbs input bursts while the network works;
#: the UART has no flow control, so a sample whose bytes outrun the network loses bytes
#: and its result frame says so (:data:`~rtl.protocol.STATUS_OVERFLOW`).
RX_FIFO_DEPTH = 512


def framing_for(net: NetConfig) -> Framing:
    """The protocol geometry of a network (value width as in :func:`~rtl.layouts.result_layout`)."""
    value_bits = result_layout(net)["value"].width
    return Framing(net.bundle.channels, net.bundle.output.size, value_bits)


class EventDecoder(wiring.Component):
    """Host bytes → the network's input events (the gateware twin of
    :meth:`Framing.decode_events`).

    Members
    -------
    i_bytes : In(stream(8))
    o_events : Out(stream(input_layout))
    bad_index : Out(1)
        Pulses when an event names a channel ≥ C (the event is dropped).
    o_command : Out(stream(8)), only when ``net.loadable``
        From a command byte (:data:`~rtl.protocol.COMMANDS`) where an event would start,
        every byte goes here instead, until ``i_done`` pulses.
    i_done : In(1), only when ``net.loadable``

    One byte per clock when ``o_events`` is ready; reserved command bytes are dropped.
    """

    def __init__(self, net: NetConfig) -> None:
        self.framing = framing_for(net)
        self.loadable = net.loadable
        members = {"i_bytes": In(stream.Signature(DATA_BITS)),
                   "o_events": Out(stream.Signature(input_layout(net))),
                   "bad_index": Out(1)}
        if net.loadable:
            members |= {"o_command": Out(stream.Signature(DATA_BITS)), "i_done": In(1)}
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        byte, out = self.i_bytes.payload, self.o_events
        high = Signal(DATA_BITS - 1)  # first byte of a two-byte index
        have_high = Signal()
        index = Signal(DATA_BITS * self.framing.index_bytes)
        if self.framing.index_bytes == 1:
            m.d.comb += index.eq(byte)
        else:
            m.d.comb += index.eq((high << DATA_BITS) | byte)
        marker = ~have_high & byte[DATA_BITS - 1]
        eot = marker & ((byte == EOT) | (byte == EOT_LAST))
        complete = ~marker & (have_high if self.framing.index_bytes == 2 else 1)
        in_range = index < self.framing.channels
        emit = eot | (complete & in_range)
        valid, ready = self.i_bytes.valid, out.ready | ~emit
        if self.loadable:  # bytes that belong to a command do not reach the events
            to_loader = self._commands(m, marker)
            valid, ready = valid & ~to_loader, Mux(to_loader, self.o_command.ready, ready)
        m.d.comb += [
            out.valid.eq(valid & emit),
            out.payload.index.eq(Mux(eot, 0, index)),  # a marker carries index 0
            out.payload.eot.eq(eot),
            out.payload.last.eq(eot & (byte == EOT_LAST)),
            self.i_bytes.ready.eq(ready),
        ]
        with m.If(valid & self.i_bytes.ready):
            with m.If(complete & ~in_range):
                m.d.comb += self.bad_index.eq(1)
            if self.framing.index_bytes == 2:
                with m.If(~marker & ~have_high):
                    m.d.sync += [high.eq(byte), have_high.eq(1)]
                with m.Elif(complete):
                    m.d.sync += have_high.eq(0)
        return m

    def _commands(self, m: Module, marker: Value) -> Value:
        """Hand the bytes from a command byte at an event start on to ``o_command`` until
        ``i_done``; returns whether the current byte goes there."""
        byte, command = self.i_bytes.payload, Signal()
        starts = marker & Cat(*(byte == c for c in COMMANDS)).any()
        to_loader = command | starts
        m.d.comb += [self.o_command.valid.eq(self.i_bytes.valid & to_loader),
                     self.o_command.payload.eq(byte)]
        with m.If(self.i_done):
            m.d.sync += command.eq(0)
        with m.Elif(starts & self.i_bytes.valid & self.o_command.ready):
            m.d.sync += command.eq(1)
        return to_loader


class ResultEncoder(wiring.Component):
    """The network's result beats → one result frame of bytes per sample.

    Members
    -------
    i_result : In(stream(result_layout))
        ``K`` counts then the prediction (``pred = 1``) per sample.
    status : In(8)
        Sampled when a frame starts (its status byte); ``status_taken`` pulses then.
    status_taken : Out(1)
    o_bytes : Out(stream(8))
        ``0xA5, status, counts…, pred, checksum`` with values big-endian.
    """

    def __init__(self, net: NetConfig) -> None:
        self.framing = framing_for(net)
        super().__init__({"i_result": In(stream.Signature(result_layout(net))),
                          "status": In(DATA_BITS), "status_taken": Out(1),
                          "o_bytes": Out(stream.Signature(DATA_BITS))})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        nbytes = self.framing.value_bytes
        beat, out = self.i_result, self.o_bytes
        checksum = Signal(DATA_BITS)
        status = Signal(DATA_BITS)
        k = Signal(range(nbytes))  # byte of the current value, most significant first
        padded = Signal(DATA_BITS * nbytes)
        m.d.comb += padded.eq(beat.payload.value)
        chunks = [padded[DATA_BITS * j:DATA_BITS * (j + 1)] for j in range(nbytes)]
        current = Signal(DATA_BITS)
        with m.Switch(k):
            for j in range(nbytes):
                with m.Case(j):
                    m.d.comb += current.eq(chunks[j])
        sent = out.valid & out.ready
        with m.FSM(name="encode"):
            with m.State("IDLE"), m.If(beat.valid):
                m.d.sync += [status.eq(self.status), checksum.eq(0)]
                m.d.comb += self.status_taken.eq(1)
                m.next = "SYNC"
            with m.State("SYNC"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(SYNC)]
                with m.If(sent):
                    m.next = "STATUS"
            with m.State("STATUS"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(status)]
                with m.If(sent):
                    m.d.sync += [checksum.eq(checksum + status), k.eq(nbytes - 1)]
                    m.next = "VALUE"
            with m.State("VALUE"):
                m.d.comb += [out.valid.eq(beat.valid), out.payload.eq(current)]
                with m.If(sent):
                    m.d.sync += checksum.eq(checksum + current)
                    with m.If(k == 0):
                        m.d.comb += beat.ready.eq(1)
                        m.d.sync += k.eq(nbytes - 1)
                        with m.If(beat.payload.pred):
                            m.next = "CHECKSUM"
                    with m.Else():
                        m.d.sync += k.eq(k - 1)
            with m.State("CHECKSUM"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(checksum)]
                with m.If(sent):
                    m.next = "IDLE"
        return m


class UartTop(wiring.Component):
    """The network behind a UART: bytes in (events), result frames out.

    Members
    -------
    rx : In(1)
        Serial input from the host (8N1, ``divisor`` clocks per bit), idle high.
    tx : Out(1)
        Serial output to the host, idle high.

    Path: :class:`UartRx` → ``RX_FIFO_DEPTH``-byte FIFO → :class:`EventDecoder` →
    :class:`NetworkTop` → :class:`ResultEncoder` → :class:`UartTx`. Receive overflows,
    framing errors and out-of-range channels set sticky status bits that the next result
    frame reports and clears.

    When ``net.loadable``, the decoder hands command bytes to a
    :class:`~rtl.loader.Loader`, which writes the cores' memories and answers through the
    same transmitter; a load open for ``load_timeout_bytes`` byte times without a byte
    is given up. Result frames say :data:`~rtl.protocol.STATUS_NOT_LOADED` while the
    memories hold no complete model.
    """

    def __init__(self, net: NetConfig, divisor: int, rx_fifo_depth: int = RX_FIFO_DEPTH,
                 load_timeout_bytes: int = LOAD_TIMEOUT_BYTES) -> None:
        self.net = net
        self.divisor = divisor
        self.rx_fifo_depth = rx_fifo_depth
        self.load_timeout_bytes = load_timeout_bytes
        self.framing = framing_for(net)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.uart_rx = uart_rx = UartRx(self.divisor)
        m.submodules.uart_tx = uart_tx = UartTx(self.divisor)
        # A registered output keeps the block-RAM read out of the decoder's timing path.
        m.submodules.rx_fifo = rx_fifo = RegisteredFIFO(DATA_BITS, self.rx_fifo_depth)
        m.submodules.decoder = decoder = EventDecoder(self.net)
        m.submodules.network = network = NetworkTop(self.net)
        m.submodules.encoder = encoder = ResultEncoder(self.net)
        m.d.comb += [uart_rx.rx.eq(self.rx), self.tx.eq(uart_tx.tx)]
        wiring.connect(m, uart=uart_rx.o_data, fifo=rx_fifo.w_stream)
        wiring.connect(m, fifo=rx_fifo.r_stream, decoder=decoder.i_bytes)
        wiring.connect(m, decoder=decoder.o_events, network=network.i_events)
        wiring.connect(m, network=network.o_result, encoder=encoder.i_result)
        raised = ((uart_rx.overflow * STATUS_OVERFLOW) | (uart_rx.framing_error * STATUS_FRAMING)
                  | (decoder.bad_index * STATUS_BAD_INDEX))
        status = Signal(DATA_BITS)
        if self.net.loadable:  # not sticky: the state of the memories the sample ran on
            loaded = self._loader(m, decoder, network, encoder, uart_tx)
            m.d.comb += encoder.status.eq(status | (~loaded * STATUS_NOT_LOADED))
        else:
            wiring.connect(m, encoder=encoder.o_bytes, uart=uart_tx.i_data)
            m.d.comb += encoder.status.eq(status)
        with m.If(encoder.status_taken):
            m.d.sync += status.eq(raised)
        with m.Else():
            m.d.sync += status.eq(status | raised)
        return m

    def _loader(self, m: Module, decoder: EventDecoder, network: NetworkTop,
                encoder: ResultEncoder, uart_tx: UartTx) -> Value:
        """The :class:`~rtl.loader.Loader` between the decoder and the cores, sharing the
        transmitter with the result encoder; returns its ``loaded``.

        ``idle`` (no sample in flight): every sample whose end the network took has left
        the encoder (``in_flight`` counts ends in, predictions out, and the encoder's
        ``valid`` covers the checksum byte after the prediction)."""
        from .loader import Loader

        timeout = self.load_timeout_bytes * (DATA_BITS + 2) * self.divisor
        m.submodules.loader = loader = Loader(self.net, timeout)
        wiring.connect(m, decoder=decoder.o_command, loader=loader.i_bytes)
        m.d.comb += decoder.i_done.eq(loader.done)
        for core in self.net.cores:
            wiring.connect(m, loader=getattr(loader, f"load_{core.name}"),
                           network=getattr(network, f"load_{core.name}"))
        events, result = decoder.o_events, network.o_result
        ended = events.valid & events.ready & events.payload.last
        answered = result.valid & result.ready & result.payload.pred
        in_flight = Signal(range(1 << self.net.count_bits))  # more than the network holds
        m.d.sync += in_flight.eq(in_flight + ended - answered)
        sample_open = Signal()
        with m.If(events.valid & events.ready):
            m.d.sync += sample_open.eq(~events.payload.last)
        m.d.comb += [loader.idle.eq((in_flight == 0) & ~encoder.o_bytes.valid),
                     loader.sample_open.eq(sample_open)]
        # The transmitter: the loader's reply while it owns it, else the result frames.
        tx = uart_tx.i_data
        with m.If(loader.replying):
            m.d.comb += [tx.valid.eq(loader.o_bytes.valid), tx.payload.eq(loader.o_bytes.payload),
                         loader.o_bytes.ready.eq(tx.ready)]
        with m.Else():
            m.d.comb += [tx.valid.eq(encoder.o_bytes.valid),
                         tx.payload.eq(encoder.o_bytes.payload),
                         encoder.o_bytes.ready.eq(tx.ready)]
        return loader.loaded


class BoardTop(Elaboratable):
    """:class:`UartTop` on a board: the PLL makes the ``sync`` clock, held in reset until
    it locks; ``rx``/``tx`` go to the board's USB-UART.

    Parameters
    ----------
    net : the network.
    target : :class:`~rtl.platforms.Target` (PLL family, clock input, UART resource).
    clock_hz : the ``sync`` clock the PLL makes (and the timing constraint).
    baud : UART bit rate; ``divisor = round(clock_hz / baud)``.
    """

    def __init__(self, net: NetConfig, target: object, clock_hz: float, baud: int) -> None:
        from .platforms import pll_settings
        from .uart import divisor_for
        self.net = net
        self.target = target
        self.clock_hz = clock_hz
        self.pll = pll_settings(target, clock_hz)
        self.divisor = divisor_for(self.pll.out_hz, baud)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        target, pll = self.target, self.pll
        m.domains.sync = cd_sync = ClockDomain("sync")
        clk_out = Signal()
        locked = Signal()
        clk_port = platform.request(target.clock_resource, 0, dir="-")
        if target.family == "ecp5":
            m.submodules.clk_buf = clk_buf = io.Buffer("i", clk_port)
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=f"{pll.in_hz / 1e6:g}",
                a_FREQUENCY_PIN_CLKOP=f"{pll.out_hz / 1e6:g}",
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
                a_MFG_GMCREF_SEL="2",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA",
                p_CLKOP_ENABLE="ENABLED", p_FEEDBK_PATH="CLKOP",
                p_CLKI_DIV=pll.params["CLKI_DIV"], p_CLKFB_DIV=pll.params["CLKFB_DIV"],
                p_CLKOP_DIV=pll.params["CLKOP_DIV"], p_CLKOP_CPHASE=pll.params["CLKOP_CPHASE"],
                p_CLKOP_FPHASE=0,
                i_RST=0, i_STDBY=0, i_CLKI=clk_buf.i, i_CLKFB=clk_out, o_CLKOP=clk_out,
                i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
                i_PLLWAKESYNC=0, i_ENCLKOP=0, o_LOCK=locked)
        else:
            m.submodules.pll = Instance(
                "SB_PLL40_PAD",
                p_FEEDBACK_PATH="SIMPLE", p_PLLOUT_SELECT="GENCLK",
                p_DIVR=pll.params["DIVR"], p_DIVF=pll.params["DIVF"], p_DIVQ=pll.params["DIVQ"],
                p_FILTER_RANGE=pll.params["FILTER_RANGE"],
                i_PACKAGEPIN=clk_port.io, i_RESETB=1, i_BYPASS=0,
                o_PLLOUTGLOBAL=clk_out, o_LOCK=locked)
        m.d.comb += cd_sync.clk.eq(clk_out)
        m.submodules.reset_sync = ResetSynchronizer(~locked, domain="sync")
        # nextpnr derives the sync clock's constraint from the PLL's dividers (its log:
        # "Derived frequency constraint ... for net clk"); no constraint of our own.

        uart = platform.request(target.uart_resource, 0, dir="-")
        m.submodules.rx_buf = rx_buf = io.Buffer("i", uart.rx)
        m.submodules.tx_buf = tx_buf = io.Buffer("o", uart.tx)
        m.submodules.top = top = UartTop(self.net, self.divisor)
        m.d.comb += [top.rx.eq(rx_buf.i), tx_buf.o.eq(top.tx)]
        # Driven high from a flip-flop that leaves reset with the PLL lock, not from a
        # constant: Yosys 0.70's abc9 reintegration asserts (rtlil.cc:3091) on some designs
        # with a constant-driven top-level output (docs/hardware.md, "Yosys 0.70 and abc9").
        for name in target.drive_high:
            m.submodules[f"{name}_buf"] = buf = io.Buffer("o", platform.request(name, 0, dir="-"))
            high = Signal(name=f"{name}_high")
            m.d.sync += high.eq(1)
            m.d.comb += buf.o.eq(high)
        return m


__all__ = ["RX_FIFO_DEPTH", "BoardTop", "EventDecoder", "ResultEncoder", "UartTop",
           "framing_for"]
