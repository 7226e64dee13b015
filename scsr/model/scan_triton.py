"""CUDA kernels of the fused scan in Triton (same maths and contract as :mod:`.scan_cpu`).

Each program owns a block of contiguous neurons (of the flattened ``batch × size``) and
walks over time; loads and stores of one timestep are coalesced. The scan is bound by
memory latency, not arithmetic: a thread's next load does not depend on its state, so
both kernels keep the loads of the next four timesteps in flight while computing the
current one (a register queue: with two steps of look-ahead the scans of a 16 × 500 × 4096
layer took 0.65 ms on an H100), and the backward pass reads each step's ``v`` once. Only
``s``, ``I`` and ``v`` before the reset are stored: the reset value and the spike are
recomputed from them exactly (``s = v > θ`` on the same float32 numbers). Imported on
CUDA only; the tests also run both kernels in Triton's interpreter on the CPU
(``TRITON_INTERPRET=1``) against the numba ones, so they are checked without a GPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

_BLOCK = 128


@triton.jit
def _forward_kernel(x, alpha, beta, theta, w_self, s_out, i_out, vpre_out,
                    steps, m_total, size, lo, hi, QUANT: tl.constexpr, BLOCK: tl.constexpr):
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
    end = steps * m_total
    # x of the next _AHEAD steps, in flight while the current one is computed.
    x0 = tl.load(x + m, mask=mask, other=0.0)
    x1 = tl.load(x + m_total + m, mask=mask & (m_total + m < end), other=0.0)
    x2 = tl.load(x + 2 * m_total + m, mask=mask & (2 * m_total + m < end), other=0.0)
    x3 = tl.load(x + 3 * m_total + m, mask=mask & (3 * m_total + m < end), other=0.0)
    for t in range(steps):
        offs = t * m_total + m
        ahead = offs + 4 * m_total
        x4 = tl.load(x + ahead, mask=mask & (ahead < end), other=0.0)
        d = i * a
        if QUANT:
            d = tl.floor(d + 0.5)
        i = (d + x0) + w * sp
        if QUANT:
            i = tl.minimum(tl.maximum(i, lo), hi)
        d = v * b
        if QUANT:
            d = tl.floor(d + 0.5)
        vp = d + i
        if QUANT:
            vp = tl.minimum(tl.maximum(vp, lo), hi)
        fired = vp > th
        sp = tl.where(fired, 1.0, 0.0)
        v = tl.where(fired, 0.0, vp)
        tl.store(s_out + offs, sp, mask=mask)
        tl.store(i_out + offs, i, mask=mask)
        tl.store(vpre_out + offs, vp, mask=mask)
        x0 = x1
        x1 = x2
        x2 = x3
        x3 = x4


@triton.jit
def _backward_kernel(gs, i_all, v_pre, alpha, beta, theta, w_self, unit,
                     gx, ga, gb, gth, gw, steps, m_total, size, slope,
                     BLOCK: tl.constexpr):
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
    # Step t needs v and the incoming gradient g of t, and v and I of t-1; the loads of
    # the next four earlier steps are in flight meanwhile (suffix k = step t-k).
    v0 = tl.load(v_pre + last, mask=mask, other=0.0)
    g0 = tl.load(gs + last, mask=mask, other=0.0)
    ok = mask & (last >= m_total)
    v1 = tl.load(v_pre + last - m_total, mask=ok, other=0.0)
    i1 = tl.load(i_all + last - m_total, mask=ok, other=0.0)
    g1 = tl.load(gs + last - m_total, mask=ok, other=0.0)
    ok = mask & (last >= 2 * m_total)
    v2 = tl.load(v_pre + last - 2 * m_total, mask=ok, other=0.0)
    i2 = tl.load(i_all + last - 2 * m_total, mask=ok, other=0.0)
    g2 = tl.load(gs + last - 2 * m_total, mask=ok, other=0.0)
    ok = mask & (last >= 3 * m_total)
    v3 = tl.load(v_pre + last - 3 * m_total, mask=ok, other=0.0)
    i3 = tl.load(i_all + last - 3 * m_total, mask=ok, other=0.0)
    g3 = tl.load(gs + last - 3 * m_total, mask=ok, other=0.0)
    for k in range(steps):
        offs = last - k * m_total
        before = offs - 4 * m_total
        ok = mask & (before >= 0)
        v4 = tl.load(v_pre + before, mask=ok, other=0.0)
        i4 = tl.load(i_all + before, mask=ok, other=0.0)
        g4 = tl.load(gs + before, mask=ok, other=0.0)
        h = (v0 - th) * u
        q = 1.0 + slope * tl.abs(h)
        surrogate = u / (q * q)
        g = g0 + w * a_next
        b = surrogate * g + tl.where(v0 > th, 0.0, b_f * b_next)
        a = a_f * a_next + b
        tl.store(gx + offs, a, mask=mask)
        fired_prev = (v1 > th) & mask & (offs >= m_total)
        da += a * i1
        db += b * tl.where(fired_prev, 0.0, v1)
        dw += a * tl.where(fired_prev, 1.0, 0.0)
        dth -= surrogate * g
        a_next = a
        b_next = b
        v0 = v1
        g0 = g1
        v1 = v2
        i1 = i2
        g1 = g2
        v2 = v3
        i2 = i3
        g2 = g3
        v3 = v4
        i3 = i4
        g3 = g4
    tl.store(ga + m, da, mask=mask)
    tl.store(gb + m, db, mask=mask)
    tl.store(gth + m, dth, mask=mask)
    tl.store(gw + m, dw, mask=mask)


def forward(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, theta: torch.Tensor,
            w_self: torch.Tensor, quant: bool, lo: float, hi: float
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Spikes, ``I`` and ``v`` before the reset, all ``(T, B, N)`` float32."""
    x = x.float().contiguous()
    steps, batch, size = x.shape
    m_total = batch * size
    outs = [torch.empty_like(x) for _ in range(3)]
    grid = (triton.cdiv(m_total, _BLOCK),)
    _forward_kernel[grid](x, *(p.float().contiguous() for p in (alpha, beta, theta, w_self)),
                          *outs, steps, m_total, size, lo, hi, QUANT=quant, BLOCK=_BLOCK)
    return tuple(outs)  # type: ignore[return-value]


def backward(gs: torch.Tensor, i: torch.Tensor, v_pre: torch.Tensor, alpha: torch.Tensor,
             beta: torch.Tensor, theta: torch.Tensor, w_self: torch.Tensor, unit: torch.Tensor,
             slope: float) -> tuple[torch.Tensor, ...]:
    """``dL/dx`` ``(T, B, N)`` and the per-neuron gradients of α, β, θ, w_self ``(N,)``
    (``unit`` ``(N,)``: the surrogate's unit per neuron)."""
    steps, batch, size = gs.shape
    m_total = batch * size
    gx = torch.empty_like(i)
    per_neuron = [torch.empty(m_total, dtype=torch.float32, device=i.device) for _ in range(4)]
    grid = (triton.cdiv(m_total, _BLOCK),)
    _backward_kernel[grid](gs.float().contiguous(), i, v_pre, alpha, beta, theta, w_self,
                           unit.float().contiguous(), gx, *per_neuron, steps, m_total, size,
                           slope, BLOCK=_BLOCK)
    return (gx, *(g.reshape(batch, size).sum(0) for g in per_neuron))
