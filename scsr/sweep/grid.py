"""The grid of a sweep: width ranges (``2..8``, ``4,6,8``, ``2..16:2``) and their product.

Every width is checked against design §4's ranges (:mod:`golden_model.fixed`); a bad value
is an :class:`~golden_model.errors.ScsrError` naming the flag (or the points file and row).
"""

from __future__ import annotations

import csv
import itertools
import os
from typing import NamedTuple

from golden_model.errors import ScsrError
from golden_model.fixed import DECAY_BITS_RANGE, STATE_BITS_RANGE, WEIGHT_BITS_RANGE, FixedPoint

#: Flag → (FixedPoint field, §4 range).
WIDTH_FLAGS = {"--weight-bits": ("weight_bits", WEIGHT_BITS_RANGE),
               "--state-bits": ("state_bits", STATE_BITS_RANGE),
               "--decay-bits": ("decay_bits", DECAY_BITS_RANGE)}


class Point(NamedTuple):
    """One point of the grid: the three widths of §4 (``lanes`` are per synthesis)."""

    weight_bits: int
    state_bits: int
    decay_bits: int

    @property
    def fixed_point(self) -> FixedPoint:
        return FixedPoint(*self)

    @property
    def label(self) -> str:
        """``W,S,F`` as ``scsr export --bits`` spells it."""
        return f"{self.weight_bits},{self.state_bits},{self.decay_bits}"


def parse_values(text: str, flag: str, lowest: int, highest: int) -> tuple[int, ...]:
    """``A..B``, ``A..B:STEP`` or ``A,B,C`` (items may mix: ``2,4..8:2``), sorted and unique;
    each value within ``[lowest, highest]``."""
    values: set[int] = set()
    for item in (part.strip() for part in text.split(",")):
        try:
            if ".." in item:
                span, _, step = item.partition(":")
                first, last = (int(v) for v in span.split(".."))
                stride = int(step) if step else 1
                if stride < 1 or last < first:
                    raise ValueError
                values.update(range(first, last + 1, stride))
            else:
                values.add(int(item))
        except ValueError:
            raise ScsrError(flag, item or text, "not an integer, A..B or A..B:STEP (A <= B, "
                                                "STEP >= 1)") from None
    for value in sorted(values):
        if not lowest <= value <= highest:
            raise ScsrError(flag, str(value), f"is outside [{lowest}, {highest}] (design §4)")
    return tuple(sorted(values))


def parse_width(text: str, flag: str) -> tuple[int, ...]:
    """The values of one of :data:`WIDTH_FLAGS`."""
    _, (lowest, highest) = WIDTH_FLAGS[flag]
    return parse_values(text, flag, lowest, highest)


def grid(weight_bits: tuple[int, ...], state_bits: tuple[int, ...],
         decay_bits: tuple[int, ...]) -> list[Point]:
    """The product, in a fixed order (weight, then state, then decay width ascending)."""
    return [Point(*p) for p in itertools.product(weight_bits, state_bits, decay_bits)]


def read_points(path: str | os.PathLike[str]) -> list[Point]:
    """An explicit list: a CSV with a header naming ``weight_bits,state_bits,decay_bits``
    (other columns are ignored); duplicates are dropped, the order is the grid's."""
    where = os.fspath(path)
    try:
        with open(where, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ScsrError(where, "", f"cannot be read ({exc.strerror})") from None
    points: set[Point] = set()
    for number, row in enumerate(rows, start=2):
        values = []
        for field, (lowest, highest) in (spec for spec in WIDTH_FLAGS.values()):
            text = (row.get(field) or "").strip()
            try:
                value = int(text)
            except ValueError:
                raise ScsrError(where, f"line {number}: {field}",
                                f"{text!r} is not an integer") from None
            if not lowest <= value <= highest:
                raise ScsrError(where, f"line {number}: {field}",
                                f"{value} is outside [{lowest}, {highest}] (design §4)")
            values.append(value)
        points.add(Point(*values))
    if not points:
        raise ScsrError(where, "", "holds no points (header: weight_bits,state_bits,decay_bits)")
    return sorted(points)
