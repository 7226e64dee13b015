"""Real clients: an snnTorch net through ``scsr nir import``; our export in snnTorch and
Rockpool. The numbers asserted here are the ones docs/interop.md reports (smaller batch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import load_script

snntorch = pytest.importorskip("snntorch")
nir = pytest.importorskip("nir")
agreement = load_script("benchmarks/nir_agreement.py")


def test_snntorch_export_maps_onto_w_self_and_the_euler_decays(tmp_path):
    from snntorch.export_nir import export_to_nir

    from scsr.nir import import_nir

    net = agreement.build_net(6, 5, 3, seed=2)
    path = tmp_path / "snn.nir"
    nir.write(path, export_to_nir(net, torch.zeros(1, 6), ignore_dims=[0]))
    bundle = import_nir(path, agreement.fixed_point_of("16,32,16"), tmp_path / "b")["bundle"]
    hidden, out = (layer.name for layer in bundle.layers)
    assert [(p.src, p.dst, p.delay) for p in bundle.projections] == \
        [("input", hidden, 0), (hidden, out, 0)]
    one = 1 << 16
    for layer, module in ((hidden, net.lif1), (out, net.lif2)):
        for kind in ("alpha", "beta"):
            expected = np.floor(getattr(module, kind).numpy().astype(np.float64) * one + 0.5)
            assert np.array_equal(bundle.param(layer, kind), expected), (layer, kind)
    # w_self came from the diagonal recurrent Linear: V in units of the hidden layer's scale
    w1, v = net.fc1.weight.detach().numpy(), net.lif1.recurrent.V.detach().numpy()
    sigma = max(np.abs(w1).max(), np.abs(v).max()) / (2**15 - 1)
    assert np.array_equal(bundle.param(hidden, "w_self"), np.round(v / sigma))
    assert np.any(bundle.param(hidden, "w_self") != 0)


@pytest.mark.slow
def test_snntorch_agreement_with_the_golden_model():
    r = agreement.measure(["16,32,16", "8,16,8"], batch=60, steps=60)
    at16 = r["bits"]["16,32,16"]
    # snnTorch with the reset timing of §4: the same network
    assert at16["vs_snntorch_immediate_reset"]["argmax"] >= 0.95
    assert at16["vs_snntorch_immediate_reset"]["hidden_spikes_equal"] >= 0.999
    assert r["bits"]["8,16,8"]["vs_snntorch_immediate_reset"]["argmax"] >= 0.9
    # as built, RSynaptic's delayed reset costs agreement (measured, documented)
    assert at16["vs_snntorch_reset_delay_true"]["argmax"] < \
        at16["vs_snntorch_immediate_reset"]["argmax"]


@pytest.mark.slow
def test_our_export_runs_in_snntorch_and_rockpool():
    r = agreement.measure_export(["16,32,16"], batch=60, steps=60)["16,32,16"]
    assert r["snntorch"]["argmax"] >= 0.95
    assert r["snntorch"]["mean_count_client"] > 0
    assert r["rockpool"]["mean_count_client"] > 0


def test_rockpool_reads_our_weights_and_thresholds(tmp_path):
    pytest.importorskip("rockpool")
    import warnings

    from golden_model import FixedPoint, save_bundle
    from golden_model.random_bundle import RandomSpec, random_bundle
    from scsr.nir import export_nir

    bundle = random_bundle(RandomSpec(4, (5, 3), FixedPoint(8, 16, 8), seed=1))
    save_bundle(bundle, tmp_path / "b")
    export_nir(tmp_path / "b", tmp_path / "m.nir", 1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from rockpool.nn.modules.torch.nir import from_nir

        net = from_nir(nir.read(tmp_path / "m.nir"))
    modules = dict(net.named_children())
    assert np.array_equal(modules["input_to_h1"].weight.detach().numpy().T,
                          bundle.arrays["input->h1"])
    assert np.array_equal(modules["out"].threshold.detach().numpy().reshape(-1),
                          bundle.param("out", "theta"))


def test_snntorch_import_from_nir_runs_our_feed_forward_export(tmp_path):
    """snnTorch's own ``import_from_nir`` (graphs with loops need the converters on nirtorch's
    executor instead, docs/interop.md)."""
    import warnings

    from snntorch.import_nir import import_from_nir

    from golden_model import FixedPoint, save_bundle
    from golden_model.random_bundle import RandomSpec, random_bundle
    from golden_model.simulate import simulate
    from scsr.nir import export_nir

    bundle = random_bundle(RandomSpec(8, (16, 4), FixedPoint(16, 32, 16), seed=5))
    save_bundle(bundle, tmp_path / "b")
    export_nir(tmp_path / "b", tmp_path / "m.nir", 1e-4, unit_threshold=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = import_from_nir(nir.read(tmp_path / "m.nir"))
    spikes = (np.random.default_rng(1).random((40, 50, 8)) < 0.1).astype(np.uint8)
    counts = agreement.run_graph_executor(net, spikes).sum(1)
    golden = simulate(bundle, spikes).counts
    assert golden.sum() > 0
    assert np.mean(np.argmax(counts, 1) == np.argmax(golden, 1)) >= 0.95
