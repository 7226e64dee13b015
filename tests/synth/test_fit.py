"""The fit check (rtl.fit): exact block counts on hand-checked shapes and on the default
model (as nextpnr counted them), memory paths that exist in the generated RTLIL, and whole
reasons."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from golden_model import FixedPoint, load_bundle
from golden_model.random_bundle import RandomSpec, random_bundle
from rtl.config import NetConfig
from rtl.fit import MemoryNeed, bram_blocks, check_fits, estimate, memories, ram_styles
from rtl.platforms import TARGETS

ECP5, ICE40 = TARGETS["ulx3s-85f"], TARGETS["icebreaker"]


def net(layers: tuple[int, ...], lanes: int, bits: tuple[int, int, int] = (8, 16, 8)) -> NetConfig:
    bundle = random_bundle(RandomSpec(inputs=40, layers=layers, fixed_point=FixedPoint(*bits),
                                      seed=1, skip=True, self_recurrent=True))
    return NetConfig.from_bundle(bundle, lanes)


def test_block_counts_follow_the_cheapest_shape() -> None:
    # 6656 words x 8 bits: 13 blocks of 512x8 on the iCE40, 4 of 2048x9 on the ECP5
    weights = MemoryNeed("h2.weights", 6656, 8)
    assert (bram_blocks(weights, ICE40), bram_blocks(weights, ECP5)) == (13, 4)
    # two read ports: two copies; below a quarter block: logic, no block RAM
    assert bram_blocks(MemoryNeed("s", 1024, 4, read_ports=2), ICE40) == 2
    assert bram_blocks(MemoryNeed("tiny", 16, 8), ICE40) == 0
    # iCE40 keeps writable memories of <= 160 bits in flip-flops, the ECP5 <= 2304 in LUT RAM
    assert [bram_blocks(MemoryNeed("m", 20, b), ICE40) for b in (8, 9)] == [0, 1]
    assert [bram_blocks(MemoryNeed("m", 64, b), ECP5) for b in (36, 37)] == [0, 2]  # 512x36


DEFAULT = Path(__file__).resolve().parents[2] / "models" / "digits-8k"


@pytest.mark.skipif(not DEFAULT.exists(), reason="models/digits-8k is absent")
def test_default_model_block_ram_is_what_nextpnr_placed() -> None:
    # Measured with `scsr synth` of this shape (32 -> 48, 48 -> 10): 29 ICESTORM_RAM on the iCE40 at
    # P = 1; 5 DP16KD on the ECP5 at P = 1 and 4; 16 at P = 24, where the output layer's
    # 14 padding lanes are constant and Yosys drops them (docs/hardware.md).
    bundle = load_bundle(DEFAULT)
    counts = [estimate(NetConfig.from_bundle(bundle, p), t).use["bram"]
              for p, t in ((1, ICE40), (1, ECP5), (4, ECP5), (24, ECP5))]
    assert counts == [29, 5, 5, 16]


@pytest.mark.parametrize("loadable", [False, True])
def test_ram_styles_name_every_memory_of_the_generated_design(loadable: bool) -> None:
    from amaranth.back import rtlil

    from rtl.board import UartTop

    n = net((5, 7, 3), lanes=2, bits=(4, 8, 4))
    n = NetConfig.from_bundle(n.bundle, 2, loadable=loadable)
    text = rtlil.convert(UartTop(n, divisor=8), name="b.top")  # as BoardTop names it
    found = set()
    module = ""
    for line in text.splitlines():
        if line.startswith("module "):
            module = line.split()[1].lstrip("\\")
        elif line.lstrip().startswith("memory "):
            found.add(f"{module}/{line.split()[-1].lstrip(chr(92))}")
    commands = ram_styles(n, ICE40, "b")
    paths = {re.fullmatch(r'setattr -set ram_style "(block|logic)" (\S+)', c)[2] for c in commands}
    assert paths == found and len(commands) == len(memories(n))


def test_default_size_fits_ecp5_with_dsps() -> None:
    n = net((64, 64, 10), lanes=4)
    assert check_fits(n, ECP5) == []
    assert estimate(n, ECP5).use["dsp"] == 2 * 4 * 3  # two decay multiplies per lane and layer


def test_too_big_for_up5k_says_what_to_change() -> None:
    reasons = check_fits(net((64, 64, 10), lanes=4), ICE40)
    assert reasons == [
        "block RAM: needs 68 ICESTORM_RAM, the Lattice iCE40 UP5K-SG48 (iCEBreaker) has 30; "
        "try fewer weight bits (weights take 24 of the 68 blocks; 8 -> 4 bits roughly halves "
        "them), or fewer lanes than 4 (less padding per word), or --loadable, which puts "
        "weights in the 4 SPRAMs of this part (the bitstream cannot initialise them; 'scsr "
        "board load' writes them), or a bigger part (--target ulx3s-85f)",
        "logic: needs about 11183 logic cells (LUT4 + flip-flops), the Lattice iCE40 "
        "UP5K-SG48 (iCEBreaker) has 5280; try fewer lanes than 4, a smaller state_bits than "
        "16, or a bigger part"]


def test_too_many_lanes_for_ecp5_is_a_logic_reason() -> None:
    reasons = check_fits(net((64, 64, 10), lanes=64), ECP5)
    assert len(reasons) == 1 and reasons[0].startswith("logic: needs about ")
    assert reasons[0].endswith("LUT4, the Lattice ECP5 LFE5U-85F-6BG381C (ULX3S) has 83640; "
                               "try fewer lanes than 64, a smaller state_bits than 16, or a "
                               "bigger part")


@pytest.mark.skipif(not DEFAULT.exists(), reason="models/digits-8k is absent")
def test_loadable_default_model_counts_parameters_as_writable_memories() -> None:
    """Loadable, the parameters are writable memories, no longer constants folded into LUTs,
    and no weight column is constant: on the iCE40 each 39-bit parameter memory takes 3
    SB_RAM40_4K (256 x 16), 9 more than the fixed design; on the ECP5 they fit LUT RAM."""
    bundle = load_bundle(DEFAULT)
    fixed, loadable = (NetConfig.from_bundle(bundle, 1, loadable=x) for x in (False, True))
    blocks = {name: {m.name: bram_blocks(m, ICE40) for m in memories(n)
                     if m.name.endswith((".weights", ".params"))}
              for name, n in (("fixed", fixed), ("loadable", loadable))}
    assert blocks["fixed"] == {"h1.weights": 3, "h1.params": 0, "h2.weights": 8,
                               "h2.params": 0, "out.weights": 2, "out.params": 0}
    assert blocks["loadable"] == blocks["fixed"] | {"h1.params": 3, "h2.params": 3,
                                                    "out.params": 3}  # 38 of 30 in all
    assert [estimate(n, ECP5).use["bram"] for n in (fixed, loadable)] == [5, 5]
    styles = ram_styles(loadable, ECP5, "b")
    assert 'setattr -set ram_style "distributed" b.top.network.core_h1/params' in styles
    assert 'setattr -set ram_style "logic" b.top.network.core_h1/params' in ram_styles(fixed,
                                                                                    ECP5, "b")


@pytest.mark.skipif(not DEFAULT.exists(), reason="models/digits-8k is absent")
def test_loadable_weights_go_to_spram_when_block_ram_would_not_fit() -> None:
    """Loadable on the UP5K, the default model needs 38 SB_RAM40_4K of 30; its three weight
    memories (8 bits wide, at most 3840 deep) take one SB_SPRAM256KA each instead, leaving
    25 blocks. Yosys gets ram_style "huge" and their zero initial contents removed."""
    bundle = load_bundle(DEFAULT)
    loadable = NetConfig.from_bundle(bundle, 1, loadable=True)
    est = estimate(loadable, ICE40)
    assert (est.use["bram"], est.use["spram"]) == (25, 3) and check_fits(loadable, ICE40) == []
    assert {m.name for m in est.memories if m.spram} == {"h1.weights", "h2.weights",
                                                         "out.weights"}
    styles = ram_styles(loadable, ICE40, "b")
    assert 'setattr -set ram_style "huge" b.top.network.core_h2/weights' in styles
    assert ("delete b.top.network.core_h2/t:$meminit_v2 b.top.network.core_h2/r:MEMID=*weights "
            "%i") in styles
    # SPRAM only when it is needed, and never on the ECP5 or for a fixed design
    assert estimate(NetConfig.from_bundle(bundle, 1), ICE40).use["spram"] == 0
    assert estimate(loadable, ECP5).use["spram"] == 0
    small = NetConfig.from_bundle(net((5, 7, 3), lanes=2).bundle, 2, loadable=True)
    assert estimate(small, ICE40).use["spram"] == 0
