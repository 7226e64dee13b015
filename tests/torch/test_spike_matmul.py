"""The spike-sparse matmul against the dense ``x @ W.T``: bit-identical on integer-valued
weights (QAT), within float rounding otherwise, gradients included; and it is taken only
for binary CPU inputs below the density crossover."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scsr.model import spike_matmul as spike_matmul_module
from scsr.model import spike_matmul_cpu
from scsr.model.spike_matmul import FORCE_DENSE, spike_matmul
from tests.torch.test_model import _input, _net

LAYOUTS = ("contiguous", "time_major_view", "strided", "vector")


@contextmanager
def _gathers() -> Iterator[list[int]]:
    """Count the sparse forward kernel's calls (how we know which path ran)."""
    calls: list[int] = []
    real = spike_matmul_cpu.gather
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spike_matmul_cpu, "gather",
                      lambda *a: (calls.append(1), real(*a))[1])
        yield calls


def _spikes(g: torch.Generator, layout: str, lead: tuple[int, int], channels: int,
            density: float) -> torch.Tensor:
    """Binary ``(..., C)`` input in one of the memory layouts the network produces."""
    a, b = lead
    if layout == "time_major_view":  # the network's (T, B, C) view of a (B, T, C) input
        return (torch.rand(b, a, channels, generator=g) < density).float().transpose(0, 1)
    if layout == "strided":
        return (torch.rand(a, b, 2 * channels, generator=g) < density).float()[..., ::2]
    if layout == "vector":
        return (torch.rand(channels, generator=g) < density).float()
    return (torch.rand(a, b, channels, generator=g) < density).float()


def _both(x: torch.Tensor, w: torch.Tensor, g: torch.Tensor, x_grad: bool):
    """Output and gradients ``(y, dW, dx)`` of the sparse and of the dense product."""
    results = []
    for sparse in (True, False):
        xi = x.detach().clone().requires_grad_(x_grad)
        wi = w.detach().clone().requires_grad_(True)
        y = spike_matmul(xi, wi, dense_above=1.0, min_work=0) if sparse else xi @ wi.T
        (y * g).sum().backward()
        results.append((y.detach(), wi.grad, xi.grad))
    return results


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), a=st.integers(1, 9), b=st.integers(1, 5),
       channels=st.integers(1, 70), size=st.integers(1, 40),
       density=st.sampled_from([0.0, 0.05, 0.3, 1.0]), layout=st.sampled_from(LAYOUTS),
       integer=st.booleans(), x_grad=st.booleans())
def test_sparse_matches_dense(seed, a, b, channels, size, density, layout, integer,
                              x_grad) -> None:
    g = torch.Generator().manual_seed(seed)
    x = _spikes(g, layout, (a, b), channels, density)
    if integer:  # QAT: weights are integers × 2^-k, partial sums far below 2^24
        w = torch.randint(-127, 128, (size, channels), generator=g).float() / 8
        grad = torch.randint(-50, 51, (*x.shape[:-1], size), generator=g).float() / 4
    else:
        w = torch.randn(size, channels, generator=g)
        grad = torch.randn(*x.shape[:-1], size, generator=g)
    with _gathers() as calls:
        (y, dw, dx), (y_ref, dw_ref, dx_ref) = _both(x, w, grad, x_grad)
    assert calls == [1]
    if integer:
        assert torch.equal(y, y_ref) and torch.equal(dw, dw_ref)
    else:
        torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(dw, dw_ref, rtol=1e-5, atol=1e-4)
    assert (dx is None) == (not x_grad)
    if x_grad:  # the same dense grad_y @ W on both paths
        assert torch.equal(dx, dx_ref)


def test_two_threads_and_a_padded_gradient_block() -> None:
    """Above the parallel threshold the kernels split rows and gradient columns over two
    threads; an odd ``N`` pads the last column block. Integer values: exact."""
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(400, 8, 96, generator=g) < 0.5).float()
    w = torch.randint(-127, 128, (41, 96), generator=g).float()
    grad = torch.randint(-9, 10, (400, 8, 41), generator=g).float()
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        (y, dw, _), (y_ref, dw_ref, _) = _both(x, w, grad, x_grad=False)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(y, y_ref) and torch.equal(dw, dw_ref)


@pytest.mark.parametrize("bad", [0.5, 2.0, -1.0, float("nan")])
def test_non_binary_input_takes_the_dense_path(bad: float) -> None:
    x = (torch.rand(6, 3, 20, generator=torch.Generator().manual_seed(1)) < 0.1).float()
    x[4, 1, 7] = bad
    w = torch.randn(5, 20)
    with _gathers() as calls:
        y = spike_matmul(x, w, dense_above=1.0, min_work=0)
    assert calls == []
    torch.testing.assert_close(y, x @ w.T, equal_nan=True, rtol=0, atol=0)


def test_dense_above_the_crossover_below_the_minimum_and_when_forced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    x = (torch.rand(10, 2, 50, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    density = float(x.mean())
    w = torch.randn(7, 50)
    work = x.numel() * w.shape[0]
    with _gathers() as calls:
        spike_matmul(x, w, dense_above=density - 0.01, min_work=0)
        spike_matmul(x.double(), w.double(), dense_above=1.0, min_work=0)  # float64: dense
        spike_matmul(x, w, dense_above=1.0, min_work=work + 1)
        spike_matmul(x, w, dense_above=1.0)  # 7 × 50 is below MIN_ROW_WORK
        assert calls == []
        spike_matmul(x, w, dense_above=density + 0.01, min_work=work)
        assert calls == [1]
        monkeypatch.setenv(FORCE_DENSE, "1")
        spike_matmul(x, w, dense_above=1.0, min_work=0)
        assert calls == [1]


@pytest.mark.parametrize("quant", [False, True])
def test_network_sparse_against_forced_dense(quant: bool, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    """The whole ScSr net (skips, self-recurrence): QAT spikes bit-identical with the sparse
    matmul on and forced off, float spikes too on this input; gradients within rounding."""
    net, x = _net("scsr"), _input()
    monkeypatch.setattr(spike_matmul_module, "MIN_WORK", 0)  # the test net is tiny
    monkeypatch.setattr(spike_matmul_module, "MIN_ROW_WORK", 0)
    runs = []
    for dense in ("0", "1"):
        monkeypatch.setenv(FORCE_DENSE, dense)
        net.zero_grad()
        with _gathers() as calls:
            out = net(x, quant=quant)
            out.counts.float().pow(2).mean().backward()
        assert bool(calls) == (dense == "0")  # the input and the hidden spikes went sparse
        runs.append((out.spikes, {n: p.grad.clone() for n, p in net.named_parameters()
                                  if p.grad is not None}))
    (spikes, grads), (spikes_ref, grads_ref) = runs
    for name in net.names:
        assert torch.equal(spikes[name], spikes_ref[name]), name
    assert sorted(grads) == sorted(grads_ref)
    for name in grads:
        torch.testing.assert_close(grads[name], grads_ref[name], rtol=1e-4, atol=1e-5,
                                   msg=name)
