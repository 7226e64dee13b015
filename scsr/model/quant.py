"""Quantisation of a trained layer to the §4 integers, shared by QAT and export.

Design §4 ("Relation to the float model") fixes the rules: round half away from zero, clip to
the ranges of :class:`~golden_model.fixed.FixedPoint`, one scale ``σ_l`` per layer for every
current into it. The scale is the exporter's choice; ours (see :func:`layer_scale`) is the
largest magnitude among the layer's weights and ``w_self`` mapped onto ``w_max``, raised if
needed so that the largest threshold stays a quarter of the state range below saturation.

With ``equalise`` (:func:`neuron_stretch`), each neuron's row is first stretched so that its
own largest weight, not the layer's, reaches ``w_max``. Without it, a layer whose neurons
have very different input gains (``normalise`` folds ``(1-α)(1-β)`` into the weights, a
factor of 1000 between short and long time constants) quantises most rows to a handful of
levels, many to zero.

QAT calls :func:`quantise_layer` in every forward pass with straight-through gradients, and
export calls the very same function and casts to integers, so the QAT forward computes what
the exported bundle computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from golden_model import FixedPoint

#: The largest threshold is mapped at most to ``theta_max / THETA_HEADROOM``, so that ``v``
#: can exceed it by that factor before it saturates.
THETA_HEADROOM = 4.0
#: Smallest scale, so that an all-zero layer still has a finite one.
MIN_SCALE = 1e-8


def round_half_away(x: torch.Tensor) -> torch.Tensor:
    """§4's ``round``: half away from zero (``torch.round`` rounds half to even)."""
    return torch.sign(x) * torch.floor(torch.abs(x) + 0.5)


def ste(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``y`` in the forward pass, the identity's gradient in the backward pass."""
    return x + (y - x).detach()


def fake_round(x: torch.Tensor) -> torch.Tensor:
    """:func:`round_half_away` with a straight-through gradient."""
    return ste(x, round_half_away(x))


class QuantLayer(NamedTuple):
    """A layer's §4 integers (held in float tensors, carrying STE gradients) and its scale.

    ``alpha``/``beta`` are ``alpha_q / 2^F``, the effective decay factors; the integers are
    ``alpha_q`` itself. Currents, ``theta_q`` and ``w_self`` are in units of ``scale``;
    ``stretch`` ``(N,)`` holds each neuron's :func:`neuron_stretch` (ones without
    ``equalise``), so one unit of neuron ``k``'s state is ``scale / stretch[k]`` of its float
    model.
    """

    weights: tuple[torch.Tensor, ...]
    alpha_q: torch.Tensor
    beta_q: torch.Tensor
    theta_q: torch.Tensor
    w_self: torch.Tensor
    scale: torch.Tensor
    stretch: torch.Tensor

    def decay_factors(self, fp: FixedPoint) -> tuple[torch.Tensor, torch.Tensor]:
        """``(alpha_q / 2^F, beta_q / 2^F)``: exact in float (powers of two)."""
        one = float(1 << fp.decay_bits)
        return self.alpha_q / one, self.beta_q / one


def layer_scale(weights: Sequence[torch.Tensor], w_self: torch.Tensor, theta: torch.Tensor,
                fp: FixedPoint) -> torch.Tensor:
    """``σ_l`` (detached, 0-d): ``max(max|W|, max|w_self|) / w_max``, at least
    ``max θ · THETA_HEADROOM / theta_max``."""
    with torch.no_grad():
        peak = torch.stack([w.abs().max() for w in weights] + [w_self.abs().max()]).max()
        sigma = torch.maximum(peak / fp.w_max, theta.max() * THETA_HEADROOM / fp.theta_max)
        return sigma.clamp(min=MIN_SCALE)


def neuron_stretch(weights: Sequence[torch.Tensor], w_self: torch.Tensor, theta: torch.Tensor,
                   sigma: torch.Tensor, fp: FixedPoint) -> torch.Tensor:
    """Per-neuron factors ``c ≥ 1`` (detached, ``(N,)``) that take each neuron's largest
    incoming magnitude (weights and ``w_self``) up to the layer's, as far as its threshold
    allows: ``c·θ`` stays within ``theta_max / THETA_HEADROOM`` of the scale ``σ``.

    Multiplying one neuron's incoming weights, ``w_self`` and ``θ`` by the same ``c`` leaves
    its float spikes unchanged (the dynamics are linear in ``I`` and ``v``, the threshold
    test scales with them, and the reset is to 0), so this is a reparametrisation of the
    float model that §4's one-scale-per-layer rule is then applied to; in integers it is
    ``c`` times the resolution."""
    with torch.no_grad():
        row = torch.stack([w.abs().amax(dim=1) for w in weights] + [w_self.abs()]).amax(dim=0)
        c = row.max() / row.clamp(min=MIN_SCALE)
        c = torch.minimum(c, fp.theta_max / THETA_HEADROOM * sigma / theta.clamp(min=MIN_SCALE))
        return c.clamp(min=1.0)


def quantise_layer(weights: Sequence[torch.Tensor], alpha: torch.Tensor, beta: torch.Tensor,
                   theta: torch.Tensor, w_self: torch.Tensor, fp: FixedPoint,
                   equalise: bool = False) -> QuantLayer:
    """Apply §4's export rules to one layer's float parameters (differentiably, via STE).

    ``W_q = clip(round(W/σ))``, ``w_self_q = clip(round(w_self/σ))``,
    ``theta_q = clip(round(θ/σ), 1, 2^(Bs-1)-1)``, ``alpha_q = clip(round(α·2^F), 0, 2^F-1)``,
    after the :func:`neuron_stretch` of each row when ``equalise`` is set.
    """
    sigma = layer_scale(weights, w_self, theta, fp)
    one = float(1 << fp.decay_bits)
    if equalise:
        c = neuron_stretch(weights, w_self, theta, sigma, fp)
        weights = [w * c[:, None] for w in weights]
        w_self, theta = w_self * c, theta * c
    else:
        c = torch.ones_like(theta)

    def weight(w: torch.Tensor) -> torch.Tensor:
        return fake_round(w / sigma).clamp(fp.w_min, fp.w_max)

    return QuantLayer(
        weights=tuple(weight(w) for w in weights),
        alpha_q=fake_round(alpha * one).clamp(0, fp.decay_max),
        beta_q=fake_round(beta * one).clamp(0, fp.decay_max),
        theta_q=fake_round(theta / sigma).clamp(fp.theta_min, fp.theta_max),
        w_self=weight(w_self),
        scale=sigma,
        stretch=c.detach(),
    )
