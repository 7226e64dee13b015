"""Host driver error paths: unreachable port, garbage, bad checksum, status bits, timeouts —
each a one-line error naming the port, sample and byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from golden_model import ScsrError, save_bundle, save_npz, simulate
from rtl.host import BoardLink
from rtl.protocol import STATUS_OVERFLOW, Framing

from .helpers import spikes, tiny_bundle

FRAMING = Framing(6, 3, 16)


class FakePort:
    """A serial port whose board answers each sample with the next scripted reply."""

    def __init__(self, replies: list[bytes]) -> None:
        self.replies = list(replies)
        self.pending = b""
        self.written = bytearray()
        self.timeout = 0.01

    def write(self, data: bytes) -> int:
        self.written += data
        if self.replies:
            self.pending += self.replies.pop(0)
        return len(data)

    def read(self, size: int) -> bytes:
        out, self.pending = self.pending[:size], self.pending[size:]
        return out

    def reset_input_buffer(self) -> None:
        self.pending = b""

    def close(self) -> None:
        pass


def run(replies: list[bytes], batch: int = 2) -> tuple[np.ndarray, np.ndarray]:
    link = BoardLink(FakePort(replies), FRAMING, "/dev/ttyFAKE", timeout_s=0.05)
    return link.run(spikes(batch, 3, 6, 0.5, seed=0))


def test_good_frames_are_returned_as_int32_arrays() -> None:
    counts, pred = run([FRAMING.encode_result([1, 2, 3], 2), FRAMING.encode_result([4, 0, 4], 0)])
    assert counts.tolist() == [[1, 2, 3], [4, 0, 4]] and pred.tolist() == [2, 0]
    assert counts.dtype == pred.dtype == np.int32


@pytest.mark.parametrize(("replies", "message"), [
    ([FRAMING.encode_result([1, 2, 3], 2), b"\x13" + bytes(10)],
     "/dev/ttyFAKE: sample 1 byte 0: expected the sync byte 0xA5, got 0x13 (frame: 13 00 00 "
     "00 00 00 00 00 00 00 00)"),
    ([FRAMING.encode_result([1, 2, 3], 2)[:-1] + b"\x00"],
     "/dev/ttyFAKE: sample 0 byte 10: checksum 0x00 does not match 0x08 computed from the "
     "frame (frame: a5 00 00 01 00 02 00 03 00 02 00)"),
    ([FRAMING.encode_result([1, 2, 3], 2)[:4]],
     "/dev/ttyFAKE: sample 0 byte 4: timed out after 0.05 s with 4 of 11 bytes of the result "
     "frame (a5 00 00 01); is the bitstream for this bundle loaded and the baud rate right?"),
    ([], "/dev/ttyFAKE: sample 0 byte 0: timed out after 0.05 s with 0 of 11 bytes of the "
         "result frame; is the bitstream for this bundle loaded and the baud rate right?"),
    ([FRAMING.encode_result([1, 2, 3], 2, STATUS_OVERFLOW)],
     "/dev/ttyFAKE: sample 0: the board's receive FIFO overflowed (input bytes were lost; "
     "lower the baud rate)"),
])
def test_bad_answers_name_sample_and_byte(replies: list[bytes], message: str) -> None:
    with pytest.raises(ScsrError) as info:
        run(replies)
    assert str(info.value) == message


def test_unreachable_port_is_an_exit_2_line(tmp_path: Path, scsr) -> None:
    bundle = tiny_bundle()
    save_bundle(bundle, tmp_path / "m")
    save_npz(tmp_path / "x.npz", {"spikes": spikes(1, 4, bundle.channels, 0.3, seed=1)})
    done = scsr("board", "run", "--port", tmp_path / "ttyNONE", "--bundle", tmp_path / "m",
                "--input", tmp_path / "x.npz", "--out", tmp_path / "y.npz")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"--port: {tmp_path / 'ttyNONE'}: cannot open the serial port (")
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "y.npz").exists()


def test_cli_checks_board_answers_against_golden(tmp_path: Path, scsr) -> None:
    """A pyserial loop:// port echoes the host's bytes: not a result frame."""
    bundle = tiny_bundle()
    save_bundle(bundle, tmp_path / "m")
    x = spikes(1, 4, bundle.channels, 0.3, seed=1)
    save_npz(tmp_path / "x.npz", {"spikes": x})
    done = scsr("board", "run", "--port", "loop://", "--bundle", tmp_path / "m", "--input",
                tmp_path / "x.npz", "--timeout", "0.2")
    assert done.returncode == 2
    first = FRAMING.encode_sample(x[0])[0]
    assert done.stderr.startswith(f"loop://: sample 0 byte 0: expected the sync byte 0xA5, got "
                                  f"0x{first:02X}")
    assert simulate(bundle, x).counts.shape == (1, 3)


def test_identify_without_an_answer_says_to_build_a_loadable_bitstream() -> None:
    link = BoardLink(FakePort([]), FRAMING, "/dev/ttyFAKE", timeout_s=0.05)
    with pytest.raises(ScsrError) as info:
        link.identify()
    assert str(info.value) == (
        "/dev/ttyFAKE: identify byte 0: timed out after 0.05 s with 0 of 4 bytes of the reply; "
        "is a loadable bitstream ('scsr synth --loadable') on the board and the baud rate "
        "right?")


def test_load_replies_are_checked() -> None:
    from rtl.protocol import LOAD, LOAD_TIMEOUT, encode_reply, image_checksum

    image = bytes(range(20))
    good = encode_reply(LOAD, bytes([0]) + image_checksum(image).to_bytes(4, "big"))
    assert BoardLink(FakePort([good]), FRAMING, "/dev/ttyFAKE").load(image) == \
        image_checksum(image)
    for reply, message in [
        (encode_reply(LOAD, bytes([LOAD_TIMEOUT, 0, 0, 0, 0])),
         "/dev/ttyFAKE: load: the image stopped arriving before its end (the board is not "
         "loaded; load again)"),
        (encode_reply(LOAD, bytes([0, 0, 0, 0, 1])),
         f"/dev/ttyFAKE: load: the board read back checksum 0x00000001, the image has "
         f"0x{image_checksum(image):08X}"),
        (FRAMING.encode_result([1, 2, 3], 2),
         "/dev/ttyFAKE: load byte 0: expected the reply byte 0x5A, got 0xA5 (reply: a5 00 00 "
         "01)"),
    ]:
        with pytest.raises(ScsrError) as info:
            BoardLink(FakePort([reply]), FRAMING, "/dev/ttyFAKE", timeout_s=0.05).load(image)
        assert str(info.value) == message
