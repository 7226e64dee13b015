"""Benchmark: RTL cycles per timestep per layer against the lower bound, and simulated
cycles per wall-clock second on Icarus and Verilator.

Runs the generated network of a bundle (default: a random ScSr model shaped like the
default one, 64 -> 128,128,26 with skips and self-recurrence, 8,16,8 bits) on spike
samples (--input, e.g. a dataset's spike file; otherwise Bernoulli(0.1) inputs, which the
JSON says), checks every output bit against the golden model, and writes a JSON report
plus one summary line. Target: cycles <= 1.10 x (E_in + 1) * ceil(N/P) + 8 per
layer-timestep.

usage: python -m benchmarks.rtl_cycles [--bundle DIR] [--input IN.npz | --dataset DS.npz]
                                        [--lanes P] [--samples N] --out OUT.json

``--dataset`` takes a dataset file as ``scsr dataset`` writes it (e.g.
``build/data/digits-si-features.npz``) and uses the first N samples of its test split.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from golden_model import FixedPoint, load_bundle, load_spikes, simulate
from golden_model.atomic import atomic_file
from golden_model.random_bundle import RandomSpec, random_bundle
from rtl.config import NetConfig
from scsr.cli.argtypes import add_pipeline_option
from sim import runner
from sim.backend import simulate_rtl
from sim.measure import cycle_report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", metavar="DIR", help="bundle (default: random 64->128,128,26)")
    inputs = parser.add_mutually_exclusive_group()
    inputs.add_argument("--input", metavar="IN.npz", help="spike file with dataset samples")
    inputs.add_argument("--dataset", metavar="DS.npz",
                        help="dataset file: the first N samples of its test split")
    parser.add_argument("--lanes", type=int, default=4, metavar="P")
    add_pipeline_option(parser, "deep")
    parser.add_argument("--samples", type=int, default=2, metavar="N")
    parser.add_argument("--timesteps", type=int, default=50, metavar="T",
                        help="timesteps of random inputs")
    parser.add_argument("--out", required=True, metavar="OUT.json")
    args = parser.parse_args()

    if args.bundle:
        bundle, model = load_bundle(args.bundle), args.bundle
    else:
        bundle = random_bundle(RandomSpec(64, (128, 128, 26), FixedPoint(8, 16, 8), seed=1,
                                          skip=True, self_recurrent=True))
        model = "random 64->128,128,26 skip+self 8,16,8 seed 1"
    if args.input:
        spikes, _ = load_spikes(args.input, bundle.channels, bundle.output.size)
        spikes, source = spikes[:args.samples], args.input
    elif args.dataset:
        with np.load(args.dataset) as dataset:
            spikes = np.asarray(dataset["test_spikes"][:args.samples], np.uint8)
        source = f"{args.dataset} test split, first {len(spikes)} samples"
    else:
        rng = np.random.default_rng(0)
        spikes = (rng.random((args.samples, args.timesteps, bundle.channels)) < 0.1
                  ).astype(np.uint8)
        source = "Bernoulli(0.1) random spikes (no --input given)"
    golden = simulate(bundle, spikes, trace=True)
    net = NetConfig.from_bundle(bundle, args.lanes, pipeline=args.pipeline)
    report = {"model": model, "inputs": source, "lanes": args.lanes,
              "samples": int(spikes.shape[0]), "timesteps": int(spikes.shape[1]),
              "pipeline": args.pipeline,
              "target": "cycles <= 1.10 * (E_in + 1) * ceil(N/P) + fixed latency per "
                        f"layer-timestep (this core's fixed latency is "
                        f"{net.cores[0].fixed_latency})",
              "cycles_counted": "each core's own busy cycles per timestep (its trace "
                                "counter): waits between rows for an upstream layer are "
                                "left out, the final add-pipeline drain always counts "
                                "(docs/architecture.md, Cycle cost)",
              "simulators": {}}
    for simulator in runner.SIMULATORS:
        reason = runner.simulator_available(simulator)
        if reason is not None:
            report["simulators"][simulator] = {"skipped": reason}
            continue
        start = time.perf_counter()
        got, raw = simulate_rtl(bundle, spikes, True, simulator, lanes=args.lanes,
                                optimize=True, pipeline=args.pipeline)
        total = time.perf_counter() - start
        status = runner.status(raw)
        mismatches = sum(int(np.count_nonzero(a != got.arrays()[k]))
                         for k, a in golden.arrays().items())
        report["simulators"][simulator] = {
            "mismatches": mismatches, "cycles": status["cycles"],
            "sim_wall_s": status["wall_s"], "total_wall_s": total,
            "cycles_per_second": status["cycles"] / max(status["wall_s"], 1e-9),
            "layers": cycle_report(net, spikes, golden, raw)}
    with atomic_file(args.out) as handle:
        handle.write((json.dumps(report, indent=2) + "\n").encode())
    runs = {k: v for k, v in report["simulators"].items() if "layers" in v}
    if not runs:
        print("rtl_cycles: no simulator available")
        return 1
    layers = next(iter(runs.values()))["layers"]
    per_layer = ", ".join(f"{name} {row['ratio']:.3f}x +{row['max_excess_cycles']}"
                          for name, row in layers.items())
    met = all(row["meets_target"] for v in runs.values() for row in v["layers"].values())
    speeds = ", ".join(f"{k} {v['cycles_per_second']:.0f} cycles/s" for k, v in runs.items())
    bad = sum(v["mismatches"] for v in runs.values())
    print(f"rtl_cycles: {per_layer} (ratio to bound, max excess); target "
          f"{'met' if met else 'MISSED'}; {speeds}; {bad} mismatches -> {args.out}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
