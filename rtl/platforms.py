"""Synthesis targets: the boards' Amaranth platforms, device capacities and PLL settings.

Platforms come from ``amaranth-boards``; everything the fit check and the reports need to
know about a device (capacities, nextpnr cell names) is here, in one table per target.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from golden_model.errors import ScsrError


@dataclass(frozen=True)
class Target:
    """One board.

    Attributes
    ----------
    name : the ``--target`` value.
    platform : ``module:Class`` of the amaranth-boards platform.
    family : ``ecp5`` or ``ice40`` (PLL primitive, Yosys/nextpnr flavour).
    part : human-readable device.
    clock_resource, clock_in_hz : the board oscillator the PLL starts from.
    uart_resource : the USB-UART resource.
    drive_high : resources tied to 1 (ULX3S: the FTDI TX enable).
    default_clock_mhz, min_clock_mhz : the board top's clock and the issue's timing target.
    capacity : available cells per resource kind (report keys).
    bram_bits, bram_shapes : bits per block RAM and its ``(depth, width)`` configurations.
    logic_ram_bits : writable memories up to this size stay in logic (``rtl.fit.placement``):
        an eighth of a block on the ECP5 (LUT RAM, 64 bits per slice); 160 bits on the
        iCE40, whose only logic memory is flip-flops out of 5280 logic cells (measured on
        the default model at P = 1: keeping everything in block RAM needs 31 of 30
        SB_RAM40_4K; 256 bits needs 27 but 5417 of 5280 logic cells; 160 bits, 29).
    spram_shape : ``(depth, width)`` of one single-port RAM (iCE40 UP5K SB_SPRAM256KA,
        16 K × 16), or ``None``; the bitstream cannot initialise it, so only loadable
        weight memories go there (``rtl.fit.memories``).
    nextpnr_cells : report kind → nextpnr utilisation key.
    pipeline : phase 2's pipeline (``rtl.config.UPDATE_STAGES``): ``deep`` on the ECP5
        (100 MHz at every lane count), ``short`` on the iCE40, where the deep pipeline's
        copy registers (about 300 flip-flops per lane) do not fit: the default model at
        P = 1 needed 5311 of 5280 logic cells with it, 4586 without.
    synth_options : extra Yosys ``synth_*`` arguments. iCE40: ``-device u`` (UltraPlus
        timing for ABC; Amaranth does not pass it) and ``-dffe_min_ce_use 8`` (clock
        enables used by fewer than 8 flip-flops become LUT logic: fewer control sets per
        8-cell logic block). Without them, nextpnr could not place the default model at
        P = 1 (4600 of 5280 cells: "Unable to find legal placement"; the annealing placer
        failed on a carry chain); with them it placed 4586 cells.
    """

    name: str
    platform: str
    family: str
    part: str
    clock_resource: str
    clock_in_hz: float
    uart_resource: str
    default_clock_mhz: float
    min_clock_mhz: float
    capacity: dict[str, int]
    bram_bits: int
    bram_shapes: tuple[tuple[int, int], ...]
    logic_ram_bits: int
    nextpnr_cells: dict[str, str]
    drive_high: tuple[str, ...] = field(default=())
    synth_options: tuple[str, ...] = field(default=())
    multiplier_bits: int = 18
    spram_shape: tuple[int, int] | None = None
    pipeline: str = "deep"

    def make_platform(self) -> object:
        module, cls = self.platform.split(":")
        return getattr(importlib.import_module(module), cls)()


TARGETS: dict[str, Target] = {
    "ulx3s-85f": Target(
        name="ulx3s-85f", platform="amaranth_boards.ulx3s:ULX3S_85F_Platform", family="ecp5",
        part="Lattice ECP5 LFE5U-85F-6BG381C (ULX3S)", clock_resource="clk25",
        clock_in_hz=25e6, uart_resource="uart", default_clock_mhz=100.0, min_clock_mhz=100.0,
        capacity={"lut4": 83640, "ff": 83640, "bram": 208, "spram": 0, "dsp": 156},
        bram_bits=18432,
        bram_shapes=((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)),
        logic_ram_bits=18432 // 8,
        nextpnr_cells={"lut4": "TRELLIS_COMB", "ff": "TRELLIS_FF", "bram": "DP16KD",
                       "dsp": "MULT18X18D"},
        drive_high=("uart_tx_enable",), multiplier_bits=18),
    "icebreaker": Target(
        name="icebreaker", platform="amaranth_boards.icebreaker:ICEBreakerPlatform",
        family="ice40", part="Lattice iCE40 UP5K-SG48 (iCEBreaker)", clock_resource="clk12",
        clock_in_hz=12e6, uart_resource="uart", default_clock_mhz=30.0, min_clock_mhz=30.0,
        capacity={"lut4": 5280, "ff": 5280, "bram": 30, "spram": 4, "dsp": 8},
        bram_bits=4096, bram_shapes=((2048, 2), (1024, 4), (512, 8), (256, 16)),
        logic_ram_bits=160,
        nextpnr_cells={"lut4": "ICESTORM_LC", "ff": "ICESTORM_LC", "bram": "ICESTORM_RAM",
                       "spram": "ICESTORM_SPRAM", "dsp": "ICESTORM_DSP"},
        multiplier_bits=16, synth_options=("-device", "u", "-dffe_min_ce_use", "8"),
        spram_shape=(16384, 16), pipeline="short"),
}


def get_target(name: str) -> Target:
    """The target called ``name``; :class:`ScsrError` listing the known ones otherwise."""
    if name not in TARGETS:
        raise ScsrError("--target", name, f"unknown target (choose from {', '.join(TARGETS)})")
    return TARGETS[name]


@dataclass(frozen=True)
class PllSettings:
    """PLL divider parameters and the exact output frequency they give."""

    in_hz: float
    out_hz: float
    params: dict[str, int]


def _ecp5_pll(in_hz: float, want_hz: float) -> PllSettings:
    """EHXPLLL with CLKOP feedback: ``out = in · CLKFB_DIV / CLKI_DIV``, PFD 3.125–400 MHz,
    VCO = ``out · CLKOP_DIV`` in 400–800 MHz (ECP5 family data sheet)."""
    best = None
    for clki in range(1, 129):
        pfd = in_hz / clki
        if not 3.125e6 <= pfd <= 400e6:
            continue
        for clkfb in range(1, 81):
            out = pfd * clkfb
            for clkop in range(1, 129):
                vco = out * clkop
                if 400e6 <= vco <= 800e6:
                    error = abs(out - want_hz)
                    if best is None or error < best[0]:
                        best = (error, out, {"CLKI_DIV": clki, "CLKFB_DIV": clkfb,
                                             "CLKOP_DIV": clkop, "CLKOP_CPHASE": clkop // 2})
                    break
    assert best is not None
    return PllSettings(in_hz, best[1], best[2])


def _ice40_pll(in_hz: float, want_hz: float) -> PllSettings:
    """SB_PLL40 in SIMPLE feedback: ``out = in · (DIVF+1) / ((DIVR+1) · 2^DIVQ)``, PFD
    10–133 MHz, VCO 533–1066 MHz (iCE40 sysCLOCK PLL design guide, as ``icepll``)."""
    best = None
    for divr in range(16):
        pfd = in_hz / (divr + 1)
        if not 10e6 <= pfd <= 133e6:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533e6 <= vco <= 1066e6:
                continue
            for divq in range(1, 7):
                out = vco / (1 << divq)
                error = abs(out - want_hz)
                if best is None or error < best[0]:
                    filter_range = next(k for k, top in enumerate(
                        (17e6, 26e6, 44e6, 66e6, 101e6, 133e6), start=1) if pfd < top)
                    best = (error, out, {"DIVR": divr, "DIVF": divf, "DIVQ": divq,
                                         "FILTER_RANGE": filter_range})
    assert best is not None
    return PllSettings(in_hz, best[1], best[2])


def pll_settings(target: Target, clock_hz: float) -> PllSettings:
    """PLL parameters for the nearest frequency to ``clock_hz`` the target's PLL can make."""
    make = _ecp5_pll if target.family == "ecp5" else _ice40_pll
    return make(target.clock_in_hz, clock_hz)


__all__ = ["TARGETS", "PllSettings", "Target", "get_target", "pll_settings"]
