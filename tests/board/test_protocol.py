"""The UART framing (rtl.protocol): round trips, and every corruption named by its byte."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rtl.protocol import EOT, EOT_LAST, SYNC, FrameError, Framing


@st.composite
def framed_samples(draw: st.DrawFn) -> tuple[Framing, np.ndarray]:
    channels = draw(st.sampled_from([1, 7, 128, 129, 300]))
    framing = Framing(channels, draw(st.integers(1, 12)), draw(st.integers(1, 20)))
    steps = draw(st.integers(1, 6))
    sample = draw(hnp.arrays(np.uint8, (steps, channels), elements=st.integers(0, 1)))
    return framing, sample


@settings(max_examples=60, deadline=None)
@given(framed_samples())
def test_events_round_trip(case: tuple[Framing, np.ndarray]) -> None:
    framing, sample = case
    expected = []
    for t, row in enumerate(sample):
        expected += [(int(j), False, False) for j in np.flatnonzero(row)]
        expected.append((0, True, t == len(sample) - 1))
    assert framing.decode_events(framing.encode_sample(sample)) == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.integers(0, 0xFFFF), min_size=k, max_size=k), st.integers(0, k - 1),
    st.sampled_from([0, 1, 2, 4, 7]))))
def test_result_round_trip(case: tuple[int, list[int], int, int]) -> None:
    classes, counts, pred, status = case
    framing = Framing(40, classes, 16)
    frame = framing.encode_result(counts, pred, status)
    assert len(frame) == framing.frame_bytes == 3 + 2 * (classes + 1)
    got_counts, got_pred, got_status = framing.decode_result(frame)
    assert got_counts.tolist() == counts and got_pred == pred and got_status == status


def test_two_byte_events_above_128_channels() -> None:
    framing = Framing(300, 3, 16)
    sample = np.zeros((2, 300), np.uint8)
    sample[0, [5, 299]] = 1
    assert framing.encode_sample(sample) == bytes([0x00, 5, 0x01, 0x2B, EOT, EOT_LAST])
    assert Framing(128, 3, 16).encode_sample(sample[:, :128]) == bytes([5, EOT, EOT_LAST])


def test_corruptions_name_their_byte() -> None:
    framing = Framing(40, 2, 16)
    good = framing.encode_result([3, 258], 1)
    assert good == bytes([SYNC, 0, 0, 3, 1, 2, 0, 1, (3 + 1 + 2 + 1) & 0xFF])
    cases = {
        bytes([0x13]) + good[1:]: (0, "expected the sync byte 0xA5, got 0x13"),
        good[:-1] + bytes([good[-1] ^ 1]): (8, "checksum 0x06 does not match 0x07 computed "
                                              "from the frame"),
        good[:4]: (4, "frame is 4 bytes, expected 9"),
        bytes([SYNC, 0x80, 0, 3, 1, 2, 0, 1, 0x87]): (1, "status 0x80 has undefined bits set"),
        bytes([SYNC, 0, 0, 3, 1, 2, 0, 2, 8]): (6, "prediction 2 is not a class (0 … 1)"),
    }
    for frame, (offset, problem) in cases.items():
        with pytest.raises(FrameError) as info:
            framing.decode_result(frame)
        assert (info.value.offset, info.value.problem) == (offset, problem)
