"""The fused scan against the plain per-step autograd reference: same spikes, same gradients."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scsr.model import LIFLayer, fused_scan, reference_scan
from tests.conftest import ROOT
from tools.scan_check import GRADIENTS, MODES, mode_for, random_case, run_scan

#: Run by :func:`test_triton_kernels_match_numba_in_the_interpreter` in a fresh process,
#: because ``TRITON_INTERPRET`` is read when Triton is first imported.
_INTERPRETED = """
import os, sys
os.environ["TRITON_INTERPRET"] = "1"
import torch
from scsr.model import scan_cpu, scan_triton
from tools.scan_check import mode_for, random_case
for name in sys.argv[1:]:
    mode = mode_for(name, 300)
    (x, alpha, beta, theta, w_self), _ = random_case(7, 40, 4, 300, mode)
    params = [t.detach().float().contiguous() for t in (alpha, beta, theta, w_self)]
    args = (mode.quant is not None, *mode.bounds)
    numba = scan_cpu.forward(x.detach(), *params, *args)
    triton = scan_triton.forward(x.detach(), *params, *args)
    assert all(torch.equal(a, b) for a, b in zip(numba, triton, strict=True)), name
    assert 0.02 < float(numba[0].mean()) < 0.9, name
    gs = torch.randn(numba[0].shape, generator=torch.Generator().manual_seed(1))
    grads = [kernels.backward(gs, numba[1], numba[2], *params, mode.units(alpha),
                              float(mode.slope)) for kernels in (scan_cpu, scan_triton)]
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=name)
    print(name, "agrees")
"""


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), steps=st.integers(1, 30), batch=st.integers(1, 3),
       size=st.integers(1, 70), mode=st.sampled_from(sorted(MODES)))
def test_fused_scan_matches_autograd_reference(seed, steps, batch, size, mode) -> None:
    mode = mode_for(mode, size)
    tensors, weights = random_case(seed, steps, batch, size, mode)
    s_ref, g_ref = run_scan(reference_scan, tensors, weights, mode)
    s_fused, g_fused = run_scan(fused_scan, tensors, weights, mode)
    assert torch.equal(s_ref, s_fused)  # same float32 operations in the same order
    for name, a, b in zip(GRADIENTS, g_ref, g_fused, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_fused_scan_matches_reference_on_a_busy_layer(mode: str) -> None:
    scan_mode = mode_for(mode, 130)
    tensors, weights = random_case(11, 60, 4, 130, scan_mode)
    s_ref, g_ref = run_scan(reference_scan, tensors, weights, scan_mode)
    s_fused, g_fused = run_scan(fused_scan, tensors, weights, scan_mode)
    assert torch.equal(s_ref, s_fused)
    assert 0.02 < float(s_ref.mean()) < 0.9  # spikes and silences: every path is exercised
    for a, b in zip(g_ref, g_fused, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
@pytest.mark.parametrize("mode", sorted(MODES))
def test_triton_scan_matches_cpu_reference(mode: str) -> None:
    pytest.importorskip("triton", reason="Triton is not installed")
    scan_mode = mode_for(mode, 300)
    cpu, weights = random_case(7, 40, 4, 300, scan_mode)
    s_ref, g_ref = run_scan(reference_scan, cpu, weights, scan_mode)
    gpu = [t.detach().cuda().requires_grad_(True) for t in cpu]
    s_gpu, g_gpu = run_scan(fused_scan, gpu, weights.cuda(), mode_for(mode, 300, "cuda"))
    assert torch.equal(s_gpu.cpu(), s_ref)
    for a, b in zip(g_ref, g_gpu, strict=True):
        torch.testing.assert_close(b.cpu(), a, rtol=1e-4, atol=1e-4)


def _triton_version() -> tuple[int, ...] | None:
    """Triton's ``(major, minor)``, or None when it is not installed (read without importing
    it: an import here would fix ``TRITON_INTERPRET`` for this whole process)."""
    if importlib.util.find_spec("triton") is None:
        return None
    from importlib.metadata import version
    return tuple(int(part) for part in version("triton").split(".")[:2])


@pytest.mark.slow
@pytest.mark.skipif(_triton_version() is None, reason="Triton is not installed")
@pytest.mark.skipif((_triton_version() or (99,)) < (3, 9),
                    reason="Triton < 3.9's interpreter cannot run a tl.range loop with a "
                           "runtime bound under numpy 2 (3.6 fails; 3.9 checked)")
def test_triton_kernels_match_numba_in_the_interpreter() -> None:
    """The CUDA kernels, run by Triton's interpreter on the CPU, give the numba kernels'
    spikes, currents and membrane values bit for bit and their gradients, in every mode
    (per-neuron surrogate units included): a kernel change is checked without a GPU too.
    (A mutation, one unit for every neuron in the backward kernel, fails the stretched
    mode.)"""
    modes = sorted(MODES)
    done = subprocess.run([sys.executable, "-c", _INTERPRETED, *modes], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [w for m in modes for w in (m, "agrees")]


def test_autapse_feeds_only_its_own_neuron() -> None:
    """Two neurons, same input; only neuron 0 spiked at t-1. With w_self the next current
    of neuron 0 differs from neuron 1's by exactly w_self[0]; the other is untouched."""
    layer = LIFLayer(2, tau_s=2.0, tau_m=2.0, theta=1.0, w_self=0.0,
                     trainable=dict(alpha=False, beta=False, theta=False, w_self=True))
    with torch.no_grad():
        layer.w_self.copy_(torch.tensor([0.75, 0.75]))
    state = layer.initial_state(1)
    state = state._replace(s=torch.tensor([[1.0, 0.0]]))
    s, new = layer(torch.tensor([[0.25, 0.25]]), state)
    assert new.i.tolist() == [[1.0, 0.25]]
    assert s.tolist() == [[0.0, 0.0]] and new.v.tolist() == [[1.0, 0.25]]
    s, new = layer(torch.tensor([[0.0, 0.0]]), new)  # I = 0.5, v = 0.5 + 0.5 = 1.0: not > θ
    assert s.tolist() == [[0.0, 0.0]] and new.v.tolist() == [[1.0, 0.25 * 0.5 + 0.125]]
