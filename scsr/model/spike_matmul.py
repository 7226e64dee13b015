"""``y = x @ W.T`` for binary spike inputs ``x``, spike-sparse on CPU.

Every projection input in the §3 network is a 0/1 spike tensor, mostly zeros (≈ 10 % active
in ``benchmarks/train_speed.py``, less in trained nets), so on CPU the dense matmul spends
most of its time multiplying by zero. :func:`spike_matmul` instead adds one row of ``W.T``
per active input (forward) and scatters the output gradient into the active inputs' columns
(weight gradient); kernels in :mod:`scsr.model.spike_matmul_cpu`. ``dL/dx`` is the dense
``grad_y @ W`` and is computed only when ``x`` requires a gradient (hidden layers' spikes
do; the data input does not).

When the sparse path is taken — and why it is safe:

- CPU, float32 ``x`` and ``W``, and not disabled by ``SCSR_DENSE_MATMUL=1`` (for A/B
  timing); CUDA and every other case keep the dense torch matmul.
- Every entry of ``x`` is 0 or 1: checked in the same pass that counts the active inputs,
  so a non-binary input can never go through the sparse path silently; it falls back.
- The density is at most :data:`DENSE_ABOVE` (the measured crossover, see
  ``docs/training.md``); above it dense BLAS wins. And the product is big enough
  (:data:`MIN_WORK` in all, :data:`MIN_ROW_WORK` per row): a small one costs more in
  kernel calls and per-row work than it saves.

QAT weights are integers × 2^-k whose partial sums stay below 2^24, so the sparse forward
is bit-identical to the dense one there; in float mode the sums differ only by rounding
order.
"""

from __future__ import annotations

import os

import numpy as np
import torch

#: Input density (active fraction) above which the dense matmul is used on CPU.
DENSE_ABOVE = 0.3
#: Smallest product (rows × C × N multiply-adds of the dense matmul) that goes sparse: below
#: it the kernel calls and the CSR cost more than the dense matmul saves (measured: 0.36
#: against 0.18 ms at 1600 × 32 → 48, break-even near 1600 × 96 → 96 = 15M).
MIN_WORK = 1 << 24
#: Smallest ``C × N`` that goes sparse, however many rows: on narrow layers the per-row work
#: (reading C inputs, a few short rows of ``W.T``) costs more than a small dense row product
#: (measured at 25600 rows: 48 → 48 forward 3.2 against 2.0 ms dense; 96 → 96 6.8 against
#: 8.9 ms, and 9.9 against 15.8 ms with the backward).
MIN_ROW_WORK = 1 << 13
#: Environment variable that forces the dense matmul everywhere (``1``), for A/B timing.
FORCE_DENSE = "SCSR_DENSE_MATMUL"


class _SpikeMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, rows, counts, threads):  # type: ignore[override]
        from . import spike_matmul_cpu

        y, offsets, index = spike_matmul_cpu.gather(rows, weight, counts, threads)
        ctx.save_for_backward(weight)
        ctx.threads = threads
        ctx.csr = (offsets, index)
        ctx.channels = x.shape[-1]
        return y.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx, grad_y):  # type: ignore[override]
        from . import spike_matmul_cpu

        (weight,) = ctx.saved_tensors
        flat = grad_y.reshape(-1, grad_y.shape[-1])
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = (flat @ weight).reshape(*grad_y.shape[:-1], ctx.channels)
        if ctx.needs_input_grad[1]:
            grad_w = spike_matmul_cpu.scatter(flat, *ctx.csr, ctx.channels, ctx.threads)
        return grad_x, grad_w, None, None, None


def sparse_enabled() -> bool:
    """False when ``SCSR_DENSE_MATMUL=1`` forces the dense matmul."""
    return os.environ.get(FORCE_DENSE, "0") in ("", "0")


def spike_matmul(x: torch.Tensor, weight: torch.Tensor, dense_above: float | None = None,
                 min_work: int | None = None) -> torch.Tensor:
    """``x @ weight.T`` for ``x`` ``(..., C)`` and ``weight`` ``(N, C)``; spike-sparse where
    that is safe and faster (see the module docstring), the dense torch matmul otherwise.

    ``dense_above`` and ``min_work`` override :data:`DENSE_ABOVE` and the size rule
    (:data:`MIN_WORK`, :data:`MIN_ROW_WORK`); ``1.0`` and ``0`` send every binary float32
    CPU input through the sparse path (tests and the benchmark use that).
    """
    if x.device.type != "cpu" or weight.device.type != "cpu":
        return x @ weight.T
    from . import spike_matmul_cpu  # on CPU even when dense: it keeps torch's thread count

    dense_above = DENSE_ABOVE if dense_above is None else dense_above
    work = x.numel() * weight.shape[0]
    big = (work >= MIN_WORK and weight.numel() >= MIN_ROW_WORK if min_work is None
           else work >= min_work)
    if (x.dtype != torch.float32 or weight.dtype != torch.float32 or x.numel() == 0
            or not big or not sparse_enabled()):
        return x @ weight.T

    threads = torch.get_num_threads()  # kept for the backward, like the CSR
    rows = spike_matmul_cpu.as_rows(x)
    counts, bad = spike_matmul_cpu.count(rows, threads)
    if bad or int(np.sum(counts)) > dense_above * x.numel():
        return x @ weight.T
    return _SpikeMatmul.apply(x, weight, rows, counts, threads)
