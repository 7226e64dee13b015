"""CPU kernels of the fused scan (see :mod:`scsr.model.scan` for the maths), in numba.

Neurons are independent within a layer, so the kernels run in parallel over blocks of
contiguous neurons and loop over time inside each block; every arithmetic step happens in
float32 in the same order as :func:`scsr.model.scan.lif_step`, so spikes are identical.
The backward pass is hand-derived BPTT over the saved ``I``, ``v`` (before reset) and ``V``
(after reset); with ``a = dL/dI[t]``, ``b = dL/dv[t]`` and ``G = dL/ds[t]``::

    G[t] = gS[t] + w_self · a[t+1]
    b[t] = H'(t) · G[t] + (1 - s[t]) · β · b[t+1]
    a[t] = α · a[t+1] + b[t]                      (= dL/dx[t])
    dα += a[t] I[t-1],  dβ += b[t] V[t-1],  dw_self += a[t] s[t-1],  dθ -= H'(t) G[t]

(STE: rounding and saturation pass gradients unchanged.)
"""

from __future__ import annotations

import numba
import numpy as np
import torch

_BLOCK = 512
#: Below this many neuron-steps a kernel runs on one thread: a parallel region costs a
#: thread hand-off, which on a busy machine can be far more than the work itself.
_PARALLEL_MIN = 1 << 22


def _threads(work: int) -> None:
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS if work >= _PARALLEL_MIN else 1)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)


@numba.njit(parallel=True, cache=True, nogil=True)
def _forward(x, alpha, beta, theta, w_self, quant, lo, hi, s, i_out, v_pre, v_post):
    steps, m_total = x.shape
    size = alpha.shape[0]
    per_row = (size + _BLOCK - 1) // _BLOCK
    for block in numba.prange(m_total // size * per_row):
        n0 = (block % per_row) * _BLOCK
        start = (block // per_row) * size + n0
        width = min(_BLOCK, size - n0)
        a_f = alpha[n0:n0 + width].copy()
        b_f = beta[n0:n0 + width].copy()
        th = theta[n0:n0 + width].copy()
        w = w_self[n0:n0 + width].copy()
        i = np.zeros(width, np.float32)
        v = np.zeros(width, np.float32)
        sp = np.zeros(width, np.float32)
        for t in range(steps):
            for k in range(width):
                m = start + k
                d = i[k] * a_f[k]
                if quant:
                    d = np.float32(np.floor(d + _HALF))
                ik = (d + x[t, m]) + w[k] * sp[k]
                if quant:
                    ik = min(max(ik, lo), hi)
                d = v[k] * b_f[k]
                if quant:
                    d = np.float32(np.floor(d + _HALF))
                vp = d + ik
                if quant:
                    vp = min(max(vp, lo), hi)
                fired = vp > th[k]
                sp[k] = _ONE if fired else _ZERO
                v[k] = _ZERO if fired else vp
                i[k] = ik
                s[t, m] = sp[k]
                i_out[t, m] = ik
                v_pre[t, m] = vp
                v_post[t, m] = v[k]


@numba.njit(parallel=True, cache=True, nogil=True)
def _backward(gs, s, i_all, v_pre, v_post, alpha, beta, theta, w_self, unit, slope,
              gx, ga, gb, gth, gw):
    steps, m_total = gs.shape
    size = alpha.shape[0]
    per_row = (size + _BLOCK - 1) // _BLOCK
    for block in numba.prange(m_total // size * per_row):
        n0 = (block % per_row) * _BLOCK
        start = (block // per_row) * size + n0
        width = min(_BLOCK, size - n0)
        a_f = alpha[n0:n0 + width].copy()
        b_f = beta[n0:n0 + width].copy()
        th = theta[n0:n0 + width].copy()
        w = w_self[n0:n0 + width].copy()
        a_next = np.zeros(width, np.float32)
        b_next = np.zeros(width, np.float32)
        da = np.zeros(width, np.float32)
        db = np.zeros(width, np.float32)
        dth = np.zeros(width, np.float32)
        dw = np.zeros(width, np.float32)
        for t in range(steps - 1, -1, -1):
            for k in range(width):
                m = start + k
                h = (v_pre[t, m] - th[k]) * unit
                q = _ONE + slope * abs(h)
                surrogate = unit / (q * q)
                g = gs[t, m] + w[k] * a_next[k]
                b = surrogate * g + (_ONE - s[t, m]) * b_f[k] * b_next[k]
                a = a_f[k] * a_next[k] + b
                gx[t, m] = a
                if t > 0:
                    da[k] += a * i_all[t - 1, m]
                    db[k] += b * v_post[t - 1, m]
                    dw[k] += a * s[t - 1, m]
                dth[k] -= surrogate * g
                a_next[k] = a
                b_next[k] = b
        for k in range(width):
            ga[start + k] = da[k]
            gb[start + k] = db[k]
            gth[start + k] = dth[k]
            gw[start + k] = dw[k]


def forward(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, theta: torch.Tensor,
            w_self: torch.Tensor, quant: bool, lo: float, hi: float
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Spikes, ``I``, ``v`` before and ``V`` after the reset, all ``(T, B, N)`` float32."""
    x = x.float()
    outs = [torch.empty_like(x) for _ in range(4)]
    _threads(x.numel())
    _forward(x.reshape(x.shape[0], -1).numpy(), *(p.float().numpy() for p in
                                                   (alpha, beta, theta, w_self)),
             quant, np.float32(lo), np.float32(hi),
             *(o.reshape(x.shape[0], -1).numpy() for o in outs))
    return tuple(outs)  # type: ignore[return-value]


def backward(gs: torch.Tensor, s: torch.Tensor, i: torch.Tensor, v_pre: torch.Tensor,
             v_post: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor,
             theta: torch.Tensor, w_self: torch.Tensor, unit: float, slope: float
             ) -> tuple[torch.Tensor, ...]:
    """``dL/dx`` ``(T, B, N)`` and the per-neuron gradients of α, β, θ, w_self ``(N,)``."""
    steps, batch, size = gs.shape
    flat = [t.float().reshape(steps, -1).numpy() for t in (gs, s, i, v_pre, v_post)]
    gx = torch.empty((steps, batch, size), dtype=torch.float32)
    _threads(gx.numel())
    per_neuron = [torch.empty(batch * size, dtype=torch.float32) for _ in range(4)]
    _backward(*flat, *(p.numpy() for p in (alpha, beta, theta, w_self)),
              np.float32(unit), np.float32(slope), gx.reshape(steps, -1).numpy(),
              *(g.numpy() for g in per_neuron))
    return (gx, *(g.reshape(batch, size).sum(0) for g in per_neuron))
