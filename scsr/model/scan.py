"""The neuron dynamics of design §3 over time: one autograd step, and the fused scan.

A layer's input current from delay-0 projections (and delay-1 ones from other layers) does
not depend on the layer's own state, so it is computed for all ``T`` steps by one batched
matmul; what remains per neuron is this scan (``x`` is that input current)::

    I[t] = α ⊙ I[t-1] + x[t] + w_self ⊙ s[t-1]
    v    = β ⊙ V[t-1] + I[t]
    s[t] = H(v - θ)                    strict: a spike when v > θ
    V[t] = v ⊙ (1 - s[t])              hard reset to 0; the reset is not differentiated

In QAT mode (``quant`` given) everything is in integer units of the layer's scale ``σ`` and
the §4 integer operations are applied with straight-through gradients: the decay products
are rounded as ``(x·d + 2^(F-1)) >> F`` and ``I``/``v`` are saturated to ``[s_min, s_max]``.
Values are integers below 2^24 at 8/16/8 bits, so float32 computes them exactly.

Surrogate gradient of ``H``: SuperSpike's fast sigmoid, ``dH/dh ≈ 1 / (1 + slope·|h|)^2``
with ``h = (v - θ)·unit`` measured in float units (``unit = σ`` in QAT mode, 1 otherwise;
``σ / c`` per neuron for a neuron that QAT stretched by ``c``, see
:func:`scsr.model.quant.neuron_stretch`, so that its surrogate keeps the float model's shape).

:func:`lif_step` is the readable per-step reference (plain autograd); :func:`fused_scan`
computes the same spikes and gradients with one kernel call forward and one backward
(numba on CPU, Triton on CUDA).
"""

from __future__ import annotations

import importlib.util
from typing import NamedTuple

import torch

from golden_model import FixedPoint

from .quant import ste


class NeuronParams(NamedTuple):
    """Effective per-neuron parameters ``(size,)``: decays in ``[0, 1)``, ``θ``, ``w_self``."""

    alpha: torch.Tensor
    beta: torch.Tensor
    theta: torch.Tensor
    w_self: torch.Tensor


class LIFState(NamedTuple):
    """State at the end of a timestep, each ``(batch, size)``: current, membrane, spikes."""

    i: torch.Tensor
    v: torch.Tensor
    s: torch.Tensor


class ScanMode(NamedTuple):
    """How the dynamics are computed: float (``quant`` None) or §4 integer units."""

    quant: FixedPoint | None = None
    #: Float value of one state unit: a number for the whole layer, or one per neuron ``(N,)``.
    unit: float | torch.Tensor = 1.0
    slope: float = 5.0

    @property
    def bounds(self) -> tuple[float, float]:
        """The kernels' saturation range ``(s_min, s_max)``; unused (zeros) in float mode."""
        return (float(self.quant.s_min), float(self.quant.s_max)) if self.quant else (0.0, 0.0)

    def units(self, like: torch.Tensor) -> torch.Tensor:
        """``unit`` as the kernels take it: one float32 per neuron, shaped and placed like the
        per-neuron parameter ``like``."""
        if isinstance(self.unit, torch.Tensor):
            unit = self.unit.detach().to(dtype=torch.float32, device=like.device)
            return unit.expand(like.shape).contiguous()
        # A fill, not a host-to-device copy of a scalar: that copy would synchronise the
        # CUDA stream in the middle of the backward pass.
        return torch.full(like.shape, float(self.unit), dtype=torch.float32, device=like.device)


#: The float (training) mode with the default surrogate slope.
FLOAT = ScanMode()


class SpikeFn(torch.autograd.Function):
    """``H(h)`` forward; fast-sigmoid surrogate ``1 / (1 + slope·|h|)^2`` backward."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, slope: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(h)
        ctx.slope = slope
        return (h > 0).to(h.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (h,) = ctx.saved_tensors
        return grad / (1 + ctx.slope * h.abs()) ** 2, None


def _integer_ops(x: torch.Tensor, fp: FixedPoint | None) -> torch.Tensor:
    """§4's ``sat`` with a straight-through gradient (identity in float mode)."""
    return x if fp is None else ste(x, x.clamp(fp.s_min, fp.s_max))


def _decay(x: torch.Tensor, factor: torch.Tensor, fp: FixedPoint | None) -> torch.Tensor:
    """``x·factor``; in QAT mode rounded like §4's ``decay`` (``factor = d / 2^F``)."""
    y = x * factor
    return y if fp is None else ste(y, torch.floor(y + 0.5))


def lif_step(x: torch.Tensor, state: LIFState, p: NeuronParams,
             mode: ScanMode = FLOAT) -> tuple[torch.Tensor, LIFState]:
    """One timestep for a batch (plain autograd): ``s, state = lif_step(x, state, p)``."""
    i = _integer_ops(_decay(state.i, p.alpha, mode.quant) + x + p.w_self * state.s, mode.quant)
    v = _integer_ops(_decay(state.v, p.beta, mode.quant) + i, mode.quant)
    s = SpikeFn.apply((v - p.theta) * mode.unit, mode.slope)
    return s, LIFState(i, v * (1 - s.detach()), s)


def zero_state(batch: int, size: int, like: torch.Tensor) -> LIFState:
    """All-zero state (§3: all state is 0 at ``t = -1``)."""
    zero = like.new_zeros((batch, size))
    return LIFState(zero, zero, zero)


def reference_scan(x: torch.Tensor, p: NeuronParams, mode: ScanMode = FLOAT) -> torch.Tensor:
    """Spikes ``(T, B, N)`` for input currents ``(T, B, N)`` by looping :func:`lif_step`."""
    state = zero_state(x.shape[1], x.shape[2], x)
    out = []
    for t in range(x.shape[0]):
        s, state = lif_step(x[t], state, p, mode)
        out.append(s)
    return torch.stack(out)


class _FusedScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha, beta, theta, w_self, mode):  # type: ignore[override]
        kernels = kernel_module(x.device)
        x = x.detach().contiguous()
        lo, hi = mode.bounds
        params = [t.detach().contiguous().to(x.dtype) for t in (alpha, beta, theta, w_self)]
        s, i, v_pre = kernels.forward(x, *params, mode.quant is not None, lo, hi)
        ctx.save_for_backward(i, v_pre, *params)
        ctx.mode = mode
        return s

    @staticmethod
    def backward(ctx, grad_s):  # type: ignore[override]
        i, v_pre, alpha, beta, theta, w_self = ctx.saved_tensors
        mode = ctx.mode
        gx, ga, gb, gth, gw = kernel_module(grad_s.device).backward(
            grad_s.contiguous(), i, v_pre, alpha, beta, theta, w_self,
            mode.units(alpha), float(mode.slope))
        return gx, ga, gb, gth, gw, None


def fused_scan(x: torch.Tensor, p: NeuronParams, mode: ScanMode = FLOAT) -> torch.Tensor:
    """The same spikes and gradients as :func:`reference_scan`, from fused kernels.

    On CUDA without Triton installed this falls back to :func:`reference_scan`.
    """
    if x.device.type == "cuda" and importlib.util.find_spec("triton") is None:
        return reference_scan(x, p, mode)
    return _FusedScan.apply(x, p.alpha, p.beta, p.theta, p.w_self, mode)


def kernel_module(device: torch.device):
    """The kernel module for a device: numba on CPU, Triton on CUDA."""
    if device.type == "cuda":
        from . import scan_triton
        return scan_triton
    from . import scan_cpu
    return scan_cpu
