"""The training config: one typed object, from defaults, a TOML file and CLI options.

Every field is documented where it is declared; the whole config is stored in each
checkpoint and in the exported bundle's provenance, so a run can be repeated exactly.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass
from typing import Any

from golden_model.errors import ScsrError

#: Settings whose default changed after runs were saved without them, with the value those
#: runs had (a run saved before ``equalise`` or ``stretch_surrogate`` existed trained without it).
LEGACY_DEFAULTS: dict[str, Any] = {"equalise": False, "stretch_surrogate": False}
#: Settings that are probabilities or decay factors, valid in ``[0, 1)``.
FRACTIONS = ("drop", "noise", "hidden_drop", "label_smoothing", "ema")
#: Settings that must be positive: counts, rates, time constants, the threshold.
POSITIVE = ("epochs", "batch", "lr", "tau_s", "tau_m", "theta", "slope", "logit_scale")
#: Settings that are weights of a penalty or bounds, valid at ``>= 0``.
NON_NEGATIVE = ("weight_decay", "grad_clip", "rate_reg", "skip_nonfinite")


@dataclass(frozen=True)
class TrainConfig:
    """What ``scsr train`` does.

    Attributes
    ----------
    dataset : str
        Dataset file (``scsr.data.store`` layout).
    preset : str
        ``ff``, ``rsnn``, ``sr`` or ``scsr`` (:mod:`scsr.model.presets`).
    bip : bool
        Train α, β, θ per neuron (backpropagated intrinsic plasticity).
    hidden : tuple of int
        Hidden layer sizes (the output layer has one neuron per class).
    epochs, batch : int
        Passes over the training split; global batch size (split over DDP processes).
    lr : float
        Adam learning rate (cosine-annealed to 5 % of it over the run).
    seed : int
        Seeds initialisation, shuffling and augmentation (bit-reproducible on CPU).
    bits : tuple of int
        ``(weight_bits, state_bits, decay_bits)`` of QAT and of the fixed-point accuracy.
    qat_epochs : int
        The last this-many epochs train through the QAT forward (fake quantisation).
    logit_scale : float
        Cross-entropy is taken on ``counts · logit_scale``.
    tau_s, tau_m, theta, weight_gain, slope : float
        Initial time constants (timesteps), threshold, weight init gain, surrogate slope.
    normalise : bool
        Scale each neuron's synaptic input by ``(1-α)(1-β)`` (unit steady-state gain; see
        :class:`scsr.model.ModelConfig`); export folds it into the quantised weights.
    self_bound : float
        Cap each neuron's effective ``w_self`` at this multiple of its θ (0: no cap; see
        :class:`scsr.model.ModelConfig`).
    equalise : bool
        Quantise (QAT and export) with each neuron's incoming row stretched to the whole
        weight range, its θ and ``w_self`` with it (:func:`scsr.model.quant.neuron_stretch`):
        the float neuron is the same, its integers keep their resolution. The
        fixed-point accuracy of a float-trained digits model went from 84.4 % to 92.8 %
        (float 93.1 %) with no QAT at all, and it made ``intrinsic_lr`` 1.0 usable on digits
        (``models/digits-8k.toml`` sets it); but with Adam β2 0.999 it made letters SD's QAT
        epochs worse in all three seeds. On by default, with ``stretch_surrogate``, which
        removed that harm (docs/history.md).
    stretch_surrogate : bool
        With ``equalise``, give each stretched neuron the surrogate gradient it had in float
        training (unit ``σ/c`` instead of ``σ``; :class:`scsr.model.ModelConfig`). Letters
        SD at β2 0.999: 99.55 / 97.69 / 99.29 % at 8 bits, against 97.50 / 91.92 /
        97.56 % with ``equalise`` alone and 98.65 / 96.86 / 99.04 % with one scale per layer.
    intrinsic_lr : float
        Learning rate of α, β, θ and ``w_self`` as a fraction of ``lr`` (they move ``v`` far
        more per step than any single weight does).
    init_rate : float
        Before the first epoch, each layer's initial weights are rescaled so that it fires
        at this mean rate on the first training batch (:meth:`scsr.model.ScsrNet.calibrate`);
        0 keeps ``weight_gain / sqrt(fan_in)`` as it is.
    adam_beta2 : float
        Adam's second-moment decay. After a quiet stretch a sudden gradient spike moves a
        parameter by up to ``(1-β1)/sqrt(1-β2)`` times lr (3.2 at 0.999, 1.0 at 0.99): the
        lower value bounds those jumps.
    ema : float
        Keep an exponential moving average of the parameters with this decay per step (0:
        off; 0.999 averages over about a thousand steps). The average is what is evaluated,
        checkpointed as ``model`` and exported. Meant to smooth the epoch-to-epoch swings
        on unseen speakers; on letters SI validation it cost 5 points (docs/history.md).
    grad_clip : float
        Rescale the gradient of each step to at most this global L2 norm (0: off). It
        does not stop the self-excitation blow-up described in docs/training.md (Adam
        normalises the step; ``adam_beta2`` bounds it).
    hidden_drop : float
        Locked dropout: in each training sample, every hidden neuron's outgoing spikes are
        dropped with this probability for the whole utterance (the survivors scaled by
        ``1/(1-p)``); its own recurrence is untouched. A regulariser against the
        train/test gap on unseen speakers; the deployed network is unchanged.
    weight_decay : float
        Decoupled weight decay (AdamW) on the synaptic weights only, not on α, β, θ or
        ``w_self`` (0: plain Adam, as every run before it existed).
    label_smoothing : float
        Cross-entropy against targets smoothed by this much (0: off).
    rate_reg : float
        Weight of a penalty on hidden layers whose mean firing rate leaves
        ``[rate_low, rate_high]`` (spikes per neuron per step); keeps gradients alive.
    shift : int
        Augmentation: random time shift of each training sample by up to ± this many steps.
    band_shift : int
        Augmentation: random shift of all input channels by up to ± this many frequency
        bands (a vocal-tract-length perturbation on mel-ordered channels).
    drop : float
        Augmentation: each input spike is deleted with this probability.
    noise : float
        Augmentation: spurious input spikes are added with this probability per bin.
    skip_nonfinite : int
        Skip the update of a batch whose loss or gradients are NaN/infinite, up to this
        many times in the run, instead of stopping at the first (0: stop, as every run
        before it existed). A batch that is not skipped is trained exactly as without it.
        The remedy of mixed-precision loss scaling, for a rare blow-up on one batch;
        non-finite *parameters* always stop the run.
    device : str
        ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    """

    dataset: str = ""
    preset: str = "scsr"
    bip: bool = True
    hidden: tuple[int, ...] = (48, 48)
    epochs: int = 10
    batch: int = 16
    lr: float = 0.05
    seed: int = 0
    bits: tuple[int, int, int] = (8, 16, 8)
    qat_epochs: int = 2
    logit_scale: float = 0.2
    tau_s: float = 4.0
    tau_m: float = 8.0
    theta: float = 1.0
    weight_gain: float = 2.0
    slope: float = 5.0
    normalise: bool = True
    self_bound: float = 0.0
    equalise: bool = True
    stretch_surrogate: bool = True
    intrinsic_lr: float = 0.1
    init_rate: float = 0.05
    adam_beta2: float = 0.999
    ema: float = 0.0
    grad_clip: float = 0.0
    hidden_drop: float = 0.0
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    rate_reg: float = 0.0
    rate_low: float = 0.01
    rate_high: float = 0.2
    shift: int = 0
    band_shift: int = 0
    drop: float = 0.0
    noise: float = 0.0
    skip_nonfinite: int = 0
    device: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_checkpoint(cls, raw: dict[str, Any], where: str) -> TrainConfig:
        """The settings a checkpoint was trained with: a setting it predates takes the
        value every run had before the setting existed (:data:`LEGACY_DEFAULTS`), not today's
        default, so an old run resumes as it was trained."""
        return cls.from_dict({**LEGACY_DEFAULTS, **raw}, where)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> TrainConfig:
        """Build from a mapping (TOML or checkpoint), naming ``where`` on a bad key/value."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in fields:
                raise ScsrError(where, key, f"is not a training setting (known: "
                                            f"{', '.join(fields)})")
            default = fields[key].default
            if isinstance(default, tuple):
                if not isinstance(value, list | tuple) or not all(
                        isinstance(v, int) and not isinstance(v, bool) for v in value):
                    raise ScsrError(where, key, f"should be a list of integers, not {value!r}")
                value = tuple(value)
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ScsrError(where, key, f"should be true or false, not {value!r}")
            elif isinstance(default, int | float) and (
                    isinstance(value, bool) or not isinstance(value, int | float)
                    or (isinstance(default, int) and not isinstance(value, int))):
                kind = "an integer" if isinstance(default, int) else "a number"
                raise ScsrError(where, key, f"should be {kind}, not {value!r}")
            elif isinstance(default, str) and not isinstance(value, str):
                raise ScsrError(where, key, f"should be a string, not {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ScsrError(where, key, f"should be a finite number, not {value!r}")
            if key in POSITIVE and not value > 0:
                raise ScsrError(where, key, f"should be > 0, not {value!r}")
            if key == "hidden" and not all(v >= 1 for v in value):
                raise ScsrError(where, key, f"every layer size should be >= 1, not {value!r}")
            if key == "bits":
                _check_bits(value, where)
            if key in FRACTIONS and not 0 <= value < 1:
                raise ScsrError(where, key, f"should be in [0, 1), not {value!r}")
            if key in NON_NEGATIVE and value < 0:
                raise ScsrError(where, key, f"should be >= 0, not {value!r}")
            values[key] = value
        return cls(**values)


def _check_bits(value: Any, where: str) -> None:
    from golden_model.fixed import FixedPoint

    if len(value) != 3:
        raise ScsrError(where, "bits", f"should be [weight_bits, state_bits, decay_bits], not "
                                       f"{list(value)!r}")
    try:
        FixedPoint(*value)
    except ValueError as exc:
        raise ScsrError(where, "bits", str(exc)) from None


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The settings of a TOML file (a flat table, or a ``[train]`` table)."""
    where = os.fspath(path)
    try:
        with open(where, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ScsrError(where, "", "does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ScsrError(where, "", f"is not valid TOML ({exc})") from None
    return raw.get("train", raw) if isinstance(raw.get("train"), dict) else raw
