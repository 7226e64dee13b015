"""Train an ScSr-SNN (or a baseline) on a dataset file, with BIP and quantisation-aware
training, and write a run directory: checkpoint.pt (replaced atomically after every epoch),
metrics.json, metrics.csv and curve.png.

Settings come from the defaults, then a TOML file (--config; a flat table or [train]), then
the options given here. --resume continues the run in --out from its checkpoint with its
saved settings, to the epoch count it was started with: that count fixes the learning-rate
schedule and which epochs are QAT, so a different --epochs is refused (start a new run; use
--stop-after to split a long one into jobs). CPU runs are bit-reproducible for a seed on
one CPU kind; AVX2 and AVX-512 machines differ by float rounding unless both run with
ATEN_CPU_CAPABILITY=avx2.
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
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from golden_model.errors import ScsrError
from golden_model.fixed import FixedPoint
from scsr.cli.argtypes import fixed_point, int_list, positive_int, setting
from scsr.settings import check, shown
from scsr.train.config import SETTINGS, Setting, TrainConfig, check_settings, load_toml

HELP = "train a model (BIP, QAT, DDP) into a run directory"
#: The settings with an option of their own, and their metavars; the help, the default and
#: the check come from the setting's field (scsr.train.config, scsr.model.config).
OPTIONS: dict[str, str | None] = {
    "preset": None, "bip": None, "hidden": "N,N", "epochs": "N", "batch": "N", "lr": "LR",
    "seed": "N", "bits": "W,S,F", "qat_epochs": "N", "shift": "STEPS", "band_shift": "BANDS",
    "drop": "P", "noise": "P", "device": None,
}


def _typed(s: Setting) -> Callable[[str], Any]:
    """The ``type=`` of a setting's option: parse the text as the setting's kind, then the
    setting's own check (the one TOML and ``--set`` values pass)."""
    def parse(text: str) -> Any:
        if isinstance(s.default, FixedPoint):
            return fixed_point(text)
        if isinstance(s.default, tuple):
            value: Any = int_list(text)
        elif isinstance(s.default, int | float):
            kind = type(s.default)
            try:
                value = kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        else:
            value = text
        try:
            return check(s.key, value, s.default, "", s.check)
        except ScsrError as exc:
            raise argparse.ArgumentTypeError(exc.problem) from None

    parse.__name__ = s.key
    return parse


def _add_setting(parser: argparse.ArgumentParser, s: Setting, metavar: str | None) -> None:
    """``--KEY`` for setting ``s``; ``None`` when not given, so it overrides only then."""
    text = f"{s.help} (default: {shown(s.default)})".replace("%", "%%")
    flag = "--" + s.key.replace("_", "-")
    if isinstance(s.default, bool):
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
    elif s.check is not None and s.check.choices:
        parser.add_argument(flag, choices=s.check.choices, default=None, help=text)
    else:
        parser.add_argument(flag, type=_typed(s), metavar=metavar, default=None, help=text)


def _other_settings() -> str:
    """The ``--help`` epilog: every setting without an option, as ``--set`` writes its
    default (a JSON value)."""
    lines = ["settings without an option of their own (--set KEY=VALUE, or KEY = VALUE in "
             "--config):"]
    for key, s in SETTINGS.items():
        if key not in OPTIONS and key != "dataset":
            lines += textwrap.wrap(s.help, 96, initial_indent=f"  {key}={json.dumps(s.default)}: ",
                                   subsequent_indent="      ", break_on_hyphens=False)
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = _other_settings()
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
    for key, metavar in OPTIONS.items():
        _add_setting(parser, SETTINGS[key], metavar)
    parser.add_argument("--set", dest="settings", type=setting, action="append", default=[],
                        metavar="KEY=VALUE",
                        help="any training setting (the options above, those listed below), "
                             "e.g. --set intrinsic_lr=1.0; applied after --config, before the "
                             "options above; repeatable")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    values = {key: getattr(args, key) for key in OPTIONS if getattr(args, key) is not None}
    if args.dataset is not None:
        values["dataset"] = str(Path(args.dataset).resolve())
    return values


def _resumed(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """The settings of the run in ``out``, with the few options a resume may give."""
    from scsr.train import load_checkpoint
    from scsr.train.checkpoint import NAME

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
    return {**saved.to_dict(), **_overrides(args)}


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings of a new run: the TOML file's, then ``--set``'s, then the options',
    each checked where it was read (a bad value names the file or ``--set`` and the key)."""
    values = check_settings(load_toml(args.config), args.config) if args.config else {}
    values.update(check_settings(dict(args.settings), "--set"))
    values.update(_overrides(args))
    if not values.get("dataset"):
        raise ScsrError("DATASET.npz", "", "is required (unless --resume)")
    return values


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    raw = _resumed(args, out) if args.resume else _given(args)
    config = TrainConfig.from_dict(raw, "options")
    from scsr.train import train  # torch, once the settings are known to be good
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
