"""Will a network fit a device? An estimate from the bundle and lanes, made before synthesis.

Block RAM is counted exactly, not estimated: :func:`placement` decides for every memory of
the generated design whether it goes to block RAM or to logic, and the synthesis driver
hands that decision to Yosys as a ``ram_style`` attribute per memory
(:func:`ram_styles`), so the count here is the count nextpnr reports. A block-RAM memory
takes whole blocks in its cheapest ``(depth, width)`` configuration, one copy per read port.
Each lane multiplies twice per update (the ``decay`` of ``I`` and ``V``: ``state_bits`` ×
``decay_bits + 1`` signed), one DSP each where it fits the device's multiplier, LUTs
otherwise. LUT4/FF are rough (about ±50 %); nextpnr has the last word there.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .config import CoreConfig, NetConfig, decay_operands
from .platforms import Target

#: Bytes of the board top's receive FIFO (rtl.board.RX_FIFO_DEPTH, kept here without
#: importing Amaranth) and LUT4/FF of the UART, decoder, encoder and readout.
UART_FIFO_BYTES = 512
TOP_LUT4, TOP_FF = 400, 250
#: Per core: control, router and emitter LUT4/FF (measured on the reference builds).
CORE_LUT4, CORE_FF = 250, 150
#: The loader of a loadable design (rtl.loader): counters, sums, length, timer, FSM; its
#: two word registers and read-back multiplexer scale with the widest loaded word.
LOADER_LUT4, LOADER_FF = 250, 200
#: Entries of a :class:`~rtl.fifo.RegisteredFIFO` of depth ``d`` that live in memory:
#: ``SyncFIFOBuffered(d - 1)`` keeps ``d - 2`` in a memory and one in its output register.
FIFO_REGISTERS = 2


@dataclass(frozen=True)
class MemoryNeed:
    """One memory of the design: ``depth`` words of ``width`` bits, ``read_ports`` copies.

    ``path`` is where it sits in the board top's RTLIL (``module/memory`` below the board
    top, e.g. ``top.network.core_h1/acc``); ``rom`` marks read-only memories (their
    contents are constants, which Yosys folds into LUTs when they stay in logic).
    """

    name: str
    depth: int
    width: int
    read_ports: int = 1
    path: str = ""
    rom: bool = False
    spram: bool = False

    @property
    def bits(self) -> int:
        return self.depth * self.width * self.read_ports


@dataclass(frozen=True)
class Estimate:
    """Estimated use of each resource kind (report keys) and the memories behind ``bram``."""

    use: dict[str, int]
    memories: tuple[MemoryNeed, ...]


def _fifo(name: str, path: str, depth: int, width: int) -> list[MemoryNeed]:
    stored = depth - FIFO_REGISTERS
    return [MemoryNeed(name, stored, width, path=f"{path}.inner/storage")] if stored > 0 else []


def _core_memory(core: CoreConfig, kind: str, width: int | None = None,
                 **flags: object) -> MemoryNeed:
    """Memory ``kind`` of ``core`` in the shape :meth:`CoreConfig.memory_shapes` gives
    (``width`` instead of its width when given)."""
    depth, full = core.memory_shapes()[kind]
    return MemoryNeed(f"{core.name}.{kind}", depth, full if width is None else width,
                      path=f"top.network.core_{core.name}/{kind}", **flags)


def weight_width(core: CoreConfig, net: NetConfig) -> int:
    """Bits per weight word that Yosys keeps: ``P · weight_bits`` less the bit columns that
    are the same in every word (it drops those from a read-only memory), e.g. the
    padding lanes of a layer narrower than ``P``; all of them when loadable (written at
    run time, nothing is constant)."""
    fp = core.fixed_point
    if net.loadable:
        return core.memory_shapes()["weights"][1]
    words = np.asarray(core.weight_words(net.bundle), np.int64) & ((1 << fp.weight_bits) - 1)
    bits = (words[:, :, None] >> np.arange(fp.weight_bits)) & 1  # (depth, lanes, bit)
    return int((bits != bits[:1]).any(axis=0).sum())


def memories(net: NetConfig, target: Target | None = None) -> list[MemoryNeed]:
    """Every memory the generator instantiates, with the shapes :class:`CoreConfig` gives
    and its RTLIL path (``rtl.board.UartTop`` → ``NetworkTop`` → ``core_<layer>``,
    ``router_<layer>.fifo<k>``); on a ``target`` with SPRAM, loadable weight memories
    marked ``spram`` where :func:`_to_spram` puts them."""
    out = _memories(net)
    return _to_spram(out, target) if target is not None and net.loadable else out


def _to_spram(needs: list[MemoryNeed], target: Target) -> list[MemoryNeed]:
    """When the block RAM would not fit, move loadable weight memories to SPRAM, the
    biggest block-RAM users first, while SPRAMs remain. SPRAM is single-port and starts
    undefined, which suits only weights written at run time (their write port shares the
    read port's address, and the read holds while writing)."""
    if target.spram_shape is None or sum(bram_blocks(m, target)
                                         for m in needs) <= target.capacity["bram"]:
        return needs
    left = target.capacity["spram"]
    weights = sorted((m for m in needs if m.name.endswith(".weights")),
                     key=lambda m: -bram_blocks(m, target))
    moved = set()
    for m in weights:
        cost = spram_blocks(dataclasses.replace(m, spram=True), target)
        if cost <= left:
            moved.add(m.name)
            left -= cost
    return [dataclasses.replace(m, spram=True) if m.name in moved else m for m in needs]


def spram_blocks(memory: MemoryNeed, target: Target) -> int:
    """SPRAMs for one memory placed there (0 otherwise)."""
    if not memory.spram or target.spram_shape is None:
        return 0
    depth, width = target.spram_shape
    return math.ceil(memory.depth / depth) * math.ceil(memory.width / width)


def _memories(net: NetConfig) -> list[MemoryNeed]:
    out = _fifo("uart.rx_fifo", "top.rx_fifo", UART_FIFO_BYTES, 8)
    for core in net.cores:
        rom = not net.loadable  # loadable: weights and parameters are written at run time
        out += [_core_memory(core, "weights", weight_width(core, net), rom=rom),
                _core_memory(core, "params", rom=rom), _core_memory(core, "acc"),
                _core_memory(core, "state"), _core_memory(core, "spikes", read_ports=2)]
        out += _fifo(f"{core.name}.spike_queue", f"top.network.core_{core.name}.spike_queue",
                     *core.memory_shapes()["spike_queue"])
        for k, s in enumerate(core.sources):
            out += _fifo(f"{core.name}.fifo_{s.name}", f"top.network.router_{core.name}.fifo{k}",
                         s.fifo_depth, s.event_bits)
    return out


def placement(memory: MemoryNeed, target: Target) -> str:
    """``"block"``, ``"logic"`` or ``"spram"`` for one memory on ``target``.

    Small read-only memories (per-neuron parameters) become LUT logic; writable memories of
    at most ``target.logic_ram_bits`` bits stay in logic (LUT RAM on the ECP5, flip-flops
    on the iCE40, which has no LUT RAM, hence its much lower limit); the rest, and every
    weight memory, take block RAM. In a loadable design the parameters are writable, so
    they follow the writable rule; weights may go to SPRAM (:func:`_to_spram`).
    """
    if memory.spram:
        return "spram"
    if memory.rom and not memory.name.endswith(".weights"):
        return "logic" if memory.bits <= target.bram_bits else "block"
    return "logic" if memory.bits <= target.logic_ram_bits else "block"


def bram_blocks(memory: MemoryNeed, target: Target) -> int:
    """Block RAMs for one memory in its cheapest configuration (0 if it stays in logic)."""
    if placement(memory, target) in ("logic", "spram"):
        return 0
    per_copy = min(math.ceil(memory.depth / d) * math.ceil(memory.width / w)
                   for d, w in target.bram_shapes)
    return per_copy * memory.read_ports


def ram_styles(net: NetConfig, target: Target, top: str) -> list[str]:
    """Yosys commands that pin every memory to its :func:`placement` (``ram_style``
    ``block``, ``logic``/``distributed`` for logic: LUT RAM where the part has it, or
    ``huge`` for SPRAM), for a board top module named ``top``. An SPRAM memory also loses
    its initial contents (Amaranth writes zeros; Yosys maps only an uninitialised memory
    to SPRAM, which the bitstream cannot initialise)."""
    logic = "distributed" if target.family == "ecp5" else "logic"
    commands = []
    for memory in memories(net, target):
        style = {"spram": "huge"}.get(placement(memory, target), placement(memory, target))
        if style == "logic" and not memory.rom:
            style = logic
        commands.append(f'setattr -set ram_style "{style}" {top}.{memory.path}')
        if memory.spram:
            module, name = f"{top}.{memory.path}".split("/")
            commands.append(f"delete {module}/t:$meminit_v2 {module}/r:MEMID=*{name} %i")
    return commands


def dsp_per_multiply(net: NetConfig, target: Target) -> int:
    """DSP blocks per ``decay`` multiply (operands of :func:`~rtl.config.decay_operands`)."""
    x_bits, d_bits = decay_operands(net.bundle.fixed_point)
    return math.ceil(x_bits / target.multiplier_bits) * math.ceil(d_bits / target.multiplier_bits)


def _loader_cost(net: NetConfig) -> tuple[int, int]:
    """LUT4 and FF of the loader and the load-address multiplexers of the cores (rough):
    the word being written and the word read back are registers of the widest loaded
    word, with a byte demultiplexer and multiplexer each; the read-back data comes
    through a multiplexer over every loaded memory."""
    loaded = net.load_memories()
    widest = 8 * max((width + 7) // 8 for *_, width in loaded)
    address = sum(2 * max(1, (core.weight_depth - 1).bit_length()) for core in net.cores)
    lut4 = LOADER_LUT4 + 2 * widest + widest * len(loaded) // 3 + address
    return lut4, LOADER_FF + 2 * widest


def estimate(net: NetConfig, target: Target) -> Estimate:
    """Estimated LUT4, FF, block RAM and DSP use of the board top for ``net`` on ``target``
    (block RAM exact, see the module docstring)."""
    needs = memories(net, target)
    lut4 = TOP_LUT4 + CORE_LUT4 * len(net.cores)
    ff = TOP_FF + CORE_FF * len(net.cores)
    multiplies = 0
    fp = net.bundle.fixed_point
    for core in net.cores:
        lut4 += core.live_lanes * (3 * core.acc_bits + 16 * fp.state_bits)
        ff += core.live_lanes * (2 * fp.state_bits + 2)
        multiplies += 2 * core.live_lanes
    if net.loadable:
        lut4, ff = lut4 + _loader_cost(net)[0], ff + _loader_cost(net)[1]
    dsp = multiplies * dsp_per_multiply(net, target)
    if dsp > target.capacity["dsp"]:  # the synthesis then keeps multipliers in LUTs
        lut4 += multiplies * math.prod(decay_operands(fp))
        dsp = 0
    for m in needs:
        if placement(m, target) in ("block", "spram"):
            continue
        if m.rom:
            lut4 += m.bits // 4  # constants folded into LUTs
        elif target.family == "ecp5":
            lut4 += m.bits // 16  # distributed RAM: 16 bits per LUT4 (TRELLIS_DPR16X4)
        else:
            ff += m.bits  # no distributed RAM on the iCE40: flip-flops and a read mux
            lut4 += m.bits // 2
    use = {"lut4": lut4, "ff": ff, "bram": sum(bram_blocks(m, target) for m in needs),
           "spram": sum(spram_blocks(m, target) for m in needs), "dsp": dsp}
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
        if cap["spram"] and not net.loadable:
            advice.append(f"--loadable, which puts weights in the {cap['spram']} SPRAMs of "
                          "this part (the bitstream cannot initialise them; 'scsr board load' "
                          "writes them)")
        advice.append("a bigger part (--target ulx3s-85f)" if target.family == "ice40"
                      else "a smaller network")
        reasons.append(f"block RAM: needs {use['bram']} {bram}, the {target.part} has "
                       f"{cap['bram']}; try " + ", or ".join(advice))
    logic = [("lut4", "LUT4", use["lut4"]), ("ff", "flip-flops", use["ff"])]
    if target.family == "ice40":  # one LUT4 and one flip-flop per logic cell, often unpaired
        logic = [("lut4", "logic cells (LUT4 + flip-flops)", use["lut4"] + use["ff"])]
    for kind, label, need in logic:
        if need > cap[kind]:
            fewer_lanes = f"fewer lanes than {net.lanes}, " if net.lanes > 1 else ""
            reasons.append(f"logic: needs about {need} {label}, the {target.part} has "
                           f"{cap[kind]}; try {fewer_lanes}a smaller state_bits than "
                           f"{fp.state_bits}, or a bigger part")
    return reasons


__all__ = ["Estimate", "MemoryNeed", "bram_blocks", "check_fits", "dsp_per_multiply", "estimate",
           "memories", "placement", "ram_styles", "spram_blocks"]
