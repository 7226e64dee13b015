"""One layer's step of design §4, split along the hardware's two phases.

Phase 1 (:func:`accumulate`) forms the exact integer sum of the weighted input spikes, as a
layer core does while it consumes incoming events. Phase 2 (:func:`update`) applies
self-recurrence, decay, saturation, threshold and reset, as a core does when it sweeps its
neurons at the end of a timestep. Both work on any leading batch dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .fixed import FixedPoint

#: Largest sums a float format adds exactly, whatever the order: 2^(mantissa bits + 1).
_FLOAT_EXACT = ((np.float32, 1 << 24), (np.float64, 1 << 53))


class LayerParams(NamedTuple):
    """Per-neuron integer parameters of one layer, shape ``(size,)``, in the work dtype."""

    alpha_q: np.ndarray
    beta_q: np.ndarray
    theta_q: np.ndarray
    w_self: np.ndarray


class LayerState(NamedTuple):
    """State of one layer at the end of a timestep (integer ``i``, ``v``; uint8 spikes ``s``).

    Returned new by :func:`update`, never changed in place: that is what keeps a
    ``delay = 1`` reader seeing the previous timestep's spikes.
    """

    i: np.ndarray
    v: np.ndarray
    s: np.ndarray

    @classmethod
    def zeros(cls, batch_shape: tuple[int, ...], size: int, dtype: type = np.int64) -> LayerState:
        """All state 0 (§4: ``I``, ``V`` start at 0; spikes at ``t < 0`` are 0)."""
        shape = (*batch_shape, size)
        return cls(np.zeros(shape, dtype), np.zeros(shape, dtype), np.zeros(shape, np.uint8))


def sum_bound(weights: Sequence[np.ndarray]) -> int:
    """``max_i Σ_p Σ_j |W_p[i, j]|``: spikes are 0/1, so no partial sum of
    :func:`accumulate` can be larger in magnitude."""
    return sum(int(np.abs(np.asarray(w, np.int64)).sum(axis=1).max(initial=0)) for w in weights)


def matmul_dtype(bound: int) -> type:
    """The cheapest dtype whose matrix product is the exact integer sum below ``bound``.

    A float format adds integers exactly while every partial sum stays below 2^(p+1)
    (``p`` mantissa bits), in any summation order, so BLAS may be used; int64 otherwise.
    """
    for dtype, limit in _FLOAT_EXACT:
        if bound < limit:
            return dtype
    return np.int64


def work_dtype(fp: FixedPoint, acc_bound: int) -> type:
    """The narrowest integer dtype in which :func:`update` is exact for these widths.

    int32 holds ``I·alpha_q + 2^(F-1)`` when ``Bs + F ≤ 31`` and ``decay(I) + acc +
    w_self`` when ``2^(Bs-1) + acc_bound + 2^(Bw-1) < 2^31``; int64 always does (§4 bounds
    the product by ``Bs + F ≤ 48`` bits).
    """
    limit = 1 << 31
    fits = (fp.state_bits + fp.decay_bits <= 31
            and -fp.s_min + acc_bound - fp.w_min < limit)
    return np.int32 if fits else np.int64


def accumulate(
    inputs: Sequence[np.ndarray],
    weights: Sequence[np.ndarray],
    dtype: type | None = None,
    out_dtype: type = np.int64,
) -> np.ndarray:
    """Phase 1: ``acc = Σ_p Σ_j W_p[i,j] · x_src(p)[j]``, the exact integer sum (§4).

    Parameters
    ----------
    inputs : sequence of arrays, each ``(..., n_src)`` of 0/1
        The source spikes each projection reads (already chosen for its delay).
    weights : sequence of arrays, each ``(size, n_src)``
        The matching weight matrices (integers, or already converted to ``dtype``).
    dtype : type, optional
        Arithmetic of the products; by default the exact cheapest, :func:`matmul_dtype`.
    out_dtype : type
        Integer type of the result; the caller guarantees the sums fit (int64 always does,
        int32 when :func:`work_dtype` chose it for this bound).

    Returns
    -------
    np.ndarray
        ``(..., size)`` integers. No saturation or wrap-around happens here.
    """
    if not weights:
        raise ValueError("accumulate needs at least one projection")
    if dtype is None:
        dtype = matmul_dtype(sum_bound(weights))
    pairs = iter(zip(inputs, weights, strict=True))
    total = _matmul(*next(pairs), dtype)
    for x, w in pairs:
        total += _matmul(x, w, dtype)  # in place: no copy per projection
    return total.astype(out_dtype)


def _matmul(x: np.ndarray, w: np.ndarray, dtype: type) -> np.ndarray:
    """``x @ w.T`` over any leading dimensions, as one 2-D product (one BLAS call)."""
    x = np.asarray(x, dtype)
    lead = x.shape[:-1]
    return (x.reshape(-1, x.shape[-1]) @ np.asarray(w, dtype).T).reshape(*lead, w.shape[0])


def update(state: LayerState, acc: np.ndarray, params: LayerParams, fp: FixedPoint) -> LayerState:
    """Phase 2 of §4 for every neuron of a layer; returns the new state.

    Arithmetic happens in the dtype of ``state`` and ``params``, which must be wide enough
    (:func:`work_dtype`); ``acc`` is cast to it.

    Implements, with ``s[t-1]`` the spikes in ``state``::

        acc  += w_self[i] · s_l[t-1][i]
        I[i] = sat( decay(I[i], alpha_q[i]) + acc )
        v    = sat( decay(V[i], beta_q[i]) + I[i] )
        s_l[t][i] = 1 if v > theta_q[i] else 0
        V[i] = 0 if s_l[t][i] else v
    """
    total = acc.astype(state.i.dtype, copy=False) + params.w_self * state.s
    i = fp.sat(fp.decay(state.i, params.alpha_q) + total)
    v = fp.sat(fp.decay(state.v, params.beta_q) + i)
    fired = v > params.theta_q
    return LayerState(i=i, v=np.where(fired, 0, v), s=fired.view(np.uint8))
