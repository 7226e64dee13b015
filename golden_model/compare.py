"""Where two simulation results first differ: the one comparison every engine check uses.

The cosim scoreboard, ``scsr cosim``, the flow's evaluation and ``scsr fuzz`` all compare a
:class:`~golden_model.simulate.SimResult` with the golden model's. "First" is the order in
which §4 computes: sample, then timestep, then layer in manifest order (spikes, ``I``, ``V``),
then neuron; ``counts`` and ``pred`` only when every trace agrees. The fuzzer's shrinker
reads the sample and timestep to cut a failing case down.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .simulate import SimResult


class Mismatch(NamedTuple):
    """One differing value: ``key`` (``spikes.h1``, ``counts``, …) at ``index``.

    ``sample`` and ``t`` are ``None`` when the difference is not in a value (different keys,
    dtypes or shapes) or, for ``t``, not in a trace.
    """

    key: str
    index: tuple[int, ...]
    expected: str
    got: str

    @property
    def sample(self) -> int | None:
        return self.index[0] if self.index else None

    @property
    def t(self) -> int | None:
        return self.index[1] if len(self.index) == 3 else None

    def __str__(self) -> str:
        where = f"[{', '.join(map(str, self.index))}]" if self.index else ""
        return f"{self.key}{where}: expected {self.expected}, got {self.got}"


def locate(expected: SimResult, got: SimResult) -> Mismatch | None:
    """The first difference between two results (module docstring), or ``None``."""
    want, have = expected.arrays(), got.arrays()
    if set(want) != set(have):
        return Mismatch("keys", (), str(sorted(want)), str(sorted(have)))
    trace_keys = [key for key in want if "." in key]
    layers = list(dict.fromkeys(key.split(".", 1)[1] for key in trace_keys))
    order = [f"{kind}.{name}" for name in layers for kind in ("spikes", "i", "v")]
    for key in [*order, "counts", "pred"]:
        a, b = want[key], have[key]
        if a.dtype != b.dtype or a.shape != b.shape:
            return Mismatch(key, (), f"{a.dtype}{a.shape}", f"{b.dtype}{b.shape}")
    if trace_keys:
        for sample in range(want["counts"].shape[0]):
            for t in range(want[trace_keys[0]].shape[1]):
                for key in order:
                    diff = np.flatnonzero(want[key][sample, t] != have[key][sample, t])
                    if diff.size:
                        n = int(diff[0])
                        return Mismatch(key, (sample, t, n), str(int(want[key][sample, t, n])),
                                        str(int(have[key][sample, t, n])))
    for key in ("counts", "pred"):
        diff = np.argwhere(want[key] != have[key])
        if diff.size:
            index = tuple(int(x) for x in diff[0])
            return Mismatch(key, index, str(want[key][index]), str(have[key][index]))
    return None


def first_mismatch(expected: SimResult, got: SimResult) -> str | None:
    """:func:`locate` as one line, ``key[sample, t, neuron]: expected X, got Y``."""
    found = locate(expected, got)
    return None if found is None else str(found)


__all__ = ["Mismatch", "first_mismatch", "locate"]
