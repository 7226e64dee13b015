"""A network in the §3 float dynamics (discrete time), between NIR and a §5 bundle.

:class:`FloatNet` holds what a bundle holds, in float: per layer ``α, β, θ, w_self`` and per
projection a weight matrix. Import builds one from a NIR graph (:mod:`scsr.nir.importer`) and
quantises it here with the exporter's rules; export builds one from a bundle or a run and
turns it into a NIR graph (:mod:`scsr.nir.exporter`).

Quantisation (:func:`to_bundle`) is :func:`scsr.model.quant.quantise_layer`, the function
``scsr export`` and QAT use: one scale ``σ_l`` per layer (largest weight magnitude → ``w_max``,
raised so that ``max θ ≤ theta_max / 4``), or the per-neuron stretch with ``equalise``. One
exception: a layer whose weights, ``w_self`` and thresholds are all integers in the §4 ranges
(within a relative 1e-6, what float32 storage leaves of an integer) is taken at ``σ = 1``,
which represents it exactly. That is what a graph exported from a bundle is
(:func:`from_bundle` dequantises with ``σ = 1``), so bundle → NIR → bundle gives back the
same integers.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from golden_model import Bundle, FixedPoint, Layer, Projection
from golden_model.bundle import INPUT, check_arrays
from golden_model.schedule import plan, reads_previous

#: Relative distance to the nearest integer under which a value counts as that integer.
INTEGER_TOLERANCE = 1e-6


@dataclass(frozen=True)
class FloatLayer:
    """One layer's per-neuron float parameters (float64, ``(N,)``); ``α, β ∈ [0, 1)``."""

    name: str
    alpha: np.ndarray
    beta: np.ndarray
    theta: np.ndarray
    w_self: np.ndarray

    @property
    def size(self) -> int:
        return int(self.alpha.shape[0])


@dataclass(frozen=True)
class FloatNet:
    """Layers in manifest order (the last is the output), projections as in §5 and their
    float weights ``(size of dst, size of src)`` by the projection's ``weights`` key."""

    channels: int
    layers: tuple[FloatLayer, ...]
    projections: tuple[Projection, ...]
    weights: Mapping[str, np.ndarray]
    classes: tuple[str, ...]
    timesteps: int = 100
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def layer(self, name: str) -> FloatLayer:
        return next(layer for layer in self.layers if layer.name == name)

    def incoming(self, name: str) -> list[Projection]:
        return [p for p in self.projections if p.dst == name]


# --- from our own models --------------------------------------------------------------------
def from_bundle(bundle: Bundle) -> FloatNet:
    """The bundle's dequantised parameters with ``σ = 1``: weights, ``w_self`` and ``θ`` are
    the integers themselves, ``α = alpha_q / 2^F``, ``β = beta_q / 2^F``."""
    one = float(1 << bundle.fixed_point.decay_bits)
    layers = tuple(FloatLayer(layer.name,
                              bundle.param(layer.name, "alpha") / one,
                              bundle.param(layer.name, "beta") / one,
                              bundle.param(layer.name, "theta").astype(np.float64),
                              bundle.param(layer.name, "w_self").astype(np.float64))
                   for layer in bundle.layers)
    weights = {p.weights: bundle.weights(p).astype(np.float64) for p in bundle.projections}
    return FloatNet(bundle.channels, layers, bundle.projections, weights, bundle.classes,
                    bundle.timesteps, {"source": "bundle", "bits": bundle.fixed_point.as_dict()})


def from_run(run: str | os.PathLike[str]) -> FloatNet:
    """A run's float model as the §3 dynamics see it (:meth:`ScsrNet.effective`)."""
    import torch

    from scsr.export import load_run

    model, state = load_run(run)
    layers, weights = [], {}
    with torch.no_grad():
        for index, name in enumerate(model.names):
            ws, p = model.effective(index)
            for (proj, _), w in zip(model.incoming(name), ws, strict=True):
                weights[proj.weights] = w.double().numpy()
            layers.append(FloatLayer(name, *(t.double().numpy().copy() for t in p)))
    timesteps = int(state.get("timesteps", 0) or 100)
    return FloatNet(model.config.channels, tuple(layers), model.projections, weights,
                    tuple(state["classes"]), timesteps, {"source": "run"})


# --- float simulation -----------------------------------------------------------------------
def float_spikes(net: FloatNet, spikes: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's spikes ``(batch, T, size)`` (uint8) under the §3 float dynamics, for input
    spikes ``(batch, T, channels)``; the literal ``for t: for layer:`` order."""
    import torch

    from scsr.model.scan import LIFState, NeuronParams, lif_step

    x = torch.as_tensor(np.asarray(spikes), dtype=torch.float64).transpose(0, 1)
    steps, batch = x.shape[0], x.shape[1]
    params = {l.name: NeuronParams(*(torch.as_tensor(a, dtype=torch.float64)
                                     for a in (l.alpha, l.beta, l.theta, l.w_self)))
              for l in net.layers}
    weights = {k: torch.as_tensor(w, dtype=torch.float64) for k, w in net.weights.items()}
    zeros = {l.name: torch.zeros(batch, l.size, dtype=torch.float64) for l in net.layers}
    states = {n: LIFState(z, z, z) for n, z in zeros.items()}
    out = {l.name: np.zeros((steps, batch, l.size), np.uint8) for l in net.layers}
    order = plan([(l.name, l.size) for l in net.layers], net.projections)  # §4's literal loop
    with torch.no_grad():
        for t in range(steps):
            previous = {n: s.s for n, s in states.items()}
            previous[INPUT] = x[t - 1] if t else torch.zeros_like(x[0])
            current = {INPUT: x[t]}
            for step in order.layers:
                acc = zeros[step.name].clone()
                for p in step.incoming:
                    source = (previous if reads_previous(p) else current)[p.src]
                    acc += source @ weights[p.weights].T
                _, states[step.name] = lif_step(acc, states[step.name], params[step.name])
                current[step.name] = states[step.name].s
                out[step.name][t] = states[step.name].s.numpy().astype(np.uint8)
    return {name: np.ascontiguousarray(a.swapaxes(0, 1)) for name, a in out.items()}


# --- quantisation ---------------------------------------------------------------------------
def _integral(values: Sequence[np.ndarray], lo: int, hi: int) -> bool:
    for v in values:
        if v.size == 0:
            continue
        r = np.round(v)
        if np.any(np.abs(v - r) > INTEGER_TOLERANCE * np.maximum(1.0, np.abs(v))):
            return False
        if np.any(r < lo) or np.any(r > hi):
            return False
    return True


def to_bundle(net: FloatNet, fp: FixedPoint, equalise: bool = False,
              where: str = "<nir import>") -> tuple[Bundle, dict[str, str]]:
    """Quantise ``net`` at widths ``fp``; returns the validated bundle and, per layer, how
    its scale was chosen (``"exact (sigma = 1)"``, ``"per layer"`` or ``"per neuron"``)."""
    import torch

    from scsr.model.quant import quantise_layer, round_half_away

    arrays: dict[str, np.ndarray] = {}
    how: dict[str, str] = {}
    one = float(1 << fp.decay_bits)
    for layer in net.layers:
        incoming = net.incoming(layer.name)
        ws = [np.asarray(net.weights[p.weights], np.float64) for p in incoming]
        t = {k: torch.as_tensor(getattr(layer, k), dtype=torch.float64)
             for k in ("alpha", "beta", "theta", "w_self")}
        if (_integral([*ws, layer.w_self], fp.w_min, fp.w_max)
                and _integral([layer.theta], fp.theta_min, fp.theta_max)):
            how[layer.name] = "exact (sigma = 1)"
            q_w = [np.round(w) for w in ws]
            q = {"theta": np.round(layer.theta), "w_self": np.round(layer.w_self)}
            for k in ("alpha", "beta"):
                q[k] = round_half_away(t[k] * one).clamp(0, fp.decay_max).numpy()
        else:
            how[layer.name] = "per neuron" if equalise else "per layer"
            ql = quantise_layer([torch.as_tensor(w) for w in ws], t["alpha"], t["beta"],
                                t["theta"], t["w_self"], fp, equalise)
            q_w = [w.numpy() for w in ql.weights]
            q = {"alpha": ql.alpha_q.numpy(), "beta": ql.beta_q.numpy(),
                 "theta": ql.theta_q.numpy(), "w_self": ql.w_self.numpy()}
        for p, w in zip(incoming, q_w, strict=True):
            arrays[p.weights] = w.astype(np.int64)
        for k, v in q.items():
            arrays[f"{layer.name}.{k}"] = np.asarray(v).astype(np.int64)
    bundle = Bundle(fp, net.channels, net.timesteps,
                    tuple(Layer(l.name, l.size) for l in net.layers), net.projections,
                    net.classes, {}, dict(net.provenance))
    return dataclasses.replace(bundle, arrays=check_arrays(bundle, arrays, where)), how
