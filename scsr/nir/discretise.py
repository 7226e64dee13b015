"""Forward-Euler discretisation of NIR's neuron equations onto the §3 dynamics, and back.

NIR's ``CubaLIF`` is continuous-time::

    τ_syn dI/dt = -I + w_in · S            S: the weighted input (a Linear's output)
    τ_mem dv/dt = (v_leak - v) + r · I
    spike when v > v_threshold, then v = v_reset

One forward-Euler step of length ``dt``, with ``v`` reading the ``I`` of the same step (as
snnTorch's ``Synaptic`` and our §3 do), gives::

    I[t] = (1 - dt/τ_syn) · I[t-1] + (dt/τ_syn) · w_in · S[t]
    v[t] = (1 - dt/τ_mem) · v[t-1] + (dt/τ_mem) · r · I[t]

so, with ``I' = (dt/τ_mem)·r·I`` (a per-neuron rescaling of the current), this is §3 exactly:

    α = 1 - dt/τ_syn,   β = 1 - dt/τ_mem,   θ = v_threshold,
    every incoming weight row (and the self weight) × g,   g = (dt·w_in/τ_syn)·(dt·r/τ_mem).

``LIF`` (``τ dv/dt = (v_leak - v) + r·S``) has no synaptic state: ``α = 0`` (so ``I[t]`` is
the step's input, §4's ``decay(I, 0) = 0``), ``β = 1 - dt/τ``, ``g = dt·r/τ``. ``CubaLI`` and
``LI`` are the same without a threshold (see :func:`layer_from_node`).

The inverse (export) writes ``τ_syn = dt/(1-α)``, ``τ_mem = dt/(1-β)``, ``w_in = τ_syn/dt``,
``r = τ_mem/dt`` (so ``g = 1``), as snnTorch's own exporter does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from golden_model.errors import ScsrError

#: What snnTorch's exporter assumes when the graph does not say (seconds).
DEFAULT_DT = 1e-4
#: Neuron node types and the parameters each needs (``w_in``/``v_reset`` may be absent).
NEURON_FIELDS: Mapping[str, tuple[str, ...]] = {
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold"),
    "LIF": ("tau", "r", "v_leak", "v_threshold"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak"),
    "LI": ("tau", "r", "v_leak"),
}
SPIKING = ("CubaLIF", "LIF")
#: τ may fall short of dt by this relative amount (float32 storage of τ = dt, snnTorch's α = 0);
#: the decay is then clipped to 0.
TAU_TOLERANCE = 1e-6


class Euler(NamedTuple):
    """One layer's §3 parameters (float64, ``(N,)``) and the gain ``g`` for its inputs."""

    alpha: np.ndarray
    beta: np.ndarray
    theta: np.ndarray
    gain: np.ndarray


def node_size(node_name: str, params: Mapping[str, np.ndarray], kind: str, where: str) -> int:
    """The neuron count of a neuron node: the length of its 1-D parameters (all equal)."""
    sizes = {}
    for key in NEURON_FIELDS[kind]:
        if key not in params:
            raise ScsrError(where, f"{node_name}.{key}", f"is missing (a {kind} node needs "
                                                        f"{', '.join(NEURON_FIELDS[kind])})")
        shape = np.shape(params[key])
        if len(shape) > 1:
            raise ScsrError(where, f"{node_name}.{key}", f"shape {shape}: only 1-D neuron "
                                                        "populations are supported")
        if shape and shape[0] != 1:
            sizes[key] = shape[0]
    if len(set(sizes.values())) > 1:
        text = ", ".join(f"{k} has {v}" for k, v in sizes.items())
        raise ScsrError(where, node_name, f"parameters disagree on the neuron count ({text})")
    return next(iter(sizes.values()), 1)


def _field(params: Mapping[str, np.ndarray], node: str, key: str, size: int, where: str,
           default: float | None = None) -> np.ndarray:
    if key not in params:
        if default is None:
            raise ScsrError(where, f"{node}.{key}", "is missing")
        return np.full(size, default)
    raw = np.asarray(params[key])
    if raw.dtype.kind not in "fiub":
        raise ScsrError(where, f"{node}.{key}", f"dtype {raw.dtype} is not numeric")
    value = raw.astype(np.float64).reshape(-1)
    if value.size not in (1, size):
        raise ScsrError(where, f"{node}.{key}", f"has {value.size} values for {size} neurons")
    value = np.broadcast_to(value, (size,)).copy()
    bad = np.flatnonzero(~np.isfinite(value))
    if bad.size:
        raise ScsrError(where, f"{node}.{key}[{bad[0]}]", f"{value[bad[0]]} is not finite")
    return value


def _tau(params: Mapping[str, np.ndarray], node: str, key: str, size: int, dt: float,
         where: str) -> np.ndarray:
    tau = _field(params, node, key, size, where)
    bad = np.flatnonzero(tau <= 0)
    if bad.size:
        raise ScsrError(where, f"{node}.{key}[{bad[0]}]", f"{tau[bad[0]]:g} s must be positive")
    bad = np.flatnonzero(tau < dt * (1 - TAU_TOLERANCE))
    if bad.size:
        raise ScsrError(where, f"{node}.{key}[{bad[0]}]",
                        f"{tau[bad[0]]:g} s is shorter than dt = {dt:g} s (forward Euler "
                        "needs tau >= dt; give a smaller --dt)")
    return tau


def layer_from_node(node: str, kind: str, params: Mapping[str, np.ndarray], size: int,
                    dt: float, where: str, readout_threshold: float | None = None) -> Euler:
    """The §3 parameters of one neuron node under forward Euler with step ``dt`` (seconds).

    Refuses (naming node and field) a ``v_leak`` or ``v_reset`` other than 0, non-finite
    values, ``τ ≤ 0``, ``τ < dt``, a threshold ``≤ 0``. A non-spiking ``CubaLI``/``LI`` gets
    ``readout_threshold`` as its threshold (§4 counts spikes; there is no membrane readout).
    """
    for key in ("v_leak", "v_reset"):
        if key in params or key == "v_leak":
            value = _field(params, node, key, size, where, 0.0)
            bad = np.flatnonzero(value != 0)
            if bad.size:
                what = "leak potential" if key == "v_leak" else "reset potential"
                raise ScsrError(where, f"{node}.{key}[{bad[0]}]",
                                f"{value[bad[0]]:g}: a {what} other than 0 is not supported "
                                "(§3: no leak target, hard reset to 0)")
    r = _field(params, node, "r", size, where)
    if kind in ("CubaLIF", "CubaLI"):
        tau_syn = _tau(params, node, "tau_syn", size, dt, where)
        tau_mem = _tau(params, node, "tau_mem", size, dt, where)
        w_in = _field(params, node, "w_in", size, where, 1.0)
        alpha = np.maximum(0.0, 1 - dt / tau_syn)
        beta = np.maximum(0.0, 1 - dt / tau_mem)
        gain = (dt * w_in / tau_syn) * (dt * r / tau_mem)
    else:
        tau = _tau(params, node, "tau", size, dt, where)
        alpha = np.zeros(size)
        beta = np.maximum(0.0, 1 - dt / tau)
        gain = dt * r / tau
    if kind in SPIKING:
        theta = _field(params, node, "v_threshold", size, where)
    elif readout_threshold is None:
        raise ScsrError(where, node, f"is a non-spiking {kind} readout, but §4 layers count "
                                     "spikes; give --readout-threshold V to make it a "
                                     "spiking layer that fires when v > V")
    else:
        theta = np.full(size, float(readout_threshold))
    bad = np.flatnonzero(theta <= 0)
    if bad.size:
        raise ScsrError(where, f"{node}.v_threshold[{bad[0]}]",
                        f"{theta[bad[0]]:g} must be positive (§4: theta_q >= 1)")
    return Euler(alpha, beta, theta, gain)


def cuba_lif_params(alpha: np.ndarray, beta: np.ndarray, theta: np.ndarray,
                    dt: float) -> dict[str, np.ndarray]:
    """The ``CubaLIF`` parameters whose forward-Euler step with ``dt`` is §3 with ``α, β, θ``
    and unit gain (``w_in = τ_syn/dt``, ``r = τ_mem/dt``)."""
    alpha = np.asarray(alpha, np.float64)
    beta = np.asarray(beta, np.float64)
    tau_syn = dt / (1 - alpha)
    tau_mem = dt / (1 - beta)
    return {
        "tau_syn": tau_syn,
        "tau_mem": tau_mem,
        "r": tau_mem / dt,
        "v_leak": np.zeros_like(alpha),
        "v_threshold": np.asarray(theta, np.float64),
        "v_reset": np.zeros_like(alpha),
        "w_in": tau_syn / dt,
    }
