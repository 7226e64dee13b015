"""The §3 network as a torch module, built from a :class:`ModelConfig`.

Any projection list works: feed-forward, skips ``l-k → l``, dense recurrence ``l → l``
(delay 1), feedback (delay 1 from a later layer), and per-neuron self-recurrence. Topology
and names come from :func:`golden_model.topology.topology`, so a model and its exported
bundle have the same layer names and weight keys.

Two forward modes: float (training) and QAT (``quant=True``: every layer computed in the
§4 integers of its scale, see :mod:`scsr.model.quant`; with straight-through gradients).
Without feedback, layers run one after another over all timesteps (one matmul for all
external inputs, spike-sparse on CPU, see :mod:`scsr.model.spike_matmul`; then the fused
scan); a layer with dense recurrence, the recurrent scan (:mod:`scsr.model.scan_rec`);
feedback forces the literal ``for t: for layer:`` order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import torch
from torch import nn

from golden_model import Projection
from golden_model.bundle import INPUT
from golden_model.schedule import plan, reads_previous
from golden_model.topology import layer_names, topology

from .config import ModelConfig
from .neurons import LIFLayer
from .quant import quantise_layer
from .scan import NeuronParams, ScanMode
from .scan_rec import recurrent_scan, reference_recurrent_scan
from .spike_matmul import spike_matmul


class NetOutput(NamedTuple):
    """Output spike counts ``(batch, classes)`` and every layer's spikes ``(T, batch, size)``."""

    counts: torch.Tensor
    spikes: dict[str, torch.Tensor]


class _LayerRun(NamedTuple):
    """One layer as the forward pass uses it: incoming weights, neuron params, mode."""

    weights: dict[str, torch.Tensor]  # projection weights key -> (size, n_src)
    params: NeuronParams
    mode: ScanMode


class ScsrNet(nn.Module):
    """The §3 network: ``counts, spikes = net(x)`` for input spikes ``x`` ``(B, T, C)``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.names = layer_names(len(config.sizes))
        self.projections: tuple[Projection, ...] = tuple(
            topology(self.names, config.skip, config.recurrent, config.feedback))
        self.sizes = {INPUT: config.channels, **dict(zip(self.names, config.sizes, strict=True))}
        fan_in = {n: sum(self.sizes[p.src] for p in self.projections if p.dst == n)
                  for n in self.names}
        self.weights = nn.ParameterList()
        for p in self.projections:
            std = config.weight_gain / math.sqrt(fan_in[p.dst]) * (0.5 if p.delay else 1.0)
            self.weights.append(nn.Parameter(torch.randn(self.sizes[p.dst],
                                                         self.sizes[p.src]) * std))
        trainable = {"alpha": config.train_alpha, "beta": config.train_beta,
                     "theta": config.train_theta,
                     "w_self": config.train_w_self and config.self_recurrent}
        self.neurons = nn.ModuleList(
            LIFLayer(self.sizes[n], config.tau_s, config.tau_m, config.theta,
                     config.w_self if config.self_recurrent else 0.0, trainable)
            for n in self.names)
        self.plan = plan([(n, self.sizes[n]) for n in self.names], self.projections)

    # --- parameters per layer ---------------------------------------------------------------
    def incoming(self, layer: str) -> list[tuple[Projection, nn.Parameter]]:
        """The projections into ``layer`` with their weights, in manifest order."""
        return [(p, w) for p, w in zip(self.projections, self.weights, strict=True)
                if p.dst == layer]

    def effective(self, index: int) -> tuple[list[torch.Tensor], NeuronParams]:
        """The float weights into layer ``index`` (manifest order) and its neuron parameters
        as the §3 dynamics see them: with ``normalise`` the per-neuron input gain
        ``(1-α)(1-β)`` is folded into the weights and ``w_self``, and ``self_bound`` caps
        the result (what QAT and export use)."""
        p = self.neurons[index].params()
        weights = [w for _, w in self.incoming(self.names[index])]
        if self.config.normalise:
            gain = (1 - p.alpha) * (1 - p.beta)
            weights = [w * gain[:, None] for w in weights]
            p = p._replace(w_self=p.w_self * gain)
        if self.config.self_bound > 0:
            p = p._replace(w_self=torch.minimum(p.w_self, self.config.self_bound * p.theta))
        return weights, p

    def layer_run(self, index: int, quant: bool) -> _LayerRun:
        """Weights and neuron parameters of layer ``index``, float or quantised (QAT)."""
        projections = [proj for proj, _ in self.incoming(self.names[index])]
        weights, p = self.effective(index)
        if not quant:
            return _LayerRun({q.weights: w for q, w in zip(projections, weights, strict=True)},
                             p, ScanMode(slope=self.config.slope))
        fp = self.config.fixed_point
        q = quantise_layer(weights, p.alpha, p.beta, p.theta, p.w_self, fp,
                           self.config.equalise)
        unit = q.scale / q.stretch if self.config.stretch_surrogate else float(q.scale)
        return _LayerRun({proj.weights: w for proj, w in zip(projections, q.weights,
                                                              strict=True)},
                         NeuronParams(*q.decay_factors(fp), q.theta_q, q.w_self),
                         ScanMode(fp, unit, self.config.slope))

    def calibrate(self, x: torch.Tensor, rate: float, steps: int = 8) -> None:
        """Rescale each layer's incoming weights, first layer first, so that it fires at a
        mean ``rate`` (spikes per neuron and step) on the input spikes ``x``.

        Why: what fires at initialisation depends on the input's spike rate, the τ's and
        the fan-in; a silent layer passes no surrogate gradient, so a fixed init gain that
        suits one encoder leaves the output silent on another. A bisection of one factor per
        layer (on a log scale, deterministic) makes the start independent of all three.
        """
        with torch.no_grad():
            for name in self.names:
                weights = [w for _, w in self.incoming(name)]
                start = [w.clone() for w in weights]
                lo, hi = -6.0, 6.0  # log2 of the factor
                for _ in range(steps):
                    mid = (lo + hi) / 2
                    for w, w0 in zip(weights, start, strict=True):
                        w.copy_(w0 * 2.0 ** mid)
                    fired = float(self(x).spikes[name].mean())
                    lo, hi = (mid, hi) if fired < rate else (lo, mid)

    # --- forward ----------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, quant: bool = False, fused: bool = True,
                keep: Mapping[str, torch.Tensor] | None = None) -> NetOutput:
        """Run input spikes ``x`` ``(B, T, C)`` (0/1, any dtype); ``quant`` for QAT;
        ``fused=False`` for the plain reference (per-step autograd loop, dense matmuls).

        ``keep`` maps a layer name to a ``(B, size)`` factor on the spikes that *other*
        layers receive from it, the same at every timestep (locked dropout: training only;
        the layer's own recurrence and the returned spikes are unscaled).
        """
        xs = x.to(self.weights[0].dtype).transpose(0, 1)
        runs = [self.layer_run(k, quant) for k in range(len(self.names))]
        keep = dict(keep or {})
        unknown = set(keep) - set(self.names)
        if unknown:
            raise ValueError(f"keep names no layer: {sorted(unknown)}")
        spikes = (self._timestep_major(xs, runs, keep) if self.plan.timestep_major
                  else self._layer_major(xs, runs, fused, keep))
        return NetOutput(spikes[self.names[-1]].sum(0), spikes)

    def _layer_major(self, xs: torch.Tensor, runs: list[_LayerRun], fused: bool,
                     keep: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        history = {INPUT: xs}
        sent = {INPUT: xs}  # what other layers receive (after `keep`)
        for index, step in enumerate(self.plan.layers):
            name, run, neuron, own = step.name, runs[index], self.neurons[index], step.own
            current: torch.Tensor | None = None  # no zeros + first term: one pass less
            for p in step.external:  # binary spikes: spike-sparse on CPU (fused=False: dense)
                spikes = _delayed(sent[p.src], p.delay)
                weight = run.weights[p.weights]
                term = spike_matmul(spikes, weight) if fused else spikes @ weight.T
                current = term if current is None else current + term
            if current is None:
                current = xs.new_zeros((xs.shape[0], xs.shape[1], self.sizes[name]))
            if not own:
                history[name] = neuron.scan(current, run.params, run.mode, fused)
            else:  # s[t-1] @ W.T for the own projections (delay 1): the fused kernel on CPU
                scan = (recurrent_scan if fused and all(p.delay == 1 for p in own)
                        else reference_recurrent_scan)
                history[name] = scan(current, [run.weights[p.weights] for p in own],
                                     run.params, run.mode)
            sent[name] = history[name] * keep[name] if name in keep else history[name]
        return {name: history[name] for name in self.names}

    def _timestep_major(self, xs: torch.Tensor, runs: list[_LayerRun],
                        keep: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        batch = xs.shape[1]
        states = [neuron.initial_state(batch) for neuron in self.neurons]
        out: dict[str, list[torch.Tensor]] = {name: [] for name in self.names}
        silent = torch.zeros_like(xs[0])
        for t in range(xs.shape[0]):
            previous = {name: states[k].s for k, name in enumerate(self.names)}
            previous[INPUT] = xs[t - 1] if t > 0 else silent
            current = {INPUT: xs[t]}
            for k, step in enumerate(self.plan.layers):
                name, run = step.name, runs[k]
                acc = sum((_kept((previous if reads_previous(p) else current)[p.src],
                                 keep.get(p.src) if p.src != name else None)
                           @ run.weights[p.weights].T) for p in step.incoming)
                if isinstance(acc, int):
                    acc = xs.new_zeros((batch, self.sizes[name]))
                s, states[k] = self.neurons[k](acc, states[k], run.params, run.mode)
                current[name] = s
                out[name].append(s)
        return {name: torch.stack(seq) for name, seq in out.items()}


def _kept(spikes: torch.Tensor, factor: torch.Tensor | None) -> torch.Tensor:
    return spikes if factor is None else spikes * factor


def _delayed(history: torch.Tensor, delay: int) -> torch.Tensor:
    """``x[t - delay]`` of a ``(T, B, n)`` history with zeros before ``t = 0`` (§4's
    ``delay = 1`` read for a whole history; :func:`golden_model.simulate._delayed` is the
    numpy twin, each in its engine's array library)."""
    if delay == 0:
        return history
    return torch.cat([torch.zeros_like(history[:delay]), history[:-delay]])
