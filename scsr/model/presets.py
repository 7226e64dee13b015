"""Named model presets: the paper's ablation is a choice of preset and of BIP.

========  ==========================================================
``ff``    feed-forward ``l-1 → l`` only
``rsnn``  + dense recurrent ``l → l`` (delay 1) on every layer (the RSNN baseline)
``sr``    + per-neuron self-recurrence ``w_self`` (trained with the weights)
``scsr``  ``sr`` + skip connections ``l-2 → l`` (input counting as layer 0)
========  ==========================================================

With ``bip=True`` the intrinsic parameters ``α`` (τ_s), ``β`` (τ_m) and ``θ`` are trained
with the weights (backpropagated intrinsic plasticity); without it they stay at their
initial values. Any field of :class:`~scsr.model.config.ModelConfig` can be overridden.
"""

from __future__ import annotations

from typing import Any

from golden_model.errors import ScsrError

from .config import ModelConfig

PRESETS: dict[str, dict[str, bool]] = {
    "ff": {},
    "rsnn": {"recurrent": True},
    "sr": {"self_recurrent": True},
    "scsr": {"skip": True, "self_recurrent": True},
}


def variant_name(name: str, bip: bool) -> str:
    """How a preset with or without BIP is named in logs, tables and configs: ``scsr+bip``."""
    return f"{name}+bip" if bip else name


def preset(name: str, channels: int, hidden: tuple[int, ...], classes: int, bip: bool,
           **overrides: Any) -> ModelConfig:
    """The :class:`ModelConfig` of preset ``name``; unknown names are a user error."""
    if name not in PRESETS:
        raise ScsrError("--preset", name, f"unknown preset (choose from {', '.join(PRESETS)})")
    topology = PRESETS[name]
    values: dict[str, Any] = dict(
        channels=channels, hidden=tuple(hidden), classes=classes,
        preset=variant_name(name, bip),
        train_alpha=bip, train_beta=bip, train_theta=bip,
        train_w_self=topology.get("self_recurrent", False),
        w_self=0.2 if topology.get("self_recurrent") else 0.0,
        **topology,
    )
    values.update(overrides)
    return ModelConfig(**values)
