"""CUDA kernels of the fused scan in Triton (same maths and contract as :mod:`.scan_cpu`).

Each program owns a block of contiguous neurons (of the flattened ``batch × size``) and
walks over time; loads and stores of one timestep are coalesced. Only imported on CUDA.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

_BLOCK = 256


@triton.jit
def _forward_kernel(x, alpha, beta, theta, w_self, s_out, i_out, vpre_out, vpost_out,
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
    for t in range(steps):
        offs = t * m_total + m
        d = i * a
        if QUANT:
            d = tl.floor(d + 0.5)
        i = (d + tl.load(x + offs, mask=mask, other=0.0)) + w * sp
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
        tl.store(vpost_out + offs, v, mask=mask)


@triton.jit
def _backward_kernel(gs, s, i_all, v_pre, v_post, alpha, beta, theta, w_self,
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
    for k in range(steps):
        t = steps - 1 - k
        offs = t * m_total + m
        h = (tl.load(v_pre + offs, mask=mask, other=0.0) - th) * unit
        q = 1.0 + slope * tl.abs(h)
        surrogate = unit / (q * q)
        g = tl.load(gs + offs, mask=mask, other=0.0) + w * a_next
        b = surrogate * g + (1.0 - tl.load(s + offs, mask=mask, other=0.0)) * b_f * b_next
        a = a_f * a_next + b
        tl.store(gx + offs, a, mask=mask)
        prev = offs - m_total
        has_prev = mask & (t > 0)
        da += a * tl.load(i_all + prev, mask=has_prev, other=0.0)
        db += b * tl.load(v_post + prev, mask=has_prev, other=0.0)
        dw += a * tl.load(s + prev, mask=has_prev, other=0.0)
        dth -= surrogate * g
        a_next = a
        b_next = b
    tl.store(ga + m, da, mask=mask)
    tl.store(gb + m, db, mask=mask)
    tl.store(gth + m, dth, mask=mask)
    tl.store(gw + m, dw, mask=mask)


def forward(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, theta: torch.Tensor,
            w_self: torch.Tensor, quant: bool, lo: float, hi: float
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Spikes, ``I``, ``v`` before and ``V`` after the reset, all ``(T, B, N)`` float32."""
    x = x.float().contiguous()
    steps, batch, size = x.shape
    m_total = batch * size
    outs = [torch.empty_like(x) for _ in range(4)]
    grid = (triton.cdiv(m_total, _BLOCK),)
    _forward_kernel[grid](x, *(p.float().contiguous() for p in (alpha, beta, theta, w_self)),
                          *outs, steps, m_total, size, lo, hi, QUANT=quant, BLOCK=_BLOCK)
    return tuple(outs)  # type: ignore[return-value]


def backward(gs: torch.Tensor, s: torch.Tensor, i: torch.Tensor, v_pre: torch.Tensor,
             v_post: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor,
             theta: torch.Tensor, w_self: torch.Tensor, unit: float, slope: float
             ) -> tuple[torch.Tensor, ...]:
    """``dL/dx`` ``(T, B, N)`` and the per-neuron gradients of α, β, θ, w_self ``(N,)``."""
    steps, batch, size = gs.shape
    m_total = batch * size
    gx = torch.empty_like(s)
    per_neuron = [torch.empty(m_total, dtype=torch.float32, device=s.device) for _ in range(4)]
    grid = (triton.cdiv(m_total, _BLOCK),)
    _backward_kernel[grid](gs.float().contiguous(), s, i, v_pre, v_post, alpha, beta, theta,
                           w_self, gx, *per_neuron, steps, m_total, size, unit, slope,
                           BLOCK=_BLOCK)
    return (gx, *(g.reshape(batch, size).sum(0) for g in per_neuron))
