"""What ``scsr flow`` builds: one typed config that round-trips through JSON, and the recipe
(dataset build and training settings) of each built-in dataset and split."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from golden_model.errors import ScsrError

#: The repository root: the shipped recipes are ``models/*.toml`` beside the package.
ROOT = Path(__file__).resolve().parents[2]
#: Real recordings scored after training (evaluation only, never trained on; design §8).
FSDD = ROOT.parent / "shared" / "data" / "fsdd"
DATASETS = ("digits", "letters")
SPLITS = ("speaker-independent", "speaker-dependent")
TARGETS = ("icebreaker", "ulx3s-85f")  # rtl.platforms.TARGETS, without importing amaranth
#: Lanes per layer core when --lanes is not given: the iCE40 fits one lane of the default
#: digits model; on the ECP5 four lanes meet 100 MHz (docs/hardware.md).
DEFAULT_LANES = {"icebreaker": 1, "ulx3s-85f": 4}


@dataclass(frozen=True)
class Recipe:
    """How one dataset and split is built and trained.

    Attributes
    ----------
    source : dict
        Keyword arguments of :func:`scsr.data.builtin.source_config` beyond kind and split.
    encoding : dict
        Front-end / encoder overrides of :func:`scsr.data.pipeline.encoding_config`.
    train_toml : str
        The shipped training recipe, relative to the repository root.
    """

    source: dict[str, Any]
    encoding: dict[str, Any]
    train_toml: str


RECIPES: dict[tuple[str, str], Recipe] = {
    ("digits", "speaker-independent"): Recipe(
        {"train_draws": 3, "flite_per_class": 300}, {"max_rate": 1.0}, "models/digits-8k.toml"),
    ("digits", "speaker-dependent"): Recipe(
        {"train_draws": 3, "flite_per_class": 300}, {"max_rate": 1.0}, "models/digits-8k.toml"),
    ("letters", "speaker-independent"): Recipe(
        {"train_draws": 6}, {"max_rate": 1.0}, "models/letters-si.toml"),
    ("letters", "speaker-dependent"): Recipe(
        {"train_draws": 3}, {"max_rate": 1.0}, "models/letters-sd.toml"),
}
#: ``--quick``: a tiny build (8 training and 4 test utterances per class, one draw), a tiny
#: network and one epoch, so that the whole flow runs in about a minute.
QUICK_SOURCE = {"train_per_class": 8, "test_per_class": 4}
QUICK_TRAIN = {"hidden": [16, 16], "epochs": 1, "qat_epochs": 1, "batch": 16}


@dataclass(frozen=True)
class FlowConfig:
    """The settings of one ``scsr flow`` run (stored in ``flow.json``).

    Attributes
    ----------
    dataset, split : str
        Built-in dataset (:data:`DATASETS`) and split (:data:`SPLITS`).
    target : str
        FPGA board (:data:`TARGETS`).
    lanes : int
        Neurons each layer core updates per clock (cosimulation and synthesis).
    epochs : int or None
        Training epochs; None keeps the recipe's.
    quick : bool
        Tiny data, a tiny network, one epoch (:data:`QUICK_SOURCE`, :data:`QUICK_TRAIN`).
    bits : tuple of int
        ``(weight_bits, state_bits, decay_bits)`` of the exported bundle.
    cosim_samples : int
        Test samples run on the RTL under Verilator.
    threads : int
        CPU threads of training (1 keeps the shipped models bit-reproducible).
    synth_seed : int
        nextpnr placer seed.
    fsdd : str
        Folder of real recorded digits to score the bundle on ("" to skip).
    """

    dataset: str = "digits"
    split: str = "speaker-independent"
    target: str = "icebreaker"
    lanes: int = 1
    epochs: int | None = None
    quick: bool = False
    bits: tuple[int, int, int] = (8, 16, 8)
    cosim_samples: int = 8
    threads: int = 1
    synth_seed: int = 1
    fsdd: str = str(FSDD)

    def __post_init__(self) -> None:
        for name, value, allowed in (("--dataset", self.dataset, DATASETS),
                                     ("--split", self.split, SPLITS),
                                     ("--target", self.target, TARGETS)):
            if value not in allowed:
                raise ScsrError(name, value, f"is not one of {', '.join(allowed)}")

    @property
    def recipe(self) -> Recipe:
        return RECIPES[(self.dataset, self.split)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> FlowConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - names
        if unknown:
            raise ScsrError(where, ", ".join(sorted(unknown)), "is not a flow setting")
        values = dict(raw)
        if "bits" in values:
            values["bits"] = tuple(values["bits"])
        return cls(**values)


__all__ = ["DATASETS", "DEFAULT_LANES", "FSDD", "QUICK_SOURCE", "QUICK_TRAIN", "RECIPES",
           "ROOT", "SPLITS", "TARGETS", "FlowConfig", "Recipe"]
