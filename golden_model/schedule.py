"""The network schedule of design §4, in one place: the plan every engine iterates.

§4 is read literally as ``for t: for layer in manifest order:`` phase 1 sums the layer's
incoming projections, a ``delay = 0`` one reading its source's spikes of this timestep and a
``delay = 1`` one those of the previous timestep (silent before ``t = 0``); phase 2 updates
the neurons. A layer's inputs split in two by what they wait for:

- ``external``: from the input or another layer. Without feedback they come from layers that
  run earlier in the order, so a layer-major engine (one layer over all timesteps, then the
  next) can compute all of them at once, before the layer's own loop;
- ``own``: the layer's own spikes of ``t - 1`` (dense recurrence), which only the layer's
  own timestep loop can supply.

Feedback (a ``delay = 1`` projection from a later layer) breaks the layer-major order: the
plan then says ``timestep_major`` and every engine runs the literal loop. The golden model,
the torch integer path, the QAT/float torch model and the NIR float reference all iterate a
:class:`Plan`; only their arithmetic is their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .bundle import INPUT, Bundle, Projection


class LayerPlan(NamedTuple):
    """One layer of the order: its incoming projections, whole and split."""

    name: str
    size: int
    incoming: tuple[Projection, ...]  # manifest order
    external: tuple[Projection, ...]  # from the input or other layers (delay 0 or 1)
    own: tuple[Projection, ...]  # from the layer itself (delay 1)


class Plan(NamedTuple):
    """Layers in manifest order and whether the literal timestep-major loop is required."""

    layers: tuple[LayerPlan, ...]
    timestep_major: bool


def reads_previous(projection: Projection) -> bool:
    """Whether the projection reads its source's spikes of ``t - 1`` (§4: ``delay = 1``)."""
    return projection.delay == 1


def plan(layers: Sequence[tuple[str, int]], projections: Iterable[Projection]) -> Plan:
    """The plan of layers ``(name, size)`` in order, fed by ``projections``."""
    projections = tuple(projections)
    order = {INPUT: -1, **{name: k for k, (name, _) in enumerate(layers)}}
    steps = []
    for name, size in layers:
        incoming = tuple(p for p in projections if p.dst == name)
        steps.append(LayerPlan(name, size, incoming,
                               tuple(p for p in incoming if p.src != name),
                               tuple(p for p in incoming if p.src == name)))
    feedback = any(reads_previous(p) and order[p.src] > order[p.dst] for p in projections)
    return Plan(tuple(steps), feedback)


def bundle_plan(bundle: Bundle) -> Plan:
    """The plan of a bundle's layers and projections."""
    return plan([(layer.name, layer.size) for layer in bundle.layers], bundle.projections)


def has_feedback(bundle: Bundle) -> bool:
    """Whether some ``delay = 1`` projection reads a layer that comes after its destination
    (so only the timestep-major order is valid)."""
    return bundle_plan(bundle).timestep_major
