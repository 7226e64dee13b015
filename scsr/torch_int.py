"""The integer-exact torch path of design §4: the ``torch`` backend of ``scsr simulate``.

Same inputs and outputs as :func:`golden_model.simulate` and bit for bit the same arrays
(keys, dtypes, shapes, values), but batched in torch so it runs fast on many samples and on
a GPU when there is one. Ranges, the rounding constant and the widths come from the bundle's
:class:`~golden_model.fixed.FixedPoint`; nothing of §4 is re-typed here.

Two schedules, as in the golden model: without feedback projections every layer runs over
all timesteps before the next one, so all inputs that do not depend on the layer's own state
come from one matrix product (exact: see :func:`golden_model.neuron.matmul_dtype`); with
feedback the literal ``for t: for layer:`` order is used.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from golden_model import Bundle, FixedPoint, SimResult, predict
from golden_model.bundle import INPUT, Projection
from golden_model.neuron import matmul_dtype, sum_bound
from golden_model.simulate import has_feedback

_TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64, np.int64: torch.int64}


class IntState(NamedTuple):
    """One layer's state at the end of a timestep: int64 ``i``, ``v`` and 0/1 int64 ``s``."""

    i: torch.Tensor
    v: torch.Tensor
    s: torch.Tensor


class IntParams(NamedTuple):
    """Per-neuron int64 parameters of one layer, shape ``(size,)``."""

    alpha_q: torch.Tensor
    beta_q: torch.Tensor
    theta_q: torch.Tensor
    w_self: torch.Tensor


def decay(x: torch.Tensor, d: torch.Tensor, fp: FixedPoint) -> torch.Tensor:
    """``decay(x, d) = (x*d + 2^(F-1)) >> F``, arithmetic shift, exact in int64 (§4)."""
    return (x * d + fp.decay_half) >> fp.decay_bits


def sat(x: torch.Tensor, fp: FixedPoint) -> torch.Tensor:
    """``sat(x)``: clamp to ``[-2^(Bs-1), 2^(Bs-1) - 1]`` (§4)."""
    return x.clamp(fp.s_min, fp.s_max)


def update(state: IntState, acc: torch.Tensor, params: IntParams, fp: FixedPoint) -> IntState:
    """Phase 2 of §4 for a batch of one layer; returns the new state.

    Implements, with ``s[t-1]`` the spikes in ``state`` and ``acc`` the exact int64 sum::

        acc  += w_self[i] · s_l[t-1][i]
        I[i] = sat( decay(I[i], alpha_q[i]) + acc )
        v    = sat( decay(V[i], beta_q[i]) + I[i] )
        s_l[t][i] = 1 if v > theta_q[i] else 0
        V[i] = 0 if s_l[t][i] else v
    """
    i = sat(decay(state.i, params.alpha_q, fp) + acc + params.w_self * state.s, fp)
    v = sat(decay(state.v, params.beta_q, fp) + i, fp)
    fired = v > params.theta_q
    return IntState(i, torch.where(fired, torch.zeros_like(v), v), fired.long())


class _Plan(NamedTuple):
    """One layer's incoming projections with weights ready for an exact product."""

    incoming: tuple[Projection, ...]
    weights: dict[str, torch.Tensor]  # transposed, (n_src, size), in the matmul dtype
    dtype: torch.dtype
    params: IntParams

    @classmethod
    def of(cls, bundle: Bundle, layer: str, device: torch.device) -> _Plan:
        incoming = bundle.incoming(layer)
        dtype = _TORCH_DTYPE[matmul_dtype(sum_bound([bundle.weights(p) for p in incoming]))]
        weights = {p.weights: torch.as_tensor(bundle.weights(p).T.copy(), device=device)
                   .to(dtype) for p in incoming}
        params = IntParams(*(torch.as_tensor(np.asarray(bundle.param(layer, kind), np.int64),
                                             device=device)
                             for kind in ("alpha", "beta", "theta", "w_self")))
        return cls(incoming, weights, dtype, params)

    def accumulate(self, sources: list[tuple[torch.Tensor, Projection]]) -> torch.Tensor:
        """Phase 1: the exact sum ``Σ_p x_src(p) @ W_p.T`` as int64 (any leading dims)."""
        total = None
        for x, p in sources:
            part = x.to(self.dtype) @ self.weights[p.weights]
            total = part if total is None else total + part
        assert total is not None
        return total.long() if self.dtype != torch.int64 else total


class _Recorder:
    """Time-major spike history (always) and, if tracing, I and V traces."""

    def __init__(self, bundle: Bundle, steps: int, batch: int, trace: bool,
                 device: torch.device) -> None:
        self.trace = trace
        shape = {layer.name: (steps, batch, layer.size) for layer in bundle.layers}
        self.s = {n: torch.zeros(sh, dtype=torch.uint8, device=device) for n, sh in shape.items()}
        self.i = {n: torch.zeros(sh, dtype=torch.int32, device=device)
                  for n, sh in shape.items()} if trace else {}
        self.v = {n: torch.zeros(sh, dtype=torch.int32, device=device)
                  for n, sh in shape.items()} if trace else {}

    def record(self, layer: str, t: int, state: IntState) -> None:
        self.s[layer][t] = state.s
        if self.trace:
            self.i[layer][t] = state.i
            self.v[layer][t] = state.v

    def result(self, bundle: Bundle) -> SimResult:
        counts = self.s[bundle.output.name].sum(dim=0, dtype=torch.int32).cpu().numpy()

        def batch_major(traces: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
            return {n: np.ascontiguousarray(a.transpose(0, 1).cpu().numpy())
                    for n, a in traces.items()}

        return SimResult(counts, predict(counts), batch_major(self.s) if self.trace else {},
                         batch_major(self.i), batch_major(self.v))


def simulate(bundle: Bundle, spikes: np.ndarray, trace: bool = False,
             device: str | torch.device = "cpu") -> SimResult:
    """Run ``bundle`` on ``(batch, T, channels)`` 0/1 spikes; identical to the golden model.

    Parameters
    ----------
    bundle : Bundle
        A validated bundle.
    spikes : np.ndarray
        ``(batch, T, channels)`` 0/1 input spikes.
    trace : bool
        Also return every layer's spikes, ``I`` and ``V`` (int32) at every timestep.
    device : str or torch.device
        Where to compute (``cpu`` by default; ``cuda`` works: products stay exact).
    """
    x = np.asarray(spikes)
    if x.ndim != 3 or x.shape[2] != bundle.channels:
        raise ValueError(f"spikes must be (batch, T, {bundle.channels}), not {x.shape}")
    dev = torch.device(device)
    steps, batch = x.shape[1], x.shape[0]
    x_t = torch.as_tensor(np.ascontiguousarray(x.swapaxes(0, 1), dtype=np.uint8), device=dev)
    rec = _Recorder(bundle, steps, batch, trace, dev)
    plans = {layer.name: _Plan.of(bundle, layer.name, dev) for layer in bundle.layers}
    with torch.no_grad():
        if has_feedback(bundle):
            _run_timestep_major(bundle, x_t, plans, rec)
        else:
            _run_layer_major(bundle, x_t, plans, rec)
    return rec.result(bundle)


def _zeros(batch: int, size: int, device: torch.device) -> IntState:
    zero = torch.zeros((batch, size), dtype=torch.int64, device=device)
    return IntState(zero, zero, zero)


def _run_timestep_major(bundle: Bundle, x: torch.Tensor, plans: dict[str, _Plan],
                        rec: _Recorder) -> None:
    steps, batch, _ = x.shape
    dev = x.device
    states = {layer.name: _zeros(batch, layer.size, dev) for layer in bundle.layers}
    silent = torch.zeros_like(x[0])
    for t in range(steps):
        previous = {name: state.s for name, state in states.items()}
        previous[INPUT] = x[t - 1] if t > 0 else silent
        current: dict[str, torch.Tensor] = {INPUT: x[t]}
        for layer in bundle.layers:
            plan = plans[layer.name]
            acc = (plan.accumulate([((current if p.delay == 0 else previous)[p.src], p)
                                    for p in plan.incoming])
                   if plan.incoming else 0)
            states[layer.name] = update(states[layer.name], acc, plan.params,
                                        bundle.fixed_point)
            current[layer.name] = states[layer.name].s
            rec.record(layer.name, t, states[layer.name])


def _delayed(history: torch.Tensor, delay: int) -> torch.Tensor:
    """``x[t - delay]`` of a ``(T, B, n)`` history, zeros before ``t = 0``."""
    if delay == 0:
        return history
    shifted = torch.zeros_like(history)
    shifted[delay:] = history[:-delay]
    return shifted


def _run_layer_major(bundle: Bundle, x: torch.Tensor, plans: dict[str, _Plan],
                     rec: _Recorder) -> None:
    steps, batch, _ = x.shape
    dev = x.device
    history = {INPUT: x}
    for layer in bundle.layers:
        plan = plans[layer.name]
        own = [p for p in plan.incoming if p.src == layer.name]
        ext = [(_delayed(history[p.src], p.delay), p) for p in plan.incoming
               if p.src != layer.name]
        acc_ext = plan.accumulate(ext) if ext else None
        state = _zeros(batch, layer.size, dev)
        for t in range(steps):
            acc = acc_ext[t] if acc_ext is not None else 0
            if own:  # dense recurrence reads this layer's own spikes of t-1
                acc = acc + plan.accumulate([(state.s, p) for p in own])
            state = update(state, acc, plan.params, bundle.fixed_point)
            rec.record(layer.name, t, state)
        history[layer.name] = rec.s[layer.name]
