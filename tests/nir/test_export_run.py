"""``scsr nir export RUN``: a run's float model as §3 sees it, read back the same."""

from __future__ import annotations

import numpy as np
import torch

from scsr.model import ModelConfig, ScsrNet
from scsr.nir import export_nir
from scsr.nir.graph import read_graph
from scsr.nir.importer import import_graph
from scsr.nir.net import float_spikes, from_run
from scsr.train.checkpoint import NAME, save_checkpoint


def make_run(path, config: ModelConfig) -> ScsrNet:
    torch.manual_seed(0)
    model = ScsrNet(config)
    path.mkdir()
    save_checkpoint(path / NAME, {
        "epoch": 1, "model": model.state_dict(), "optimizer": {}, "scheduler": {},
        "model_config": config.to_dict(), "train_config": {}, "classes": ["a", "b", "c"],
        "dataset_config": "{}", "metrics": {}})
    return model


def test_run_exports_its_effective_float_model(tmp_path):
    config = ModelConfig(channels=4, hidden=(6, 5), classes=3, skip=True, self_recurrent=True,
                         w_self=0.4, normalise=True, tau_s=3.0, tau_m=6.0, theta=0.8,
                         weight_gain=40.0, equalise=False, stretch_surrogate=False)
    model = make_run(tmp_path / "run", config)
    summary = export_nir(tmp_path / "run", tmp_path / "m.nir", 1e-4)
    assert summary["kind"] == "run" and summary["projections"] == len(model.projections)
    back = import_graph(read_graph(tmp_path / "m.nir"), "m.nir").net
    ours = from_run(tmp_path / "run")
    assert back.classes == ("a", "b", "c")
    assert [l.name for l in back.layers] == list(model.names)
    for a, b in zip(ours.layers, back.layers, strict=True):
        for kind in ("alpha", "beta", "theta", "w_self"):
            assert np.allclose(getattr(a, kind), getattr(b, kind), rtol=1e-9), (a.name, kind)
    for p in ours.projections:
        assert np.allclose(ours.weights[p.weights], back.weights[p.weights], rtol=1e-9)
    # with normalise the gain (1-α)(1-β) is folded in: not the raw parameter
    raw = dict(model.incoming("h1"))[next(p for p in model.projections if p.dst == "h1")]
    assert not np.allclose(ours.weights["input->h1"], raw.detach().numpy())
    x = (np.random.default_rng(0).random((4, 30, 4)) < 0.5).astype(np.uint8)
    a, b = float_spikes(ours, x), float_spikes(back, x)
    assert all(np.array_equal(a[n], b[n]) for n in a)
    assert a["out"].sum() > 0
