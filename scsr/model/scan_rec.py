"""The scan of a layer with dense recurrence (its own spikes at ``t-1`` through ``N × N``).

Per step, on top of :mod:`scsr.model.scan`'s dynamics, ``x[t]`` gains ``s[t-1] @ W.T``
(``W`` = the sum of the layer's own delay-1 projections). That couples the neurons of a
sample, so the input current cannot be computed ahead for all ``T`` steps; before this
module the layer stepped through time with per-step autograd (3–4× slower per training
batch, measured in ``docs/training.md``). :func:`recurrent_scan` does it in one numba
kernel call forward and one backward (:mod:`scsr.model.scan_cpu`, the plain scan's kernels
with the matrix added), and ``dL/dW = Σ_t dL/dI[t]ᵀ s[t-1]`` as one matmul afterwards.
:func:`reference_recurrent_scan` is the per-step loop it must equal (spikes identical in QAT
mode, where every value is an integer in float32; gradients within float rounding).

CUDA keeps the loop: there is no Triton kernel for it yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .scan import FLOAT, NeuronParams, ScanMode, lif_step, zero_state


def reference_recurrent_scan(x: torch.Tensor, weights: Sequence[torch.Tensor], p: NeuronParams,
                             mode: ScanMode = FLOAT) -> torch.Tensor:
    """Spikes ``(T, B, N)`` by looping :func:`~scsr.model.scan.lif_step`, adding
    ``Σ_w s[t-1] @ w.T`` to the input current ``x[t]`` (plain autograd)."""
    state = zero_state(x.shape[1], x.shape[2], x)
    out = []
    for t in range(x.shape[0]):
        recurrent = sum(state.s @ w.T for w in weights)
        s, state = lif_step(x[t] + recurrent, state, p, mode)
        out.append(s)
    return torch.stack(out)


class _RecurrentScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, alpha, beta, theta, w_self, mode):  # type: ignore[override]
        from . import scan_cpu
        x = x.detach().contiguous().float()
        weight = weight.detach().float().contiguous()
        lo, hi = mode.bounds
        params = [t.detach().contiguous().float() for t in (alpha, beta, theta, w_self)]
        s, i, v_pre = scan_cpu.forward(x, *params, mode.quant is not None, lo, hi, weight)
        ctx.save_for_backward(s, i, v_pre, weight, *params)
        ctx.mode = mode
        return s

    @staticmethod
    def backward(ctx, grad_s):  # type: ignore[override]
        from . import scan_cpu
        s, i, v_pre, weight, alpha, beta, theta, w_self = ctx.saved_tensors
        mode = ctx.mode
        gx, ga, gb, gth, gw = scan_cpu.backward(
            grad_s.contiguous().float(), i, v_pre, alpha, beta, theta, w_self,
            mode.units(alpha), float(mode.slope), weight)
        size = weight.shape[0]
        # dL/dW[k, j] = Σ_{t ≥ 1, b} dL/dI[t, b, k] · s[t-1, b, j]
        g_weight = gx[1:].reshape(-1, size).T @ s[:-1].reshape(-1, size)
        return gx, g_weight, ga, gb, gth, gw, None


def recurrent_scan(x: torch.Tensor, weights: Sequence[torch.Tensor], p: NeuronParams,
                   mode: ScanMode = FLOAT) -> torch.Tensor:
    """The spikes and gradients of :func:`reference_recurrent_scan`, from the fused CPU
    kernels (on other devices, or for other dtypes than float32, the loop itself)."""
    if x.device.type != "cpu" or x.dtype != torch.float32 or not weights:
        return reference_recurrent_scan(x, weights, p, mode)
    weight = weights[0] if len(weights) == 1 else torch.stack(list(weights)).sum(0)
    return _RecurrentScan.apply(x, weight, p.alpha, p.beta, p.theta, p.w_self, mode)
