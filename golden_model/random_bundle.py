"""Random but lively bundles, for tests, benchmarks and RTL regressions (``scsr random-model``).

A random net is useless for testing if it never spikes, or spikes at every step, so the
thresholds of each layer are calibrated by bisection on Bernoulli(0.1) input until its mean
firing rate sits near :data:`TARGET_RATE` (design §6 asks for 2 %–40 % on every hidden layer).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bundle import INPUT, Bundle, Layer, Projection, check_arrays
from .fixed import FixedPoint
from .simulate import simulate
from .topology import layer_names, topology

TARGET_RATE = 0.10
#: The rate window every hidden layer must land in (design §6).
RATE_WINDOW = (0.02, 0.40)
_CALIBRATION_BATCH = 16
_CALIBRATION_STEPS = 200
_INPUT_RATE = 0.1


@dataclass(frozen=True)
class RandomSpec:
    """What ``scsr random-model`` asks for.

    ``layers`` are the sizes of all layers, the last being the output. ``skip`` adds
    ``l-2 → l`` (delay 0, input counting as layer 0), ``self_recurrent`` draws non-zero
    ``w_self``, ``recurrent`` a dense ``l → l`` (delay 1) on every layer and ``feedback``
    ``l → l-1`` (delay 1).
    """

    inputs: int
    layers: tuple[int, ...]
    fixed_point: FixedPoint
    seed: int
    skip: bool = False
    self_recurrent: bool = False
    recurrent: bool = False
    feedback: bool = False
    timesteps: int = 100
    provenance: dict[str, Any] = field(default_factory=dict)


def _draw_weights(rng: np.random.Generator, shape: tuple[int, int], fan_in: int,
                  fp: FixedPoint, drift: float) -> np.ndarray:
    # Typical per-step input ≈ scale·sqrt(rate·fan_in); keep it well inside the state range
    # so saturation is possible but not the normal case, and at least ±1 so weights exist.
    scale = min(fp.w_max / 3, fp.s_max / (8 * math.sqrt(_INPUT_RATE * max(fan_in, 1))))
    scale = max(scale, 0.7)
    z = rng.normal(drift, 1.0, size=shape)
    return np.clip(np.round(z * scale), fp.w_min, fp.w_max).astype(np.int64)


def _quantise_decay(tau: np.ndarray, fp: FixedPoint) -> np.ndarray:
    return np.clip(np.round((1 - 1 / tau) * (1 << fp.decay_bits)), 0, fp.decay_max).astype(np.int64)


def _set_thresholds(arrays: dict[str, np.ndarray], layer: Layer, base: float,
                    spread: np.ndarray, self_frac: np.ndarray, fp: FixedPoint) -> None:
    theta = np.clip(np.round(base * spread), fp.theta_min, fp.theta_max).astype(np.int64)
    arrays[f"{layer.name}.theta"] = theta
    if np.any(self_frac):
        w_self = np.clip(np.round(self_frac * theta), fp.w_min, fp.w_max).astype(np.int64)
        w_self[w_self == 0] = np.where(self_frac[w_self == 0] > 0, 1, -1)
        arrays[f"{layer.name}.w_self"] = w_self


def random_bundle(spec: RandomSpec) -> Bundle:
    """Draw a random bundle and calibrate its thresholds so every layer spikes at ~10 %.

    Raises
    ------
    RuntimeError
        If no calibration reaches :data:`RATE_WINDOW` (e.g. a layer too small to be tuned).
    """
    fp = spec.fixed_point
    rng = np.random.default_rng(spec.seed)
    names = layer_names(len(spec.layers))
    layers = tuple(Layer(n, s) for n, s in zip(names, spec.layers, strict=True))
    projections = tuple(topology(names, spec.skip, spec.recurrent, spec.feedback))
    sizes = {INPUT: spec.inputs} | {layer.name: layer.size for layer in layers}

    arrays: dict[str, np.ndarray] = {}
    spreads, self_fracs = {}, {}
    for layer in layers:
        n = layer.size
        fan_in = sum(sizes[p.src] for p in projections if p.dst == layer.name)
        for p in projections:
            if p.dst == layer.name:
                # Excitatory drift on forward paths makes layers spike; none on delay-1
                # paths, where it would make activity run away over time.
                drift = 0.0 if p.delay else 0.25
                arrays[p.weights] = _draw_weights(rng, (n, sizes[p.src]), fan_in, fp, drift)
        arrays[f"{layer.name}.alpha"] = _quantise_decay(rng.uniform(2, 8, n), fp)
        arrays[f"{layer.name}.beta"] = _quantise_decay(rng.uniform(4, 16, n), fp)
        arrays[f"{layer.name}.w_self"] = np.zeros(n, np.int64)
        spreads[layer.name] = rng.uniform(0.7, 1.3, n)
        sign = np.where(rng.random(n) < 0.7, 1.0, -1.0)
        self_fracs[layer.name] = sign * rng.uniform(0.2, 0.6, n) if spec.self_recurrent \
            else np.zeros(n)
        _set_thresholds(arrays, layer, 1.0, spreads[layer.name], self_fracs[layer.name], fp)

    probe = (rng.random((_CALIBRATION_BATCH, min(spec.timesteps, _CALIBRATION_STEPS),
                         spec.inputs)) < _INPUT_RATE).astype(np.uint8)

    def rates(candidate: dict[str, np.ndarray]) -> dict[str, float]:
        bundle = _assemble(spec, layers, projections, candidate)
        result = simulate(bundle, probe, trace=True)
        return {name: float(s.mean()) for name, s in result.spikes.items()}

    top = math.log2(fp.theta_max)
    for _ in range(3):  # feedback lets later layers move earlier ones: a few sweeps settle it
        for layer in layers:
            lo, hi = 0.0, top
            for _ in range(16):
                mid = (lo + hi) / 2
                _set_thresholds(arrays, layer, 2**mid, spreads[layer.name],
                                self_fracs[layer.name], fp)
                if rates(arrays)[layer.name] > TARGET_RATE:
                    lo = mid
                else:
                    hi = mid
            _set_thresholds(arrays, layer, 2**hi, spreads[layer.name], self_fracs[layer.name], fp)
        measured = rates(arrays)
        if all(RATE_WINDOW[0] * 1.5 <= measured[layer.name] <= RATE_WINDOW[1] * 0.8
               for layer in layers[:-1]):
            break
    else:
        raise RuntimeError(f"could not calibrate firing rates into {RATE_WINDOW}: {measured}")
    return _assemble(spec, layers, projections, arrays)


def _assemble(spec: RandomSpec, layers: tuple[Layer, ...], projections: tuple[Projection, ...],
              arrays: dict[str, np.ndarray]) -> Bundle:
    bundle = Bundle(
        fixed_point=spec.fixed_point,
        channels=spec.inputs,
        timesteps=spec.timesteps,
        layers=layers,
        projections=projections,
        classes=tuple(str(k) for k in range(layers[-1].size)),
        arrays={},
        provenance=spec.provenance,
    )
    checked = check_arrays(bundle, arrays, "<random bundle>")
    return dataclasses.replace(bundle, arrays=checked)
