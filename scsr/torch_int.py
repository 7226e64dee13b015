"""The integer-exact torch path of design §4: the ``torch`` backend of ``scsr simulate``.

Same inputs and outputs as :func:`golden_model.simulate` and bit for bit the same arrays
(keys, dtypes, shapes, values), but batched in torch so it runs fast on many samples and on
a GPU when there is one. Ranges, the rounding constant and the widths come from the bundle's
:class:`~golden_model.fixed.FixedPoint`; nothing of §4 is re-typed here.

Two schedules, as in the golden model, both iterating :mod:`golden_model.schedule`'s plan:
without feedback projections every layer runs over
all timesteps before the next one, so all inputs that do not depend on the layer's own state
come from one matrix product over the whole batch and every timestep (exact: see
:func:`golden_model.neuron.matmul_dtype`), and the per-timestep loop updates preallocated
state tensors in place; with feedback the literal ``for t: for layer:`` order is used. State
is int32 wherever :func:`golden_model.neuron.work_dtype` shows §4's bounds allow it (int64
otherwise), which halves the memory traffic of the per-timestep update.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from golden_model import Bundle, FixedPoint, SimResult, predict
from golden_model.bundle import INPUT, Projection
from golden_model.neuron import matmul_dtype, sum_bound, work_dtype
from golden_model.schedule import LayerPlan, bundle_plan, reads_previous

_TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64, np.int64: torch.int64,
                np.int32: torch.int32}


class IntState(NamedTuple):
    """One layer's state at the end of a timestep: integer ``i``, ``v`` and 0/1 ``s``, all
    in the layer's work dtype (int32 or int64)."""

    i: torch.Tensor
    v: torch.Tensor
    s: torch.Tensor


class IntParams(NamedTuple):
    """Per-neuron parameters of one layer in its work dtype, shape ``(size,)``."""

    alpha_q: torch.Tensor
    beta_q: torch.Tensor
    theta_q: torch.Tensor
    w_self: torch.Tensor


def decay(x: torch.Tensor, d: torch.Tensor, fp: FixedPoint) -> torch.Tensor:
    """``decay(x, d) = (x*d + 2^(F-1)) >> F``, arithmetic shift, exact in the work dtype (§4)."""
    return (x * d + fp.decay_half) >> fp.decay_bits


def sat(x: torch.Tensor, fp: FixedPoint) -> torch.Tensor:
    """``sat(x)``: clamp to ``[-2^(Bs-1), 2^(Bs-1) - 1]`` (§4)."""
    return x.clamp(fp.s_min, fp.s_max)


def update(state: IntState, acc: torch.Tensor, params: IntParams, fp: FixedPoint) -> IntState:
    """Phase 2 of §4 for a batch of one layer; returns the new state.

    Implements, with ``s[t-1]`` the spikes in ``state`` and ``acc`` the exact sum::

        acc  += w_self[i] · s_l[t-1][i]
        I[i] = sat( decay(I[i], alpha_q[i]) + acc )
        v    = sat( decay(V[i], beta_q[i]) + I[i] )
        s_l[t][i] = 1 if v > theta_q[i] else 0
        V[i] = 0 if s_l[t][i] else v
    """
    i = sat(decay(state.i, params.alpha_q, fp) + acc + params.w_self * state.s, fp)
    v = sat(decay(state.v, params.beta_q, fp) + i, fp)
    fired = v > params.theta_q
    return IntState(i, v.masked_fill(fired, 0), fired.to(i.dtype))


class _InPlace:
    """:func:`update` on preallocated ``(batch, size)`` tensors, changed in place each
    timestep (the layer-major schedule: nothing else reads this layer's state while it runs;
    spikes are copied out by the caller). Same §4 lines as :func:`update`, same order; the
    reset multiplies ``V`` by the 0/1 "did not fire" mask (cheaper than a masked fill)."""

    def __init__(self, batch: int, params: IntParams, fp: FixedPoint) -> None:
        size, dtype, dev = params.theta_q.shape[0], params.theta_q.dtype, params.theta_q.device
        self.i = torch.zeros((batch, size), dtype=dtype, device=dev)
        self.v = torch.zeros_like(self.i)
        self.s = torch.zeros_like(self.i)  # s_l[t] (after step) in the work dtype, 0/1
        self.keep = torch.zeros_like(self.i)  # 1 - s
        self.tmp = torch.zeros_like(self.i)
        self.params, self.fp = params, fp
        self.self_recurrent = bool(params.w_self.any())

    def step(self, acc: torch.Tensor | None) -> torch.Tensor:
        """One timestep; ``acc`` ``(batch, size)`` exact integers (any dtype) or ``None``.
        Returns the 0/1 spikes of this timestep in the work dtype (valid until the next
        call)."""
        p, fp = self.params, self.fp
        i, v = self.i, self.v
        i.mul_(p.alpha_q).add_(fp.decay_half).bitwise_right_shift_(fp.decay_bits)
        if acc is not None:
            if acc.dtype == i.dtype:
                i.add_(acc)
            else:  # an exact float (or int64) sum: converted slice by slice, in cache
                self.tmp.copy_(acc)
                i.add_(self.tmp)
        if self.self_recurrent:  # w_self · s_l[t-1]
            torch.mul(self.s, p.w_self, out=self.tmp)
            i.add_(self.tmp)
        i.clamp_(fp.s_min, fp.s_max)
        v.mul_(p.beta_q).add_(fp.decay_half).bitwise_right_shift_(fp.decay_bits)
        v.add_(i).clamp_(fp.s_min, fp.s_max)
        torch.le(v, p.theta_q, out=self.keep)
        v.mul_(self.keep)
        torch.sub(1, self.keep, out=self.s)
        return self.s


#: Timesteps per block of the layer-major schedule: every buffer is ``(WINDOW, batch, size)``
#: and reused block after block, so it stays in cache and is never paged in afresh.
WINDOW = 16
#: Source neurons per lookup group of :class:`_Lookup` (one byte of spikes per group).
GROUP = 8
#: Projections from at least this many source neurons use :class:`_Lookup`; smaller ones
#: a plain matrix product (tests lower it to run the lookup on small bundles).
LOOKUP_MIN_SOURCES = 32


class _Lookup:
    """``x @ W`` for 0/1 spikes ``x`` by table lookup (the "four Russians" trick).

    Each group of :data:`GROUP` source neurons has a table of the 256 possible sums of its
    rows of ``W``; a timestep's spikes of the group are one byte, the index into the table,
    so a row of the product is ``n_src / 8`` table rows added (``embedding_bag``) instead
    of ``n_src`` multiply-adds. Exact: every table entry and every partial sum is an integer
    below :func:`~golden_model.neuron.sum_bound`, which ``matmul_dtype`` chose float32 for.
    """

    def __init__(self, w: torch.Tensor) -> None:
        n, size = w.shape
        self.pad = (-n) % GROUP
        groups = (n + self.pad) // GROUP
        wp = torch.cat([w, w.new_zeros((self.pad, size))]).reshape(groups, GROUP, size)
        codes = torch.arange(256, device=w.device)
        bits = ((codes[:, None] >> torch.arange(GROUP, device=w.device)) & 1).to(w.dtype)
        self.table = (bits @ wp).reshape(groups * 256, size)  # (groups, 256, size) flat
        self.offsets = torch.arange(groups, device=w.device) * 256
        self.weights = (2.0 ** torch.arange(GROUP, device=w.device)).to(w.dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1]).to(self.table.dtype)
        if self.pad:
            flat = torch.nn.functional.pad(flat, (0, self.pad))
        index = (flat.reshape(flat.shape[0], -1, GROUP) @ self.weights).long() + self.offsets
        return torch.nn.functional.embedding_bag(index, self.table, mode="sum")


class _Arithmetic(NamedTuple):
    """One layer of the plan with its weights ready for an exact product."""

    step: LayerPlan
    weights: dict[str, torch.Tensor]  # transposed, (n_src, size), in the matmul dtype
    lookups: dict[str, _Lookup]  # the projections that :class:`_Lookup` computes
    dtype: torch.dtype
    work: torch.dtype
    params: IntParams

    @classmethod
    def of(cls, bundle: Bundle, step: LayerPlan, device: torch.device) -> _Arithmetic:
        incoming = step.incoming
        bound = sum_bound([bundle.weights(p) for p in incoming])
        dtype = _TORCH_DTYPE[matmul_dtype(bound)]
        work = _TORCH_DTYPE[work_dtype(bundle.fixed_point, bound)]
        weights = {p.weights: torch.as_tensor(bundle.weights(p).T.copy(), device=device)
                   .to(dtype) for p in incoming}
        lookups = {key: _Lookup(w) for key, w in weights.items()
                   if dtype == torch.float32 and w.shape[0] >= LOOKUP_MIN_SOURCES}
        params = IntParams(*(torch.as_tensor(np.asarray(bundle.param(step.name, kind),
                                                        np.int64),
                                             device=device).to(work)
                             for kind in ("alpha", "beta", "theta", "w_self")))
        return cls(step, weights, lookups, dtype, work, params)

    def accumulate(self, sources: list[tuple[torch.Tensor, Projection]]) -> torch.Tensor:
        """Phase 1: the exact sum ``Σ_p x_src(p) @ W_p.T`` (any leading dims), in the matmul
        dtype: integers held exactly (:func:`~golden_model.neuron.matmul_dtype`)."""
        total: torch.Tensor | None = None
        for x, p in sources:
            if p.weights in self.lookups:
                part = self.lookups[p.weights](x)
                total = part if total is None else total.add_(part)
                continue
            flat = x.to(self.dtype).reshape(-1, x.shape[-1])
            w = self.weights[p.weights]
            total = flat @ w if total is None else total.addmm_(flat, w)
        assert total is not None
        return total.reshape(*sources[0][0].shape[:-1], -1)


class _Recorder:
    """Output counts (always) and, if tracing, every layer's spikes, I and V."""

    def __init__(self, bundle: Bundle, steps: int, batch: int, trace: bool,
                 device: torch.device) -> None:
        self.trace = trace
        self.output = bundle.output.name
        self.counts = torch.zeros((batch, bundle.output.size), dtype=torch.int32, device=device)
        # every timestep of every layer is written before it is read: no zeroing pass
        shape = {layer.name: (steps, batch, layer.size) for layer in bundle.layers}
        self.s = {n: torch.empty(sh, dtype=torch.uint8, device=device)
                  for n, sh in shape.items()} if trace else {}
        self.i = {n: torch.empty(sh, dtype=torch.int32, device=device)
                  for n, sh in shape.items()} if trace else {}
        self.v = {n: torch.empty(sh, dtype=torch.int32, device=device)
                  for n, sh in shape.items()} if trace else {}

    def record(self, layer: str, t: int, s: torch.Tensor, i: torch.Tensor,
               v: torch.Tensor) -> None:
        """Spikes ``s`` (bool or integer 0/1), ``I``, ``V`` of ``layer`` at timestep ``t``."""
        if layer == self.output:
            self.counts.add_(s)
        if self.trace:
            self.s[layer][t].copy_(s)
            self.i[layer][t].copy_(i)
            self.v[layer][t].copy_(v)

    def result(self) -> SimResult:
        counts = self.counts.cpu().numpy()

        def batch_major(traces: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
            return {n: np.ascontiguousarray(a.transpose(0, 1).cpu().numpy())
                    for n, a in traces.items()}

        return SimResult(counts, predict(counts), batch_major(self.s), batch_major(self.i),
                         batch_major(self.v))


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
    # time-major, with a silent row in front: row t + 1 holds x[t], row 0 is x[-1] = 0
    x_t = np.zeros((steps + 1, batch, x.shape[2]), np.uint8)
    x_t[1:] = x.swapaxes(0, 1)
    x_t = torch.as_tensor(x_t, device=dev)
    rec = _Recorder(bundle, steps, batch, trace, dev)
    order = bundle_plan(bundle)
    layers = [_Arithmetic.of(bundle, step, dev) for step in order.layers]
    with torch.no_grad():
        run = _run_timestep_major if order.timestep_major else _run_layer_major
        run(bundle.fixed_point, x_t, layers, rec)
    return rec.result()


def _run_timestep_major(fp: FixedPoint, x: torch.Tensor, layers: list[_Arithmetic],
                        rec: _Recorder) -> None:
    """§4 read literally; ``x`` is ``(T + 1, batch, C)`` with the silent ``x[-1]`` first."""
    steps, batch = x.shape[0] - 1, x.shape[1]
    states = {}
    for a in layers:
        zero = torch.zeros((batch, a.step.size), dtype=a.work, device=x.device)
        states[a.step.name] = IntState(zero, zero, zero)
    for t in range(steps):
        previous = {name: state.s for name, state in states.items()}
        previous[INPUT] = x[t]
        current: dict[str, torch.Tensor] = {INPUT: x[t + 1]}
        for a in layers:
            name, incoming = a.step.name, a.step.incoming
            acc = (a.accumulate([((previous if reads_previous(p) else current)[p.src], p)
                                 for p in incoming]).to(a.work)
                   if incoming else 0)
            state = update(states[name], acc, a.params, fp)
            states[name] = state
            current[name] = state.s
            rec.record(name, t, state.s, state.i, state.v)


def _run_layer_major(fp: FixedPoint, x: torch.Tensor, layers: list[_Arithmetic],
                     rec: _Recorder) -> None:
    """Blocks of :data:`WINDOW` timesteps; in each, every layer in order over the block.

    ``x`` is ``(T + 1, batch, C)`` with the silent ``x[-1]`` first. Each layer keeps its
    spikes of the block in ``spikes[name]``, ``(WINDOW + 1, batch, size)`` float32 whose
    row ``k + 1`` is timestep ``t0 + k`` and row 0 the last timestep of the previous block
    (zeros before ``t = 0``): what a ``delay = 1`` reader needs. Valid without feedback: a
    layer reads only itself and earlier layers, which have finished the block.
    """
    steps, batch = x.shape[0] - 1, x.shape[1]
    dev = x.device
    states = {a.step.name: _InPlace(batch, a.params, fp) for a in layers}
    spikes = {a.step.name: torch.zeros((WINDOW + 1, batch, a.step.size), device=dev)
              for a in layers}
    for t0 in range(0, steps, WINDOW):
        width = min(WINDOW, steps - t0)
        block = {INPUT: x[t0:t0 + width + 1], **spikes}  # row k: timestep t0 + k - 1
        for a in layers:
            name, state, own = a.step.name, states[a.step.name], a.step.own
            ext = [(block[p.src][1 - p.delay:width + 1 - p.delay], p) for p in a.step.external]
            acc_ext = a.accumulate(ext) if ext else None
            for k in range(width):
                acc = acc_ext[k] if acc_ext is not None else None
                if own:  # dense recurrence reads this layer's own spikes of t-1 (row k)
                    rec_acc = a.accumulate([(spikes[name][k], p) for p in own])
                    acc = rec_acc if acc is None else rec_acc.add_(acc)
                fired = state.step(acc)
                spikes[name][k + 1].copy_(fired)
                rec.record(name, t0 + k, fired, state.i, state.v)
        for history in spikes.values():
            history[0].copy_(history[width])
