"""What defines a model: :class:`ModelConfig`, plain Python so that a parser or a training
config can hold one without loading torch (:class:`scsr.model.ScsrNet` is built from it).

Its defaults are the one set of the project: what ``scsr train`` trains when nothing is
set (``TrainConfig`` holds a ``ModelConfig`` and restates none of them). A ``model_config``
saved without a key predates that key or its present default, and meant :data:`LEGACY`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from golden_model.fixed import FixedPoint
from scsr.settings import NON_NEGATIVE, POSITIVE, SIZES, derived, setting

#: What a saved ``model_config`` that lacks a key meant: the defaults ``ModelConfig`` had
#: before they became ``scsr train``'s (so checkpoints written before ``normalise``,
#: ``equalise`` or ``stretch_surrogate`` existed load unchanged).
LEGACY: dict[str, Any] = {"weight_gain": 3.0, "normalise": False, "equalise": False,
                          "stretch_surrogate": False}

#: The default QAT widths (weight, state, decay bits).
WIDTHS = FixedPoint(8, 16, 8)


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a model; round-trips through :meth:`to_dict`/JSON.

    Every field is documented where it is declared (its ``help``). The sizes come from the
    dataset and the topology and trainable parameters from a preset
    (:func:`scsr.model.presets.preset`); the rest are settings with defaults. ``to_dict`` is
    flat and writes ``fixed_point`` as ``bits``: ``[weight_bits, state_bits, decay_bits]``.
    """

    channels: int = derived("dataset", "input spike channels")
    hidden: tuple[int, ...] = setting(
        help="hidden layer sizes (the output layer has one neuron per class)", check=SIZES)
    classes: int = derived("dataset", "output neurons, one per class")
    preset: str = derived("preset", "the name it was made from (informative)", "custom")
    skip: bool = derived("preset", "l-2 → l skip projections", False)
    self_recurrent: bool = derived("preset", "a per-neuron self weight w_self", False)
    recurrent: bool = derived("preset", "dense l → l projections (delay 1)", False)
    feedback: bool = derived("preset", "l → l-1 projections (delay 1)", False)
    train_alpha: bool = derived("preset", "train α (BIP)", False)
    train_beta: bool = derived("preset", "train β (BIP)", False)
    train_theta: bool = derived("preset", "train θ (BIP)", False)
    train_w_self: bool = derived("preset", "train w_self", False)
    tau_s: float = setting(4.0, "initial synaptic time constant, in timesteps", check=POSITIVE)
    tau_m: float = setting(8.0, "initial membrane time constant, in timesteps", check=POSITIVE)
    theta: float = setting(1.0, "initial threshold", check=POSITIVE)
    w_self: float = derived("preset", "initial self weight", 0.0)
    weight_gain: float = setting(
        2.0, "initial weights are normal with std weight_gain / sqrt(fan_in)", check=POSITIVE)
    slope: float = setting(5.0, "steepness of the surrogate gradient (scsr.model.scan)",
                           check=POSITIVE)
    # A pure reparametrisation: ScsrNet.effective folds (1-α)(1-β) into the weights that QAT
    # and export quantise, so a constant current c settles v near c whatever the τ's.
    normalise: bool = setting(
        True, "scale each neuron's synaptic input (projections and w_self) by (1-α)(1-β), "
              "the inverse of the two decays' steady-state gain")
    # A neuron whose own spike alone exceeds θ fires every step from its first spike on,
    # and the gradient through that self-loop is what made training jump (docs/training.md).
    self_bound: float = setting(
        0.0, "cap each neuron's effective w_self at this multiple of its θ (0: no cap)",
        check=NON_NEGATIVE)
    # The float neuron is the same, its integers keep their resolution: the fixed-point
    # accuracy of a float-trained digits model went from 84.4 % to 92.8 % (float 93.1 %)
    # with no QAT at all, and it made intrinsic_lr 1.0 usable on digits
    # (models/digits-8k.toml sets it); with Adam β2 0.999 alone it made letters SD's QAT
    # epochs worse in all three seeds, which stretch_surrogate removed (docs/history.md).
    equalise: bool = setting(
        True, "quantise (QAT and export) with each neuron's incoming row stretched to the "
              "whole weight range, its θ and w_self with it (scsr.model.quant.neuron_stretch)")
    # With the layer's σ, a neuron stretched by c gets a surrogate c times narrower and
    # taller the moment QAT starts. Letters SD at β2 0.999: 99.55 / 97.69 / 99.29 % at 8
    # bits, against 97.50 / 91.92 / 97.56 % with equalise alone and 98.65 / 96.86 /
    # 99.04 % with one scale per layer.
    stretch_surrogate: bool = setting(
        True, "with equalise, give each stretched neuron the surrogate gradient it had in "
              "float training (unit σ/c instead of σ)")
    fixed_point: FixedPoint = setting(
        WIDTHS, "QAT widths [weight_bits, state_bits, decay_bits] (the "
                              "fixed-point accuracy is measured at them)", key="bits")

    def to_dict(self) -> dict[str, Any]:
        """The flat form stored in checkpoints and in a bundle's provenance."""
        fp = self.fixed_point
        return {**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                   if f.name != "fixed_point"},
                "bits": (fp.weight_bits, fp.state_bits, fp.decay_bits)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        """Read :meth:`to_dict`'s form; a key it lacks takes its :data:`LEGACY` value."""
        known = {f.name for f in dataclasses.fields(cls)} - {"fixed_point"} | {"bits"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        values = {**LEGACY, **raw}
        values["hidden"] = tuple(values["hidden"])
        if "bits" in values:
            values["fixed_point"] = FixedPoint(*values.pop("bits"))
        return cls(**values)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (*self.hidden, self.classes)
