"""CPU kernels of the spike-sparse matmul ``y = x @ W.T`` (see :mod:`scsr.model.spike_matmul`).

The input arrives as :class:`Rows`, a C-contiguous 3-d array plus a flag, so that the
network's ``(T, B, C)`` view of a ``(B, T, C)`` input needs no copy and every row is a
contiguous vector (a strided numba array does not vectorise: counting took 5.3 ms instead
of 0.4 ms at 8000 × 512, measured). The active inputs of all rows are kept in CSR form
(``offsets``, ``index``), found once in the forward pass and reused by the weight gradient.

- :func:`count` counts each row's non-zeros and the entries that are neither 0 nor 1 (one
  read of ``x``; the caller falls back to the dense matmul when any exist or the density is
  above the crossover).
- :func:`gather` fills the CSR index and adds, per row, one contiguous row of ``W.T`` per
  active input: parallel over rows, each writes only its own output row. Four rows of
  ``W.T`` are summed per pass over the output row (a quarter of the loads and stores of
  the output: 17 ms instead of 23 ms at 8000 × 512 → 512, 10 % active, one thread).
- :func:`scatter` computes ``(dL/dW).T``: each active ``(r, c)`` adds the output-gradient
  row ``r`` into row ``c``. Parallel over blocks of output columns, one per thread, each
  a contiguous ``(C, width)`` array: no two threads write the same float, and the inner
  loop vectorises (a strided ``(C, N)`` column block ran 4× slower, measured).

On integer-valued weights (QAT: integers × 2^-k) every partial sum is exact in float32
whatever the order, so the result equals the dense matmul bit for bit; in float mode the
order (groups of four inputs, increasing ``c``) makes it differ by rounding only.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import torch

from .numba_threads import use_threads


@numba.njit(cache=True, nogil=True, inline="always")
def _row(x, swap, r):
    """Row ``r`` of the flattened input (see :func:`as_rows`): a contiguous view."""
    outer = x.shape[0] if swap else x.shape[1]
    a = r // outer
    b = r - a * outer
    return x[b, a] if swap else x[a, b]


@numba.njit(parallel=True, cache=True, nogil=True)
def _count(x, swap, counts):
    bad = 0
    for r in numba.prange(counts.shape[0]):
        row = _row(x, swap, r)
        n = 0
        odd = 0
        for c in range(row.shape[0]):
            v = row[c]
            n += v != 0
            odd += (v != 0) & (v != 1)
        counts[r] = n
        bad += odd
    return bad


@numba.njit(parallel=True, cache=True, nogil=True)
def _gather(x, swap, wt, offsets, index, y):
    size = wt.shape[1]
    for r in numba.prange(y.shape[0]):
        row = _row(x, swap, r)
        pos = offsets[r]
        for c in range(row.shape[0]):
            if row[c] != 0:
                index[pos] = c
                pos += 1
        out = y[r]
        out[:] = 0
        j, end = offsets[r], offsets[r + 1]
        while j + 4 <= end:  # four rows of W.T per pass over the output row
            w0, w1, w2, w3 = wt[index[j]], wt[index[j + 1]], wt[index[j + 2]], wt[index[j + 3]]
            for k in range(size):
                out[k] += (w0[k] + w1[k]) + (w2[k] + w3[k])
            j += 4
        for i in range(j, end):
            w0 = wt[index[i]]
            for k in range(size):
                out[k] += w0[k]


@numba.njit(parallel=True, cache=True, nogil=True)
def _scatter(gy, offsets, index, blocks):
    rows = gy.shape[0]
    count, _, width = blocks.shape
    for blk in numba.prange(count):
        out = blocks[blk]
        out[:] = 0
        lo = blk * width
        for r in range(rows):
            src = gy[r, lo:lo + width]
            for j in range(offsets[r], offsets[r + 1]):
                dst = out[index[j]]
                for k in range(width):
                    dst[k] += src[k]


class Rows(NamedTuple):
    """A float32 input as C-contiguous ``base`` ``(P, Q, C)``: row ``r`` of the flattened
    ``(P·Q, C)`` input is ``base[r // Q, r % Q]``, or ``base[r % P, r // P]`` if ``swap``."""

    base: np.ndarray
    swap: bool

    @property
    def count(self) -> int:
        return self.base.shape[0] * self.base.shape[1]


def as_rows(x: torch.Tensor) -> Rows:
    """``x`` ``(..., C)`` as :class:`Rows`, without a copy for a contiguous input or the
    network's ``(T, B, C)`` transposed view of a contiguous ``(B, T, C)`` one."""
    x = x.detach()
    if x.dim() == 3 and not x.is_contiguous() and x.transpose(0, 1).is_contiguous():
        return Rows(x.transpose(0, 1).numpy(), True)
    return Rows(x.contiguous().reshape(-1, 1, x.shape[-1]).numpy(), False)


def count(rows: Rows, threads: int) -> tuple[np.ndarray, int]:
    """Per-row non-zero counts, and how many entries are neither 0 nor 1."""
    counts = np.empty(rows.count, np.int64)
    use_threads(rows.base.size, threads)
    bad = _count(rows.base, rows.swap, counts)
    return counts, int(bad)


def gather(rows: Rows, weight: torch.Tensor, counts: np.ndarray, threads: int
           ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``x @ W.T`` as ``(rows, N)`` for binary rows, with the CSR ``(offsets, index)`` of
    their active inputs (§4 phase 1: ``acc = Σ_j W[i,j]·s_src[j]``, summed over fired ``j``)."""
    offsets = np.zeros(counts.shape[0] + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    index = np.empty(int(offsets[-1]), np.int32)
    wt = weight.detach().t().contiguous()
    y = torch.empty((counts.shape[0], wt.shape[1]), dtype=torch.float32)
    use_threads(index.shape[0] * wt.shape[1], threads)
    _gather(rows.base, rows.swap, wt.numpy(), offsets, index, y.numpy())
    return y, offsets, index


def scatter(grad_y: torch.Tensor, offsets: np.ndarray, index: np.ndarray, channels: int,
            threads: int) -> torch.Tensor:
    """``dL/dW`` ``(N, C)`` from the output gradient ``(rows, N)`` and the CSR of ``x``.

    One block of output columns per thread, each a contiguous ``(C, width)`` array; the
    last block is padded with zero gradient columns so every block has the same width.
    """
    size = grad_y.shape[1]
    count = use_threads(index.shape[0] * size, threads)
    width = -(-size // count)
    gy = grad_y.detach().float().contiguous()
    if width * count != size:
        gy = torch.nn.functional.pad(gy, (0, width * count - size))
    blocks = torch.empty((count, channels, width), dtype=torch.float32)
    _scatter(gy.numpy(), offsets, index, blocks.numpy())
    return blocks.permute(0, 2, 1).reshape(count * width, channels)[:size].contiguous()
