"""Cut a failing fuzz case down to a small one that still fails.

Greedy and deterministic: each round lists the smaller neighbours of the current case
(one sample, the steps up to the first difference, a layer, projection, neuron or channel
fewer, fewer lanes, narrower widths, zeroed values), biggest cut first, and moves to the
first that still fails. Simulation is causal, so cutting the batch to the failing sample
and the steps to the failing timestep never loses the failure; the other cuts are tried.
The neighbours are handed to the judge in chunks, so an HDL engine compiles one harness
per chunk instead of one per candidate.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from golden_model import FixedPoint, Layer
from golden_model.bundle import INPUT
from golden_model.compare import Mismatch

from .cases import Case, rebuild

#: Given candidates, the index of the first that still fails, or ``None``.
Judge = Callable[[Sequence[Case]], int | None]
CHUNK = 12


def size(case: Case) -> tuple[int, ...]:
    """What shrinking lowers, most important first (compared lexicographically)."""
    b = case.bundle
    fp = b.fixed_point
    return (len(b.layers), sum(layer.size for layer in b.layers), len(b.projections),
            b.channels, case.spikes.shape[1], case.spikes.shape[0], case.lanes,
            fp.weight_bits + fp.state_bits + fp.decay_bits,
            sum(int(np.count_nonzero(a)) for a in b.arrays.values()))


def shrink(case: Case, judge: Judge, mismatch: Mismatch | None = None,
           seconds: float = 300.0, on_step: Callable[[Case], None] | None = None) -> Case:
    """The smallest failing case reached from ``case`` within ``seconds``."""
    current = _cut_to(case, mismatch)
    if current is not case and judge([current]) != 0:
        current = case
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        better = None
        candidates = [c for c in neighbours(current) if size(c) < size(current)]
        for start in range(0, len(candidates), CHUNK):
            chunk = candidates[start:start + CHUNK]
            found = judge(chunk)
            if found is not None:
                better = chunk[found]
                break
            if time.monotonic() >= deadline:
                break
        if better is None:
            break
        current = better
        if on_step is not None:
            on_step(current)
    return current


def _cut_to(case: Case, mismatch: Mismatch | None) -> Case:
    """The failing sample alone, up to the failing timestep (when the mismatch says which)."""
    if mismatch is None or mismatch.sample is None:
        return case
    s = mismatch.sample
    steps = case.spikes.shape[1] if mismatch.t is None else mismatch.t + 1
    return dataclasses.replace(case, spikes=case.spikes[s:s + 1, :steps].copy())


def neighbours(case: Case) -> Iterator[Case]:
    """Every one-step reduction of ``case`` that is still a valid case, biggest first."""
    batch, steps, _ = case.spikes.shape
    b = case.bundle
    for layer in reversed(b.layers):
        if len(b.layers) > 1:
            yield _drop_layer(case, layer.name)
    if batch > 1:
        for s in range(batch):
            yield dataclasses.replace(case, spikes=case.spikes[s:s + 1])
    for n in sorted({steps // 2, steps - 1} - {0, steps}):
        yield dataclasses.replace(case, spikes=case.spikes[:, :n])
    for p in b.projections:
        yield _rebuilt(case, projections=tuple(q for q in b.projections if q != p),
                       drop=(p.weights,))
    for layer in b.layers:
        if layer.size > 1:
            half = layer.size // 2
            yield _keep_neurons(case, layer.name, np.arange(half))
            yield _keep_neurons(case, layer.name, np.arange(half, layer.size))
            for n in range(layer.size):
                yield _keep_neurons(case, layer.name, np.delete(np.arange(layer.size), n))
    if b.channels > 1:
        for c in range(b.channels):
            yield _keep_channels(case, np.delete(np.arange(b.channels), c))
    for lanes in sorted({1, case.lanes // 2} - {0, case.lanes}):
        yield dataclasses.replace(case, lanes=lanes)
    yield from _narrower(case)
    for key, values in b.arrays.items():
        if np.count_nonzero(values) and not key.endswith((".theta",)):
            yield _rebuilt(case, arrays={**b.arrays, key: np.zeros_like(values)})


def _rebuilt(case: Case, arrays: dict[str, np.ndarray] | None = None,
             drop: Sequence[str] = (), spikes: np.ndarray | None = None, **changes) -> Case:
    source = dict(case.bundle.arrays if arrays is None else arrays)
    for key in drop:
        source.pop(key, None)
    bundle = rebuild(case.bundle, source, **changes)
    return dataclasses.replace(case, bundle=bundle,
                               spikes=case.spikes if spikes is None else spikes)


def _classes(layers: Sequence[Layer]) -> tuple[str, ...]:
    return tuple(str(k) for k in range(layers[-1].size))


def _drop_layer(case: Case, name: str) -> Case:
    b = case.bundle
    layers = tuple(layer for layer in b.layers if layer.name != name)
    gone = [p for p in b.projections if name in (p.src, p.dst)]
    arrays = {k: v for k, v in b.arrays.items() if not k.startswith(f"{name}.")}
    return _rebuilt(case, arrays, drop=[p.weights for p in gone], layers=layers,
                    projections=tuple(p for p in b.projections if p not in gone),
                    classes=_classes(layers))


def _keep_neurons(case: Case, name: str, keep: np.ndarray) -> Case:
    b = case.bundle
    arrays = dict(b.arrays)
    for kind in ("alpha", "beta", "theta", "w_self"):
        arrays[f"{name}.{kind}"] = arrays[f"{name}.{kind}"][keep]
    for p in b.projections:
        w = arrays[p.weights]
        if p.dst == name:
            w = w[keep]
        if p.src == name:
            w = w[:, keep]
        arrays[p.weights] = w
    layers = tuple(Layer(layer.name, len(keep)) if layer.name == name else layer
                   for layer in b.layers)
    return _rebuilt(case, arrays, layers=layers, classes=_classes(layers))


def _keep_channels(case: Case, keep: np.ndarray) -> Case:
    b = case.bundle
    arrays = {k: (v[:, keep] if any(p.weights == k and p.src == INPUT for p in b.projections)
                  else v) for k, v in b.arrays.items()}
    return _rebuilt(case, arrays, spikes=np.ascontiguousarray(case.spikes[..., keep]),
                    channels=len(keep))


def _narrower(case: Case) -> Iterator[Case]:
    """The same case at one width one bit smaller, values clipped (or decays shifted) into
    the new ranges."""
    fp = case.bundle.fixed_point
    for field_name in ("weight_bits", "state_bits", "decay_bits"):
        try:
            narrow = dataclasses.replace(fp, **{field_name: getattr(fp, field_name) - 1})
        except ValueError:
            continue
        yield _rebuilt(case, _fit(case, fp, narrow), fixed_point=narrow)


def _fit(case: Case, old: FixedPoint, new: FixedPoint) -> dict[str, np.ndarray]:
    shift = old.decay_bits - new.decay_bits
    arrays = {}
    for key, values in case.bundle.arrays.items():
        kind = key.rsplit(".", 1)[-1] if "." in key and "->" not in key else "weights"
        if kind in ("alpha", "beta"):
            arrays[key] = values >> shift
        elif kind == "theta":
            arrays[key] = np.clip(values, new.theta_min, new.theta_max)
        else:
            arrays[key] = np.clip(values, new.w_min, new.w_max)
    return arrays


__all__ = ["Judge", "neighbours", "shrink", "size"]
