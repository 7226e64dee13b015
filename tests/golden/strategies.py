"""Hypothesis strategies for random bundles and inputs (shared by every backend's tests)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from golden_model import Bundle, FixedPoint, Layer, Projection
from golden_model.bundle import INPUT, check_arrays

WIDTHS = st.tuples(
    st.sampled_from([2, 3, 8, 16]),   # weight_bits, extremes included
    st.sampled_from([8, 12, 16, 32]),  # state_bits
    st.sampled_from([1, 4, 8, 16]),    # decay_bits
)


@st.composite
def bundles(draw: st.DrawFn, max_layers: int = 3, max_size: int = 5) -> Bundle:
    """A random valid bundle: any mix of feed-forward, skip, dense recurrent and feedback
    projections, self-recurrence, and arrays spread over their full ranges (so I and V
    saturate often at small ``state_bits``)."""
    fp = FixedPoint(*draw(WIDTHS))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    channels = draw(st.integers(1, 5))
    sizes = draw(st.lists(st.integers(1, max_size), min_size=1, max_size=max_layers))
    names = [f"l{k}" for k in range(len(sizes))]
    nodes = [INPUT, *names]
    triples = set()
    for k in range(1, len(nodes)):
        for j in range(k):  # delay 0 from any earlier node (feed-forward and skips)
            if j == k - 1 or draw(st.booleans()):
                triples.add((nodes[j], nodes[k], 0))
        for j in range(len(nodes)):  # delay 1 from anything (recurrent, feedback, input)
            if draw(st.integers(0, 3)) == 0:
                triples.add((nodes[j], nodes[k], 1))
    sized = {INPUT: channels, **dict(zip(names, sizes, strict=True))}
    scale = draw(st.sampled_from(["full", "small"]))

    def ints(lo: int, hi: int, shape: tuple[int, ...]) -> np.ndarray:
        if scale == "small":  # small magnitudes: long decays, thresholds that are reached
            lo, hi = max(lo, -40), min(hi, 40)
        return rng.integers(lo, hi, size=shape, endpoint=True)

    arrays = {}
    for name, size in zip(names, sizes, strict=True):
        arrays[f"{name}.alpha"] = rng.integers(0, fp.decay_max, size, endpoint=True)
        arrays[f"{name}.beta"] = rng.integers(0, fp.decay_max, size, endpoint=True)
        arrays[f"{name}.theta"] = ints(fp.theta_min, fp.theta_max, (size,)).clip(fp.theta_min)
        arrays[f"{name}.w_self"] = ints(fp.w_min, fp.w_max, (size,))
    projections = []
    for src, dst, delay in sorted(triples, key=lambda t: (nodes.index(t[1]), nodes.index(t[0]))):
        key = f"{src}->{dst}@{delay}"
        arrays[key] = ints(fp.w_min, fp.w_max, (sized[dst], sized[src]))
        projections.append(Projection(src, dst, delay, key))
    bundle = Bundle(fp, channels, 8, tuple(Layer(n, s) for n, s in zip(names, sizes, strict=True)),
                    tuple(projections), tuple(str(k) for k in range(sizes[-1])), {}, {})
    return Bundle(**{**bundle.__dict__, "arrays": check_arrays(bundle, arrays, "<hypothesis>")})


@st.composite
def inputs(draw: st.DrawFn, channels: int, max_batch: int = 3, max_steps: int = 10) -> np.ndarray:
    """Input spikes ``(batch, T, channels)``, including all-silent and all-firing steps."""
    batch = draw(st.integers(1, max_batch))
    steps = draw(st.integers(1, max_steps))
    rate = draw(st.sampled_from([0.0, 0.2, 0.5, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    return (np.random.default_rng(seed).random((batch, steps, channels)) < rate).astype(np.uint8)
