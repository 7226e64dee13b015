"""``benchmarks/train_speed.py`` on tiny CPU shapes: the kernels-alone accounting and the
two turn-taking groups (the timings themselves are never asserted)."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import load_script

train_speed = load_script("benchmarks/train_speed.py")


def test_kernels_alone_counts_the_bytes_each_kernel_streams() -> None:
    steps, batch, size = 6, 2, 8
    record = train_speed._kernels_alone(batch, steps, size, torch.device("cpu"), repeats=1)
    assert set(record) == {"scan_forward", "scan_backward", "copy"}
    array_bytes = steps * batch * size * 4
    for name, arrays in (("scan_forward", 4), ("scan_backward", 4), ("copy", 2)):
        ms, gb_s = record[name]["ms"], record[name]["gb_s"]
        assert ms > 0
        assert gb_s == pytest.approx(arrays * array_bytes / (ms * 1e-3) / 1e9)


def test_fast_contenders_and_python_loops_are_timed_in_separate_groups(monkeypatch) -> None:
    layer = train_speed.Layer(2, 4, 8, torch.device("cpu"))
    groups = []
    real = train_speed._time_interleaved

    def spy(steps, device, faults=None):
        groups.append(sorted(steps))
        return real(steps, device, faults)

    monkeypatch.setattr(train_speed, "_time_interleaved", spy)
    faults: dict = {}
    ms = train_speed._run_all(layer, repeats=1, loop_repeats=1, faults=faults)
    assert set(faults) == set(ms)  # page faults per call, counted for every contender
    assert all(f is None or f >= 0 for f in faults.values())
    assert groups == [sorted(["fused", "fused_dense", "matmul", "matmul_sparse", "spikingjelly"]),
                      ["per_step", "snntorch"]]
    assert ms["fused"] > 0 and ms["per_step"] > 0
