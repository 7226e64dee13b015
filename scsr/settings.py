"""How a setting is declared and checked, once for every settings dataclass.

A setting is a dataclass field made by :func:`setting`: its default, a one-line ``help`` and
the :class:`Range` its value must lie in travel in the field's metadata, so the TOML reader,
``--set KEY=VALUE``, the CLI options and their ``--help`` all take them from the field
itself. :func:`check` turns a value read from a file or the command line into the field's
kind (bool, int, float, str, a tuple of sizes, the bit widths as a
:class:`~golden_model.fixed.FixedPoint`) and range-checks it; a bad one is the usual
one-line :class:`~golden_model.errors.ScsrError` naming where it came from and the key.

Plain Python (no torch), so a parser can be built from the fields without loading torch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from golden_model.errors import ScsrError
from golden_model.fixed import FixedPoint


@dataclass(frozen=True)
class Range:
    """A condition on a setting's value, and how an error message states it.

    ``problem`` reads after the key: ``epochs: should be > 0, not 0``.
    """

    test: Callable[[Any], bool]
    problem: str
    choices: tuple[str, ...] = ()


POSITIVE = Range(lambda v: v > 0, "should be > 0")
NON_NEGATIVE = Range(lambda v: v >= 0, "should be >= 0")
#: Probabilities and decay factors.
FRACTION = Range(lambda v: 0 <= v < 1, "should be in [0, 1)")
SIZES = Range(lambda v: all(s >= 1 for s in v), "every layer size should be >= 1")


def one_of(choices: tuple[str, ...]) -> Range:
    """A closed set of names (a preset, a device)."""
    return Range(lambda v: v in choices, f"should be one of {', '.join(choices)}", choices)


def setting(default: Any = dataclasses.MISSING, help: str = "", *, check: Range | None = None,
            key: str | None = None) -> Any:
    """A settings field: ``default``, a one-line ``help`` (what ``--help`` shows), the
    ``check`` its values must pass, and the flat ``key`` users write when it is not the
    field's name (``bits`` for ``fixed_point``)."""
    return dataclasses.field(default=default,
                             metadata={"help": help, "check": check, "key": key})


def derived(source: str, help: str, default: Any = dataclasses.MISSING) -> Any:
    """A field that users do not set as such: ``source`` (``dataset``, ``preset``) decides
    it where a config is built from settings."""
    return dataclasses.field(default=default, metadata={"help": help, "from": source})


def key_of(field: dataclasses.Field[Any]) -> str:
    """The name users write for a settings field."""
    return field.metadata.get("key") or field.name


def is_setting(field: dataclasses.Field[Any]) -> bool:
    """Whether users set ``field`` (a :func:`setting`, not a :func:`derived` field)."""
    return "help" in field.metadata and "from" not in field.metadata


def check(key: str, value: Any, default: Any, where: str, within: Range | None) -> Any:
    """``value`` for setting ``key`` as the kind of ``default``, within ``within``.

    Raises :class:`ScsrError` ``<where>: <key>: <problem>`` for a value of the wrong kind,
    a non-finite number or one outside the range.
    """
    if isinstance(default, FixedPoint):
        return widths(key, value, where)
    value = _of_kind(key, value, default, where)
    if isinstance(value, float) and not math.isfinite(value):
        raise ScsrError(where, key, f"should be a finite number, not {value!r}")
    if within is not None and not within.test(value):
        raise ScsrError(where, key, f"{within.problem}, not {value!r}")
    return value


def widths(key: str, value: Any, where: str) -> FixedPoint:
    """``[weight_bits, state_bits, decay_bits]`` as a :class:`FixedPoint`, whose own check
    (each width within its §4 range) gives the message."""
    if isinstance(value, FixedPoint):
        return value
    value = _integers(key, value, where)
    if len(value) != 3:
        raise ScsrError(where, key, f"should be [weight_bits, state_bits, decay_bits], not "
                                    f"{list(value)!r}")
    try:
        return FixedPoint(*value)
    except ValueError as exc:
        raise ScsrError(where, key, str(exc)) from None


def _integers(key: str, value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ScsrError(where, key, f"should be a list of integers, not {value!r}")
    return tuple(value)


def _of_kind(key: str, value: Any, default: Any, where: str) -> Any:
    if isinstance(default, tuple):
        return _integers(key, value, where)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ScsrError(where, key, f"should be true or false, not {value!r}")
    elif isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                isinstance(default, int) and not isinstance(value, int)):
            kind = "an integer" if isinstance(default, int) else "a number"
            raise ScsrError(where, key, f"should be {kind}, not {value!r}")
    elif isinstance(default, str) and not isinstance(value, str):
        raise ScsrError(where, key, f"should be a string, not {value!r}")
    return value


def shown(value: Any) -> str:
    """A default as a user types it: ``48,48``, ``8,16,8``, ``on``/``off``, ``0.05``."""
    if isinstance(value, FixedPoint):
        value = (value.weight_bits, value.state_bits, value.decay_bits)
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value) if value != "" else '""'
