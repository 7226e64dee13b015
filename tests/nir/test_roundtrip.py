"""bundle → NIR → bundle gives back the same integers, for every projection kind."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from golden_model import Bundle, load_bundle
from scsr.nir.exporter import export_graph
from scsr.nir.graph import read_graph, write_graph
from scsr.nir.importer import import_graph
from scsr.nir.net import from_bundle, to_bundle
from tests.golden.strategies import bundles


def round_trip(bundle: Bundle, dt: float = 1e-4) -> Bundle:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.nir"
        write_graph(export_graph(from_bundle(bundle), dt), path)
        imported = import_graph(read_graph(path), str(path))
    back, how = to_bundle(imported.net, bundle.fixed_point)
    assert set(how.values()) == {"exact (sigma = 1)"}
    return back


def assert_same_integers(a: Bundle, b: Bundle) -> None:
    assert [(l.name, l.size) for l in a.layers] == [(l.name, l.size) for l in b.layers]
    assert a.channels == b.channels and a.classes == b.classes
    pa = {(p.src, p.dst, p.delay): p for p in a.projections}
    pb = {(p.src, p.dst, p.delay): p for p in b.projections}
    assert sorted(pa) == sorted(pb)
    for key, p in pa.items():
        assert np.array_equal(a.weights(p), b.weights(pb[key])), key
    for layer in a.layers:
        for kind in ("alpha", "beta", "theta", "w_self"):
            assert np.array_equal(a.param(layer.name, kind), b.param(layer.name, kind)), \
                (layer.name, kind)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundles())
def test_bundle_nir_bundle_is_exact(bundle):
    assert_same_integers(bundle, round_trip(bundle))


@settings(max_examples=15, deadline=None)
@given(bundles(max_layers=2, max_size=3))
def test_round_trip_at_another_dt(bundle):
    assert_same_integers(bundle, round_trip(bundle, dt=1e-3))


@pytest.mark.slow
def test_every_projection_kind_through_the_cli(tmp_path, scsr):
    """skip, self, dense recurrent and feedback at once, through both commands."""
    src, nir_file, back = tmp_path / "a", tmp_path / "a.nir", tmp_path / "b"
    made = scsr("random-model", "--inputs", "6", "--layers", "5,4,3", "--skip", "--self",
                "--recurrent", "--feedback", "--bits", "8,16,8", "--seed", "4", "--out", src)
    assert made.returncode == 0, made.stderr
    out = scsr("nir", "export", src, "--out", nir_file)
    assert out.returncode == 0, out.stderr
    assert "3 layers and 10 projections" in out.stdout
    res = scsr("nir", "import", nir_file, "--bits", "8,16,8", "--out", back)
    assert res.returncode == 0, res.stderr
    assert "dt = 0.0001 s (the graph's metadata)" in res.stdout
    a, b = load_bundle(src), load_bundle(back)
    kinds = {(p.src, p.dst, p.delay) for p in a.projections}
    assert {("input", "h2", 0), ("h1", "h1", 1), ("h2", "h1", 1)} <= kinds
    assert np.any(a.param("h1", "w_self") != 0)
    assert_same_integers(a, b)
    assert b.provenance["scale_rule"] == dict.fromkeys(["h1", "h2", "out"], "exact (sigma = 1)")


def test_nir_package_reads_our_export(tmp_path):
    import pytest

    nir = pytest.importorskip("nir")
    from golden_model import FixedPoint
    from golden_model.random_bundle import RandomSpec, random_bundle

    bundle = random_bundle(RandomSpec(4, (3, 2), FixedPoint(8, 16, 8), seed=1,
                                      self_recurrent=True, feedback=True))
    path = tmp_path / "m.nir"
    write_graph(export_graph(from_bundle(bundle), 1e-4), path)
    graph = nir.read(path)
    assert isinstance(graph.nodes["h1"], nir.CubaLIF)
    assert np.array_equal(graph.nodes["h1_to_out"].weight, bundle.arrays["h1->out"])
    assert np.array_equal(np.diag(graph.nodes["h1_w_self"].weight), bundle.param("h1", "w_self"))
    assert isinstance(graph.nodes["out_to_h1_d1_delay"], nir.Delay)
    assert ("h1", "h1_w_self") in graph.edges and ("h1_w_self", "h1") in graph.edges
    # and nir.write's output of the graph nir read imports to the same integers
    again = tmp_path / "again.nir"
    nir.write(again, graph)
    imported = import_graph(read_graph(again), str(again))
    assert_same_integers(bundle, to_bundle(imported.net, bundle.fixed_point)[0])
