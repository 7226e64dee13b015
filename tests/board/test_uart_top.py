"""The UART top in cocotb (Icarus) against the golden model, and the host driver against
the simulated top through a pseudo-terminal: the protocol proven without a board."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from golden_model import simulate
from rtl.config import NetConfig
from sim.runner import simulator_available

from .helpers import spikes, tiny_bundle

pytestmark = [pytest.mark.cosim, pytest.mark.slow, pytest.mark.xdist_group("uart_top")]
DIVISOR = 4  # clocks per UART bit: the shortest the receiver samples reliably


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    reason = simulator_available("icarus")
    if reason:
        pytest.skip(reason)
    from sim.uart.runner import build
    net = NetConfig.from_bundle(tiny_bundle(), lanes=2)
    return build(net, DIVISOR, tmp_path_factory.mktemp("uart_top"))


@pytest.mark.parametrize("gap_seed", [None, 7], ids=["back-to-back", "idle-gaps"])
def test_uart_top_matches_golden(built, tmp_path: Path, gap_seed: int | None) -> None:
    from rtl.board import framing_for
    from sim.uart.runner import exchange

    framing = framing_for(built.net)
    x = spikes(4, 8, built.net.bundle.channels, 0.5, seed=3)
    data = b"".join(framing.encode_sample(s) for s in x)
    out = exchange(built, data, framing.frame_bytes * len(x), tmp_path, gap_seed=gap_seed)
    assert len(out) == framing.frame_bytes * len(x)  # nothing extra after the last frame
    ref = simulate(built.net.bundle, x)
    assert ref.counts.sum() > 0  # the test means something only if the output layer fires
    frames = [framing.decode_result(out[k * framing.frame_bytes:(k + 1) * framing.frame_bytes])
              for k in range(len(x))]
    assert np.array_equal(np.array([f[0] for f in frames]), ref.counts)
    assert [f[1] for f in frames] == ref.pred.tolist()
    assert [f[2] for f in frames] == [0] * len(x)


def test_out_of_range_channel_sets_status(built, tmp_path: Path) -> None:
    from rtl.board import framing_for
    from rtl.protocol import EOT_LAST, STATUS_BAD_INDEX
    from sim.uart.runner import exchange

    framing = framing_for(built.net)
    channels = built.net.bundle.channels
    out = exchange(built, bytes([channels, EOT_LAST]), framing.frame_bytes, tmp_path)
    counts, pred, status = framing.decode_result(out)
    zero = simulate(built.net.bundle, np.zeros((1, 1, channels), np.uint8))
    assert (counts.tolist(), pred, status) == (zero.counts[0].tolist(), int(zero.pred[0]),
                                               STATUS_BAD_INDEX)


def test_host_driver_against_simulated_board(built, tmp_path: Path) -> None:
    from rtl.board import framing_for
    from rtl.host import BoardLink
    from sim.uart.runner import pty_bridge

    x = spikes(3, 8, built.net.bundle.channels, 0.5, seed=11)
    ref = simulate(built.net.bundle, x)
    with pty_bridge(built, tmp_path) as device, \
            BoardLink.open(device, framing_for(built.net), baud=115200, timeout_s=60,
                           max_steps=built.net.max_steps) as link:
        counts, pred = link.run(x)
    assert np.array_equal(counts, ref.counts) and np.array_equal(pred, ref.pred)
