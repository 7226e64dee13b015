"""Agreement of ``scsr nir import`` (golden model) with snnTorch's own simulation.

Builds the issue-19 net in snnTorch, ``Linear -> RSynaptic(all_to_all=False,
reset_mechanism="zero") -> Linear -> Synaptic(reset_mechanism="zero")`` (per-neuron α, β,
θ and V, no biases), exports it with snnTorch's ``export_to_nir``, imports the file with
``scsr nir import`` at each bit width, and runs the golden model and snnTorch on the same
Bernoulli spike inputs. snnTorch is run twice: as built (``reset_delay=True``, its default)
and with ``reset_delay=False`` on the ``Synaptic`` output layer (``RSynaptic`` ignores that
flag in snnTorch 1.0.0: its reset assignment goes to a local variable, so its reset is
always delayed), and a third time with the immediate reset that flag documents applied to
the ``RSynaptic`` layer too: §4's timing. Writes JSON and prints one summary line.

    python -m benchmarks.nir_agreement --out /tmp/nir_agreement.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch


def build_net(channels: int, hidden: int, classes: int, seed: int, reset_delay: bool = True,
              weight_scale: float = 1.0) -> torch.nn.Module:
    """The snnTorch net, deterministic in ``seed``; ``init_hidden=True`` (what
    ``export_to_nir`` traces)."""
    import snntorch as snn

    gen = torch.Generator().manual_seed(seed)

    def uniform(n: int, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(channels, hidden, bias=False)
            self.lif1 = snn.RSynaptic(alpha=uniform(hidden, 0.6, 0.9),
                                      beta=uniform(hidden, 0.8, 0.95),
                                      threshold=uniform(hidden, 0.8, 1.2),
                                      V=uniform(hidden, -0.5, 0.3), all_to_all=False,
                                      reset_mechanism="zero", init_hidden=True)
            self.fc2 = torch.nn.Linear(hidden, classes, bias=False)
            self.lif2 = snn.Synaptic(alpha=uniform(classes, 0.6, 0.9),
                                     beta=uniform(classes, 0.8, 0.95),
                                     threshold=uniform(classes, 0.8, 1.2),
                                     reset_mechanism="zero", init_hidden=True,
                                     reset_delay=reset_delay)
            with torch.no_grad():
                self.fc1.weight.copy_(torch.randn(hidden, channels, generator=gen)
                                      * 0.15 * weight_scale)
                self.fc2.weight.copy_(torch.randn(classes, hidden, generator=gen)
                                      * 0.12 * weight_scale)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lif2(self.fc2(self.lif1(self.fc1(x))))

    return Net().eval()


def run_snntorch(net: torch.nn.Module, spikes: np.ndarray,
                 immediate_reset: bool = False) -> dict[str, np.ndarray]:
    """Hidden and output spikes ``(batch, T, n)`` of the snnTorch net, from zero state.

    ``immediate_reset`` applies, after each step, the reset that ``reset_delay=False`` is
    documented to apply to the ``RSynaptic`` layer (``mem = mem - (spk - reset) * mem``,
    i.e. ``mem = 0`` where it spiked), which snnTorch 1.0.0's ``RSynaptic`` drops."""
    for module in net.modules():
        if hasattr(module, "reset_mem"):
            module.reset_mem()
    x = torch.as_tensor(spikes, dtype=torch.float32)
    hidden, out = [], []
    with torch.no_grad():
        for t in range(x.shape[1]):
            out.append(net(x[:, t]).numpy())
            hidden.append(net.lif1.spk.numpy().copy())
            if immediate_reset:
                net.lif1.mem = net.lif1.mem * (1 - net.lif1.spk)
    return {"hidden": np.stack(hidden, 1).astype(np.uint8),
            "out": np.stack(out, 1).astype(np.uint8)}


def compare(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> dict[str, float]:
    """Argmax agreement (ties to the lowest index on both sides), exact spike-count agreement
    per (sample, class), mean |count difference|, and agreement of every hidden spike."""
    c_ours, c_theirs = ours["out"].sum(1), theirs["out"].sum(1)
    return {
        "argmax": float(np.mean(np.argmax(c_ours, 1) == np.argmax(c_theirs, 1))),
        "counts_equal": float(np.mean(c_ours == c_theirs)),
        "mean_abs_count_diff": float(np.mean(np.abs(c_ours.astype(int) - c_theirs))),
        "hidden_spikes_equal": float(np.mean(ours["hidden"] == theirs["hidden"])),
        "out_rate_ours": float(ours["out"].mean()),
        "out_rate_snntorch": float(theirs["out"].mean()),
        "silent_samples_snntorch": float(np.mean(c_theirs.sum(1) == 0)),
    }


def measure(bits: list[str], seed: int = 0, batch: int = 200, steps: int = 100,
            channels: int = 32, hidden: int = 64, classes: int = 10,
            rate: float = 0.1) -> dict:
    import nir
    from snntorch.export_nir import export_to_nir

    from golden_model.simulate import simulate
    from scsr.cli.argtypes import fixed_point
    from scsr.nir import import_nir

    rng = np.random.default_rng(seed + 1)
    spikes = (rng.random((batch, steps, channels)) < rate).astype(np.uint8)
    results: dict = {"seed": seed, "batch": batch, "timesteps": steps, "input_rate": rate,
                     "sizes": [channels, hidden, classes], "bits": {}}
    with tempfile.TemporaryDirectory() as tmp:
        net = build_net(channels, hidden, classes, seed)
        path = Path(tmp) / "snntorch.nir"
        nir.write(path, export_to_nir(net, torch.zeros(1, channels), ignore_dims=[0]))
        snn_delay = run_snntorch(net, spikes)
        snn_now = run_snntorch(build_net(channels, hidden, classes, seed, reset_delay=False),
                               spikes)
        snn_immediate = run_snntorch(build_net(channels, hidden, classes, seed,
                                               reset_delay=False), spikes, immediate_reset=True)
        results["snntorch_self_check"] = compare(snn_delay, snn_delay)["argmax"]
        for text in bits:
            summary = import_nir(path, fixed_point(text), Path(tmp) / f"b{text}")
            bundle = summary["bundle"]
            sim = simulate(bundle, spikes, trace=True)
            names = [layer.name for layer in bundle.layers]
            ours = {"hidden": sim.spikes[names[0]], "out": sim.spikes[names[1]]}
            results["bits"][text] = {
                "vs_snntorch_reset_delay_true": compare(ours, snn_delay),
                "vs_snntorch_reset_delay_false_output": compare(ours, snn_now),
                "vs_snntorch_immediate_reset": compare(ours, snn_immediate),
            }
    return results


def fixed_point_of(text: str):
    """``W,S,F`` as a :class:`~golden_model.FixedPoint`."""
    from scsr.cli.argtypes import fixed_point

    return fixed_point(text)


def snntorch_from_nir(path: Path) -> torch.nn.Module:
    """Our NIR file as an snnTorch net: snnTorch's own node converters
    (``_nir_to_snntorch_module``) run by nirtorch's executor on the flat graph.
    ``import_from_nir`` itself wraps each loop into a sub-``NIRGraph`` first, which nirtorch
    2.6 cannot execute (``'GraphModule' object has no attribute 'items'``); for graphs
    without loops the two are the same."""
    import nir
    import nirtorch
    import snntorch.import_nir as snn_nir

    def convert(node):
        return snn_nir._nir_to_snntorch_module(node, init_hidden=True)

    kinds = (nir.Affine, nir.Linear, nir.LIF, nir.CubaLIF)
    return nirtorch.nir_to_torch(nir.read(path), dict.fromkeys(kinds, convert))


def run_graph_executor(net: torch.nn.Module, spikes: np.ndarray) -> np.ndarray:
    """Output spikes ``(batch, T, K)`` of a nirtorch-built snnTorch net, from zero state."""
    for module in net.modules():
        if hasattr(module, "reset_mem"):
            module.reset_mem()
    x = torch.as_tensor(spikes, dtype=torch.float32)
    out, state = [], None
    with torch.no_grad():
        for t in range(x.shape[1]):
            o, state = net(x[:, t], state)
            out.append(o.numpy())
    return np.stack(out, 1)


def measure_export(bits: list[str], batch: int = 200, steps: int = 100) -> dict:
    """``scsr random-model`` bundles (16 -> 32 self-recurrent -> 10) exported with
    ``scsr nir export --unit-threshold`` and run in snnTorch and Rockpool, against the golden
    model on the same Bernoulli(0.1) input. Rockpool gets the feed-forward variant."""
    import warnings

    from golden_model import FixedPoint, save_bundle
    from golden_model.random_bundle import RandomSpec, random_bundle
    from golden_model.simulate import simulate
    from scsr.cli.argtypes import fixed_point
    from scsr.nir import export_nir

    rng = np.random.default_rng(7)
    spikes = (rng.random((batch, steps, 16)) < 0.1).astype(np.uint8)
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for text in bits:
            fp: FixedPoint = fixed_point(text)
            entry = {}
            for name, self_rec in (("snntorch", True), ("rockpool", False)):
                bundle = random_bundle(RandomSpec(16, (32, 10), fp, seed=3,
                                                  self_recurrent=self_rec))
                save_bundle(bundle, Path(tmp) / f"{name}{text}")
                path = Path(tmp) / f"{name}{text}.nir"
                export_nir(Path(tmp) / f"{name}{text}", path, 1e-4,
                           unit_threshold=name == "snntorch")
                ref = simulate(bundle, spikes).counts
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if name == "snntorch":
                        counts = run_graph_executor(snntorch_from_nir(path), spikes).sum(1)
                    else:
                        import nir
                        from rockpool.nn.modules.torch.nir import from_nir

                        out, _ = from_nir(nir.read(path))(torch.as_tensor(
                            spikes, dtype=torch.float32))
                        counts = out.detach().numpy().sum(1)
                entry[name] = {
                    "self_recurrent": self_rec,
                    "argmax": float(np.mean(np.argmax(ref, 1) == np.argmax(counts, 1))),
                    "counts_equal": float(np.mean(ref == counts)),
                    "mean_count_golden": float(ref.mean()),
                    "mean_count_client": float(counts.mean()),
                }
            results[text] = entry
    return results


def measure_rockpool_import(bits: list[str], batch: int = 200, steps: int = 100,
                            weight_scale: float = 1.0) -> dict:
    """A Rockpool net (``LinearTorch(16->32) -> LIFTorch -> LinearTorch(32->10) -> LIFTorch``,
    τ_mem 20 ms, τ_syn 5 ms, dt 1 ms, default weights × ``weight_scale``) exported with
    Rockpool's ``to_nir``, imported with ``scsr nir import --dt 1e-3``, against Rockpool's
    own simulation on the same Bernoulli(0.1) input."""
    import warnings

    import nir

    from golden_model.simulate import simulate
    from scsr.nir import import_nir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from rockpool.nn.combinators import Sequential
        from rockpool.nn.modules import LIFTorch, LinearTorch
        from rockpool.nn.modules.torch.nir import to_nir

        torch.manual_seed(0)
        net = Sequential(LinearTorch((16, 32), has_bias=False),
                         LIFTorch(32, tau_mem=0.02, tau_syn=0.005, dt=1e-3),
                         LinearTorch((32, 10), has_bias=False),
                         LIFTorch(10, tau_mem=0.02, tau_syn=0.005, dt=1e-3))
        with torch.no_grad():
            for module in net.modules().values():  # Rockpool: a dict of submodules
                if isinstance(module, LinearTorch):
                    module.weight.mul_(weight_scale)
        spikes = (np.random.default_rng(5).random((batch, steps, 16)) < 0.1).astype(np.uint8)
        out, _, _ = net(torch.as_tensor(spikes, dtype=torch.float32))
        theirs = out.detach().numpy().sum(1)
        graph = to_nir(net, torch.zeros(1, 1, 16))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rockpool.nir"
        nir.write(path, graph)
        for text in bits:
            bundle = import_nir(path, fixed_point_of(text), Path(tmp) / text, dt=1e-3)["bundle"]
            ours = simulate(bundle, spikes).counts
            results[text] = {
                "argmax": float(np.mean(np.argmax(ours, 1) == np.argmax(theirs, 1))),
                "counts_equal": float(np.mean(ours == theirs)),
                "mean_count_ours": float(ours.mean()),
                "mean_count_rockpool": float(theirs.mean()),
            }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", default="16,32,16;8,16,8", help="';'-separated W,S,F")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--timesteps", type=int, default=100)
    parser.add_argument("--out", default="nir_agreement.json")
    args = parser.parse_args()
    result = measure(args.bits.split(";"), args.seed, args.batch, args.timesteps)
    result["export"] = measure_export(args.bits.split(";"), args.batch, args.timesteps)
    result["rockpool_import"] = {
        str(scale): measure_rockpool_import(args.bits.split(";"), args.batch, args.timesteps,
                                            scale) for scale in (1.0, 0.3)}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    parts = []
    for bits, r in result["bits"].items():
        a, c = r["vs_snntorch_reset_delay_true"], r["vs_snntorch_immediate_reset"]
        parts.append(f"{bits}: argmax {a['argmax']:.1%} as built, {c['argmax']:.1%} with "
                     f"immediate reset (counts equal {a['counts_equal']:.1%} / "
                     f"{c['counts_equal']:.1%})")
    for bits, r in result["export"].items():
        parts.append(f"export {bits}: snnTorch argmax {r['snntorch']['argmax']:.1%}, "
                     f"Rockpool argmax {r['rockpool']['argmax']:.1%}")
    for bits, r in result["rockpool_import"]["1.0"].items():
        parts.append(f"Rockpool import {bits}: argmax {r['argmax']:.1%}")
    print("nir_agreement: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
