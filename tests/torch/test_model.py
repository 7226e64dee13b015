"""The torch model: QAT forward = exported bundle (bit-exact), fused = per-step, presets."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from golden_model import FixedPoint, ScsrError, simulate
from scsr import torch_int
from scsr.export import to_bundle
from scsr.model import PRESETS, ModelConfig, ScsrNet, preset
from scsr.model.config import LEGACY
from scsr.model.quant import THETA_HEADROOM, quantise_layer
from scsr.model.scan import NeuronParams, reference_scan
from scsr.train.loop import hidden_keep


def _net(name: str, bip: bool = True, **overrides) -> ScsrNet:
    """A preset net as these tests were written for: ``ModelConfig``'s old defaults
    (:data:`LEGACY`: weight gain 3, no normalisation or stretch) unless overridden."""
    torch.manual_seed(1)
    return ScsrNet(preset(name, 12, (20, 16), 4, bip=bip, **{**LEGACY, **overrides}))


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


def _spread_time_constants(net: ScsrNet) -> None:
    """Time constants from 1.1 to ~500 steps, so ``normalise``'s input gains ``(1-α)(1-β)``
    span five orders of magnitude within a layer (what BIP training produces)."""
    with torch.no_grad():
        for layer in net.neurons:
            n = layer.alpha_logit.numel()
            layer.alpha_logit.copy_(torch.linspace(-2.0, 6.0, n))
            layer.beta_logit.copy_(torch.linspace(6.0, -1.0, n))


def test_equalise_gives_every_neuron_the_weight_range_and_stays_bit_exact() -> None:
    """With ``equalise`` each neuron's largest incoming integer weight is ``w_max`` unless its
    threshold would leave the headroom, rows use far more levels than without it, and the
    QAT forward still equals the bundle."""
    net = _net("scsr", normalise=True, weight_gain=12.0, equalise=True)
    _spread_time_constants(net)
    bundle, golden = _assert_qat_is_the_bundle(net, _input())
    fp = net.config.fixed_point
    plain = ScsrNet(dataclasses.replace(net.config, equalise=False))
    plain.load_state_dict(net.state_dict())
    flat = to_bundle(plain, fp, list("abcd"), 30)
    for layer in net.names:
        rows = np.stack([np.abs(bundle.arrays[p.weights]).max(axis=1)
                         for p in net.projections if p.dst == layer]
                        + [np.abs(bundle.param(layer, "w_self"))]).max(axis=0)
        theta = bundle.param(layer, "theta")
        at_limit = theta >= fp.theta_max / THETA_HEADROOM - rows  # stretch stopped by θ
        assert np.all((rows >= fp.w_max - 1) | at_limit), layer
        levels = [np.abs(b.arrays[p.weights]).max(axis=1).mean() for b in (bundle, flat)
                  for p in net.projections if p.dst == layer]
        assert sum(levels[:len(levels) // 2]) > 1.5 * sum(levels[len(levels) // 2:]), layer
    assert golden.spikes["h1"].any() and golden.spikes["h2"].any()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=6, max_size=6), st.integers(0, 2**31 - 1))
def test_stretching_a_neuron_leaves_its_float_spikes_unchanged(powers, seed) -> None:
    """The claim behind ``equalise``: one factor ``c`` on a neuron's input current, ``w_self``
    and ``θ`` gives the same spikes (exactly, for ``c = 2^k`` in float64), so the stretch is
    a reparametrisation of the float model, not a change of it."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(40, 3, 6, generator=g, dtype=torch.float64)
    p = NeuronParams(torch.rand(6, generator=g, dtype=torch.float64),
                     torch.rand(6, generator=g, dtype=torch.float64),
                     torch.rand(6, generator=g, dtype=torch.float64) + 0.05,
                     torch.randn(6, generator=g, dtype=torch.float64))
    c = torch.tensor([2.0 ** k for k in powers], dtype=torch.float64)
    stretched = p._replace(theta=p.theta * c, w_self=p.w_self * c)
    base = reference_scan(x, p)
    assert torch.equal(reference_scan(x * c, stretched), base)
    assert base.any()


def test_equalise_never_shrinks_a_row() -> None:
    """``c ≥ 1``: a layer whose rows are already full is quantised as without ``equalise``."""
    fp = FixedPoint(8, 16, 8)
    w = [torch.tensor([[1.0, -0.5], [-1.0, 0.25]])]
    args = (torch.full((2,), 0.5), torch.full((2,), 0.5), torch.full((2,), 0.1),
            torch.tensor([0.3, -0.2]), fp)
    on, off = quantise_layer(w, *args, equalise=True), quantise_layer(w, *args)
    assert all(torch.equal(a, b) for a, b in zip(on.weights, off.weights, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(on[1:], off[1:], strict=True))


def _stretched_net(stretch_surrogate: bool) -> ScsrNet:
    """A net whose QAT stretches its neurons by very different factors (``equalise``)."""
    net = _net("scsr", normalise=True, weight_gain=12.0, equalise=True,
               stretch_surrogate=stretch_surrogate)
    _spread_time_constants(net)
    return net


def test_stretch_surrogate_changes_gradients_not_spikes() -> None:
    """Per-neuron surrogate units (``σ / c``) are a backward-pass choice: the QAT forward,
    and so the bundle, are the same; the gradients are not."""
    x = _input()
    runs = []
    for on in (False, True):
        net = _stretched_net(on)
        out = net(x, quant=True)
        out.counts.sum().backward()  # its output layer is silent: no gradient from counts²
        runs.append((out.counts.detach(), net.neurons[0].theta.grad.clone(), net))
    (counts_off, grad_off, _), (counts_on, grad_on, net) = runs
    assert torch.equal(counts_off, counts_on)
    assert not torch.allclose(grad_off, grad_on)
    run = net.layer_run(0, quant=True)
    weights, p = net.effective(0)
    q = quantise_layer(weights, p.alpha, p.beta, p.theta, p.w_self, net.config.fixed_point,
                       equalise=True)
    assert q.stretch.max() > 4 * q.stretch.min()
    torch.testing.assert_close(run.mode.unit, q.scale / q.stretch)


@pytest.mark.parametrize("quant", [False, True, "stretched", "kept"])
def test_fused_network_gradients_match_per_step_loop(quant: bool | str) -> None:
    net = _stretched_net(True) if quant == "stretched" else _net("scsr")
    keep = (hidden_keep(net, 5, 0.3, torch.Generator().manual_seed(3)) if quant == "kept"
            else None)
    quant = quant is True or quant == "stretched"
    x = _input()
    grads = []
    for fused in (True, False):
        net.zero_grad()
        out = net(x, quant=quant, fused=fused, keep=keep)
        (out.counts.float().pow(2).mean() + out.counts.sum()).backward()
        grads.append({n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None})
    assert sorted(grads[0]) == sorted(grads[1])
    assert {"neurons.0.alpha_logit", "neurons.0.theta", "neurons.0.w_self"} <= set(grads[0])
    assert all(grads[0][name].any() for name in ("neurons.0.theta", "neurons.1.w_self"))
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-5,
                                   msg=name)


@pytest.mark.parametrize("name", ["scsr", "rsnn", "feedback"])
def test_locked_dropout_cuts_a_neuron_off_from_the_other_layers_only(name: str) -> None:
    """``keep[h1][:, j] = 0`` is the network with neuron j's weights into *other* layers at
    zero: its own recurrence still sees it (rsnn), feedback sees the cut too (the
    timestep-major path), and the returned spikes are what the layers really fired. All
    ones is no dropout, bit for bit."""
    net = _net("rsnn", feedback=True) if name == "feedback" else _net(name)
    x = _input()
    with torch.no_grad():
        plain = net(x)
        ones = net(x, keep={n: torch.ones(5, net.sizes[n]) for n in net.names[:-1]})
        busiest = int(plain.spikes["h1"].sum((0, 1)).argmax())
        cut = torch.ones(5, net.sizes["h1"])
        cut[:, busiest] = 0
        kept = net(x, keep={"h1": cut})
        for p, w in zip(net.projections, net.weights, strict=True):
            if p.src == "h1" and p.dst != "h1":
                w[:, busiest] = 0
        zeroed = net(x)
    for layer in net.names:
        assert torch.equal(ones.spikes[layer], plain.spikes[layer]), layer
        assert torch.equal(kept.spikes[layer], zeroed.spikes[layer]), layer
    assert not torch.equal(kept.spikes["h2"], plain.spikes["h2"])
    if name == "scsr":  # nothing returns to h1: its spikes are untouched
        assert torch.equal(kept.spikes["h1"], plain.spikes["h1"])
    with pytest.raises(ValueError, match="input"):
        net(x, keep={"input": torch.ones(5, 12)})


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
    config = preset("scsr", 12, (20, 16), 4, bip=True, fixed_point=FixedPoint(6, 12, 5))
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.to_dict()["bits"] == (6, 12, 5)


def test_a_saved_model_config_without_a_key_means_the_old_default() -> None:
    """A ``model_config`` saved before ``normalise``/``equalise``/``stretch_surrogate``
    existed was a model without them (weight gain 3); today's defaults are ``scsr
    train``'s."""
    config = preset("scsr", 12, (20, 16), 4, bip=True)
    assert (config.weight_gain, config.normalise, config.equalise,
            config.stretch_surrogate) == (2.0, True, True, True)
    old = {k: v for k, v in config.to_dict().items() if k not in LEGACY}
    assert ModelConfig.from_dict(old) == dataclasses.replace(config, **LEGACY)
