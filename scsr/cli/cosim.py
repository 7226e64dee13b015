"""Run the golden model and the generated RTL side by side and compare them bit for bit.

Inputs are the samples of --input (a spike file, design §6) or, without it, random
Bernoulli(--rate) spikes over the bundle's nominal timesteps. Prints the number of
mismatching values (spikes, I and V of every layer and timestep, counts, pred: must be 0),
the first mismatch if any, and per layer the busy cycles per timestep against the lower
bound (E_in + 1) * ceil(N/P). Exit code 0 when everything matches, 1 otherwise.

example:
  scsr cosim m --samples 4 --lanes 4 --sim verilator
"""

from __future__ import annotations

import argparse
import json

from scsr.cli.argtypes import add_pipeline_option, non_negative_int, positive_int, probability

HELP = "co-simulate golden model and RTL (Icarus or Verilator), report mismatches and cycles"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", metavar="BUNDLE", help="bundle directory")
    parser.add_argument("--samples", type=positive_int, default=4, metavar="N",
                        help="samples to run (the first N of --input, or N random ones)")
    parser.add_argument("--lanes", type=positive_int, default=4, metavar="P",
                        help="neurons each layer core updates per clock")
    add_pipeline_option(parser, "deep")
    parser.add_argument("--sim", default="verilator", choices=["icarus", "verilator"],
                        help="HDL simulator")
    parser.add_argument("--input", metavar="IN.npz", help="spike file with dataset samples")
    parser.add_argument("--rate", type=probability, default=0.1, metavar="P",
                        help="spike probability of random inputs")
    parser.add_argument("--seed", type=non_negative_int, default=0, metavar="N",
                        help="seed of random inputs")
    parser.add_argument("--stalls", type=non_negative_int, metavar="SEED",
                        help="random input gaps and output back-pressure from this seed")
    parser.add_argument("--json", metavar="OUT.json", help="also write the report as JSON")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from golden_model import load_bundle, load_spikes, simulate
    from golden_model.atomic import atomic_file
    from golden_model.compare import first_mismatch
    from rtl.config import NetConfig
    from sim.backend import simulate_rtl
    from sim.measure import cycle_report

    bundle = load_bundle(args.bundle)
    NetConfig.from_bundle(bundle, args.lanes, args.bundle, pipeline=args.pipeline)  # refuse early
    if args.input:
        spikes, _labels = load_spikes(args.input, bundle.channels, bundle.output.size)
        spikes = spikes[:args.samples]
    else:
        rng = np.random.default_rng(args.seed)
        shape = (args.samples, bundle.timesteps, bundle.channels)
        spikes = (rng.random(shape) < args.rate).astype(np.uint8)
    golden = simulate(bundle, spikes, trace=True)
    got, raw = simulate_rtl(bundle, spikes, True, args.sim, lanes=args.lanes,
                            stall_seed=args.stalls, pipeline=args.pipeline)
    want_arrays, got_arrays = golden.arrays(), got.arrays()
    mismatches = sum(int(np.count_nonzero(want_arrays[k] != got_arrays[k])) for k in want_arrays)
    net = NetConfig.from_bundle(bundle, args.lanes, pipeline=args.pipeline)
    cycles = cycle_report(net, spikes, golden, raw)
    status = json.loads(str(raw["status"]))
    print(f"{args.sim}, {args.lanes} lanes, {len(spikes)} samples x {spikes.shape[1]} "
          f"timesteps: {mismatches} mismatches")
    first = first_mismatch(golden, got)
    if first:
        print(f"first mismatch: {first}")
    for name, row in cycles.items():
        print(f"  {name}: {row['cycles_per_timestep']:.1f} cycles/timestep, bound "
              f"{row['bound_per_timestep']:.1f}, ratio {row['ratio']:.3f}")
    print(f"  {status['cycles']} cycles in {status['wall_s']:.2f} s "
          f"({status['cycles'] / max(status['wall_s'], 1e-9):.0f} cycles/s)")
    if args.json:
        report = {"bundle": str(args.bundle), "sim": args.sim, "lanes": args.lanes,
                  "samples": len(spikes), "timesteps": int(spikes.shape[1]),
                  "mismatches": mismatches, "first_mismatch": first, "layers": cycles,
                  "cycles": status["cycles"], "wall_s": status["wall_s"]}
        with atomic_file(args.json) as handle:
            handle.write((json.dumps(report, indent=2) + "\n").encode())
    return 0 if mismatches == 0 else 1
