"""CUDA kernels of the fused scan in Triton (same maths and contract as :mod:`.scan_cpu`).

Each program owns a block of contiguous neurons (of the flattened ``batch × size``) and
walks over time; loads and stores of one timestep are coalesced. Arithmetic is negligible:
the scan is bound by memory latency, because only ``batch × size`` lanes run and each waits
for its own loads. A lane's loads never depend on its state, so ``tl.range(num_stages=…)``
lets Triton's pipeliner issue them eight timesteps ahead. On an H100, 16 × 500 × 4096,
that took the forward from 212 to 193 µs and the backward from 326 to 198 µs (against a
hand-written four-step register queue, same process), where a plain copy of one such array
takes 92 µs: both kernels now move their 525 MB at about 93 % of the copy's bandwidth. Only
``s``, ``I`` and ``v`` before the reset are stored: the reset value and the spike are
recomputed from them exactly (``s = v > θ`` on the same float32 numbers). Imported on
CUDA only; the tests also run both kernels in Triton's interpreter on the CPU
(``TRITON_INTERPRET=1``) against the numba ones, so they are checked without a GPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

#: Lanes per program, warps per program and loads in flight per lane (``tl.range`` stages),
#: tuned on an H100 at 16 × 500 × 4096 (``docs/history.md``, "Pipelined Triton kernels").
_BLOCK = 128
_WARPS = 2
_STAGES = 8


@triton.jit
def _forward_kernel(x, alpha, beta, theta, w_self, s_out, i_out, vpre_out,
                    steps, m_total, size, lo, hi, QUANT: tl.constexpr, BLOCK: tl.constexpr,
                    STAGES: tl.constexpr):
    m = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = m < m_total
    n = m % size
    a = tl.load(alpha + n, mask=mask, other=0.0)
    b = tl.load(beta + n, mask=mask, other=0.0)
    th = tl.load(theta + n, mask=mask, other=0.0)
    w = tl.load(w_self + n, mask=mask, other=0.0)
    i = tl.zeros([BLOCK], dtype=tl.float32)
    v = tl.zeros([BLOCK], dtype=tl.float32)
    sp = tl.zeros([BLOCK], dtype=tl.float32)
    for t in tl.range(0, steps, num_stages=STAGES):
        offs = t * m_total + m
        xt = tl.load(x + offs, mask=mask, other=0.0)
        d = i * a  # §4: I = sat(decay(I, alpha_q) + acc + w_self·s[t-1])
        if QUANT:
            d = tl.floor(d + 0.5)
        i = (d + xt) + w * sp
        if QUANT:
            i = tl.minimum(tl.maximum(i, lo), hi)
        d = v * b  # §4: v = sat(decay(V, beta_q) + I)
        if QUANT:
            d = tl.floor(d + 0.5)
        vp = d + i
        if QUANT:
            vp = tl.minimum(tl.maximum(vp, lo), hi)
        fired = vp > th  # §4: s = v > theta_q; V = 0 if s else v
        sp = tl.where(fired, 1.0, 0.0)
        v = tl.where(fired, 0.0, vp)
        tl.store(s_out + offs, sp, mask=mask)
        tl.store(i_out + offs, i, mask=mask)
        tl.store(vpre_out + offs, vp, mask=mask)


@triton.jit
def _backward_kernel(gs, i_all, v_pre, alpha, beta, theta, w_self, unit,
                     gx, per_neuron, steps, m_total, size, slope,
                     BLOCK: tl.constexpr, STAGES: tl.constexpr):
    m = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = m < m_total
    n = m % size
    a_f = tl.load(alpha + n, mask=mask, other=0.0)
    b_f = tl.load(beta + n, mask=mask, other=0.0)
    th = tl.load(theta + n, mask=mask, other=0.0)
    w = tl.load(w_self + n, mask=mask, other=0.0)
    u = tl.load(unit + n, mask=mask, other=0.0)
    a_next = tl.zeros([BLOCK], dtype=tl.float32)
    b_next = tl.zeros([BLOCK], dtype=tl.float32)
    da = tl.zeros([BLOCK], dtype=tl.float32)
    db = tl.zeros([BLOCK], dtype=tl.float32)
    dth = tl.zeros([BLOCK], dtype=tl.float32)
    dw = tl.zeros([BLOCK], dtype=tl.float32)
    last = (steps - 1) * m_total + m
    # Step t needs v and the incoming gradient of t, and v and I of t-1. Every load is
    # addressed by t alone (v of t-1 is loaded again rather than carried over, an L2 hit),
    # so the pipeliner can issue them STAGES steps ahead.
    for k in tl.range(0, steps, num_stages=STAGES):
        offs = last - k * m_total
        ok = mask & (offs >= m_total)
        v0 = tl.load(v_pre + offs, mask=mask, other=0.0)
        g0 = tl.load(gs + offs, mask=mask, other=0.0)
        v1 = tl.load(v_pre + offs - m_total, mask=ok, other=0.0)
        i1 = tl.load(i_all + offs - m_total, mask=ok, other=0.0)
        h = (v0 - th) * u
        q = 1.0 + slope * tl.abs(h)
        surrogate = u / (q * q)
        g = g0 + w * a_next
        b = surrogate * g + tl.where(v0 > th, 0.0, b_f * b_next)
        a = a_f * a_next + b
        tl.store(gx + offs, a, mask=mask)
        fired_prev = (v1 > th) & ok
        da += a * i1
        db += b * tl.where(fired_prev, 0.0, v1)
        dw += a * tl.where(fired_prev, 1.0, 0.0)
        dth -= surrogate * g
        a_next = a
        b_next = b
    tl.store(per_neuron + m, da, mask=mask)
    tl.store(per_neuron + m_total + m, db, mask=mask)
    tl.store(per_neuron + 2 * m_total + m, dth, mask=mask)
    tl.store(per_neuron + 3 * m_total + m, dw, mask=mask)


def _launch(kernel, m_total: int, *args, **constants) -> None:
    """One program per ``_BLOCK`` lanes, at the tuned warp count and pipeline depth."""
    grid = (triton.cdiv(m_total, _BLOCK),)
    kernel[grid](*args, BLOCK=_BLOCK, STAGES=_STAGES, num_warps=_WARPS, **constants)


def forward(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, theta: torch.Tensor,
            w_self: torch.Tensor, quant: bool, lo: float, hi: float
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Spikes, ``I`` and ``v`` before the reset, all ``(T, B, N)`` float32."""
    x = x.float().contiguous()
    steps, batch, size = x.shape
    m_total = batch * size
    outs = [torch.empty_like(x) for _ in range(3)]
    _launch(_forward_kernel, m_total, x,
            *(p.float().contiguous() for p in (alpha, beta, theta, w_self)),
            *outs, steps, m_total, size, lo, hi, QUANT=quant)
    return tuple(outs)  # type: ignore[return-value]


def backward(gs: torch.Tensor, i: torch.Tensor, v_pre: torch.Tensor, alpha: torch.Tensor,
             beta: torch.Tensor, theta: torch.Tensor, w_self: torch.Tensor, unit: torch.Tensor,
             slope: float) -> tuple[torch.Tensor, ...]:
    """``dL/dx`` ``(T, B, N)`` and the per-neuron gradients of α, β, θ, w_self ``(N,)``
    (``unit`` ``(N,)``: the surrogate's unit per neuron)."""
    steps, batch, size = gs.shape
    m_total = batch * size
    gx = torch.empty_like(i)
    per_neuron = torch.empty(4, batch, size, dtype=torch.float32, device=i.device)
    _launch(_backward_kernel, m_total, gs.float().contiguous(), i, v_pre, alpha, beta, theta,
            w_self, unit.float().contiguous(), gx, per_neuron, steps, m_total, size, slope)
    return (gx, *per_neuron.sum(1).unbind(0))
