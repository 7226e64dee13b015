"""NIR graph → :class:`~scsr.nir.net.FloatNet` (then a bundle): topology and refusals.

Mapping (docs/interop.md has the table):

- the graph's one ``Input`` is the bundle's ``input`` (1-D shape ``(C,)``); the neuron node
  that feeds its one ``Output`` is the output layer;
- every ``CubaLIF``/``LIF`` node (``CubaLI``/``LI`` with ``--readout-threshold``) is a layer,
  its parameters discretised by :func:`scsr.nir.discretise.layer_from_node`;
- a ``Linear`` (or an ``Affine`` whose bias is all 0) between two of these is a projection;
  an edge straight from one to another is an identity projection; several weight nodes with
  the same source, target and delay are summed;
- delays: an edge through a ``Delay`` node of one step (``delay = dt``) has ``delay = 1``;
  so has every edge that closes a cycle: a node's loop onto itself, and the edges that a
  depth-first walk from the input (in file order) finds going back to a node it is still in.
  All other edges have ``delay = 0`` and fix the layer order (ties keep file order, the
  output layer comes last);
- a loop of a layer onto itself through a diagonal ``Linear`` is ``w_self`` (how snnTorch
  exports ``RSynaptic(all_to_all=False)``), unless that node's metadata says
  ``scsr_role = "projection"``; any other loop is a dense recurrent projection.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from golden_model.bundle import INPUT, NAME_PATTERN
from golden_model.errors import ScsrError
from golden_model.topology import projection

from .discretise import DEFAULT_DT, NEURON_FIELDS, layer_from_node, node_size
from .graph import Graph, Node
from .net import FloatLayer, FloatNet

WEIGHT_KINDS = ("Linear", "Affine")
SUPPORTED = ("Input", "Output", "Delay", *WEIGHT_KINDS, *NEURON_FIELDS)


@dataclass(frozen=True)
class Edge:
    """One connection between two endpoints (``Input`` or neuron nodes)."""

    src: str
    dst: str
    weight: np.ndarray  # (size of dst, size of src), before the gain
    via: str  # the weight node's name, or "" for an identity edge
    delay: int  # explicit delay steps (Delay nodes); cycles add theirs later
    role: str  # the weight node's metadata "scsr_role", or ""


@dataclass(frozen=True)
class Imported:
    """What :func:`import_graph` returns: the net, the ``dt`` used and where it came from,
    and the NIR node each layer came from."""

    net: FloatNet
    dt: float
    dt_source: str
    layer_nodes: Mapping[str, str]


def choose_dt(graph: Graph, dt: float | None, where: str) -> tuple[float, str]:
    """``--dt`` if given, else the graph's ``metadata.dt``, else :data:`DEFAULT_DT`."""
    if dt is not None:
        return dt, "--dt"
    if "dt" in graph.metadata:
        try:
            value = float(graph.metadata["dt"])
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ScsrError(where, "metadata.dt", f"{graph.metadata['dt']!r} is not a "
                                                  "positive number of seconds")
        return value, "the graph's metadata"
    return DEFAULT_DT, "default, what snnTorch's exporter assumes"


def _sizes(graph: Graph, where: str) -> tuple[str, str, dict[str, int]]:
    if not graph.nodes:
        raise ScsrError(where, "node.nodes", "the graph is empty")
    inputs, outputs = [], []
    sizes: dict[str, int] = {}
    for name, node in graph.nodes.items():
        if node.kind not in SUPPORTED:
            raise ScsrError(where, f"{name}.type", f"{node.kind} nodes are not supported "
                                                  "(scsr maps CubaLIF, LIF, CubaLI, LI, "
                                                  "Linear, Affine with zero bias, one-step "
                                                  "Delay)")
        if node.kind in ("Input", "Output"):
            (inputs if node.kind == "Input" else outputs).append(name)
            shape = np.asarray(node.params.get("shape", []))
            # leading 1s are a traced sample's batch/time axes (Rockpool writes (1, 1, n))
            if (shape.ndim != 1 or shape.size < 1 or np.any(shape[:-1] != 1)
                    or int(shape[-1]) < 1):
                raise ScsrError(where, f"{name}.shape", f"{shape.tolist()}: only a 1-D "
                                                        "shape (n,) with n >= 1 is supported")
            sizes[name] = int(shape[-1])
        elif node.kind in NEURON_FIELDS:
            sizes[name] = node_size(name, node.params, node.kind, where)
    if len(inputs) != 1:
        raise ScsrError(where, "node.nodes", f"has {len(inputs)} Input nodes; exactly one "
                                             "is supported")
    if len(outputs) != 1:
        raise ScsrError(where, "node.nodes", f"has {len(outputs)} Output nodes (the graph "
                                             "needs exactly one: the class readout)")
    if not any(node.kind in NEURON_FIELDS for node in graph.nodes.values()):
        raise ScsrError(where, "node.nodes", "has no neuron node (CubaLIF, LIF, CubaLI, LI)")
    return inputs[0], outputs[0], sizes


def _delay_steps(node: Node, dt: float, where: str) -> int:
    value = np.asarray(node.params.get("delay", np.nan), np.float64).reshape(-1)
    if value.size == 0 or not np.all(np.isfinite(value)):
        raise ScsrError(where, f"{node.name}.delay", "must be finite numbers of seconds")
    steps = value / dt
    if np.any(np.abs(steps - np.round(steps)) > 1e-6) or np.unique(np.round(steps)).size != 1:
        raise ScsrError(where, f"{node.name}.delay", f"{value.tolist()[:4]} s is not one whole "
                                                     f"number of steps of dt = {dt:g} s")
    return int(np.round(steps[0]))


def _edges(graph: Graph, sizes: Mapping[str, int], dt: float, where: str,
           output: str) -> tuple[list[Edge], str]:
    succ: dict[str, list[str]] = {name: [] for name in graph.nodes}
    pred: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for a, b in graph.edges:
        succ[a].append(b)
        pred[b].append(a)
    for name, node in graph.nodes.items():
        if node.kind in (*WEIGHT_KINDS, "Delay") and (not pred[name] or not succ[name]):
            raise ScsrError(where, name, f"this {node.kind} node has no "
                                         f"{'input' if not pred[name] else 'output'} edge")
    endpoints = [n for n, node in graph.nodes.items()
                 if node.kind == "Input" or node.kind in NEURON_FIELDS]
    edges: list[Edge] = []
    feeds_output = []
    for src in endpoints:
        # (node, weight node or "", delay steps) reached from src through weights/delays
        stack = [(b, "", 0) for b in reversed(succ[src])]
        seen = set()
        while stack:
            node_name, via, delay = stack.pop()
            node = graph.nodes[node_name]
            if (node_name, via, delay) in seen:
                continue
            seen.add((node_name, via, delay))
            if node.kind == "Delay":
                delay += _delay_steps(node, dt, where)
                if delay > 1:
                    raise ScsrError(where, node_name, f"the connection from {src} is delayed "
                                                      f"by {delay} steps here; at most one "
                                                      "step is supported")
                stack.extend((b, via, delay) for b in reversed(succ[node_name]))
            elif node.kind in WEIGHT_KINDS:
                if via:
                    raise ScsrError(where, node_name, f"follows the weight node {via!r} "
                                                      "directly; only one Linear/Affine per "
                                                      "connection is supported")
                stack.extend((b, node_name, delay) for b in reversed(succ[node_name]))
            elif node.kind == "Output":
                if via or delay or graph.nodes[src].kind == "Input":
                    what = f"the weight node {via!r}" if via else \
                        "a Delay" if delay else "the Input"
                    raise ScsrError(where, node_name, f"reads {what}; the Output must read a "
                                                      "neuron layer (its spikes are counted)")
                feeds_output.append(src)
            elif node.kind == "Input":
                raise ScsrError(where, node_name, "has an incoming edge")
            else:
                edges.append(_edge(graph, sizes, src, node_name, via, delay, where))
    if len(feeds_output) != 1:
        raise ScsrError(where, output, f"is fed by {len(feeds_output)} neuron nodes; exactly "
                                       "one (the output layer) must feed it")
    out_layer = feeds_output[0]
    if sizes[out_layer] != sizes[output]:
        raise ScsrError(where, f"{output}.shape", f"[{sizes[output]}] does not match "
                                                  f"{out_layer!r} ({sizes[out_layer]} neurons)")
    return edges, out_layer


def _edge(graph: Graph, sizes: Mapping[str, int], src: str, dst: str, via: str, delay: int,
          where: str) -> Edge:
    if delay > 1:
        raise ScsrError(where, via or dst, f"the connection {src} -> {dst} is delayed by "
                                           f"{delay} steps; at most one step is supported")
    shape = (sizes[dst], sizes[src])
    if not via:
        if shape[0] != shape[1]:
            raise ScsrError(where, dst, f"the edge from {src!r} ({shape[1]}) to {dst!r} "
                                        f"({shape[0]}) joins populations of different sizes")
        return Edge(src, dst, np.eye(shape[0]), "", delay, "")
    node = graph.nodes[via]
    if "weight" not in node.params:
        raise ScsrError(where, f"{via}.weight", "is missing")
    weight = np.asarray(node.params["weight"])
    if weight.dtype.kind not in "fiu":
        raise ScsrError(where, f"{via}.weight", f"dtype {weight.dtype} is not numeric")
    if weight.shape != shape:
        raise ScsrError(where, f"{via}.weight", f"shape {weight.shape} does not fit "
                                                f"{src} ({shape[1]}) -> {dst} ({shape[0]}); "
                                                f"expected {shape}")
    weight = weight.astype(np.float64)
    bad = np.argwhere(~np.isfinite(weight))
    if bad.size:
        i, j = bad[0]
        raise ScsrError(where, f"{via}.weight[{i}, {j}]", f"{weight[i, j]} is not finite")
    if node.kind == "Affine":
        bias = np.asarray(node.params.get("bias", 0.0), np.float64).reshape(-1)
        nz = np.flatnonzero(bias != 0)
        if nz.size:
            raise ScsrError(where, f"{via}.bias[{nz[0]}]", f"{bias[nz[0]]:g}: an Affine with a "
                                                           "non-zero bias is not supported "
                                                           "(§4 has no bias current)")
    role = str(node.metadata.get("scsr_role", ""))
    return Edge(src, dst, weight, via, delay, role)


def _order(graph: Graph, inp: str, out_layer: str, edges: Sequence[Edge],
           where: str) -> tuple[list[str], list[Edge]]:
    """Layer order and every edge with its final delay (cycles closed by delay 1)."""
    neurons = [n for n, node in graph.nodes.items() if node.kind in NEURON_FIELDS]
    instant = {n: [] for n in [inp, *neurons]}
    for k, e in enumerate(edges):
        if e.delay == 0 and e.src != e.dst:
            instant[e.src].append((e.dst, k))
    back: set[int] = set()
    state = dict.fromkeys(instant, 0)  # 0 new, 1 on the walk, 2 done

    def walk(start: str) -> None:
        state[start] = 1
        stack = [(start, iter(instant[start]))]
        while stack:
            node, children = stack[-1]
            for child, k in children:
                if state[child] == 1:
                    back.add(k)
                elif state[child] == 0:
                    state[child] = 1
                    stack.append((child, iter(instant[child])))
                    break
            else:
                state[node] = 2
                stack.pop()

    walk(inp)
    for n in neurons:  # a layer the input does not reach still gets its cycles classified
        if state[n] == 0:
            walk(n)
    final = [Edge(e.src, e.dst, e.weight, e.via,
                  1 if (e.delay or e.src == e.dst or k in back) else 0, e.role)
             for k, e in enumerate(edges)]
    # Kahn's algorithm on delay-0 edges; ties in file order, the output layer last.
    indegree = dict.fromkeys(neurons, 0)
    for e in final:
        if e.delay == 0 and e.src != inp:
            indegree[e.dst] += 1
    order: list[str] = []
    while len(order) < len(neurons):
        ready = [n for n in neurons if indegree[n] == 0 and n not in order]
        pick = next((n for n in ready if n != out_layer), ready[0] if ready else None)
        if pick is None:  # cannot happen: back edges were removed
            raise ScsrError(where, "node.edges", "the delay-0 edges form a cycle")
        if pick == out_layer and len(order) < len(neurons) - 1:
            rest = [n for n in neurons if n not in order and n != out_layer]
            raise ScsrError(where, rest[0], f"is computed from the output layer "
                                            f"{out_layer!r} within a timestep, so "
                                            f"{out_layer!r} cannot come last")
        order.append(pick)
        for e in final:
            if e.delay == 0 and e.src == pick:
                indegree[e.dst] -= 1
    return order, final


def _layer_names(nodes: Sequence[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    used: set[str] = {INPUT}
    for node in nodes:
        base = re.sub(r"[^A-Za-z0-9_]", "_", node) or "layer"
        if not NAME_PATTERN.fullmatch(base):
            base = f"n_{base}"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names[node] = name
    return names


def _classes(graph: Graph, classes: Sequence[str] | None, size: int, where: str) -> tuple:
    if classes is None and "scsr_classes" in graph.metadata:
        try:
            classes = json.loads(str(graph.metadata["scsr_classes"]))
        except (ValueError, RecursionError):
            classes = None
    if classes is None:
        return tuple(str(k) for k in range(size))
    classes = tuple(str(c) for c in classes)
    if len(classes) != size:
        raise ScsrError(where, "--classes", f"has {len(classes)} names but the output layer "
                                            f"has {size} neurons")
    if len(set(classes)) != len(classes):
        raise ScsrError(where, "--classes", "names must be unique")
    return classes


def import_graph(graph: Graph, where: str, dt: float | None = None,
                 classes: Sequence[str] | None = None, timesteps: int | None = None,
                 readout_threshold: float | None = None) -> Imported:
    """Map a flat NIR graph onto a :class:`FloatNet` (see the module docstring)."""
    dt, dt_source = choose_dt(graph, dt, where)
    inp, output, sizes = _sizes(graph, where)
    edges, out_layer = _edges(graph, sizes, dt, where, output)
    order, edges = _order(graph, inp, out_layer, edges, where)
    names = _layer_names(order)
    names[inp] = INPUT
    euler = {n: layer_from_node(n, graph.nodes[n].kind, graph.nodes[n].params, sizes[n], dt,
                                where, readout_threshold) for n in order}
    w_self = {n: np.zeros(sizes[n]) for n in order}
    merged: dict[tuple[str, str, int], np.ndarray] = {}
    for e in edges:
        gain = euler[e.dst].gain[:, None]
        diagonal = np.array_equal(e.weight, np.diag(np.diag(e.weight)))
        if e.src == e.dst and e.delay == 1 and diagonal and e.role != "projection":
            w_self[e.dst] = w_self[e.dst] + np.diag(e.weight) * euler[e.dst].gain
            continue
        key = (names[e.src], names[e.dst], e.delay)
        merged[key] = merged.get(key, 0) + e.weight * gain
    rank = {names[n]: k for k, n in enumerate(order)} | {INPUT: -1}
    in_order = sorted(merged, key=lambda t: (rank[t[1]], t[2], rank[t[0]]))
    projections = tuple(projection(s, d, delay) for s, d, delay in in_order)
    layers = tuple(FloatLayer(names[n], euler[n].alpha, euler[n].beta, euler[n].theta,
                              w_self[n]) for n in order)
    if timesteps is None:
        timesteps = int(graph.metadata.get("scsr_timesteps", 100) or 100)
    net = FloatNet(sizes[inp], layers, projections,
                   {p.weights: merged[(p.src, p.dst, p.delay)] for p in projections},
                   _classes(graph, classes, sizes[out_layer], where), timesteps)
    return Imported(net, dt, dt_source, {names[n]: n for n in order})
