""":class:`~scsr.nir.net.FloatNet` → NIR graph: what ``scsr nir export`` writes.

- ``input`` (``Input``, shape ``(C,)``) and ``output`` (``Output``, fed by the last layer);
- one ``CubaLIF`` per layer, named like the layer, with the parameters of
  :func:`scsr.nir.discretise.cuba_lif_params` (unit gain, ``v_leak = v_reset = 0``);
- one ``Linear`` per projection, ``<src>_to_<dst>`` (``_d1`` for ``delay = 1``); a delay-1
  projection between two different nodes runs through a ``Delay`` node of ``dt`` seconds
  (``<src>_to_<dst>_d1_delay``); a layer's own dense recurrence is a loop without one, its
  ``Linear`` marked ``scsr_role = "projection"`` in its metadata so that a diagonal one
  (any 1-neuron layer's) is not read back as ``w_self``;
- ``w_self`` (when not all zero) as the diagonal ``Linear`` loop ``<layer>_w_self``, the
  shape snnTorch gives ``RSynaptic(all_to_all=False)``;
- graph metadata: ``dt`` (seconds), ``scsr_classes`` (JSON list), ``scsr_timesteps``.

With ``unit_threshold``, every neuron's incoming weights and ``w_self`` are divided by its
threshold and the threshold set to 1: the same float dynamics (they are linear in ``I`` and
``v`` and the reset is to 0), in the one-threshold-per-layer form snnTorch's importer needs.
"""

from __future__ import annotations

import json

import numpy as np

from golden_model.bundle import INPUT

from .discretise import cuba_lif_params
from .graph import Graph, Node
from .net import FloatNet


def export_graph(net: FloatNet, dt: float, unit_threshold: bool = False) -> Graph:
    """The NIR graph of ``net`` under forward Euler with step ``dt`` seconds."""
    scale = {l.name: (1 / l.theta if unit_threshold else np.ones(l.size)) for l in net.layers}
    nodes: dict[str, Node] = {INPUT: Node(INPUT, "Input", {"shape": np.array([net.channels])})}
    edges: list[tuple[str, str]] = []
    used = {INPUT, *(l.name for l in net.layers)}

    def fresh(name: str) -> str:
        base, k = name, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        return name

    for layer in net.layers:
        nodes[layer.name] = Node(layer.name, "CubaLIF", cuba_lif_params(
            layer.alpha, layer.beta, np.ones(layer.size) if unit_threshold else layer.theta,
            dt))
    for p in net.projections:
        w = np.asarray(net.weights[p.weights], np.float64) * scale[p.dst][:, None]
        name = fresh(f"{p.src}_to_{p.dst}" + ("_d1" if p.delay else ""))
        role = {"scsr_role": "projection"} if p.src == p.dst else {}
        nodes[name] = Node(name, "Linear", {"weight": w}, role)
        edges.append((p.src, name))
        if p.delay and p.src != p.dst:
            delay = fresh(f"{name}_delay")
            size = w.shape[0]
            nodes[delay] = Node(delay, "Delay", {"delay": np.full(size, float(dt))})
            edges += [(name, delay), (delay, p.dst)]
        else:
            edges.append((name, p.dst))
    for layer in net.layers:
        if np.any(layer.w_self != 0):
            name = fresh(f"{layer.name}_w_self")
            nodes[name] = Node(name, "Linear",
                               {"weight": np.diag(layer.w_self * scale[layer.name])},
                               {"scsr_role": "w_self"})
            edges += [(layer.name, name), (name, layer.name)]
    out = fresh("output")
    nodes[out] = Node(out, "Output", {"shape": np.array([net.layers[-1].size])})
    edges.append((net.layers[-1].name, out))
    metadata = {"dt": float(dt), "scsr_classes": json.dumps(list(net.classes)),
                "scsr_timesteps": int(net.timesteps), "generator": "scsr nir export"}
    return Graph(nodes, tuple(edges), metadata)
