"""NIR graphs as HDF5 files: read (with validation of the container), flatten, write.

The Neuromorphic Intermediate Representation (PyPI ``nir``, 1.0) stores a graph as an HDF5
file with a ``version`` string and a ``node`` group: ``type = "NIRGraph"``, a ``nodes`` group
(one group per node, its ``type`` and parameter datasets) and ``edges``, ``(E, 2)`` strings.
This module reads and writes that layout with ``h5py`` itself, so that ``scsr nir`` needs no
``nir`` package at run time and every problem is reported as ``<path>: <field>: <problem>``
(the ``nir`` package's own reader stops at a bare ``assert``). Tests hold our files readable by
``nir.read`` and ``nir``'s files readable here.

Nested graphs (a ``NIRGraph`` node, as older ``nirtorch`` versions export snnTorch's
``RSynaptic``) are flattened: inner nodes are named ``<graph>.<node>`` and the inner
``Input``/``Output`` nodes, like ``Identity`` nodes, are replaced by direct edges.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from golden_model.atomic import atomic_file
from golden_model.errors import ScsrError

#: What our files say in their ``version`` dataset: the NIR release whose layout they follow.
NIR_VERSION = "1.0.8"


@dataclass(frozen=True)
class Node:
    """One NIR node: its name, ``type`` (``"CubaLIF"``, ``"Linear"``, ...), parameter arrays
    and metadata (strings decoded)."""

    name: str
    kind: str
    params: Mapping[str, np.ndarray]
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    """A flat NIR graph: nodes by name (file order), edges ``(src, dst)``, graph metadata."""

    nodes: Mapping[str, Node]
    edges: tuple[tuple[str, str], ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return np.vectorize(_decode, otypes=[object])(value)
    return value


def _metadata(group: Any) -> dict[str, Any]:
    if "metadata" not in group:
        return {}
    meta = group["metadata"]
    out: dict[str, Any] = {}
    for key, item in meta.items():
        if hasattr(item, "shape"):
            value = _decode(item[()])
            out[key] = value.item() if isinstance(value, np.ndarray) and value.ndim == 0 \
                else value
    return out


def _read_node(group: Any, name: str, where: str) -> Node | tuple[Graph, str]:
    if "type" not in group or not hasattr(group["type"], "shape"):
        raise ScsrError(where, f"{name}.type", "is missing (not a NIR node)")
    kind = _decode(group["type"][()])
    if not isinstance(kind, str):
        raise ScsrError(where, f"{name}.type", f"must be a string, not {kind!r}")
    if kind == "NIRGraph":
        return _read_graph(group, name, where), kind
    params = {key: np.asarray(item[()]) for key, item in group.items()
              if key not in ("type", "metadata") and hasattr(item, "shape")}
    return Node(name, kind, params, _metadata(group))


def _read_graph(group: Any, name: str, where: str) -> Graph:
    prefix = f"{name}." if name else ""
    if "nodes" not in group:
        raise ScsrError(where, f"{prefix}nodes", "is missing")
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []
    inner_edges = _read_edges(group, prefix, where)
    for key, sub in group["nodes"].items():
        read = _read_node(sub, f"{prefix}{key}", where)
        if isinstance(read, Node):
            nodes[read.name] = read
            continue
        inner, _ = read
        # Keep the subgraph's Input/Output as pass-through nodes under their full names;
        # the outer edges to/from the subgraph go to/from them.
        full = f"{prefix}{key}"
        ins = [n for n, node in inner.nodes.items() if node.kind == "Input"]
        outs = [n for n, node in inner.nodes.items() if node.kind == "Output"]
        nodes.update({n: Node(n, "Identity", node.params, node.metadata)
                      if n in ins or n in outs else node for n, node in inner.nodes.items()})
        edges.extend(inner.edges)
        nodes[full] = Node(full, "Subgraph", {"inputs": np.array(ins, object),
                                              "outputs": np.array(outs, object)})
    edges = [*edges, *inner_edges]
    for a, b in edges:
        for end, label in ((a, "source"), (b, "target")):
            if end not in nodes:
                raise ScsrError(where, f"{prefix}edges", f"({a}, {b}): {label} {end!r} is "
                                                         "not a node of the graph")
    return Graph(nodes, tuple(edges), _metadata(group))


def _read_edges(group: Any, prefix: str, where: str) -> list[tuple[str, str]]:
    if "edges" not in group:
        return []
    raw = _decode(np.asarray(group["edges"][()]))
    if raw.size == 0:
        return []
    if raw.ndim != 2 or raw.shape[1] != 2:
        raise ScsrError(where, f"{prefix}edges", f"shape {raw.shape} should be (E, 2)")
    return [(f"{prefix}{a}", f"{prefix}{b}") for a, b in raw]


def _inline(graph: Graph) -> Graph:
    """Replace ``Subgraph`` placeholders and ``Identity`` nodes (a subgraph's own
    ``Input``/``Output`` become those) by direct edges."""
    nodes = dict(graph.nodes)
    edges = list(graph.edges)
    for name, node in list(nodes.items()):
        if node.kind != "Subgraph":
            continue
        ins, outs = list(node.params["inputs"]), list(node.params["outputs"])
        new = []
        for a, b in edges:
            sources = outs if a == name else [a]
            targets = ins if b == name else [b]
            new.extend((s, t) for s in sources for t in targets)
        edges = new
        del nodes[name]
    inner = [n for n, node in nodes.items() if node.kind == "Identity"]
    for name in inner:
        preds = [a for a, b in edges if b == name and a != name]
        succs = [b for a, b in edges if a == name and b != name]
        edges = [e for e in edges if name not in e]
        edges.extend((p, s) for p in preds for s in succs)
        del nodes[name]
    return Graph(nodes, tuple(dict.fromkeys(edges)), graph.metadata)


def read_graph(path: str | os.PathLike[str]) -> Graph:
    """Read a NIR file into a flat :class:`Graph`; a file that is not NIR/HDF5 is an
    :class:`ScsrError`."""
    import h5py

    where = os.fspath(path)
    if not os.path.isfile(where):
        raise ScsrError(where, "", "no such file")
    try:
        handle = h5py.File(where, "r")
    except OSError as exc:
        raise ScsrError(where, "", f"is not an HDF5 file ({_short(exc)}); NIR graphs are "
                                   "HDF5 files written by nir.write") from None
    try:
        with handle:
            if "node" not in handle:
                raise ScsrError(where, "node", "is missing (not a NIR graph file)")
            top = _read_node(handle["node"], "", where)
            if not isinstance(top, tuple):
                raise ScsrError(where, "node.type", f"is {top.kind!r}; the top node of a NIR "
                                                    "file must be a NIRGraph")
            return _inline(top[0])
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ScsrError(where, "", f"cannot be read as a NIR graph ({_short(exc)}); "
                                   "is it truncated?") from None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _write_value(group: Any, key: str, value: Any) -> None:
    import h5py

    if isinstance(value, str):
        group.create_dataset(key, data=value, dtype=h5py.string_dtype())
    else:
        group.create_dataset(key, data=np.asarray(value))


def graph_bytes(graph: Graph) -> bytes:
    """The HDF5 bytes of ``graph`` in the layout ``nir.write`` produces."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_dataset("version", data=NIR_VERSION, dtype=h5py.string_dtype())
        top = f.create_group("node")
        _write_value(top, "type", "NIRGraph")
        nodes = top.create_group("nodes")
        for node in graph.nodes.values():
            group = nodes.create_group(node.name)
            _write_value(group, "type", node.kind)
            for key, value in node.params.items():
                _write_value(group, key, value)
            if node.metadata:
                meta = group.create_group("metadata")
                for key, value in node.metadata.items():
                    _write_value(meta, key, value)
        top.create_dataset("edges", data=np.array(graph.edges, dtype=object).reshape(-1, 2),
                           dtype=h5py.string_dtype())
        if graph.metadata:
            meta = top.create_group("metadata")
            for key, value in graph.metadata.items():
                _write_value(meta, key, value)
    return buffer.getvalue()


def write_graph(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write ``graph`` to ``path`` atomically (complete or not at all)."""
    data = graph_bytes(graph)
    with atomic_file(path) as handle:
        handle.write(data)
