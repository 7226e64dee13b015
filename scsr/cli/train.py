"""Train an ScSr-SNN (or a baseline) on a dataset file, with BIP and quantisation-aware
training, and write a run directory: checkpoint.pt (replaced atomically after every epoch),
metrics.json, metrics.csv and curve.png.

Settings come from the defaults, then a TOML file (--config; a flat table or [train]), then
the options given here. --resume continues the run in --out from its checkpoint with its
saved settings, to the epoch count it was started with: that count fixes the learning-rate
schedule and which epochs are QAT, so a different --epochs is refused (start a new run; use
--stop-after to split a long one into jobs). CPU runs are bit-reproducible for a seed.
Multi-process/multi-GPU: torchrun --nproc-per-node N -m scsr train ... (DDP; gloo on CPU).

examples:
  scsr train letters.npz --preset scsr --bip --epochs 20 --out runs/scsr
  scsr train letters.npz --config train.toml --out runs/a --seed 2
  scsr train letters.npz --out runs/scsr --epochs 30 --stop-after 10
  scsr train --out runs/scsr --resume
  scsr train digits.npz --out runs/d --band-shift 1 --set intrinsic_lr=1.0
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from scsr.cli.argtypes import (
    fixed_point,
    int_list,
    non_negative_int,
    positive_float,
    positive_int,
    setting,
)

HELP = "train a model (BIP, QAT, DDP) into a run directory"
_PRESETS = ("ff", "rsnn", "sr", "scsr")  # scsr.model.presets.PRESETS, without importing torch


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be in [0, 1)")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", nargs="?", metavar="DATASET.npz",
                        help="dataset file (not needed with --resume)")
    parser.add_argument("--out", required=True, metavar="RUN", help="run directory")
    parser.add_argument("--config", metavar="TRAIN.toml", help="TOML file of settings")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its last checkpoint")
    parser.add_argument("--stop-after", type=positive_int, metavar="N", default=None,
                        help="stop after N epochs in all; --resume continues exactly")
    parser.add_argument("--threads", type=positive_int, metavar="N", default=None,
                        help="CPU threads per process (default: torch's choice); 1 is much "
                             "faster for small models on a busy machine")
    parser.add_argument("--preset", choices=_PRESETS, default=None,
                        help="network: feed-forward, dense recurrent, self-recurrent, or "
                             "skip-connected self-recurrent (default: scsr)")
    parser.add_argument("--bip", action=argparse.BooleanOptionalAction, default=None,
                        help="train per-neuron α, β, θ (default: on)")
    parser.add_argument("--hidden", type=int_list, metavar="N,N", default=None,
                        help="hidden layer sizes (default: 48,48, the small default digits model)")
    parser.add_argument("--epochs", type=positive_int, metavar="N", default=None,
                        help="epochs (default: 10)")
    parser.add_argument("--batch", type=positive_int, metavar="N", default=None,
                        help="global batch size (default: 16)")
    parser.add_argument("--lr", type=positive_float, metavar="LR", default=None,
                        help="Adam learning rate (default: 0.05)")
    parser.add_argument("--seed", type=non_negative_int, metavar="N", default=None,
                        help="random seed (default: 0)")
    parser.add_argument("--bits", type=fixed_point, metavar="W,S,F", default=None,
                        help="QAT widths weight,state,decay bits (default: 8,16,8)")
    parser.add_argument("--qat-epochs", type=non_negative_int, metavar="N", default=None,
                        help="train the last N epochs through the QAT forward (default: 2)")
    parser.add_argument("--shift", type=non_negative_int, metavar="STEPS", default=None,
                        help="augmentation: random time shift up to ±STEPS (default: 0)")
    parser.add_argument("--band-shift", type=non_negative_int, metavar="BANDS", default=None,
                        help="augmentation: shift all input channels by up to ±BANDS "
                             "frequency bands (vocal-tract-length perturbation; default: 0)")
    parser.add_argument("--drop", type=_probability, metavar="P", default=None,
                        help="augmentation: delete input spikes with probability P")
    parser.add_argument("--noise", type=_probability, metavar="P", default=None,
                        help="augmentation: add input spikes with probability P per bin")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                        help="where to train (default: auto = CUDA when present)")
    parser.add_argument("--set", dest="settings", type=setting, action="append", default=[],
                        metavar="KEY=VALUE",
                        help="any other training setting (see docs/training.md), e.g. "
                             "--set intrinsic_lr=1.0; applied after --config, before the "
                             "options above; repeatable")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = ("preset", "bip", "hidden", "epochs", "batch", "lr", "seed", "qat_epochs",
             "shift", "band_shift", "drop", "noise", "device")
    values = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.bits is not None:
        fp = args.bits
        values["bits"] = (fp.weight_bits, fp.state_bits, fp.decay_bits)
    if args.dataset is not None:
        values["dataset"] = str(Path(args.dataset).resolve())
    return values


def run(args: argparse.Namespace) -> int:
    from golden_model.errors import ScsrError
    from scsr.train import TrainConfig, load_checkpoint, load_toml, train
    from scsr.train.checkpoint import NAME

    out = Path(args.out)
    if args.resume:
        state = load_checkpoint(out / NAME)
        extra = (set(_overrides(args)) | {k for k, _ in args.settings}) - {
            "epochs", "device", "dataset"}
        if extra or args.config:
            raise ScsrError("--resume", ", ".join(sorted(extra)) or "--config",
                            "a resumed run keeps its settings; only --device (and --epochs "
                            "equal to the run's) may be given")
        saved = TrainConfig.from_checkpoint(state["train_config"], str(out / NAME))
        if args.epochs is not None and args.epochs != saved.epochs:
            raise ScsrError("--epochs", str(args.epochs),
                            f"the run in {out} was started for {saved.epochs} epochs, which "
                            "fixes its learning-rate schedule and QAT epochs; resuming to "
                            "another count would not give the run that count trains. Resume "
                            "without --epochs, or start a new run (--stop-after splits a long "
                            "run into jobs)")
        raw = {**saved.to_dict(), **_overrides(args)}
    else:
        raw = load_toml(args.config) if args.config else {}
        raw = {**TrainConfig().to_dict(), **raw, **dict(args.settings), **_overrides(args)}
        if not raw.get("dataset"):
            raise ScsrError("DATASET.npz", "", "is required (unless --resume)")
    config = TrainConfig.from_dict(raw, "--set/--config/options" if args.settings
                                   else args.config or "options")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rows = train(config, out, resume=args.resume, stop_after=args.stop_after)
    if rows:
        last = rows[-1]
        from scsr.model.presets import variant_name

        print(f"{variant_name(config.preset, config.bip)}: epoch {last['epoch']}, test "
              f"accuracy float {last['test_accuracy_float']:.2%}, fixed point "
              f"{last['test_accuracy_fixed']:.2%} -> {out}")
    return 0
