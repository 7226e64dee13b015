"""Run-time loading on the simulated UART top (cocotb, Icarus): one loadable design, built
zeroed, loaded with bundle A and then B (same shape, other weights), each checked against
the golden model bit for bit; through the pseudo-terminal the unchanged host driver
loads and runs, and the bad cases (another shape, a cut-off load, a corrupted byte) end
in one line each, with the board left consistent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from golden_model import ScsrError, save_bundle, simulate
from rtl.config import NetConfig
from sim.runner import simulator_available

from .helpers import spikes, tiny_bundle

pytestmark = [pytest.mark.cosim, pytest.mark.slow, pytest.mark.xdist_group("uart_load")]
DIVISOR = 4  # clocks per UART bit: the shortest the receiver samples reliably
TIMEOUT_BYTES = 64  # a load gives up after 64 byte times (2560 clocks) without a byte


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    reason = simulator_available("icarus")
    if reason:
        pytest.skip(reason)
    from sim.uart.runner import build
    net = NetConfig.from_bundle(tiny_bundle(seed=1), lanes=2, loadable=True, preload=False)
    return build(net, DIVISOR, tmp_path_factory.mktemp("uart_load"),
                 load_timeout_bytes=TIMEOUT_BYTES)


def image_of(bundle: object) -> bytes:
    return NetConfig.from_bundle(bundle, lanes=2, loadable=True).load_image()


def test_load_a_then_b_matches_golden(built, tmp_path: Path) -> None:
    """Everything queued at once: the second LOAD arrives while samples of A are still in
    the network and must wait for them; the samples after a LOAD wait for its reply."""
    from rtl.board import framing_for
    from rtl.protocol import LOAD, encode_load, encode_reply, image_checksum
    from sim.uart.runner import exchange

    framing = framing_for(built.net)
    a, b = tiny_bundle(seed=1), tiny_bundle(seed=2)
    x = spikes(3, 8, built.net.bundle.channels, 0.5, seed=3)
    data = bytearray()
    expect = bytearray()
    for bundle in (a, b):
        image = image_of(bundle)
        data += encode_load(image) + b"".join(framing.encode_sample(s) for s in x)
        ref = simulate(bundle, x)
        assert ref.counts.sum() > 0  # the comparison means something only if out fires
        expect += encode_reply(LOAD, bytes([0]) + image_checksum(image).to_bytes(4, "big"))
        expect += b"".join(framing.encode_result(c, p) for c, p in zip(ref.counts, ref.pred,
                                                                        strict=True))
    assert not np.array_equal(simulate(a, x).counts, simulate(b, x).counts)
    out = exchange(built, bytes(data), len(expect), tmp_path)
    assert out == bytes(expect)


def test_refused_loads_write_nothing(built, tmp_path: Path) -> None:
    """A LOAD of the wrong length, and one sent inside an open sample, are swallowed whole
    and answered with their status bit; the sample around the second runs on with A."""
    from rtl.board import framing_for
    from rtl.protocol import (
        EOT,
        LOAD,
        LOAD_BUSY,
        LOAD_LENGTH,
        encode_load,
        encode_reply,
        image_checksum,
    )
    from sim.uart.runner import exchange

    framing = framing_for(built.net)
    a, b = tiny_bundle(seed=1), tiny_bundle(seed=2)
    x = spikes(1, 8, built.net.bundle.channels, 0.5, seed=9)
    sample = framing.encode_sample(x[0])
    cut = sample.index(EOT) + 1  # after the first timestep: the sample is open
    data = (encode_load(image_of(a)) + encode_load(image_of(b)[:-2]) + sample[:cut]
            + encode_load(image_of(b)) + sample[cut:])
    ref = simulate(a, x)

    def reply(status: int, checksum: int = 0) -> bytes:
        return encode_reply(LOAD, bytes([status]) + checksum.to_bytes(4, "big"))

    expect = (reply(0, image_checksum(image_of(a))) + reply(LOAD_LENGTH) + reply(LOAD_BUSY)
              + framing.encode_result(ref.counts[0], ref.pred[0]))
    assert not np.array_equal(simulate(b, x).counts, ref.counts)
    assert exchange(built, data, len(expect), tmp_path) == expect


def test_host_driver_loads_and_runs(built, tmp_path: Path) -> None:
    from rtl.board import framing_for
    from rtl.host import BoardLink
    from rtl.protocol import STATUS_BITS, STATUS_NOT_LOADED
    from sim.uart.runner import pty_bridge

    x = spikes(2, 8, built.net.bundle.channels, 0.5, seed=11)
    with pty_bridge(built, tmp_path) as device, \
            BoardLink.open(device, framing_for(built.net), baud=115200, timeout_s=60,
                           max_steps=built.net.max_steps) as link:
        shape, loaded = link.identify()
        assert (shape, loaded) == (built.net.shape(), False)  # built zeroed
        with pytest.raises(ScsrError) as info:
            link.run(x)
        assert str(info.value) == f"{device}: sample 0: {STATUS_BITS[STATUS_NOT_LOADED]}"
        for seed in (1, 2):
            bundle = tiny_bundle(seed=seed)
            link.load(image_of(bundle))
            assert link.identify()[1] is True
            counts, pred = link.run(x)
            ref = simulate(bundle, x)
            assert np.array_equal(counts, ref.counts) and np.array_equal(pred, ref.pred)


def test_bad_loads_are_one_line_and_leave_the_board_consistent(built, tmp_path: Path,
                                                               scsr) -> None:
    """Another shape: refused before any weight is sent (A stays loaded); a load cut off:
    the board says so, is not loaded, and the next load works."""
    from rtl.board import framing_for
    from rtl.host import BoardLink
    from rtl.protocol import LOAD, LOAD_TIMEOUT, encode_load
    from sim.uart.runner import pty_bridge

    a = tiny_bundle(seed=1)
    save_bundle(a, tmp_path / "a")
    save_bundle(tiny_bundle(layers=(5, 6, 3), seed=1), tmp_path / "wide")
    x = spikes(1, 8, built.net.bundle.channels, 0.5, seed=5)
    ref = simulate(a, x)
    with pty_bridge(built, tmp_path / "sim") as device:
        done = scsr("board", "load", "--port", device, "--bundle", tmp_path / "a",
                    "--baud", "115200", "--timeout", "60")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"{tmp_path / 'a'}: loaded {len(image_of(a))} bytes")
        done = scsr("board", "load", "--port", device, "--bundle", tmp_path / "wide",
                    "--baud", "115200", "--timeout", "60")
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == (f"{tmp_path / 'wide'}: layers[1].size: 6, the board's design "
                               "has 4 (build a bitstream for this shape with 'scsr synth "
                               "--loadable')\n")
        with BoardLink.open(device, framing_for(built.net), baud=115200, timeout_s=60,
                            max_steps=built.net.max_steps) as link:
            counts, pred = link.run(x)  # A is still there, whole
            assert np.array_equal(counts, ref.counts) and np.array_equal(pred, ref.pred)
            link.port.write(encode_load(image_of(a))[:40])  # the host goes away mid-image
            assert link.read_reply(LOAD)[0] == LOAD_TIMEOUT
            assert link.identify()[1] is False
            with pytest.raises(ScsrError, match="the board holds no complete model"):
                link.run(x)
            link.load(image_of(a))
            counts, pred = link.run(x)
            assert np.array_equal(counts, ref.counts) and np.array_equal(pred, ref.pred)


def test_corrupted_byte_is_caught_by_the_read_back(built, tmp_path: Path, scsr) -> None:
    """A flipped bit on the line: the board writes it, reads back another checksum than the
    host's, says so and stays unloaded; the host exits 2 with one line; a reload works."""
    from sim.uart.runner import pty_bridge

    save_bundle(tiny_bundle(seed=1), tmp_path / "a")
    # byte 0 IDENTIFY; then LOAD, 3 length bytes, the image: corrupt its 10th byte
    with pty_bridge(built, tmp_path / "sim", corrupt_at=1 + 1 + 3 + 10) as device:
        done = scsr("board", "load", "--port", device, "--bundle", tmp_path / "a",
                    "--baud", "115200", "--timeout", "60")
        assert (done.returncode, done.stdout) == (2, "")
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            f"{device}: load: the board read back other memory contents than were sent (the "
            "board is not loaded; load again) (read back 0x")
        done = scsr("board", "load", "--port", device, "--bundle", tmp_path / "a",
                    "--baud", "115200", "--timeout", "60")
        assert done.returncode == 0, done.stderr

