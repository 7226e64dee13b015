"""Will a network fit a device? An estimate from the bundle and lanes, made before synthesis.

The estimate follows how Yosys maps the generated design (checked against the reference
builds in ``docs/hardware.md``): memories of at least a quarter block go to block RAM, each
extra read port duplicates a memory, each lane multiplies twice per update (the ``decay`` of
``I`` and ``V``: ``state_bits`` × ``decay_bits + 1`` signed), one DSP each where it fits the
device's multiplier, LUTs otherwise. nextpnr has the last word; this check exists to refuse
early, with reasons a user can act on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import NetConfig, bits_for
from .platforms import Target

#: Bytes of the board top's receive FIFO (rtl.board.RX_FIFO_DEPTH, kept here without
#: importing Amaranth) and LUT4/FF of the UART, decoder, encoder and readout.
UART_FIFO_BYTES = 512
TOP_LUT4, TOP_FF = 400, 250
#: Per core: control, router and emitter LUT4/FF (measured on the reference builds).
CORE_LUT4, CORE_FF = 250, 150


@dataclass(frozen=True)
class MemoryNeed:
    """One memory of the design: ``depth`` words of ``width`` bits, ``read_ports`` copies."""

    name: str
    depth: int
    width: int
    read_ports: int = 1

    @property
    def bits(self) -> int:
        return self.depth * self.width * self.read_ports


@dataclass(frozen=True)
class Estimate:
    """Estimated use of each resource kind (report keys) and the memories behind ``bram``."""

    use: dict[str, int]
    memories: tuple[MemoryNeed, ...]


def memories(net: NetConfig) -> list[MemoryNeed]:
    """Every memory the generator instantiates, with the shapes :class:`CoreConfig` gives."""
    out = [MemoryNeed("uart.rx_fifo", UART_FIFO_BYTES, 8)]
    for core in net.cores:
        fp, lanes, words = core.fixed_point, core.lanes, core.words
        param_bits = 2 * fp.decay_bits + fp.bits_of("theta") + fp.weight_bits
        out += [
            MemoryNeed(f"{core.name}.weights", core.weight_depth, lanes * fp.weight_bits),
            MemoryNeed(f"{core.name}.params", words, lanes * param_bits),
            MemoryNeed(f"{core.name}.acc", words, lanes * core.acc_bits),
            MemoryNeed(f"{core.name}.state", words, lanes * 2 * fp.state_bits),
            MemoryNeed(f"{core.name}.spikes", words, lanes, read_ports=2),
        ]
        out += [MemoryNeed(f"{core.name}.fifo_{s.name}", s.fifo_depth, bits_for(s.size) + 2)
                for s in core.sources]
    return out


def bram_blocks(memory: MemoryNeed, target: Target) -> int:
    """Block RAMs for one memory in its cheapest configuration (0 if it stays in logic)."""
    if memory.depth * memory.width < target.bram_bits // 4:
        return 0
    per_copy = min(math.ceil(memory.depth / d) * math.ceil(memory.width / w)
                   for d, w in target.bram_shapes)
    return per_copy * memory.read_ports


def dsp_per_multiply(net: NetConfig, target: Target) -> int:
    """DSP blocks per ``decay`` multiply (``state_bits`` × ``decay_bits + 1`` signed)."""
    fp = net.bundle.fixed_point
    return (math.ceil(fp.state_bits / target.multiplier_bits)
            * math.ceil((fp.decay_bits + 1) / target.multiplier_bits))


def estimate(net: NetConfig, target: Target) -> Estimate:
    """Estimated LUT4, FF, block RAM and DSP use of the board top for ``net`` on ``target``."""
    needs = memories(net)
    small_bits = sum(m.bits for m in needs if bram_blocks(m, target) == 0)
    lut4 = TOP_LUT4 + CORE_LUT4 * len(net.cores)
    ff = TOP_FF + CORE_FF * len(net.cores)
    multiplies = 0
    fp = net.bundle.fixed_point
    for core in net.cores:
        lut4 += core.lanes * (3 * core.acc_bits + 16 * fp.state_bits)
        ff += core.lanes * (2 * fp.state_bits + 2)
        multiplies += 2 * core.lanes
    dsp = multiplies * dsp_per_multiply(net, target)
    if dsp > target.capacity["dsp"]:  # the synthesis then keeps multipliers in LUTs
        lut4 += multiplies * fp.state_bits * (fp.decay_bits + 1)
        dsp = 0
    if target.family == "ecp5":
        lut4 += small_bits // 16  # distributed RAM: 16 bits per LUT4 (TRELLIS_DPR16X4)
    else:
        ff += small_bits  # no distributed RAM on the iCE40: flip-flops
    use = {"lut4": lut4, "ff": ff, "bram": sum(bram_blocks(m, target) for m in needs),
           "spram": 0, "dsp": dsp}
    return Estimate(use, tuple(needs))


def check_fits(net: NetConfig, target: Target) -> list[str]:
    """Human-readable reasons why ``net`` does not fit ``target`` (empty when it fits)."""
    est = estimate(net, target)
    cap, use = target.capacity, est.use
    fp = net.bundle.fixed_point
    reasons = []
    if use["bram"] > cap["bram"]:
        weights = sum(bram_blocks(m, target) for m in est.memories if m.name.endswith(".weights"))
        bram = target.nextpnr_cells["bram"]
        advice = [f"fewer weight bits (weights take {weights} of the {use['bram']} blocks; "
                  f"{fp.weight_bits} -> {max(2, fp.weight_bits // 2)} bits roughly halves them)"]
        if net.lanes > 1:
            advice.append(f"fewer lanes than {net.lanes} (less padding per word)")
        if cap["spram"]:
            advice.append(f"the {cap['spram']} SPRAMs of this part for the weights (the "
                          "generator does not map memories to SPRAM yet)")
        advice.append("a bigger part (--target ulx3s-85f)" if target.family == "ice40"
                      else "a smaller network")
        reasons.append(f"block RAM: needs about {use['bram']} {bram}, the {target.part} has "
                       f"{cap['bram']}; try " + ", or ".join(advice))
    for kind, label in (("lut4", "LUT4"), ("ff", "flip-flops")):
        if use[kind] > cap[kind]:
            fewer_lanes = f"fewer lanes than {net.lanes}, " if net.lanes > 1 else ""
            reasons.append(f"logic: needs about {use[kind]} {label}, the {target.part} has "
                           f"{cap[kind]}; try {fewer_lanes}a smaller state_bits than "
                           f"{fp.state_bits}, or a bigger part")
    return reasons


__all__ = ["Estimate", "MemoryNeed", "bram_blocks", "check_fits", "dsp_per_multiply", "estimate",
           "memories"]
