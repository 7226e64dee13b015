"""Every engine against the golden model on the same bundles: one table of who must agree.

The bundles are exported from freshly initialised torch models of every preset (and one
with feedback), so the QAT forward can run them too, plus seeded random bundles of every
projection kind. The reference is the golden model in §4's literal timestep-major order
(:mod:`golden_model.schedule` says which order each engine may take instead). Engines:
golden layer-major, the torch integer path (matrix product and table-lookup products,
several time windows), the QAT forward (fused CPU kernels and the per-step reference) and
the generated RTL in Amaranth's simulator. Icarus and Verilator run the same RTL in
``tests/sim`` and ``tests/fuzz``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
import torch

from golden_model import FixedPoint, SimResult, simulate
from golden_model.compare import first_mismatch
from golden_model.random_bundle import RandomSpec, random_bundle
from golden_model.schedule import bundle_plan
from scsr import torch_int
from scsr.export import to_bundle
from scsr.model import ScsrNet, preset

PRESET_NETS = {"ff": {}, "sr": {}, "scsr": {}, "rsnn": {}, "scsr-feedback": {"feedback": True}}
RANDOM = {"random-scsr": (True, True, False, False), "random-rsnn": (False, True, True, False),
          "random-feedback": (True, True, True, True)}


def _net(name: str) -> ScsrNet:
    torch.manual_seed(4)
    kind = name.split("-")[0]
    net = ScsrNet(preset(kind, 10, (14, 9), 4, bip=True, **PRESET_NETS[name]))
    net.calibrate(torch.as_tensor(_spikes(seed=6)), rate=0.15)  # as training starts: spiking
    return net


def _bundle(name: str):
    if name in PRESET_NETS:
        net = _net(name)
        return to_bundle(net, net.config.fixed_point, list("abcd"), 16), net
    skip, self_, recurrent, feedback = RANDOM[name]
    spec = RandomSpec(inputs=10, layers=(14, 9, 4), fixed_point=FixedPoint(6, 14, 7), seed=8,
                      skip=skip, self_recurrent=self_, recurrent=recurrent,
                      feedback=feedback, timesteps=16)
    return random_bundle(spec), None


def _spikes(seed: int = 5) -> np.ndarray:
    return (np.random.default_rng(seed).random((4, 16, 10)) < 0.25).astype(np.uint8)


def _torch_lookup(bundle, x) -> SimResult:
    saved = torch_int.LOOKUP_MIN_SOURCES, torch_int.WINDOW
    torch_int.LOOKUP_MIN_SOURCES, torch_int.WINDOW = 1, 5  # lookups on; blocks cut T
    try:
        return torch_int.simulate(bundle, x, trace=True)
    finally:
        torch_int.LOOKUP_MIN_SOURCES, torch_int.WINDOW = saved


def _pysim(bundle, x, pipeline: str = "deep") -> SimResult:
    from rtl.config import NetConfig
    from sim.pysim import run_pysim

    board = run_pysim(NetConfig.from_bundle(bundle, 3, pipeline=pipeline), x, stall_seed=2)
    result, hw_pred = board.sim_result(trace=True)
    assert np.array_equal(hw_pred, result.pred)
    return result


ENGINES: dict[str, Callable[..., SimResult]] = {
    "golden-layer": lambda b, x: simulate(b, x, trace=True, schedule="layer"),
    "torch": lambda b, x: torch_int.simulate(b, x, trace=True),
    "torch-lookup": _torch_lookup,
    "pysim": _pysim,
    "pysim-short": lambda b, x: _pysim(b, x, "short"),
}


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("name", [*PRESET_NETS, *RANDOM])
def test_engine_agrees_with_the_golden_model(name: str, engine: str) -> None:
    bundle, _ = _bundle(name)
    if engine == "golden-layer" and bundle_plan(bundle).timestep_major:
        pytest.skip("the plan requires the timestep-major order (feedback)")
    x = _spikes()
    expected = simulate(bundle, x, trace=True, schedule="timestep")
    assert all(expected.spikes[layer.name].any() for layer in bundle.layers)
    assert first_mismatch(expected, ENGINES[engine](bundle, x)) is None


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("name", list(PRESET_NETS))
def test_qat_forward_agrees_with_the_golden_model(name: str, fused: bool) -> None:
    bundle, net = _bundle(name)
    x = _spikes()
    expected = simulate(bundle, x, trace=True, schedule="timestep")
    with torch.no_grad():
        out = net(torch.as_tensor(x), quant=True, fused=fused)
    got = dataclasses.replace(
        expected, counts=out.counts.numpy().astype(np.int32),
        spikes={k: v.numpy().transpose(1, 0, 2).astype(np.uint8) for k, v in out.spikes.items()})
    assert np.array_equal(got.counts, expected.counts)
    for layer in net.names:
        assert np.array_equal(got.spikes[layer], expected.spikes[layer]), layer
