"""The settings of ``scsr train``: one tree, from defaults, a TOML file and CLI options.

::

    TrainConfig                  how to train: data, epochs, optimiser, augmentation, device,
    │                            and the preset and BIP choice that give the model its topology
    └── model: ModelConfig       the network (scsr.model.config): sizes, neuron init, QAT
        └── fixed_point          the QAT widths (golden_model.fixed.FixedPoint)

Each setting is declared once, as a field with its default, help and range
(:mod:`scsr.settings`); ``ModelConfig``'s defaults are the model's, restated nowhere here.
Users write the tree flat, the same keys in TOML, ``--set KEY=VALUE``, checkpoints and a
bundle's provenance: every ``TrainConfig`` field but ``model`` by its name, then the model's
settings by theirs (``hidden``, ``tau_s``, …, ``bits`` for ``fixed_point``). The model's
sizes come from the dataset and its topology from ``preset`` and ``bip``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from typing import Any, NamedTuple

from golden_model.errors import ScsrError
from scsr.model.config import ModelConfig
from scsr.model.presets import PRESETS, preset
from scsr.settings import (
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    Range,
    check,
    is_setting,
    key_of,
    one_of,
    setting,
)

#: Settings whose default changed after runs were saved without them, with the value those
#: runs had (a run saved before ``equalise`` or ``stretch_surrogate`` existed trained without it).
LEGACY_DEFAULTS: dict[str, Any] = {"equalise": False, "stretch_surrogate": False}
DEVICES = ("auto", "cpu", "cuda")


def _unsized() -> ModelConfig:
    """The default network before a dataset sizes it: two hidden layers of 48, the small
    default digits model (channels and classes are 0 until :meth:`TrainConfig.sized`)."""
    return ModelConfig(channels=0, hidden=(48, 48), classes=0)


@dataclass(frozen=True)
class TrainConfig:
    """What ``scsr train`` does. Every field is documented where it is declared (its
    ``help``); the whole tree is stored in each checkpoint and in the exported bundle's
    provenance (:meth:`to_dict`), so a run can be repeated exactly.

    ``model`` holds the network's settings; on construction its topology and trainable
    parameters are set from ``preset`` and ``bip`` (:func:`scsr.model.presets.preset`), so
    the two can never disagree.
    """

    dataset: str = setting("", "dataset file (scsr.data.store layout)")
    preset: str = setting("scsr", "network: ff (feed-forward), rsnn (dense recurrent), sr "
                                  "(self-recurrent) or scsr (skip-connected self-recurrent)",
                          check=one_of(tuple(PRESETS)))
    bip: bool = setting(True, "train per-neuron α, β, θ (backpropagated intrinsic plasticity)")
    model: ModelConfig = dataclasses.field(default_factory=_unsized)
    epochs: int = setting(10, "passes over the training split", check=POSITIVE)
    batch: int = setting(16, "global batch size (split over DDP processes)", check=POSITIVE)
    lr: float = setting(0.05, "Adam learning rate (cosine-annealed to 5 % of it over the run)",
                        check=POSITIVE)
    seed: int = setting(0, "seeds initialisation, shuffling and augmentation "
                           "(bit-reproducible on one kind of CPU)", check=NON_NEGATIVE)
    qat_epochs: int = setting(2, "train the last this-many epochs through the QAT forward "
                                 "(fake quantisation at bits)", check=NON_NEGATIVE)
    logit_scale: float = setting(0.2, "cross-entropy is taken on counts · logit_scale",
                                 check=POSITIVE)
    # They move v far more per step than any single weight does.
    intrinsic_lr: float = setting(0.1, "learning rate of α, β, θ and w_self as a fraction of lr",
                                  check=NON_NEGATIVE)
    init_rate: float = setting(0.05, "before the first epoch, rescale each layer's weights so "
                                     "it fires at this mean rate on the first training batch "
                                     "(0: keep weight_gain / sqrt(fan_in))", check=FRACTION)
    # After a quiet stretch a sudden gradient spike moves a parameter by up to
    # (1-β1)/sqrt(1-β2) times lr (3.2 at 0.999, 1.0 at 0.99): the lower value bounds it.
    adam_beta2: float = setting(0.999, "Adam's second-moment decay", check=FRACTION)
    # 0.999 averages over about a thousand steps. Meant to smooth the epoch-to-epoch swings
    # on unseen speakers; on letters SI validation it cost 5 points (docs/history.md).
    ema: float = setting(0.0, "evaluate, checkpoint and export an exponential moving average "
                              "of the parameters with this decay per step (0: off)",
                         check=FRACTION)
    # It does not stop the self-excitation blow-up described in docs/training.md (Adam
    # normalises the step; adam_beta2 bounds it).
    grad_clip: float = setting(0.0, "rescale each step's gradient to at most this global L2 "
                                    "norm (0: off)", check=NON_NEGATIVE)
    # A regulariser against the train/test gap on unseen speakers; the survivors are scaled
    # by 1/(1-p), the neuron's own recurrence is untouched, the deployed network unchanged.
    hidden_drop: float = setting(0.0, "locked dropout: in each training sample, drop every "
                                      "hidden neuron's outgoing spikes with this probability "
                                      "for the whole utterance", check=FRACTION)
    weight_decay: float = setting(0.0, "decoupled weight decay (AdamW) on the synaptic weights "
                                       "only, not on α, β, θ or w_self (0: plain Adam)",
                                  check=NON_NEGATIVE)
    label_smoothing: float = setting(0.0, "cross-entropy against targets smoothed by this much",
                                     check=FRACTION)
    # It keeps gradients alive: a silent layer passes none to the ones below it.
    rate_reg: float = setting(0.0, "weight of a penalty on hidden layers whose mean firing rate "
                                   "leaves [rate_low, rate_high]", check=NON_NEGATIVE)
    rate_low: float = setting(0.01, "lower end of rate_reg's band (spikes per neuron per step)",
                              check=POSITIVE)
    rate_high: float = setting(0.2, "upper end of rate_reg's band (spikes per neuron per step)",
                               check=POSITIVE)
    shift: int = setting(0, "augmentation: shift each training sample in time by a random "
                            "number of steps up to ± this", check=NON_NEGATIVE)
    band_shift: int = setting(0, "augmentation: shift all input channels by up to ± this many "
                                 "frequency bands (vocal-tract-length perturbation)",
                              check=NON_NEGATIVE)
    drop: float = setting(0.0, "augmentation: delete each input spike with this probability",
                          check=FRACTION)
    noise: float = setting(0.0, "augmentation: add spurious input spikes with this probability "
                                "per bin", check=FRACTION)
    # The remedy of mixed-precision loss scaling, for a rare blow-up on one batch. A batch
    # that is not skipped trains exactly as without it; non-finite parameters always stop.
    skip_nonfinite: int = setting(0, "skip the update of up to this many batches whose loss or "
                                     "gradients are NaN/infinite, instead of stopping at the "
                                     "first (0: stop)", check=NON_NEGATIVE)
    device: str = setting("auto", "where to train: auto (CUDA when present), cpu or cuda",
                          check=one_of(DEVICES))

    def __post_init__(self) -> None:
        settings = {f.name: getattr(self.model, f.name) for f in dataclasses.fields(ModelConfig)
                    if is_setting(f) and f.name != "hidden"}
        model = preset(self.preset, self.model.channels, self.model.hidden, self.model.classes,
                       self.bip, **settings)
        object.__setattr__(self, "model", model)

    def sized(self, channels: int, classes: int) -> ModelConfig:
        """The model this config trains on a dataset of ``channels`` inputs and ``classes``."""
        return dataclasses.replace(self.model, channels=channels, classes=classes)

    def to_dict(self) -> dict[str, Any]:
        """The flat form (:data:`SETTINGS` order) of checkpoints, TOML and ``--set``."""
        model = self.model.to_dict()
        return {key: model[key] if s.in_model else getattr(self, s.name)
                for key, s in SETTINGS.items()}

    @classmethod
    def from_checkpoint(cls, raw: dict[str, Any], where: str) -> TrainConfig:
        """The settings a checkpoint was trained with: a setting it predates takes the
        value every run had before the setting existed (:data:`LEGACY_DEFAULTS`), not today's
        default, so an old run resumes as it was trained."""
        return cls.from_dict({**LEGACY_DEFAULTS, **raw}, where)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> TrainConfig:
        """Build from flat settings (TOML, ``--set``, a checkpoint), each checked, naming
        ``where`` on a bad key or value; a key not given keeps its default."""
        values = check_settings(raw, where)
        train = {s.name: values[k] for k, s in SETTINGS.items() if k in values and not s.in_model}
        model = {s.name: values[k] for k, s in SETTINGS.items() if k in values and s.in_model}
        return cls(**train, model=dataclasses.replace(_unsized(), **model))


class Setting(NamedTuple):
    """One flat key of the tree: the field it sets and what ``--help`` says of it."""

    key: str
    name: str  # the field's name (``fixed_point`` for ``bits``)
    in_model: bool  # a field of ``TrainConfig.model``, not of ``TrainConfig``
    default: Any
    help: str
    check: Range | None


def _settings() -> dict[str, Setting]:
    """Every flat key in order: ``TrainConfig``'s fields, the model's settings in place of
    ``model``."""
    default = TrainConfig()
    out: dict[str, Setting] = {}
    for f in dataclasses.fields(TrainConfig):
        owner, fields = ((default.model, dataclasses.fields(ModelConfig)) if f.name == "model"
                         else (default, [f]))
        for g in filter(is_setting, fields):
            out[key_of(g)] = Setting(key_of(g), g.name, owner is default.model,
                                     getattr(owner, g.name), g.metadata["help"],
                                     g.metadata["check"])
    return out


SETTINGS = _settings()


def check_settings(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """Flat settings, each a known key with a value of its kind and range (``bits`` becomes
    a :class:`~golden_model.fixed.FixedPoint`, a list a tuple), or :class:`ScsrError`
    ``<where>: <key>: <problem>``."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SETTINGS:
            raise ScsrError(where, key, f"is not a training setting (known: "
                                        f"{', '.join(SETTINGS)})")
        s = SETTINGS[key]
        values[key] = check(key, value, s.default, where, s.check)
    return values


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
