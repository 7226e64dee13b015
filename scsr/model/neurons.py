"""The LIF neuron layer of design §3 as an ``nn.Module`` with explicit state.

Projections produce current (plain weight matrices in :class:`~scsr.model.network.ScsrNet`);
this module holds only the per-neuron intrinsic parameters that BIP trains and applies the
dynamics, one step at a time (``s, state = layer(current, state)``) or over a whole
sequence with the fused scan (:meth:`LIFLayer.scan`).

Parameters, one per neuron, each trainable or frozen:

- ``α = sigmoid(alpha_logit)`` (synaptic decay, ``α = 1 - 1/τ_s``),
- ``β = sigmoid(beta_logit)`` (membrane decay, ``β = 1 - 1/τ_m``): the sigmoid keeps both in
  ``(0, 1)``, i.e. ``τ > 1`` step, whatever the optimiser does,
- ``θ`` (threshold; used as ``max(θ, THETA_FLOOR)`` so it stays positive),
- ``w_self`` (self-recurrent weight: the neuron's own spike at ``t-1`` into its current).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .scan import (
    FLOAT,
    LIFState,
    NeuronParams,
    ScanMode,
    fused_scan,
    lif_step,
    reference_scan,
    zero_state,
)

THETA_FLOOR = 1e-3


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


class LIFLayer(nn.Module):
    """Current-based LIF neurons with per-neuron trainable ``α, β, θ, w_self``.

    Parameters
    ----------
    size : int
        Number of neurons.
    tau_s, tau_m : float
        Initial synaptic and membrane time constants in timesteps (> 1).
    theta : float
        Initial threshold.
    w_self : float
        Initial self-recurrent weight (0 and frozen for nets without self-recurrence).
    trainable : dict
        ``{"alpha": bool, "beta": bool, "theta": bool, "w_self": bool}``.

    Shapes: ``current`` ``(batch, size)`` per step or ``(T, batch, size)`` for :meth:`scan`;
    spikes have the same shape, 0./1. floats.
    """

    def __init__(self, size: int, tau_s: float, tau_m: float, theta: float, w_self: float,
                 trainable: dict[str, bool]) -> None:
        super().__init__()
        self.size = size
        init = {"alpha_logit": _logit(1 - 1 / tau_s), "beta_logit": _logit(1 - 1 / tau_m),
                "theta": theta, "w_self": w_self}
        flags = {"alpha_logit": trainable["alpha"], "beta_logit": trainable["beta"],
                 "theta": trainable["theta"], "w_self": trainable["w_self"]}
        for name, value in init.items():
            self.register_parameter(name, nn.Parameter(torch.full((size,), float(value)),
                                                       requires_grad=flags[name]))

    def params(self) -> NeuronParams:
        """The effective float parameters ``(α, β, θ, w_self)``, each ``(size,)``."""
        return NeuronParams(torch.sigmoid(self.alpha_logit), torch.sigmoid(self.beta_logit),
                            self.theta.clamp(min=THETA_FLOOR), self.w_self)

    def initial_state(self, batch: int) -> LIFState:
        """All-zero state for ``batch`` samples."""
        return zero_state(batch, self.size, self.theta)

    def forward(self, current: torch.Tensor, state: LIFState, params: NeuronParams | None = None,
                mode: ScanMode = FLOAT) -> tuple[torch.Tensor, LIFState]:
        """One timestep: ``s, state = layer(current, state)`` (always two results).

        ``params`` overrides :meth:`params` (QAT passes the quantised ones).
        """
        return lif_step(current, state, params if params is not None else self.params(), mode)

    def scan(self, currents: torch.Tensor, params: NeuronParams | None = None,
             mode: ScanMode = FLOAT, fused: bool = True) -> torch.Tensor:
        """Spikes ``(T, batch, size)`` for currents ``(T, batch, size)`` from zero state."""
        p = params if params is not None else self.params()
        return (fused_scan if fused else reference_scan)(currents, p, mode)
