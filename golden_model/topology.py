"""Stacked-net topology: the one place that turns topology flags into projections and names.

A stacked net is ``input → h1 → … → out``. Its flags are those of ``scsr random-model`` and
of a :class:`scsr.model.config.ModelConfig`: ``skip`` adds ``l-2 → l`` (delay 0, the input
counting as layer 0), ``recurrent`` a dense ``l → l`` (delay 1) on every layer and
``feedback`` ``l → l-1`` (delay 1). The fourth flag, self-recurrence, is no projection
(design §3: it is the per-neuron ``w_self``), so it changes nothing here. Random bundles and
torch models (hence trained and exported ones) take their layer names and weight keys from
:func:`layer_names` and :func:`topology`, so a model and its bundle agree.
"""

from __future__ import annotations

from .bundle import INPUT, Projection


def layer_names(count: int) -> list[str]:
    """``h1 … h{n-1}`` then ``out``."""
    return [f"h{k + 1}" for k in range(count - 1)] + ["out"]


def projection(src: str, dst: str, delay: int) -> Projection:
    """A projection named by the one weight-key rule: ``src->dst``, ``@1`` when delayed."""
    return Projection(src, dst, delay, f"{src}->{dst}" + ("@1" if delay else ""))


def topology(names: list[str], skip: bool, recurrent: bool, feedback: bool) -> list[Projection]:
    """The projection list of a stacked net with the requested extras."""
    nodes = [INPUT, *names]  # node k is "layer k" with the input as layer 0
    projections = []
    for k in range(1, len(nodes)):
        dst = nodes[k]
        sources = [(nodes[k - 1], 0)]
        if skip and k >= 2:
            sources.append((nodes[k - 2], 0))
        if recurrent:
            sources.append((dst, 1))
        if feedback and k + 1 < len(nodes):
            sources.append((nodes[k + 1], 1))
        projections += [projection(src, dst, delay) for src, delay in sources]
    return projections
