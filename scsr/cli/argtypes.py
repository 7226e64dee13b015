"""``type=`` functions for argparse: options are checked when they are parsed."""

from __future__ import annotations

import argparse
import json
from typing import Any

from golden_model.fixed import FixedPoint


def _int_at_least(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < lowest:
        raise argparse.ArgumentTypeError(f"{value} must be at least {lowest}")
    return value


def add_pipeline_option(parser: argparse.ArgumentParser, default: str | None) -> None:
    """``--pipeline``: phase 2's register stages (``rtl.config.UPDATE_STAGES``), one help
    text for every command that generates the RTL."""
    from rtl.config import UPDATE_STAGES

    where = "the target's" if default is None else default
    parser.add_argument(
        "--pipeline", choices=list(UPDATE_STAGES), default=default,
        help=f"phase 2's pipeline: deep ({UPDATE_STAGES['deep']} stages, registers around "
             f"each multiply, 100 MHz on the ECP5) or short ({UPDATE_STAGES['short']} stages, "
             f"fewer flip-flops, for the iCE40); same results, different cycles "
             f"(default: {where})")


def positive_int(text: str) -> int:
    """An integer ≥ 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An integer ≥ 0."""
    return _int_at_least(text, 0)


def positive_float(text: str) -> float:
    """A finite number > 0 (a clock in MHz, a timeout in seconds, a learning rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive finite number")
    return value


def probability(text: str) -> float:
    """A number in [0, 1] (a spike probability)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text} must be in [0, 1]")
    return value


def int_list(text: str) -> tuple[int, ...]:
    """Comma-separated integers ≥ 1, e.g. ``128,128,26``."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("expected comma-separated sizes, e.g. 128,128,26")
    return tuple(positive_int(p) for p in parts)


def fixed_point(text: str) -> FixedPoint:
    """``W,S,F`` bit widths: weight_bits, state_bits, decay_bits."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(
            f"{text!r} should be W,S,F (weight_bits,state_bits,decay_bits), e.g. 8,16,8")
    try:
        widths = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: widths must be integers") from None
    try:
        return FixedPoint(*widths)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with a JSON value (``lr=0.02``, ``hidden=[64,64]``, ``normalise=false``);
    a value that is not JSON is a string; ``-`` in the key reads as ``_``. Keys and types are
    checked by whoever uses the setting (``TrainConfig.from_dict``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        return key.strip().replace("-", "_"), json.loads(value)
    except (ValueError, RecursionError):
        return key.strip().replace("-", "_"), value
