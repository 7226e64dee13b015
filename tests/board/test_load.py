"""Run-time loading without a simulator: the shape descriptor, the image layout (the bits
Amaranth's memory layouts hold), the checksum, reply frames, and 'scsr rtl --loadable'."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from amaranth.hdl import signed
from amaranth.lib import data

from golden_model import FixedPoint, save_bundle
from golden_model.random_bundle import RandomSpec, random_bundle
from rtl.config import NetConfig
from rtl.core import LayerCore
from rtl.layouts import param_layout
from rtl.protocol import (
    LOAD,
    FrameError,
    Shape,
    decode_reply,
    encode_load,
    encode_reply,
    image_checksum,
    pack_words,
)

from .helpers import tiny_bundle


def test_shape_round_trips_and_names_the_first_difference() -> None:
    shape = NetConfig.from_bundle(tiny_bundle(inputs=300), lanes=3).shape()
    assert shape == Shape(6, 12, 6, 3, 300, (5, 4, 3),
                          ((0, 1, 0), (1, 2, 0), (0, 2, 0), (2, 3, 0), (1, 3, 0)))
    assert Shape.decode(shape.encode()) == shape
    cases = {
        dataclasses.replace(shape, state_bits=16): ("fixed_point.state_bits", "12", "16"),
        dataclasses.replace(shape, channels=6): ("input.channels", "300", "6"),
        dataclasses.replace(shape, layers=(5, 4)): ("layers", "3 layers", "2 layers"),
        dataclasses.replace(shape, layers=(5, 6, 3)): ("layers[1].size", "4", "6"),
        dataclasses.replace(shape, projections=(*shape.projections[:4], (2, 3, 1))):
            ("projections[4]", "layer 0 -> layer 2 delay 0", "layer 1 -> layer 2 delay 1"),
    }
    for board, difference in cases.items():
        assert shape.first_difference(board) == difference
    assert shape.first_difference(shape) is None
    with pytest.raises(FrameError, match="does not match its layer and projection counts"):
        Shape.decode(shape.encode()[:-2])


@pytest.mark.parametrize(("bits", "lanes"), [((6, 12, 6), 2), ((8, 16, 8), 1), ((3, 9, 2), 4)])
def test_image_words_are_the_bits_the_memories_hold(bits: tuple[int, int, int],
                                                    lanes: int) -> None:
    """The packed words equal Amaranth's own encoding of the initial contents (lane 0 and
    the first parameter field in the low bits), so a loaded design holds what a preloaded
    one is built with; the image has every word at ceil(width/8) bytes."""
    bundle = random_bundle(RandomSpec(inputs=5, layers=(3, 5), fixed_point=FixedPoint(*bits),
                                      seed=4, skip=True, self_recurrent=True))
    net = NetConfig.from_bundle(bundle, lanes, loadable=True)
    for core in net.cores:
        weights = data.ArrayLayout(signed(core.fixed_point.weight_bits), lanes)
        expect = [weights.const(w).as_value().value for w in core.weight_words(bundle)]
        assert core.packed_words(bundle, "weights") == expect
        params = data.ArrayLayout(param_layout(core), lanes)
        words = LayerCore(core, bundle)._param_words()
        assert core.packed_words(bundle, "params") == [params.const(w).as_value().value
                                                       for w in words]
    assert len(net.load_image()) == net.image_bytes == sum(
        depth * ((width + 7) // 8) for *_, depth, width in net.load_memories())


def test_checksum_and_frames() -> None:
    assert pack_words([0x1234, 0x0001], 13) == bytes([0x34, 0x12, 0x01, 0x00])
    with pytest.raises(ValueError, match="does not fit 12 bits"):
        pack_words([0x1234], 12)
    # a += byte; b += a, modulo 2^16: 1, 2 -> a = 3, b = 1 + 3
    assert image_checksum(bytes([1, 2])) == (3 << 16) | 4
    assert image_checksum(bytes([2, 1])) != image_checksum(bytes([1, 2]))
    assert encode_load(b"\x07\x08") == bytes([LOAD, 0, 0, 2, 7, 8]) + image_checksum(
        b"\x07\x08").to_bytes(4, "big")
    frame = encode_reply(LOAD, bytes([0, 1, 2, 3, 4]))
    assert frame == bytes([0x5A, LOAD, 0, 5, 0, 1, 2, 3, 4, (LOAD + 5 + 10) & 0xFF])
    assert decode_reply(frame, LOAD) == bytes([0, 1, 2, 3, 4])
    for bad, (offset, problem) in {
        frame[:-1] + b"\x00": (9, "checksum 0x00 does not match 0x92 computed from the reply"),
        frame[:5]: (5, "reply is 5 bytes, shorter or longer than its length field says"),
        b"\xa5" + frame[1:]: (0, "expected the reply byte 0x5A, got 0xA5"),
    }.items():
        with pytest.raises(FrameError) as info:
            decode_reply(bad, LOAD)
        assert (info.value.offset, info.value.problem) == (offset, problem)


def test_rtl_loadable_has_load_ports(tmp_path: Path, scsr) -> None:
    save_bundle(tiny_bundle(), tmp_path / "m")
    done = scsr("rtl", tmp_path / "m", "--lanes", "2", "--loadable", "--empty", "--out",
                tmp_path / "v")
    assert done.returncode == 0, done.stderr
    verilog = (tmp_path / "v" / "scsr_net.v").read_text()
    for layer in ("h1", "h2", "out"):
        assert f"input load_{layer}__we_weights;" in verilog
    done = scsr("rtl", tmp_path / "m", "--empty", "--out", tmp_path / "w")
    assert (done.returncode, done.stderr) == (2, "--empty: needs --loadable (a fixed design "
                                                 "holds its bundle)\n")
