"""UART gateware in Amaranth's simulator: the event decoder against the protocol's
reference decoder (one- and two-byte indices), and the receiver/transmitter in loopback."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from rtl.board import EventDecoder, framing_for
from rtl.config import NetConfig
from rtl.protocol import EOT, EOT_LAST
from rtl.uart import UartRx, UartTx, divisor_for

from .helpers import tiny_bundle


@pytest.mark.parametrize("channels", [6, 300])
def test_event_decoder_matches_reference(channels: int) -> None:
    net = NetConfig.from_bundle(tiny_bundle(inputs=channels, layers=(3, 2)), lanes=1)
    framing = framing_for(net)
    rng = np.random.default_rng(channels)
    data = bytearray()
    for _ in range(40):  # valid events, markers, reserved bytes, out-of-range channels
        kind = rng.integers(4)
        if kind == 0:
            data.append(int(rng.choice([EOT, EOT_LAST, 0x82, 0xFF])))
        else:
            index = int(rng.integers(channels + 3 if kind == 1 else channels))
            data += index.to_bytes(framing.index_bytes, "big")
    expected = [e for e in framing.decode_events(data) if e[1] or e[0] < channels]
    bad = sum(1 for e in framing.decode_events(data) if not e[1] and e[0] >= channels)
    dut = EventDecoder(net)
    got, flagged = [], []

    async def source(ctx: object) -> None:
        for byte in data:
            ctx.set(dut.i_bytes.payload, byte)
            ctx.set(dut.i_bytes.valid, 1)
            await ctx.tick().until(dut.i_bytes.ready)
        ctx.set(dut.i_bytes.valid, 0)

    async def watch(ctx: object) -> None:  # sample handshakes before the edge
        async for _clk, _rst, valid, ready, payload, flag in ctx.tick().sample(
                dut.o_events.valid, dut.o_events.ready, dut.o_events.payload, dut.bad_index):
            if valid and ready:
                got.append((payload.index, bool(payload.eot), bool(payload.last)))
            flagged.append(flag)

    top = Module()  # the one-byte decoder is combinational: give the bench a clock domain
    top.domains.sync = ClockDomain()
    top.submodules.dut = dut
    top.d.comb += dut.o_events.ready.eq(1)
    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(source)
    sim.add_process(watch)
    sim.run_until(1e-8 * (len(data) * 2 + 10))
    assert got == expected
    assert sum(flagged) == bad


def test_baud_rates_the_uart_cannot_hit_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^3000000 baud at 25 MHz is off by 4\.2% \(more than "
                                         r"2%\)$"):
        divisor_for(25e6, 3_000_000)
    with pytest.raises(ValueError, match=r"^3000000 baud needs at least 4 clocks per bit; "
                                         r"9 MHz gives 3\.00$"):
        divisor_for(9e6, 3_000_000)


@pytest.mark.parametrize(("clock_hz", "divisor"), [(100e6, 33), (5e6, 5)])
def test_uart_loopback(clock_hz: float, divisor: int) -> None:
    assert divisor_for(clock_hz, 3_000_000 if divisor == 33 else 1_000_000) == divisor
    tx, rx = UartTx(divisor), UartRx(divisor)
    payload = list(np.random.default_rng(5).integers(0, 256, 12))
    got: list[int] = []
    m = Module()
    m.submodules.tx, m.submodules.rx = tx, rx
    m.d.comb += rx.rx.eq(tx.tx)

    async def bench(ctx: object) -> None:
        ctx.set(rx.o_data.ready, 1)
        for byte in payload:
            ctx.set(tx.i_data.payload, int(byte))
            ctx.set(tx.i_data.valid, 1)
            await ctx.tick().until(tx.i_data.ready)
        ctx.set(tx.i_data.valid, 0)
        for _ in range(12 * divisor):
            await ctx.tick()

    async def watch(ctx: object) -> None:
        async for _clk, _rst, valid, data, err in ctx.tick().sample(
                rx.o_data.valid, rx.o_data.payload, rx.framing_error):
            if valid:
                got.append(int(data))
            assert not err

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_process(watch)
    sim.add_testbench(bench)
    sim.run()
    assert got == [int(b) for b in payload]
