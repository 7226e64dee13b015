"""Cycle accounting: measured busy cycles per layer-timestep against the §7 lower bound."""

from __future__ import annotations

import numpy as np

from golden_model import SimResult
from golden_model.bundle import INPUT
from rtl.config import NetConfig


def events_in(net: NetConfig, spikes: np.ndarray, golden: SimResult) -> dict[str, np.ndarray]:
    """``E_in`` per layer ``(B, T)``: spikes of every weighted source that reach the layer
    in that timestep (``delay = 1`` sources count their spikes of ``t - 1``)."""
    history = {INPUT: np.asarray(spikes)} | dict(golden.spikes)
    out = {}
    for core in net.cores:
        total = np.zeros(spikes.shape[:2], np.int64)
        for src in core.sources:
            if not src.weighted:
                continue
            per_t = history[src.name].sum(axis=2, dtype=np.int64)
            if src.delay:
                per_t = np.concatenate([np.zeros_like(per_t[:, :1]), per_t[:, :-1]], axis=1)
            total += per_t
        out[core.name] = total
    return out


def cycle_report(net: NetConfig, spikes: np.ndarray, golden: SimResult,
                 output: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per layer: mean busy cycles per timestep, mean bound ``(E_in + 1)·ceil(N/P)``, their
    ratio, and whether every timestep met ``cycles ≤ 1.10·bound + fixed latency``."""
    report = {}
    for core, (name, events) in zip(net.cores, events_in(net, spikes, golden).items(),
                                    strict=True):
        cycles = output[f"cycles.{name}"].astype(np.int64)
        bound = (events + 1) * core.words
        report[name] = {
            "cycles_per_timestep": float(cycles.mean()),
            "bound_per_timestep": float(bound.mean()),
            "ratio": float(cycles.sum() / bound.sum()),
            "max_excess_cycles": int((cycles - bound).max()),
            "meets_target": bool(np.all(cycles <= 1.10 * bound + core.fixed_latency)),
        }
    return report
