"""The exact-sum machinery of the golden model, and bundle round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings

from golden_model import Bundle, load_bundle, save_bundle
from golden_model.neuron import accumulate, matmul_dtype, sum_bound, work_dtype
from tests.golden.strategies import bundles


def test_matmul_dtype_switches_exactly_at_the_mantissa_limits() -> None:
    assert matmul_dtype(2**24 - 1) is np.float32
    assert matmul_dtype(2**24) is np.float64
    assert matmul_dtype(2**53 - 1) is np.float64
    assert matmul_dtype(2**53) is np.int64


def test_large_sums_are_exact_where_float32_would_round() -> None:
    # 600 weights of 32767 plus one of 1: the sum 19,660,201 is odd and above 2^24, where
    # float32 can only represent even integers.
    w = np.concatenate([np.full(600, 32767), [1]])[None, :]
    x = np.ones((1, 601), np.uint8)
    exact = 600 * 32767 + 1
    assert int((x.astype(np.float32) @ w.astype(np.float32).T)[0, 0]) != exact  # the trap
    assert sum_bound([w]) == exact and matmul_dtype(exact) is np.float64
    assert accumulate([x], [w])[0, 0] == exact
    assert accumulate([x], [w], np.int64)[0, 0] == exact


def test_accumulate_agrees_across_dtypes() -> None:
    rng = np.random.default_rng(0)
    ws = [rng.integers(-2**15, 2**15, (7, 9)), rng.integers(-2**15, 2**15, (7, 4))]
    xs = [rng.integers(0, 2, (3, 5, 9)), rng.integers(0, 2, (3, 5, 4))]
    expected = sum(np.einsum("btj,ij->bti", x, w) for x, w in zip(xs, ws, strict=True))
    for dtype in (np.float64, np.int64):
        assert np.array_equal(accumulate(xs, ws, dtype), expected)


def test_work_dtype_widens_when_int32_could_overflow() -> None:
    from golden_model import FixedPoint

    assert work_dtype(FixedPoint(8, 16, 8), 10_000) is np.int32
    assert work_dtype(FixedPoint(8, 24, 8), 10_000) is np.int64   # Bs + F = 32 > 31
    assert work_dtype(FixedPoint(16, 16, 8), 2**31) is np.int64    # acc alone may not fit
    assert work_dtype(FixedPoint(8, 32, 1), 0) is np.int64


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bundle=bundles())
def test_bundle_round_trip(bundle: Bundle, tmp_path: Path) -> None:
    root = save_bundle(bundle, tmp_path / "m")
    loaded = load_bundle(root)
    assert loaded.fixed_point == bundle.fixed_point and loaded.layers == bundle.layers
    assert loaded.projections == bundle.projections and loaded.classes == bundle.classes
    assert sorted(loaded.arrays) == sorted(bundle.arrays)
    for key, value in bundle.arrays.items():
        assert np.array_equal(loaded.arrays[key], value), key
    again = save_bundle(loaded, tmp_path / "m")  # replacing a bundle is allowed
    assert (again / "arrays.npz").read_bytes() == (root / "arrays.npz").read_bytes()
