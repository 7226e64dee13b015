"""Batched reference simulator of a bundle (design §4), with optional full traces.

Two schedules compute the same thing, both iterating :mod:`golden_model.schedule`'s plan.
``timestep`` is §4 read literally: for each ``t``, for each layer in manifest order.
``layer`` runs one layer over all timesteps before the next, which lets every external
input come from one large matrix product; it is valid unless the plan says the net needs
the timestep-major order (feedback), and ``auto`` picks it then. Tests hold the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from .bundle import INPUT, Bundle, Projection
from .neuron import (
    LayerParams,
    LayerState,
    accumulate,
    matmul_dtype,
    sum_bound,
    update,
    work_dtype,
)
from .schedule import LayerPlan, Plan, bundle_plan, reads_previous

Schedule = Literal["auto", "timestep", "layer"]


@dataclass(frozen=True)
class SimResult:
    """What one simulation produces (the arrays of design §6).

    ``spikes``, ``i`` and ``v`` map layer names to ``(batch, T, size)`` traces (values at the
    end of each timestep; ``v`` after the reset); they are empty unless tracing was asked for.
    """

    counts: np.ndarray
    pred: np.ndarray
    spikes: dict[str, np.ndarray]
    i: dict[str, np.ndarray]
    v: dict[str, np.ndarray]

    def arrays(self) -> dict[str, np.ndarray]:
        """The output file's arrays: ``counts``, ``pred`` and, if traced, per-layer traces."""
        out = {"counts": self.counts, "pred": self.pred}
        for name in self.spikes:
            out[f"spikes.{name}"] = self.spikes[name]
            out[f"i.{name}"] = self.i[name]
            out[f"v.{name}"] = self.v[name]
        return out


def layer_params(bundle: Bundle, layer: str) -> LayerParams:
    """The per-neuron parameters of ``layer`` as int64 arrays."""
    return LayerParams(*(np.asarray(bundle.param(layer, kind), np.int64)
                         for kind in ("alpha", "beta", "theta", "w_self")))


def predict(counts: np.ndarray) -> np.ndarray:
    """``pred = argmax(counts)`` with ties going to the lowest index (§4)."""
    return np.argmax(counts, axis=-1).astype(np.int32)


def _delayed(history: np.ndarray, delay: int) -> np.ndarray:
    """Spikes ``(T, B, n)`` as seen through a delay: ``x[t - delay]``, zeros before ``t = 0``
    (§4's ``delay = 1`` read, for a whole history at once)."""
    if delay == 0:
        return history
    shifted = np.zeros_like(history)
    shifted[delay:] = history[:-delay]
    return shifted


class _Recorder:
    """Collects spikes (always: later layers and counts need them) and, if asked, I and V.

    Internally everything is time-major, ``(T, batch, size)``, so that one timestep is a
    contiguous slice; :meth:`result` turns the traces into the ``(batch, T, size)`` of §6.
    """

    def __init__(self, bundle: Bundle, batch: int, steps: int, trace: bool) -> None:
        self.trace = trace
        shapes = {layer.name: (steps, batch, layer.size) for layer in bundle.layers}
        self.s = {name: np.zeros(shape, np.uint8) for name, shape in shapes.items()}
        self.i = {name: np.zeros(shape, np.int32) for name, shape in shapes.items()} \
            if trace else {}
        self.v = {name: np.zeros(shape, np.int32) for name, shape in shapes.items()} \
            if trace else {}

    def record(self, layer: str, t: int, state: LayerState) -> None:
        self.s[layer][t] = state.s
        if self.trace:
            self.i[layer][t] = state.i
            self.v[layer][t] = state.v

    def result(self, bundle: Bundle) -> SimResult:
        counts = self.s[bundle.output.name].sum(axis=0, dtype=np.int32)

        def batch_major(traces: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {name: np.ascontiguousarray(a.swapaxes(0, 1)) for name, a in traces.items()}

        return SimResult(counts, predict(counts), batch_major(self.s) if self.trace else {},
                         batch_major(self.i), batch_major(self.v))


def simulate(
    bundle: Bundle, spikes: np.ndarray, trace: bool = False, schedule: Schedule = "auto"
) -> SimResult:
    """Run ``bundle`` on input spikes ``(batch, T, channels)`` of 0/1.

    Parameters
    ----------
    bundle : Bundle
        A validated bundle (as :func:`~golden_model.bundle.load_bundle` returns).
    spikes : np.ndarray
        ``(batch, T, channels)`` 0/1 input spikes; ``T`` need not equal the nominal timesteps.
    trace : bool
        Also return every layer's spikes, ``I`` and ``V`` at every timestep.
    schedule : {"auto", "timestep", "layer"}
        Evaluation order; all valid choices give identical results.
    """
    x = np.asarray(spikes)
    if x.ndim != 3 or x.shape[2] != bundle.channels:
        raise ValueError(f"spikes must be (batch, T, {bundle.channels}), not {x.shape}")
    order = bundle_plan(bundle)
    if schedule == "auto":
        schedule = "timestep" if order.timestep_major else "layer"
    if schedule == "layer" and order.timestep_major:
        raise ValueError("the layer schedule cannot run a bundle with feedback projections")
    recorder = _Recorder(bundle, x.shape[0], x.shape[1], trace)
    run = _run_layer_major if schedule == "layer" else _run_timestep_major
    run(bundle, order, np.ascontiguousarray(x.swapaxes(0, 1), dtype=np.uint8), recorder)
    return recorder.result(bundle)


class _Arithmetic(NamedTuple):
    """One layer's numbers, converted once: dtypes chosen from the §4 bounds."""

    step: LayerPlan
    weights: dict[str, np.ndarray]  # converted to matmul_dtype
    matmul_dtype: type
    params: LayerParams  # in work dtype
    work_dtype: type

    @classmethod
    def of(cls, bundle: Bundle, step: LayerPlan) -> _Arithmetic:
        bound = sum_bound([bundle.weights(p) for p in step.incoming])
        mm = matmul_dtype(bound)
        work = work_dtype(bundle.fixed_point, bound)
        params = LayerParams(*(a.astype(work) for a in layer_params(bundle, step.name)))
        return cls(step, {p.weights: bundle.weights(p).astype(mm) for p in step.incoming},
                   mm, params, work)

    def sum(self, sources: list[np.ndarray], projections: Sequence[Projection],
            out_dtype: type = np.int64) -> np.ndarray:
        """§4 phase 1: the exact ``Σ_p s_src(p) @ W_p.T`` over ``projections``."""
        return accumulate(sources, [self.weights[p.weights] for p in projections],
                          self.matmul_dtype, out_dtype)


def _run_timestep_major(bundle: Bundle, order: Plan, x: np.ndarray, rec: _Recorder) -> None:
    steps, batch, _ = x.shape
    layers = [_Arithmetic.of(bundle, step) for step in order.layers]
    states = {a.step.name: LayerState.zeros((batch,), a.step.size, a.work_dtype)
              for a in layers}
    silent_input = np.zeros((batch, bundle.channels), np.uint8)
    for t in range(steps):
        previous = {name: state.s for name, state in states.items()}
        previous[INPUT] = x[t - 1] if t > 0 else silent_input
        current = {INPUT: x[t]}
        for a in layers:
            name, incoming = a.step.name, a.step.incoming
            acc = (a.sum([(previous if reads_previous(p) else current)[p.src]
                          for p in incoming], incoming)
                   if incoming else np.zeros((batch, a.step.size), np.int64))
            states[name] = update(states[name], acc, a.params, bundle.fixed_point)
            current[name] = states[name].s
            rec.record(name, t, states[name])


def _run_layer_major(bundle: Bundle, order: Plan, x: np.ndarray, rec: _Recorder) -> None:
    steps, batch, _ = x.shape
    history = {INPUT: x}
    for step in order.layers:
        a = _Arithmetic.of(bundle, step)
        # The sums fit the work dtype: work_dtype was chosen for this very bound.
        acc_ext = (a.sum([_delayed(history[p.src], p.delay) for p in step.external],
                         step.external, a.work_dtype)
                   if step.external else np.zeros((steps, batch, step.size), a.work_dtype))
        state = LayerState.zeros((batch,), step.size, a.work_dtype)
        for t in range(steps):
            acc = acc_ext[t]
            if step.own:  # dense recurrence reads this layer's own spikes of t-1
                acc = acc + a.sum([state.s] * len(step.own), step.own, a.work_dtype)
            state = update(state, acc, a.params, bundle.fixed_point)
            rec.record(step.name, t, state)
        history[step.name] = rec.s[step.name]
