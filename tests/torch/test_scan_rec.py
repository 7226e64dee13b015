"""The fused dense-recurrent scan against the per-step autograd loop: same spikes, gradients.

In float mode the recurrent current ``s[t-1] @ W.T`` is summed in another order by the
kernel (over the fired neurons) than by torch's matmul; with weights on a 1/64 grid every
such sum is exact in float32 whatever the order, so spikes must still be identical, and
any difference is a bug rather than rounding. QAT values are integers: exact anyway.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scsr.model import ScsrNet, preset, scan_cpu
from scsr.model.config import LEGACY
from scsr.model.scan import NeuronParams, ScanMode
from scsr.model.scan_rec import recurrent_scan, reference_recurrent_scan
from tools.scan_check import GRADIENTS, MODES, mode_for, random_case


def _matrices(seed: int, size: int, mode: ScanMode, count: int = 1) -> list[torch.Tensor]:
    """Recurrent weights as the scan sees them: integers in QAT mode, multiples of 1/64
    of either sign below 0.5 in float mode (see the module docstring)."""
    g = torch.Generator().manual_seed(seed + 1)
    fp = mode.quant
    out = []
    for _ in range(count):
        if fp is not None:
            w = torch.randint(fp.w_min, fp.w_max + 1, (size, size), generator=g).float()
        else:
            w = torch.randint(-32, 33, (size, size), generator=g) / 64.0
        out.append(w.requires_grad_(True))
    return out


def _run(scan, tensors: list[torch.Tensor], weights: list[torch.Tensor],
         readout: torch.Tensor, mode: ScanMode) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Spikes and the gradients of ``sum(spikes · readout)`` w.r.t. x, α, β, θ, w_self, W."""
    leaves = [*tensors, *weights]
    for t in leaves:
        t.grad = None
    s = scan(tensors[0], weights, NeuronParams(*tensors[1:]), mode)
    (s * readout).sum().backward()
    return s.detach(), [t.grad.clone() for t in leaves]


def _check(seed: int, steps: int, batch: int, size: int, mode: ScanMode,
           count: int = 1) -> torch.Tensor:
    tensors, readout = random_case(seed, steps, batch, size, mode)
    weights = _matrices(seed, size, mode, count)
    s_ref, g_ref = _run(reference_recurrent_scan, tensors, weights, readout, mode)
    s_fused, g_fused = _run(recurrent_scan, tensors, weights, readout, mode)
    assert torch.equal(s_ref, s_fused)
    names = [*GRADIENTS, *(f"W{k}" for k in range(count))]
    for name, a, b in zip(names, g_ref, g_fused, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4, msg=name)
    return s_ref


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), steps=st.integers(1, 25), batch=st.integers(1, 3),
       size=st.integers(1, 40), mode=st.sampled_from(sorted(MODES)))
def test_recurrent_scan_matches_per_step_loop(seed, steps, batch, size, mode) -> None:
    _check(seed, steps, batch, size, mode_for(mode, size))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), steps=st.integers(1, 25), batch=st.integers(1, 3),
       size=st.integers(1, 40))
def test_float_spikes_differ_only_within_rounding_of_theta(seed, steps, batch, size) -> None:
    """Any float weights: the kernel's sum order may move ``v`` by rounding, so a spike may
    flip only where ``v`` is that close to ``θ`` (checked at the first differing step; after
    it the histories differ by a spike)."""
    mode = MODES["float"]
    tensors, _ = random_case(seed, steps, batch, size, mode)
    x, p = tensors[0].detach(), NeuronParams(*(t.detach() for t in tensors[1:]))
    weight = torch.randn(size, size, generator=torch.Generator().manual_seed(seed)) * 0.3
    s, _, v_pre = scan_cpu.forward(x, *p, False, 0.0, 0.0, weight)
    assert torch.equal(s, recurrent_scan(x, [weight], p, mode))
    differ = s != reference_recurrent_scan(x, [weight], p, mode)
    if differ.any():
        first = int(differ.nonzero()[0, 0])
        assert float((v_pre[first] - p.theta)[differ[first]].abs().max()) < 1e-4


@pytest.mark.parametrize("mode", sorted(MODES))
def test_recurrent_scan_on_a_busy_layer_with_two_own_projections(mode: str) -> None:
    """Two matrices are summed into one before the kernel; the loop adds both products."""
    s = _check(5, 50, 3, 100, mode_for(mode, 100), count=2)
    assert 0.02 < float(s.mean()) < 0.9  # spikes and silences: every path is exercised


def test_spike_reaches_the_other_neuron_through_w_row_not_column() -> None:
    """``W[k, j]`` carries neuron j's spike at t-1 into neuron k at t (``s @ W.T``).
    Neuron 0 fires at t = 0; W[1, 0] = 2 > θ makes neuron 1 fire at t = 1 and only then;
    W[0, 1] is 0, so neuron 0 hears nothing back."""
    x = torch.zeros(4, 1, 2)
    x[0, 0, 0] = 2.0
    weight = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    p = NeuronParams(*(torch.full((2,), v) for v in (0.0, 0.0, 1.0, 0.0)))
    s = recurrent_scan(x, [weight], p)
    assert s[:, 0].tolist() == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    assert torch.equal(s, reference_recurrent_scan(x, [weight], p))


@pytest.mark.parametrize("quant", [False, True])
def test_rsnn_network_fused_equals_per_step_loop(quant: bool) -> None:
    """The whole ``rsnn`` net (every layer recurrent): fused forward and backward against
    ``fused=False`` (per-step loop, dense matmuls), parameters' gradients included."""
    torch.manual_seed(3)
    net = ScsrNet(preset("rsnn", 12, (24, 16), 4, bip=True, **LEGACY))
    x = (torch.rand(4, 40, 12, generator=torch.Generator().manual_seed(4)) < 0.3).float()
    outs, grads = [], []
    for fused in (True, False):
        net.zero_grad()
        out = net(x, quant=quant, fused=fused)
        out.counts.float().pow(2).mean().backward()
        outs.append(out.spikes)
        grads.append({n: p.grad.clone() for n, p in net.named_parameters()
                      if p.grad is not None})
    for name in net.names:
        assert torch.equal(outs[0][name], outs[1][name]), name
    assert outs[1]["out"].any()
    assert sorted(grads[0]) == sorted(grads[1])
    assert {"weights.1", "neurons.0.alpha_logit", "neurons.2.theta"} <= set(grads[0])
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-5,
                                   msg=name)
