"""The mapping itself: Euler formulas, delays from cycles, w_self, flattening, dt choice."""

from __future__ import annotations

import numpy as np
import pytest

from golden_model import FixedPoint
from scsr.nir.discretise import cuba_lif_params, layer_from_node
from scsr.nir.graph import Graph, Node, read_graph, write_graph
from scsr.nir.importer import import_graph
from scsr.nir.net import to_bundle
from tests.nir.test_bad_input import cuba, small_graph


def imported(tmp_path, graph: Graph, **kw):
    path = tmp_path / "m.nir"
    write_graph(graph, path)
    return import_graph(read_graph(path), str(path), **kw)


def test_cuba_lif_under_forward_euler():
    p = cuba(2, tau_syn=np.array([2e-4, 1e-3]), tau_mem=np.array([4e-4, 1e-4]),
             w_in=np.array([3.0, 1.0]), r=np.array([2.0, 5.0]))
    e = layer_from_node("n", "CubaLIF", p, 2, 1e-4, "f")
    assert np.allclose(e.alpha, [0.5, 0.9]) and np.allclose(e.beta, [0.75, 0.0])
    # g = (dt w_in / tau_syn) (dt r / tau_mem)
    assert np.allclose(e.gain, [(1e-4 * 3 / 2e-4) * (1e-4 * 2 / 4e-4), (0.1) * (5.0)])
    assert np.array_equal(e.theta, [1.0, 1.0])


def test_lif_has_no_synaptic_state():
    p = {"tau": np.full(3, 5e-4), "r": np.full(3, 5.0), "v_leak": np.zeros(3),
         "v_threshold": np.full(3, 2.0)}
    e = layer_from_node("n", "LIF", p, 3, 1e-4, "f")
    assert np.array_equal(e.alpha, np.zeros(3))
    assert np.allclose(e.beta, 0.8) and np.allclose(e.gain, 1.0)


def test_export_form_inverts_the_import_form():
    alpha, beta, theta = np.array([0.0, 0.5, 0.99]), np.array([0.25, 0.9, 0.0]), np.ones(3)
    e = layer_from_node("n", "CubaLIF", cuba_lif_params(alpha, beta, theta, 1e-3), 3, 1e-3, "f")
    assert np.allclose(e.alpha, alpha) and np.allclose(e.beta, beta)
    assert np.allclose(e.gain, 1.0)


def test_a_loop_between_two_layers_is_feedback(tmp_path):
    graph = small_graph(nodes={"back": Node("back", "Linear", {"weight": np.ones((4, 2))})},
                        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"),
                               ("fc2", "lif2"), ("lif2", "back"), ("back", "lif1"),
                               ("lif2", "output")])
    net = imported(tmp_path, graph).net
    assert [l.name for l in net.layers] == ["lif1", "lif2"]
    assert {(p.src, p.dst, p.delay) for p in net.projections} == \
        {("input", "lif1", 0), ("lif1", "lif2", 0), ("lif2", "lif1", 1)}


def test_diagonal_self_loop_is_w_self_and_dense_one_is_a_projection(tmp_path):
    nodes = {"diag": Node("diag", "Linear", {"weight": np.diag([1.0, -2.0, 0.0, 3.0])}),
             "dense": Node("dense", "Linear", {"weight": np.ones((2, 2))})}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
             ("lif2", "output"), ("lif1", "diag"), ("diag", "lif1"), ("lif2", "dense"),
             ("dense", "lif2")]
    net = imported(tmp_path, small_graph(nodes=nodes, edges=edges)).net
    assert np.allclose(net.layer("lif1").w_self, [1.0, -2.0, 0.0, 3.0])  # g = 1 here
    assert ("lif2", "lif2", 1) in {(p.src, p.dst, p.delay) for p in net.projections}
    assert np.allclose(net.weights["lif2->lif2@1"], 1.0)


def test_nested_subgraph_is_flattened(tmp_path):
    nir = pytest.importorskip("nir")
    inner = nir.NIRGraph(nodes={"input": nir.Input(np.array([4])),
                                "lif": nir.CubaLIF(**cuba(4)),
                                "w_rec": nir.Linear(np.diag([0.5, 0.5, 0.5, 0.5])),
                                "output": nir.Output(np.array([4]))},
                         edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
                                ("lif", "output")], type_check=False)
    graph = nir.NIRGraph(nodes={"input": nir.Input(np.array([3])),
                                "fc1": nir.Linear(np.full((4, 3), 0.5)), "rsyn": inner,
                                "fc2": nir.Linear(np.full((2, 4), 0.5)),
                                "lif2": nir.CubaLIF(**cuba(2)),
                                "output": nir.Output(np.array([2]))},
                         edges=[("input", "fc1"), ("fc1", "rsyn"), ("rsyn", "fc2"),
                                ("fc2", "lif2"), ("lif2", "output")], type_check=False)
    path = tmp_path / "nested.nir"
    nir.write(path, graph)
    result = import_graph(read_graph(path), str(path))
    assert result.layer_nodes == {"rsyn_lif": "rsyn.lif", "lif2": "lif2"}
    assert np.allclose(result.net.layer("rsyn_lif").w_self, 0.5)


def test_dt_precedence(tmp_path):
    graph = small_graph()
    graph = Graph(graph.nodes, graph.edges, {"dt": 2e-4})
    assert imported(tmp_path, graph).dt == 2e-4
    assert imported(tmp_path, graph, dt=1e-4).dt_source == "--dt"
    assert imported(tmp_path, small_graph()).dt == 1e-4
    net = imported(tmp_path, graph).net
    assert np.allclose(net.layer("lif1").alpha, 1 - 2e-4 / 5e-4)


def test_li_readout_with_a_threshold(tmp_path):
    li = Node("lif2", "CubaLI", {k: v for k, v in cuba(2).items()
                                 if k not in ("v_threshold", "v_reset")})
    net = imported(tmp_path, small_graph(nodes={"lif2": li}), readout_threshold=0.7).net
    assert np.array_equal(net.layer("lif2").theta, [0.7, 0.7])


def test_quantisation_is_the_exporters_rule(tmp_path):
    import torch

    from scsr.model.quant import quantise_layer

    net = imported(tmp_path, small_graph(nodes={"fc1": Node("fc1", "Linear", {
        "weight": np.linspace(-1, 1, 12).reshape(4, 3)})})).net
    fp = FixedPoint(8, 16, 8)
    bundle, how = to_bundle(net, fp)
    assert how == {"lif1": "per layer", "lif2": "per layer"}
    layer = net.layer("lif1")
    t = [torch.as_tensor(getattr(layer, k)) for k in ("alpha", "beta", "theta", "w_self")]
    q = quantise_layer([torch.as_tensor(net.weights["input->lif1"])], *t, fp)
    assert np.array_equal(bundle.arrays["input->lif1"], q.weights[0].numpy())
    assert np.array_equal(bundle.param("lif1", "theta"), q.theta_q.numpy())
    assert to_bundle(net, fp, equalise=True)[1]["lif1"] == "per neuron"


def test_tau_equal_to_dt_in_float32_is_accepted():
    """snnTorch writes τ_syn = dt/(1-α) in float32: for α = 0 a hair below dt."""
    p = cuba(2, tau_syn=np.full(2, 1e-4, np.float32), tau_mem=np.full(2, 2e-4, np.float32))
    e = layer_from_node("n", "CubaLIF", p, 2, 1e-4, "f")
    assert np.array_equal(e.alpha, [0.0, 0.0]) and np.allclose(e.beta, 0.5)
