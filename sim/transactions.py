"""Transactions of the design's streams and the codec between them and packed payloads.

Plain Python (no cocotb, no simulator): the cocotb bus models (:mod:`sim.drivers`), the
Amaranth-simulator runs (:mod:`sim.pysim`) and the scoreboard all pack and unpack beats
here, with field offsets taken from the generator's own layouts (:mod:`rtl.layouts`), so a
layout change cannot leave a hand-written decoder behind.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from amaranth.hdl import Shape
from amaranth.lib import data


@dataclass(frozen=True)
class SpikeEvent:
    """One beat of an event stream: neuron/channel ``index``, or an end-of-timestep marker
    (``eot``) whose ``last`` closes a sample."""

    index: int = 0
    eot: bool = False
    last: bool = False

    def __repr__(self) -> str:
        if self.eot:
            return f"SpikeEvent(eot{', last' if self.last else ''})"
        return f"SpikeEvent({self.index})"


@dataclass(frozen=True)
class ResultBeat:
    """One beat of the network's result stream: a class count, or (``pred``) the
    predicted class index."""

    value: int
    pred: bool = False

    def __repr__(self) -> str:
        return f"ResultBeat({'pred ' if self.pred else ''}{self.value})"


@dataclass(frozen=True)
class TraceBeat:
    """One updated word of a layer core: ``I``, ``V`` (after reset) and spikes of lanes
    ``word·P …``, and the core's busy cycles so far in the timestep."""

    word: int
    i: tuple[int, ...]
    v: tuple[int, ...]
    s: int
    cycles: int


T = TypeVar("T")


@dataclass(frozen=True)
class _Field:
    name: str
    offset: int
    width: int
    signed: bool
    count: int  # 0: a scalar; else the elements of an array field


class Codec(Generic[T]):
    """Packs a transaction into the integer a payload port carries, and back.

    Fields are matched by name between the dataclass and the ``StructLayout``; an array
    field becomes a tuple. Offsets, widths and signedness come from the layout.
    """

    def __init__(self, layout: data.StructLayout, transaction: type[T]) -> None:
        names = [f.name for f in dataclasses.fields(transaction)]  # type: ignore[arg-type]
        if set(names) != {name for name, _ in layout}:
            raise ValueError(f"{transaction.__name__} fields {names} do not match the "
                             f"layout's {[name for name, _ in layout]}")
        self.layout, self.transaction, self.width = layout, transaction, layout.size
        self._fields = []
        for name, member in layout:
            shape = member.shape
            if isinstance(shape, data.ArrayLayout):
                elem = Shape.cast(shape.elem_shape)
                self._fields.append(_Field(name, member.offset, elem.width, elem.signed,
                                           shape.length))
            else:
                cast = Shape.cast(shape)
                self._fields.append(_Field(name, member.offset, cast.width, cast.signed, 0))

    def pack(self, item: T) -> int:
        """The payload bits of ``item``."""
        bits = 0
        for f in self._fields:
            value = getattr(item, f.name)
            values = value if f.count else (value,)
            for k, element in enumerate(values):
                bits |= (int(element) & ((1 << f.width) - 1)) << (f.offset + k * f.width)
        return bits

    def unpack(self, bits: int) -> T:
        """The transaction carried by the payload bits ``bits``."""
        values: dict[str, Any] = {}
        for f in self._fields:
            elements = [self._element(bits >> (f.offset + k * f.width), f)
                        for k in range(max(1, f.count))]
            values[f.name] = tuple(elements) if f.count else elements[0]
        return self.transaction(**values)

    @staticmethod
    def _element(bits: int, f: _Field) -> int:
        value = bits & ((1 << f.width) - 1)
        if f.signed and value >> (f.width - 1):
            value -= 1 << f.width
        return value


__all__ = ["Codec", "ResultBeat", "SpikeEvent", "TraceBeat"]
