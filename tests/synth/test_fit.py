"""The fit check (rtl.fit): exact block counts on hand-checked shapes, and whole reasons."""

from __future__ import annotations

from golden_model import FixedPoint
from golden_model.random_bundle import RandomSpec, random_bundle
from rtl.config import NetConfig
from rtl.fit import MemoryNeed, bram_blocks, check_fits, estimate
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


def test_default_size_fits_ecp5_with_dsps() -> None:
    n = net((64, 64, 10), lanes=4)
    assert check_fits(n, ECP5) == []
    assert estimate(n, ECP5).use["dsp"] == 2 * 4 * 3  # two decay multiplies per lane and layer


def test_too_big_for_up5k_says_what_to_change() -> None:
    reasons = check_fits(net((64, 64, 10), lanes=4), ICE40)
    assert reasons[0] == (
        "block RAM: needs about 61 ICESTORM_RAM, the Lattice iCE40 UP5K-SG48 (iCEBreaker) has "
        "30; try fewer weight bits (weights take 24 of the 61 blocks; 8 -> 4 bits roughly "
        "halves them), or fewer lanes than 4 (less padding per word), or the 4 SPRAMs of this "
        "part for the weights (the generator does not map memories to SPRAM yet), or a bigger "
        "part (--target ulx3s-85f)")


def test_too_many_lanes_for_ecp5_is_a_logic_reason() -> None:
    reasons = check_fits(net((64, 64, 10), lanes=64), ECP5)
    assert len(reasons) == 1 and reasons[0].startswith("logic: needs about ")
    assert reasons[0].endswith("LUT4, the Lattice ECP5 LFE5U-85F-6BG381C (ULX3S) has 83640; "
                               "try fewer lanes than 64, a smaller state_bits than 16, or a "
                               "bigger part")
