"""One hand-computed test per rule of design §4."""

from __future__ import annotations

import numpy as np
import pytest

from golden_model import FixedPoint, predict, simulate
from tests.golden.helpers import make_bundle, spikes


@pytest.mark.parametrize(
    ("x", "d", "expected"),
    [
        (100, 128, 50),     # 50.0 exactly
        (101, 128, 51),     # 50.5 rounds half up
        (-101, 128, -50),   # -50.5 rounds half up, towards +inf
        (-102, 128, -51),   # -51.0 exactly
        (-1, 200, -1),      # (-200 + 128) >> 8 = floor(-0.28) = -1: small negatives stop decaying
        (-1, 128, 0),       # (-128 + 128) >> 8 = 0
        (1, 128, 1),        # (128 + 128) >> 8 = 1: small positives stop decaying too
        (1, 127, 0),        # (127 + 128) >> 8 = 0
        (32767, 255, 32639),
    ],
)
def test_decay_rounds_half_up_with_arithmetic_shift(x: int, d: int, expected: int) -> None:
    assert int(FixedPoint(8, 16, 8).decay(x, d)) == expected


def test_decay_with_one_fraction_bit() -> None:
    fp = FixedPoint(8, 16, 1)  # decay(x, 1) = (x + 1) >> 1
    assert [int(fp.decay(x, 1)) for x in (-3, -2, -1, 0, 1, 2, 3)] == [-1, -1, 0, 0, 1, 1, 2]


def test_current_saturates_at_state_bits() -> None:
    # Bs = 8, alpha_q = 15/16: I = 100; sat(94 + 100) = 127; sat(119 - 250) = -128;
    # sat(decay(-128) - 250) = sat(-120 - 250) = -128.
    b = make_bundle(2, [("out", 1)], [("input", "out", 0, [[100, -250]])],
                    params={"out": {"alpha": 15}}, bits=(9, 8, 4))
    r = simulate(b, spikes([1, 0], [1, 0], [0, 1], [0, 1]), trace=True)
    assert r.i["out"][0, :, 0].tolist() == [100, 127, -128, -128]


def test_membrane_saturates_and_never_fires_at_theta_max() -> None:
    fp = FixedPoint(8, 8, 4)
    b = make_bundle(1, [("out", 1)], [("input", "out", 0, [[100]])],
                    params={"out": {"alpha": 0, "beta": 15, "theta": fp.theta_max}}, bits=(8, 8, 4))
    r = simulate(b, spikes([1], [1], [1]), trace=True)
    # v = sat(decay(V, 15) + I): 100, sat(94 + 100) = 127, sat(119 + 100) = 127; v == θ: no spike.
    assert r.v["out"][0, :, 0].tolist() == [100, 127, 127]
    assert r.spikes["out"].sum() == 0


def test_threshold_is_strict() -> None:
    at = make_bundle(1, [("out", 1)], [("input", "out", 0, [[5]])], params={"out": {"theta": 5}})
    above = make_bundle(1, [("out", 1)], [("input", "out", 0, [[5]])], params={"out": {"theta": 4}})
    assert simulate(at, spikes([1]), trace=True).spikes["out"].tolist() == [[[0]]]
    assert simulate(above, spikes([1]), trace=True).spikes["out"].tolist() == [[[1]]]


def test_hard_reset_to_zero_then_decay_from_zero() -> None:
    b = make_bundle(1, [("out", 1)], [("input", "out", 0, [[10]])],
                    params={"out": {"alpha": 128, "beta": 256 - 1, "theta": 12}})
    r = simulate(b, spikes([1], [1], [0]), trace=True)
    # t0: I = 10, v = 10 (no spike). t1: I = decay(10,128) + 10 = 15, v = decay(10,255) + 15 = 25
    # > 12: spike, V = 0. t2: I = decay(15,128) = 8, v = decay(0,255) + 8 = 8.
    assert r.i["out"][0, :, 0].tolist() == [10, 15, 8]
    assert r.v["out"][0, :, 0].tolist() == [10, 0, 8]
    assert r.spikes["out"][0, :, 0].tolist() == [0, 1, 0]


def test_delay_one_input_is_zero_at_t0() -> None:
    b = make_bundle(1, [("out", 1)], [("input", "out", 1, [[7]])])
    r = simulate(b, spikes([1], [0], [0]), trace=True)
    assert r.i["out"][0, :, 0].tolist() == [0, 7, 0]


def test_delay_one_reads_previous_spikes_of_an_earlier_layer() -> None:
    # h1 fires at t0 only; h1 -> out with delay 1 must show up at t1, not t0.
    b = make_bundle(1, [("h1", 1), ("out", 1)],
                    [("input", "h1", 0, [[50]]), ("h1", "out", 1, [[9]])],
                    params={"h1": {"theta": 10}})
    for schedule in ("layer", "timestep"):
        r = simulate(b, spikes([1], [0], [0]), trace=True, schedule=schedule)
        assert r.spikes["h1"][0, :, 0].tolist() == [1, 0, 0]
        assert r.i["out"][0, :, 0].tolist() == [0, 9, 0]


def test_feedback_from_a_later_layer_arrives_one_step_later() -> None:
    b = make_bundle(1, [("h1", 1), ("out", 1)],
                    [("input", "h1", 0, [[50]]), ("h1", "out", 0, [[50]]),
                     ("out", "h1", 1, [[-3]])],
                    params={"h1": {"theta": 10}, "out": {"theta": 10}})
    r = simulate(b, spikes([1], [0], [0]), trace=True)
    assert r.spikes["out"][0, :, 0].tolist() == [1, 0, 0]
    assert r.i["h1"][0, :, 0].tolist() == [50, -3, 0]


def test_skip_projection_is_delivered_in_the_same_timestep() -> None:
    b = make_bundle(1, [("h1", 1), ("out", 1)],
                    [("input", "h1", 0, [[0]]), ("h1", "out", 0, [[0]]),
                     ("input", "out", 0, [[6]])])
    r = simulate(b, spikes([1], [0]), trace=True)
    assert r.i["out"][0, :, 0].tolist() == [6, 0]


def test_self_recurrence_uses_the_previous_spike() -> None:
    b = make_bundle(1, [("out", 1)], [("input", "out", 0, [[20]])],
                    params={"out": {"theta": 15, "w_self": 7}})
    r = simulate(b, spikes([1], [0], [0]), trace=True)
    # t0: I = 20 (w_self not applied: no spike at t-1), spike. t1: I = 0 + 7. t2: I = 0.
    assert r.spikes["out"][0, :, 0].tolist() == [1, 0, 0]
    assert r.i["out"][0, :, 0].tolist() == [20, 7, 0]


def test_accumulation_is_exact_within_a_timestep() -> None:
    # Bs = 8: an implementation that saturates after each event gets 127 - 150 = -23.
    b = make_bundle(3, [("out", 1)], [("input", "out", 0, [[100, 100, -150]])], bits=(9, 8, 4))
    r = simulate(b, spikes([1, 1, 1]), trace=True)
    assert r.i["out"][0, 0, 0] == 50


def test_output_counts_and_argmax_ties_go_to_the_lowest_index() -> None:
    assert predict(np.array([[3, 5, 5], [0, 0, 0], [1, 0, 2]])).tolist() == [1, 0, 2]
    b = make_bundle(1, [("out", 3)], [("input", "out", 0, [[5], [9], [9]])],
                    params={"out": {"theta": 4}})
    r = simulate(b, spikes([1], [0], [1]))
    assert r.counts.tolist() == [[2, 2, 2]] and r.pred.tolist() == [0]
    assert r.counts.dtype == np.int32 and r.pred.dtype == np.int32


def test_state_starts_at_zero_for_every_sample() -> None:
    b = make_bundle(1, [("out", 1)], [("input", "out", 0, [[5]])], params={"out": {"alpha": 200}})
    x = np.array([[[1], [1]], [[0], [0]]], np.uint8)
    r = simulate(b, x, trace=True)
    assert r.i["out"][1].sum() == 0 and r.i["out"][0, :, 0].tolist() == [5, 9]


def test_worked_example_of_the_docs() -> None:
    """The table in docs/fixed-point.md."""
    b = make_bundle(2, [("out", 1)], [("input", "out", 0, [[100, 90]])],
                    params={"out": {"alpha": 12, "beta": 14, "theta": 100, "w_self": -20}},
                    bits=(8, 8, 4))
    r = simulate(b, spikes([1, 1], [0, 0], [0, 0], [0, 0], [0, 0], [0, 1]), trace=True)
    assert r.i["out"][0, :, 0].tolist() == [127, 75, 56, 22, 17, 103]
    assert r.v["out"][0, :, 0].tolist() == [0, 75, 0, 22, 36, 0]
    assert r.spikes["out"][0, :, 0].tolist() == [1, 0, 1, 0, 0, 1]
