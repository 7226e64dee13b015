"""The torch model: QAT forward = exported bundle (bit-exact), fused = per-step, presets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from golden_model import FixedPoint, ScsrError, simulate
from scsr import torch_int
from scsr.export import to_bundle
from scsr.model import PRESETS, ModelConfig, ScsrNet, preset


def _net(name: str, bip: bool = True, **overrides) -> ScsrNet:
    torch.manual_seed(1)
    return ScsrNet(preset(name, 12, (20, 16), 4, bip=bip, **overrides))


def _input(batch: int = 5, steps: int = 30, channels: int = 12) -> torch.Tensor:
    return (torch.rand(batch, steps, channels, generator=torch.Generator().manual_seed(2))
            < 0.2).to(torch.uint8)


def _assert_qat_is_the_bundle(net: ScsrNet, x: torch.Tensor):
    """The QAT forward's counts and every layer's spikes equal the golden model's on the
    exported bundle; returns ``(bundle, golden result)``."""
    with torch.no_grad():
        out = net(x, quant=True)
    bundle = to_bundle(net, net.config.fixed_point, list("abcd"), 30)
    golden = simulate(bundle, x.numpy(), trace=True)
    assert np.array_equal(out.counts.numpy().astype(np.int32), golden.counts)
    for layer in net.names:
        assert np.array_equal(out.spikes[layer].numpy().transpose(1, 0, 2).astype(np.uint8),
                              golden.spikes[layer]), layer
    return bundle, golden


@pytest.mark.parametrize("name", [*PRESETS, "feedback", "normalised"])
def test_qat_forward_is_the_exported_bundle(name: str) -> None:
    """The QAT forward computes the §4 integers: its spikes equal the golden model's on the
    exported bundle for every layer and timestep (values below 2^24 are exact in float32);
    ``normalise`` (input gain ``(1-α)(1-β)``) is folded into the exported weights."""
    special = {"feedback": dict(feedback=True),
               "normalised": dict(normalise=True, weight_gain=12.0, feedback=True)}
    net = _net("scsr", **special[name]) if name in special else _net(name)
    x = _input()
    bundle, golden = _assert_qat_is_the_bundle(net, x)
    assert golden.spikes["h1"].any() and golden.spikes["h2"].any()
    assert np.array_equal(torch_int.simulate(bundle, x.numpy()).counts, golden.counts)


def test_self_bound_caps_w_self_in_training_qat_and_export() -> None:
    """Self weights pushed far above θ are capped at ``self_bound · θ`` wherever the model is
    seen: the float dynamics, the QAT forward and the exported bundle (bit-exact)."""
    net = _net("scsr", normalise=True, weight_gain=12.0, self_bound=0.5)
    with torch.no_grad():
        for layer in net.neurons:
            layer.w_self[::2] = 50.0
    _, p = net.effective(0)
    theta = net.neurons[0].params().theta
    torch.testing.assert_close(p.w_self[::2], 0.5 * theta[::2])
    assert bool((p.w_self[1::2] < 0.5 * theta[1::2]).all())
    _assert_qat_is_the_bundle(net, _input())


@pytest.mark.parametrize("quant", [False, True])
def test_fused_network_gradients_match_per_step_loop(quant: bool) -> None:
    net = _net("scsr")
    x = _input()
    grads = []
    for fused in (True, False):
        net.zero_grad()
        out = net(x, quant=quant, fused=fused)
        out.counts.float().pow(2).mean().backward()
        grads.append({n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None})
    assert sorted(grads[0]) == sorted(grads[1])
    assert {"neurons.0.alpha_logit", "neurons.0.theta", "neurons.0.w_self"} <= set(grads[0])
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-5,
                                   msg=name)


def test_bip_switch_freezes_intrinsic_parameters() -> None:
    trained = {n for n, p in _net("scsr", bip=True).named_parameters() if p.requires_grad}
    frozen = {n for n, p in _net("scsr", bip=False).named_parameters() if p.requires_grad}
    assert trained - frozen == {f"neurons.{k}.{p}" for k in range(3)
                                for p in ("alpha_logit", "beta_logit", "theta")}
    ff = {n for n, p in _net("ff", bip=False).named_parameters() if p.requires_grad}
    assert ff == {"weights.0", "weights.1", "weights.2"}


def test_presets_differ_only_in_topology() -> None:
    projections = {name: [(p.src, p.dst, p.delay) for p in _net(name).projections]
                   for name in PRESETS}
    assert projections["ff"] == projections["sr"] == [("input", "h1", 0), ("h1", "h2", 0),
                                                      ("h2", "out", 0)]
    assert set(projections["scsr"]) - set(projections["ff"]) == {("input", "h2", 0),
                                                                 ("h1", "out", 0)}
    assert set(projections["rsnn"]) - set(projections["ff"]) == {("h1", "h1", 1),
                                                                 ("h2", "h2", 1),
                                                                 ("out", "out", 1)}


def test_unknown_preset_is_a_user_error() -> None:
    with pytest.raises(ScsrError) as info:
        preset("lstm", 4, (8,), 2, bip=False)
    assert str(info.value) == "--preset: lstm: unknown preset (choose from ff, rsnn, sr, scsr)"


def test_config_round_trips_through_json() -> None:
    config = preset("scsr", 12, (20, 16), 4, bip=True, bits=(6, 12, 5))
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.fixed_point == FixedPoint(6, 12, 5)
