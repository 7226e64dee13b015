"""Generic cocotb models of a ``lib.stream`` port (valid/ready and a payload), in the style
of cocotbext-axi.

Per stream three roles on one base (:class:`StreamBus`): a source drives ``valid`` and the
payload from a queue of transactions, a sink drives ``ready`` and collects, a monitor only
watches. Tests speak transactions (:mod:`sim.transactions`), never pins: ``send_nowait`` /
``recv_nowait`` / ``count`` / ``empty`` / ``idle`` / ``wait`` / ``clear``. Idle cycles on a
source and back-pressure on a sink come from a pause generator (:func:`random_pause`), so
one scenario runs with and without stalls. A model bound to a reset stops and clears while
it is asserted.

Models bind by prefix to the port names Amaranth derives from a signature
(``<prefix>__valid``, ``__ready``, ``__payload``), read the payload width off the DUT and
check it against the layout the generator computes from the bundle.

All models of a testbench are clocked by one :class:`CycleScheduler`: one coroutine and
two triggers per clock whatever the number of ports (a harness of five networks has about
twenty), because under Verilator the Python side of each trigger costs more than the
simulated cycle. The models of the design's own ports are in :mod:`sim.drivers.spike_stream`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

import cocotb
import numpy as np
from cocotb.triggers import Event, FallingEdge, ReadOnly

from ..transactions import Codec

T = TypeVar("T")


def random_pause(seed: int, chance: float) -> Iterator[bool]:
    """A pause generator: ``True`` (pause this cycle) with probability ``chance``."""
    rng = np.random.default_rng(seed)
    while True:
        yield bool(rng.random() < chance)


class CycleScheduler:
    """Clocks a set of bus models: at each falling edge every model drives its outputs,
    then, with all signals settled (``ReadOnly``), every model records the handshakes that
    the coming rising edge completes."""

    def __init__(self, clock: object) -> None:
        self.clock = clock
        self.models: list[StreamBus] = []

    def add(self, model: StreamBus) -> None:
        self.models.append(model)

    async def cycle(self) -> None:
        """Run one clock cycle of every model."""
        await FallingEdge(self.clock)
        for model in self.models:
            model.drive()
        await ReadOnly()
        for model in self.models:
            model.sample()


class StreamBus(Generic[T]):
    """What every role shares: the bound handles, the codec, the queue, pause and reset.

    Parameters
    ----------
    dut, prefix : the design and the port's name prefix (``n0__i_events``).
    codec : packs and unpacks this stream's transactions (layout from the bundle).
    scheduler : the :class:`CycleScheduler` that clocks the model.
    reset : a reset handle, followed on its edges; while it is 1 the model idles, and it
        clears its queue when the reset is asserted.

    Raises
    ------
    ValueError
        The DUT's payload width differs from the layout's (both shown, field by field).
    """

    def __init__(self, dut: object, prefix: str, codec: Codec[T], scheduler: CycleScheduler,
                 reset: object | None = None) -> None:
        self.name, self.codec = prefix, codec
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        width = len(self.payload)
        if width != codec.width:
            fields = " + ".join(f"{name} {member.width}" for name, member in codec.layout)
            raise ValueError(f"{prefix}__payload is {width} bits but the bundle's layout has "
                             f"{fields} = {codec.width}")
        self.queue: deque[T] = deque()
        self.transfers = 0  # beats that moved since the start
        self._pause: Iterator[bool] | None = None
        self.in_reset = False
        if reset is not None:
            cocotb.start_soon(self._follow_reset(reset))
        scheduler.add(self)

    async def _follow_reset(self, reset: object) -> None:
        """Track the reset on its edges (no per-cycle read); clear on assertion."""
        while True:
            await reset.value_change
            self.in_reset = reset.value == 1
            if self.in_reset:
                self.clear()

    def set_pause_generator(self, generator: Iterable[bool] | None) -> None:
        """Pause (idle a source, stall a sink) in every cycle the generator yields True."""
        self._pause = None if generator is None else iter(generator)

    def count(self) -> int:
        return len(self.queue)

    def empty(self) -> bool:
        return not self.queue

    def clear(self) -> None:
        self.queue.clear()

    def _paused(self) -> bool:
        return self._pause is not None and next(self._pause)

    def drive(self) -> None:
        """Set this model's outputs for the cycle (at the falling edge)."""

    def sample(self) -> None:
        """Record the handshake of the cycle (signals settled)."""


class StreamSource(StreamBus[T]):
    """Drives ``valid`` and ``payload`` from queued transactions; a beat, once offered,
    stays offered until ``ready`` takes it (pauses only delay the next offer)."""

    def __init__(self, dut: object, prefix: str, codec: Codec[T], scheduler: CycleScheduler,
                 reset: object | None = None) -> None:
        super().__init__(dut, prefix, codec, scheduler, reset)
        self._offered: T | None = None
        self._idle = Event()
        self._idle.set()
        self._driven = False
        self.valid.value = 0

    def send_nowait(self, item: T) -> None:
        self.queue.append(item)
        self._idle.clear()

    async def send(self, item: T) -> None:
        """Queue ``item`` (the queue is unbounded, so this never waits)."""
        self.send_nowait(item)

    def idle(self) -> bool:
        """Nothing queued and nothing offered."""
        return not self.queue and self._offered is None

    async def wait(self) -> None:
        """Until every queued transaction has been taken."""
        while not self.idle():
            await self._idle.wait()

    def clear(self) -> None:
        super().clear()
        self._offered = None
        self._idle.set()

    def drive(self) -> None:
        if self._offered is None and self.queue and not self.in_reset and not self._paused():
            self._offered = self.queue.popleft()
            self.payload.value = self.codec.pack(self._offered)
        valid = self._offered is not None
        if valid != self._driven:  # writes cost more than the Python around them
            self.valid.value = int(valid)
            self._driven = valid

    def sample(self) -> None:
        if self._offered is not None and int(self.ready.value):
            self._offered = None
            self.transfers += 1
            if self.idle():
                self._idle.set()


class StreamMonitor(StreamBus[T]):
    """Watches a stream without driving it: queues every beat that moves. With
    ``ready_ignored`` (a port whose producer never waits, like a trace port) a beat moves
    whenever ``valid`` is high."""

    def __init__(self, dut: object, prefix: str, codec: Codec[T], scheduler: CycleScheduler,
                 reset: object | None = None, ready_ignored: bool = False) -> None:
        super().__init__(dut, prefix, codec, scheduler, reset)
        self.ready_ignored = ready_ignored
        self._received = Event()

    def recv_nowait(self) -> T:
        """The oldest received transaction (``IndexError`` when there is none)."""
        return self.queue.popleft()

    async def recv(self) -> T:
        """The oldest received transaction, waiting for one if need be."""
        while not self.queue:
            self._received.clear()
            await self._received.wait()
        return self.queue.popleft()

    def sample(self) -> None:
        if int(self.valid.value) and (self.ready_ignored or int(self.ready.value)):
            self.queue.append(self.codec.unpack(int(self.payload.value)))
            self.transfers += 1
            self._received.set()


class StreamSink(StreamMonitor[T]):
    """A monitor that also drives ``ready``: high except in paused cycles (back-pressure)."""

    def __init__(self, dut: object, prefix: str, codec: Codec[T], scheduler: CycleScheduler,
                 reset: object | None = None) -> None:
        super().__init__(dut, prefix, codec, scheduler, reset)
        self._driven = False
        self.ready.value = 0

    def drive(self) -> None:
        ready = not self.in_reset and not self._paused()
        if ready != self._driven:
            self.ready.value = int(ready)
            self._driven = ready
