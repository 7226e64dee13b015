"""CPU kernels of the fused scan (see :mod:`scsr.model.scan` for the maths), in numba.

Neurons are independent, so the kernels run in parallel over the samples of the batch;
each walks over time with its row's state in three small arrays, and the innermost loop
runs over the row's contiguous neurons, where LLVM vectorises it (measured: 3× faster
than blocks of neurons with their own parameter copies). Every arithmetic step happens in
float32 in the same order as :func:`scsr.model.scan.lif_step`, so spikes are identical.
The backward pass is hand-derived BPTT over the saved ``I`` and ``v`` (before the reset);
the spike and the reset value ``V`` are recomputed from ``v`` exactly (``s = v > θ`` on the
same float32 numbers), which saves two of the five arrays the pass would otherwise stream.
With ``a = dL/dI[t]``, ``b = dL/dv[t]`` and ``G = dL/ds[t]``::

    G[t] = gS[t] + w_self · a[t+1]
    b[t] = H'(t) · G[t] + (1 - s[t]) · β · b[t+1]
    a[t] = α · a[t+1] + b[t]                      (= dL/dx[t])
    dα += a[t] I[t-1],  dβ += b[t] V[t-1],  dw_self += a[t] s[t-1],  dθ -= H'(t) G[t]

(STE: rounding and saturation pass gradients unchanged.)

Dense recurrence (:mod:`scsr.model.scan_rec`) is the same scan with one more input: the
row's spikes at ``t-1`` through a full matrix ``W`` (``weight``), added to ``x[t]`` before
the step (as the per-step loop adds it), summed over the fired neurons only (spikes are
binary and sparse); backward, ``G[t]`` gains ``(a[t+1] @ W)``. One kernel serves both scans:
``weight=None`` is a type of its own to numba, which compiles the recurrent lines out of
that specialisation (measured: as fast as the kernels were before the option).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from .numba_threads import use_threads

_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)


@numba.njit(inline="always")
def _rows_sum(coef, rows, out):
    """``out = coef @ rows``, skipping zero coefficients (binary spikes: a sum of rows)."""
    out[:] = _ZERO
    for j in range(coef.shape[0]):
        c = coef[j]
        if c != _ZERO:
            for k in range(out.shape[0]):
                out[k] += c * rows[j, k]


@numba.njit(parallel=True, cache=True, nogil=True)
def _forward(x, weight_t, alpha, beta, theta, w_self, quant, lo, hi, s, i_out, v_pre):
    steps, m_total = x.shape
    size = alpha.shape[0]
    for row in numba.prange(m_total // size):
        base = row * size
        i = np.zeros(size, np.float32)
        v = np.zeros(size, np.float32)
        sp = np.zeros(size, np.float32)
        rec = np.zeros(size, np.float32)
        for t in range(steps):
            if weight_t is not None:  # x[t] + s[t-1] @ W.T (None: pruned at compile time)
                _rows_sum(sp, weight_t, rec)
                for k in range(size):
                    rec[k] += x[t, base + k]
            for k in range(size):
                m = base + k
                # §4: I = sat(decay(I, alpha_q) + acc + w_self·s[t-1]), decay = floor(x·d + 1/2)
                d = i[k] * alpha[k]
                if quant:
                    d = np.float32(np.floor(d + _HALF))
                xk = x[t, m] if weight_t is None else rec[k]
                ik = (d + xk) + w_self[k] * sp[k]
                if quant:
                    ik = min(max(ik, lo), hi)
                d = v[k] * beta[k]  # §4: v = sat(decay(V, beta_q) + I)
                if quant:
                    d = np.float32(np.floor(d + _HALF))
                vp = d + ik
                if quant:
                    vp = min(max(vp, lo), hi)
                fired = vp > theta[k]  # §4: s = v > theta_q; V = 0 if s else v
                sp[k] = _ONE if fired else _ZERO
                v[k] = _ZERO if fired else vp
                i[k] = ik
                s[t, m] = sp[k]
                i_out[t, m] = ik
                v_pre[t, m] = vp


@numba.njit(parallel=True, cache=True, nogil=True)
def _backward(gs, i_all, v_pre, weight, alpha, beta, theta, w_self, unit, slope,
              gx, ga, gb, gth, gw):
    steps, m_total = gs.shape
    size = alpha.shape[0]
    for row in numba.prange(m_total // size):
        base = row * size
        a_next = np.zeros(size, np.float32)
        b_next = np.zeros(size, np.float32)
        da = np.zeros(size, np.float32)
        db = np.zeros(size, np.float32)
        dth = np.zeros(size, np.float32)
        dw = np.zeros(size, np.float32)
        rec = np.zeros(size, np.float32)
        for t in range(steps - 1, -1, -1):
            if weight is not None:  # dL/ds[t] gains dL/dI[t+1] @ W
                _rows_sum(a_next, weight, rec)
                for k in range(size):
                    rec[k] += gs[t, base + k]
            for k in range(size):
                m = base + k
                vp = v_pre[t, m]
                h = (vp - theta[k]) * unit[k]
                q = _ONE + slope * abs(h)
                surrogate = unit[k] / (q * q)
                g = (gs[t, m] if weight is None else rec[k]) + w_self[k] * a_next[k]
                # Selects, not branches, so that the loop over k vectorises.
                carry = beta[k] * b_next[k]  # no spike at t: the membrane carries over
                b = surrogate * g + (_ZERO if vp > theta[k] else carry)
                a = alpha[k] * a_next[k] + b
                gx[t, m] = a
                if t > 0:
                    da[k] += a * i_all[t - 1, m]
                    before = v_pre[t - 1, m]
                    fired = before > theta[k]  # spiked at t-1: V was reset to 0
                    dw[k] += a if fired else _ZERO
                    db[k] += _ZERO if fired else b * before
                dth[k] -= surrogate * g
                a_next[k] = a
                b_next[k] = b
        ga[base:base + size] = da
        gb[base:base + size] = db
        gth[base:base + size] = dth
        gw[base:base + size] = dw


def _matrix(weight: torch.Tensor | None) -> np.ndarray | None:
    """The recurrent matrix as the kernels take it: C-contiguous float32 (or None)."""
    return None if weight is None else weight.detach().float().contiguous().numpy()


def forward(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, theta: torch.Tensor,
            w_self: torch.Tensor, quant: bool, lo: float, hi: float,
            weight: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Spikes, ``I`` and ``v`` before the reset, all ``(T, B, N)`` float32; ``weight``
    ``(N, N)`` adds ``s[t-1] @ weight.T`` to ``x[t]`` (dense recurrence)."""
    x = x.float().contiguous()
    outs = [torch.empty_like(x) for _ in range(3)]
    use_threads(x.numel())
    _forward(x.reshape(x.shape[0], -1).numpy(), _matrix(None if weight is None else weight.T),
             *(p.float().numpy() for p in (alpha, beta, theta, w_self)),
             quant, np.float32(lo), np.float32(hi),
             *(o.reshape(x.shape[0], -1).numpy() for o in outs))
    return tuple(outs)  # type: ignore[return-value]


def backward(gs: torch.Tensor, i: torch.Tensor, v_pre: torch.Tensor, alpha: torch.Tensor,
             beta: torch.Tensor, theta: torch.Tensor, w_self: torch.Tensor, unit: torch.Tensor,
             slope: float, weight: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """``dL/dx`` ``(T, B, N)`` and the per-neuron gradients of α, β, θ, w_self ``(N,)``
    (``unit`` ``(N,)``: the surrogate's unit per neuron; ``weight`` as in :func:`forward`;
    its own gradient is left to the caller)."""
    steps, batch, size = gs.shape
    flat = [t.float().reshape(steps, -1).numpy() for t in (gs, i, v_pre)]
    gx = torch.empty((steps, batch, size), dtype=torch.float32)
    use_threads(gx.numel())
    per_neuron = [torch.empty(batch * size, dtype=torch.float32) for _ in range(4)]
    _backward(*flat, _matrix(weight),
              *(p.float().numpy() for p in (alpha, beta, theta, w_self, unit)),
              np.float32(slope), gx.reshape(steps, -1).numpy(), *(g.numpy() for g in per_neuron))
    return (gx, *(g.reshape(batch, size).sum(0) for g in per_neuron))
