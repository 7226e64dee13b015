"""Bad NIR input: exit code 2, one ``<path>: <field>: <problem>`` line, nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scsr.cli import main
from scsr.nir.graph import Graph, Node, graph_bytes, write_graph


def cuba(n: int, **over) -> dict[str, np.ndarray]:
    p = {"tau_syn": np.full(n, 5e-4), "tau_mem": np.full(n, 1e-3), "r": np.full(n, 10.0),
         "v_leak": np.zeros(n), "v_threshold": np.ones(n), "v_reset": np.zeros(n),
         "w_in": np.full(n, 5.0)}
    p.update(over)
    return p


def small_graph(nodes: dict | None = None, edges: list | None = None, drop=()) -> Graph:
    base = {
        "input": Node("input", "Input", {"shape": np.array([3])}),
        "fc1": Node("fc1", "Linear", {"weight": np.full((4, 3), 0.5)}),
        "lif1": Node("lif1", "CubaLIF", cuba(4)),
        "fc2": Node("fc2", "Linear", {"weight": np.full((2, 4), 0.5)}),
        "lif2": Node("lif2", "CubaLIF", cuba(2)),
        "output": Node("output", "Output", {"shape": np.array([2])}),
    }
    base.update(nodes or {})
    for name in drop:
        base.pop(name)
    links = edges if edges is not None else [("input", "fc1"), ("fc1", "lif1"),
                                             ("lif1", "fc2"), ("fc2", "lif2"),
                                             ("lif2", "output")]
    links = [e for e in links if e[0] in base and e[1] in base]
    return Graph(base, tuple(links), {})


def run_import(path: Path, out: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["nir", "import", str(path), "--bits", "8,16,8", "--out", str(out), *extra])
    return code, capsys.readouterr().err


def test_a_valid_graph_imports(tmp_path, capsys):
    path = tmp_path / "m.nir"
    write_graph(small_graph(), path)
    code = main(["nir", "import", str(path), "--bits", "8,16,8", "--out", str(tmp_path / "b")])
    assert code == 0
    assert "default, what snnTorch's exporter assumes" in capsys.readouterr().out


CASES = {
    "unsupported": (dict(nodes={"fc1": Node("fc1", "Conv2d", {"weight": np.ones((4, 3, 1, 1))})}),
                    "fc1.type: Conv2d nodes are not supported"),
    "shape": (dict(nodes={"fc2": Node("fc2", "Linear", {"weight": np.ones((2, 5))})}),
              "fc2.weight: shape (2, 5) does not fit lif1 (4) -> lif2 (2); expected (2, 4)"),
    "tau_zero": (dict(nodes={"lif1": Node("lif1", "CubaLIF", cuba(4, tau_syn=np.array(
        [5e-4, 0.0, 5e-4, 5e-4])))}), "lif1.tau_syn[1]: 0 s must be positive"),
    "tau_below_dt": (dict(nodes={"lif2": Node("lif2", "CubaLIF", cuba(2, tau_mem=np.full(
        2, 5e-5)))}), "lif2.tau_mem[0]: 5e-05 s is shorter than dt = 0.0001 s"),
    "threshold": (dict(nodes={"lif2": Node("lif2", "CubaLIF", cuba(2, v_threshold=np.array(
        [1.0, -1.0])))}), "lif2.v_threshold[1]: -1 must be positive"),
    "nan": (dict(nodes={"lif1": Node("lif1", "CubaLIF", cuba(4, r=np.array(
        [1, np.nan, 1, 1])))}), "lif1.r[1]: nan is not finite"),
    "inf_weight": (dict(nodes={"fc1": Node("fc1", "Linear", {"weight": np.full((4, 3), np.inf)})}),
                   "fc1.weight[0, 0]: inf is not finite"),
    "bias": (dict(nodes={"fc1": Node("fc1", "Affine", {"weight": np.ones((4, 3)),
                                                       "bias": np.array([0, 0, 0.5, 0])})}),
             "fc1.bias[2]: 0.5: an Affine with a non-zero bias is not supported"),
    "leak": (dict(nodes={"lif1": Node("lif1", "CubaLIF", cuba(4, v_leak=np.full(4, 0.1)))}),
             "lif1.v_leak[0]: 0.1: a leak potential other than 0 is not supported"),
    "reset": (dict(nodes={"lif1": Node("lif1", "CubaLIF", cuba(4, v_reset=np.full(4, -1.0)))}),
              "lif1.v_reset[0]: -1: a reset potential other than 0 is not supported"),
    "empty": (dict(drop=("input", "fc1", "lif1", "fc2", "lif2", "output")),
              "node.nodes: the graph is empty"),
    "no_output": (dict(drop=("output",)), "node.nodes: has 0 Output nodes"),
    "readout": (dict(nodes={"lif2": Node("lif2", "LI", {"tau": np.full(2, 1e-3),
                                                        "r": np.ones(2),
                                                        "v_leak": np.zeros(2)})}),
                "lif2: is a non-spiking LI readout"),
    "long_delay": (dict(nodes={"d": Node("d", "Delay", {"delay": np.full(2, 3e-4)})},
                        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "d"),
                               ("d", "lif2"), ("lif2", "output")]),
                   "d: the connection from lif1 is delayed by 3 steps here"),
    "output_from_linear": (dict(edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"),
                                       ("fc2", "lif2"), ("fc2", "output")]),
                           "output: reads the weight node 'fc2'"),
    "param_sizes": (dict(nodes={"lif1": Node("lif1", "CubaLIF", cuba(4, r=np.ones(3)))}),
                    "lif1: parameters disagree on the neuron count"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_graph_is_refused(case, tmp_path, capsys):
    spec, message = CASES[case]
    path, out = tmp_path / "m.nir", tmp_path / "bundle"
    write_graph(small_graph(**spec), path)
    code, err = run_import(path, out, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"{path}: {message}"), err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nir"]


def test_not_hdf5(tmp_path, capsys):
    path = tmp_path / "m.nir"
    path.write_text("this is not a NIR graph\n")
    code, err = run_import(path, tmp_path / "b", capsys)
    assert code == 2 and err.startswith(f"{path}: is not an HDF5 file (")
    assert err.count("\n") == 1 and not (tmp_path / "b").exists()


def test_truncated(tmp_path, capsys):
    data = graph_bytes(small_graph())
    path = tmp_path / "m.nir"
    path.write_bytes(data[: len(data) // 2])
    code, err = run_import(path, tmp_path / "b", capsys)
    assert code == 2 and err.startswith(f"{path}: "), err
    assert ("is not an HDF5 file" in err or "truncated" in err) and err.count("\n") == 1
    assert not (tmp_path / "b").exists()


def test_hdf5_without_a_graph(tmp_path, capsys):
    import h5py

    path = tmp_path / "m.nir"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(3))
    code, err = run_import(path, tmp_path / "b", capsys)
    assert (code, err) == (2, f"{path}: node: is missing (not a NIR graph file)\n")


def test_classes_must_fit(tmp_path, capsys):
    path = tmp_path / "m.nir"
    write_graph(small_graph(), path)
    code, err = run_import(path, tmp_path / "b", capsys, "--classes", "a,b,c")
    assert (code, err) == (2, f"{path}: --classes: has 3 names but the output layer has 2 "
                              "neurons\n")


def test_an_existing_bundle_survives_a_refusal(tmp_path, capsys):
    path, out = tmp_path / "m.nir", tmp_path / "b"
    write_graph(small_graph(), path)
    assert run_import(path, out, capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    write_graph(small_graph(nodes={"fc2": Node("fc2", "Linear", {"weight": np.ones((2, 5))})}),
                path)
    assert run_import(path, out, capsys)[0] == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_export_refuses_what_is_not_a_model(tmp_path, capsys):
    code = main(["nir", "export", str(tmp_path), "--out", str(tmp_path / "m.nir")])
    assert code == 2
    assert capsys.readouterr().err == (f"{tmp_path}: is neither a bundle (manifest.json) nor a "
                                       "run directory (checkpoint.pt)\n")
    assert not (tmp_path / "m.nir").exists()


def test_widths_that_silence_a_firing_layer_are_refused(tmp_path, capsys):
    """The exporter's check: one large weight takes the scale, the rest round to 0."""
    weight = np.full((4, 3), 0.8)
    weight[0, 0] = -100.0
    path, out = tmp_path / "m.nir", tmp_path / "b"
    write_graph(small_graph(nodes={"fc1": Node("fc1", "Linear", {"weight": weight})}), path)
    code, err = run_import(path, out, capsys)
    assert code == 0  # 8-bit weights keep the small ones
    code = main(["nir", "import", str(path), "--bits", "2,8,4", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("--bits: lif1: goes silent with bits 2,8,4 (it fires at "), err
    assert err.count("\n") == 1
    # the earlier bundle is untouched by the refusal
    assert (out / "manifest.json").is_file()


def test_an_affine_with_zero_bias_is_a_projection(tmp_path, capsys):
    path = tmp_path / "m.nir"
    write_graph(small_graph(nodes={"fc1": Node("fc1", "Affine", {"weight": np.full((4, 3), 0.5),
                                                                 "bias": np.zeros(4)})}), path)
    assert run_import(path, tmp_path / "b", capsys)[0] == 0
