"""Random fuzz cases biased toward the edges of §4 and of the hardware.

A case is a bundle, an input batch and a lane count. Uniform random values rarely reach
the corners where implementations go wrong, so every choice here puts weight on them:
widths at their limits (2-bit weights, 32-bit state, 1-bit and 16-bit decays), weights and
``w_self`` at saturation, thresholds at 1 and at ``theta_max``, decays at 0 and ``2^F - 1``,
inputs that are silent or fire on every channel, lane counts that do not divide the layer
sizes, and every projection kind of §5 (skips, dense recurrence, feedback into the first
layer, delay-1 input). Everything is drawn from one seed, so a case is named by its seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from golden_model import Bundle, FixedPoint, Layer, Projection
from golden_model.bundle import INPUT, check_arrays
from golden_model.fixed import DECAY_BITS_RANGE, STATE_BITS_RANGE, WEIGHT_BITS_RANGE

#: Largest layer, channel count, batch and sample length a case draws: small enough that
#: one Verilator build holds a dozen cases, large enough for several lanes and words.
MAX_SIZE = 12
MAX_CHANNELS = 10
MAX_LAYERS = 4
MAX_BATCH = 3
MAX_STEPS = 12
LANES = (1, 2, 3, 4, 5, 8)


@dataclass(frozen=True)
class Case:
    """One fuzz input: ``spikes`` ``(batch, T, channels)`` through ``bundle`` on ``lanes``."""

    bundle: Bundle
    spikes: np.ndarray
    lanes: int
    seed: int

    def describe(self) -> str:
        fp = self.bundle.fixed_point
        sizes = ",".join(str(layer.size) for layer in self.bundle.layers)
        kinds = sorted({_kind(self.bundle, p) for p in self.bundle.projections})
        batch, steps, channels = self.spikes.shape
        return (f"seed {self.seed}: {channels} -> {sizes} at {fp.weight_bits},"
                f"{fp.state_bits},{fp.decay_bits}, P={self.lanes}, {batch}x{steps} steps, "
                f"{'+'.join(kinds) or 'no projections'}")


def _kind(bundle: Bundle, p: Projection) -> str:
    """The §5 name of a projection's kind, for case descriptions and coverage counts."""
    if p.delay == 0:
        src = 0 if p.src == INPUT else bundle.layer_index(p.src) + 1
        return "ff" if src == bundle.layer_index(p.dst) else "skip"
    if p.src == p.dst:
        return "recurrent"
    if p.src == INPUT:
        return "input@1"
    return "feedback" if bundle.layer_index(p.src) > bundle.layer_index(p.dst) else "forward@1"


def projection_kinds(bundle: Bundle) -> set[str]:
    """Which projection kinds a bundle has (``ff``, ``skip``, ``recurrent``, ``feedback``, …)."""
    return {_kind(bundle, p) for p in bundle.projections}


def _pick(rng: np.random.Generator, edges: Sequence[int], lo: int, hi: int) -> int:
    """An edge value half the time, otherwise uniform in ``[lo, hi]``."""
    return int(rng.choice(edges)) if rng.random() < 0.5 else int(rng.integers(lo, hi + 1))


def draw_fixed_point(rng: np.random.Generator) -> FixedPoint:
    """Widths with their limits and their neighbours over-represented."""
    return FixedPoint(_pick(rng, (2, 3, 16), *WEIGHT_BITS_RANGE),
                      _pick(rng, (8, 9, 32), *STATE_BITS_RANGE),
                      _pick(rng, (1, 2, 16), *DECAY_BITS_RANGE))


def _values(rng: np.random.Generator, lo: int, hi: int, shape: tuple[int, ...],
            edges: Sequence[int]) -> np.ndarray:
    """Integers in ``[lo, hi]`` drawn in one of four styles: uniform over the whole range,
    small magnitudes, only edge values, or one constant edge value."""
    style = rng.integers(4)
    if style == 0:
        return rng.integers(lo, hi, size=shape, endpoint=True)
    if style == 1:
        return rng.integers(max(lo, -8), min(hi, 8), size=shape, endpoint=True)
    pool = np.clip(np.asarray(edges, np.int64), lo, hi)
    if style == 2:
        return rng.choice(pool, size=shape)
    return np.full(shape, rng.choice(pool), np.int64)


def _topology(rng: np.random.Generator, names: list[str]) -> list[tuple[str, str, int]]:
    """``(src, dst, delay)`` triples with every §5 kind likely: the chain mostly present,
    skips, dense recurrence, feedback (into the first layer often), delay-1 input."""
    nodes = [INPUT, *names]
    triples = []
    for k in range(1, len(nodes)):
        dst = nodes[k]
        if rng.random() < 0.93:
            triples.append((nodes[k - 1], dst, 0))
        triples += [(nodes[j], dst, 0) for j in range(k - 1) if rng.random() < 0.35]
        if rng.random() < 0.3:
            triples.append((dst, dst, 1))
        triples += [(nodes[j], dst, 1) for j in range(k + 1, len(nodes))
                    if rng.random() < (0.5 if k == 1 else 0.25)]
        triples += [(nodes[j], dst, 1) for j in range(k) if rng.random() < 0.12]
    return triples


def draw_bundle(rng: np.random.Generator) -> Bundle:
    """A random valid bundle (module docstring)."""
    fp = draw_fixed_point(rng)
    channels = int(rng.integers(1, MAX_CHANNELS + 1))
    count = int(rng.integers(1, MAX_LAYERS + 1))
    names = [f"l{k}" for k in range(count)]
    sizes = [int(_pick(rng, (1, 2, MAX_SIZE), 1, MAX_SIZE)) for _ in names]
    sized = {INPUT: channels, **dict(zip(names, sizes, strict=True))}
    w_edges = (fp.w_min, fp.w_max, 0, 1, -1)
    arrays: dict[str, np.ndarray] = {}
    for name, size in zip(names, sizes, strict=True):
        d_edges = (0, 1, 1 << (fp.decay_bits - 1), fp.decay_max)
        arrays[f"{name}.alpha"] = _values(rng, 0, fp.decay_max, (size,), d_edges)
        arrays[f"{name}.beta"] = _values(rng, 0, fp.decay_max, (size,), d_edges)
        arrays[f"{name}.theta"] = _values(rng, fp.theta_min, fp.theta_max, (size,),
                                          (1, 2, fp.theta_max, fp.theta_max - 1))
        arrays[f"{name}.w_self"] = _values(rng, fp.w_min, fp.w_max, (size,), w_edges)
    projections = []
    for src, dst, delay in _topology(rng, names):
        key = f"{src}->{dst}@{delay}"
        arrays[key] = _values(rng, fp.w_min, fp.w_max, (sized[dst], sized[src]), w_edges)
        projections.append(Projection(src, dst, delay, key))
    bundle = Bundle(fp, channels, MAX_STEPS, tuple(Layer(n, s) for n, s in zip(names, sizes,
                                                                               strict=True)),
                    tuple(projections), tuple(str(k) for k in range(sizes[-1])), {}, {})
    return rebuild(bundle, arrays)


def rebuild(bundle: Bundle, arrays: dict[str, np.ndarray], **changes: object) -> Bundle:
    """``bundle`` with ``changes`` to its fields and ``arrays`` checked against them (§5)."""
    shell = dataclasses.replace(bundle, **changes, arrays={})
    return dataclasses.replace(shell, arrays=check_arrays(shell, arrays, "<fuzz case>"))


def draw_spikes(rng: np.random.Generator, channels: int) -> np.ndarray:
    """A batch with silent and all-firing samples and steps among Bernoulli ones."""
    batch = int(rng.integers(1, MAX_BATCH + 1))
    steps = int(_pick(rng, (1, MAX_STEPS), 1, MAX_STEPS))
    style = rng.integers(5)
    if style == 0:
        return np.zeros((batch, steps, channels), np.uint8)
    if style == 1:
        return np.ones((batch, steps, channels), np.uint8)
    rate = float(rng.choice([0.05, 0.2, 0.5, 0.9]))
    spikes = (rng.random((batch, steps, channels)) < rate).astype(np.uint8)
    if style == 2:  # bursts: some steps fire everywhere, some are silent
        spikes[:, rng.random(steps) < 0.3] = 1
        spikes[:, rng.random(steps) < 0.3] = 0
    return spikes


def draw_case(seed: int) -> Case:
    """The case named ``seed``."""
    rng = np.random.default_rng(seed)
    bundle = draw_bundle(rng)
    spikes = draw_spikes(rng, bundle.channels)
    return Case(bundle, spikes, int(rng.choice(LANES)), seed)


__all__ = ["Case", "draw_bundle", "draw_case", "draw_fixed_point", "draw_spikes",
           "projection_kinds", "rebuild"]
