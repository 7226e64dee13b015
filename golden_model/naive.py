"""A deliberately naive scalar reading of design §4: the golden model's own check.

It re-states the rules on purpose (the one allowed second copy, style guide C.2): plain
Python integers, one neuron and one synapse at a time, timestep-major, no numpy tricks, so
that it can be read against §4 line by line and shares no code (and no bug) with
:mod:`golden_model.simulate`. It is thousands of times slower; the property tests compare
the two on random bundles and ``benchmarks/golden_speed.py`` measures the gap. It lives in
the package, not under ``tests/``, so that benchmarks and outside checkers can use it too.
"""

from __future__ import annotations

import numpy as np

from .bundle import Bundle


def naive_simulate(bundle: Bundle, x: np.ndarray) -> dict[str, np.ndarray]:
    fp = bundle.fixed_point
    F, Bs = fp.decay_bits, fp.state_bits
    lo, hi = -(2 ** (Bs - 1)), 2 ** (Bs - 1) - 1

    def decay(value: int, d: int) -> int:
        return (value * d + 2 ** (F - 1)) >> F

    def sat(value: int) -> int:
        return max(lo, min(hi, value))

    batch, steps, _ = x.shape
    out = {}
    for layer in bundle.layers:
        for key in ("spikes", "i", "v"):
            out[f"{key}.{layer.name}"] = np.zeros((batch, steps, layer.size), np.int64)
    for b in range(batch):
        spikes = {"input": [[int(v) for v in x[b, t]] for t in range(steps)]}
        for layer in bundle.layers:
            spikes[layer.name] = [[0] * layer.size for _ in range(steps)]
        state = {layer.name: ([0] * layer.size, [0] * layer.size) for layer in bundle.layers}
        for t in range(steps):
            for layer in bundle.layers:
                name = layer.name
                alpha, beta = bundle.param(name, "alpha"), bundle.param(name, "beta")
                theta, w_self = bundle.param(name, "theta"), bundle.param(name, "w_self")
                cur_i, cur_v = state[name]
                for n in range(layer.size):
                    acc = 0
                    for p in bundle.incoming(name):
                        ts = t - p.delay
                        if ts < 0:
                            continue
                        w = bundle.weights(p)
                        for j, spiked in enumerate(spikes[p.src][ts]):
                            if spiked:
                                acc += int(w[n, j])
                    if t > 0 and spikes[name][t - 1][n]:
                        acc += int(w_self[n])
                    i = sat(decay(cur_i[n], int(alpha[n])) + acc)
                    v = sat(decay(cur_v[n], int(beta[n])) + i)
                    s = 1 if v > int(theta[n]) else 0
                    if s:
                        v = 0
                    cur_i[n], cur_v[n] = i, v
                    spikes[name][t][n] = s
                    out[f"spikes.{name}"][b, t, n] = s
                    out[f"i.{name}"][b, t, n] = i
                    out[f"v.{name}"][b, t, n] = v
    counts = out[f"spikes.{bundle.output.name}"].sum(axis=1)
    out["counts"] = counts
    out["pred"] = np.array([max(range(len(c)), key=lambda k, c=c: (c[k], -k)) for c in counts])
    return out
