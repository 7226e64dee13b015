"""CUDA kernels of the fused scan in Triton (same maths and contract as :mod:`.scan_cpu`).

Each program owns a block of contiguous neurons (of the flattened ``batch × size``) and
walks over time; loads and stores of one timestep are coalesced. The scan is bound by
memory latency, not arithmetic: a thread's next load does not depend on its state, so
both kernels issue the loads of the coming timestep before computing the current one
(a register double buffer), and the backward pass keeps each step's ``v`` and ``I`` in
registers for the next (earlier) step instead of reading them twice. Only ``s``, ``I``
and ``v`` before the reset are stored: the reset value and the spike are recomputed from
them exactly (``s = v > θ`` on the same float32 numbers). Only imported on CUDA.
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
    x_now = tl.load(x + m, mask=mask, other=0.0)
    x_next = tl.load(x + m_total + m, mask=mask & (m_total + m < end), other=0.0)
    for t in range(steps):
        offs = t * m_total + m
        ahead = offs + 2 * m_total
        x_later = tl.load(x + ahead, mask=mask & (ahead < end), other=0.0)
        d = i * a
        if QUANT:
            d = tl.floor(d + 0.5)
        i = (d + x_now) + w * sp
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
        x_now = x_next
        x_next = x_later


@triton.jit
def _backward_kernel(gs, i_all, v_pre, alpha, beta, theta, w_self,
                     gx, ga, gb, gth, gw, steps, m_total, size, unit, slope,
                     BLOCK: tl.constexpr):
    m = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = m < m_total
    n = m % size
    a_f = tl.load(alpha + n, mask=mask, other=0.0)
    b_f = tl.load(beta + n, mask=mask, other=0.0)
    th = tl.load(theta + n, mask=mask, other=0.0)
    w = tl.load(w_self + n, mask=mask, other=0.0)
    a_next = tl.zeros([BLOCK], dtype=tl.float32)
    b_next = tl.zeros([BLOCK], dtype=tl.float32)
    da = tl.zeros([BLOCK], dtype=tl.float32)
    db = tl.zeros([BLOCK], dtype=tl.float32)
    dth = tl.zeros([BLOCK], dtype=tl.float32)
    dw = tl.zeros([BLOCK], dtype=tl.float32)
    last = (steps - 1) * m_total + m
    v_now = tl.load(v_pre + last, mask=mask, other=0.0)
    g_now = tl.load(gs + last, mask=mask, other=0.0)
    # Values of step t-1 (read while step t is computed): v, I and the incoming gradient.
    has_prev = mask & (last >= m_total)
    v_prev = tl.load(v_pre + last - m_total, mask=has_prev, other=0.0)
    i_prev = tl.load(i_all + last - m_total, mask=has_prev, other=0.0)
    g_prev = tl.load(gs + last - m_total, mask=has_prev, other=0.0)
    for k in range(steps):
        offs = last - k * m_total
        before = offs - 2 * m_total
        has_before = mask & (before >= 0)
        v_before = tl.load(v_pre + before, mask=has_before, other=0.0)
        i_before = tl.load(i_all + before, mask=has_before, other=0.0)
        g_before = tl.load(gs + before, mask=has_before, other=0.0)
        h = (v_now - th) * unit
        q = 1.0 + slope * tl.abs(h)
        surrogate = unit / (q * q)
        g = g_now + w * a_next
        b = surrogate * g + tl.where(v_now > th, 0.0, b_f * b_next)
        a = a_f * a_next + b
        tl.store(gx + offs, a, mask=mask)
        fired_prev = (v_prev > th) & mask & (offs >= m_total)
        da += a * i_prev
        db += b * tl.where(fired_prev, 0.0, v_prev)
        dw += a * tl.where(fired_prev, 1.0, 0.0)
        dth -= surrogate * g
        a_next = a
        b_next = b
        v_now = v_prev
        g_now = g_prev
        v_prev = v_before
        i_prev = i_before
        g_prev = g_before
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
             beta: torch.Tensor, theta: torch.Tensor, w_self: torch.Tensor, unit: float,
             slope: float) -> tuple[torch.Tensor, ...]:
    """``dL/dx`` ``(T, B, N)`` and the per-neuron gradients of α, β, θ, w_self ``(N,)``."""
    steps, batch, size = gs.shape
    m_total = batch * size
    gx = torch.empty_like(i)
    per_neuron = [torch.empty(m_total, dtype=torch.float32, device=i.device) for _ in range(4)]
    grid = (triton.cdiv(m_total, _BLOCK),)
    _backward_kernel[grid](gs.float().contiguous(), i, v_pre, alpha, beta, theta, w_self,
                           gx, *per_neuron, steps, m_total, size, unit, slope, BLOCK=_BLOCK)
    return (gx, *(g.reshape(batch, size).sum(0) for g in per_neuron))
