"""Benchmark at a peer's scale: Spiker+'s SHD network, feed-forward and as an ScSr-SNN.

Spiker+ (Carpegna et al., arXiv 2401.01141) reports SHD at 54 µs per sample with 18,268
logic cells and 51 BRAM on a Xilinx part. Its SHD scripts (smilies-polito/Spiker history,
``Optimizer/Shd/quantize.py``) use 700 inputs -> 200 hidden -> 20 outputs over 100 time
bins; ``docs/hardware.md`` ("At a peer's scale: Spiker+ SHD") gives the sources. This
script builds two random calibrated bundles of that size (``golden_model.random_bundle``):

- ``ff``: feed-forward 700 -> 200 -> 20, as the brief asks of Spiker+'s layout,
- ``scsr``: the same sizes with the ScSr default (skip ``input -> out``, self-recurrence),
- ``rsnn`` (``--variants``): a dense recurrent matrix on every layer, nearer Spiker+'s
  scripts, whose hidden layer has one (``v1``),

drives them with SHD-like input (700 channels, ``--timesteps`` steps, each channel
Bernoulli(E/700) per step, so the events per step are ~Poisson(E) for every
``--events`` value E), and reports for each variant:

1. the fit check (``rtl.fit``) of the ULX3S-85F at every lane count 1 ... 64;
2. cycles per timestep from the exact cycle formula (``docs/architecture.md``, Cycle cost)
   on the golden model's spike counts, the pace (mean over timesteps of the slowest layer)
   and µs per sample at ``--clock`` MHz;
3. with ``--validate P``: the formula against Amaranth's simulator on one sample of
   ``--validate-timesteps`` steps at P lanes (every layer, every timestep, exact);
4. the block-RAM read bandwidth bound: the bits of weights each event must read against
   what the blocks holding that layer's weights can deliver per clock;
5. with ``--synth VARIANT:P ...``: ``scsr synth`` for the ULX3S-85F, one build at a time, and
   its report (LUT4, FF, BRAM, DSP, Fmax, timing).

usage: python -m benchmarks.spikerplus [--sizes 700,200,20] [--bits 6,16,8]
           [--events E ...] [--samples N] [--validate P] [--synth ff:24 scsr:24]
           [--clock MHz] --out build/spikerplus/result.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from golden_model import Bundle, FixedPoint, SimResult, simulate
from golden_model.atomic import write_json
from golden_model.bundle import save_bundle
from golden_model.random_bundle import RandomSpec, random_bundle
from rtl.config import ADD_STAGES, MAX_LANES, NetConfig
from rtl.fit import bram_blocks, check_fits, estimate
from rtl.platforms import get_target
from sim.measure import events_in

ROOT = Path(__file__).resolve().parents[1]
TARGET = "ulx3s-85f"
#: Spiker+'s reported SHD figures (arXiv 2401.01141, abstract): Xilinx, not ECP5.
SPIKERPLUS = {"latency_us_per_sample": 54, "logic_cells": 18268, "bram": 51,
              "power_mw": 430, "accuracy_percent": 72.99}
#: Variant name -> topology flags of :class:`RandomSpec`. ``rsnn`` adds a dense ``l -> l``
#: (delay 1) on every layer, like the recurrent hidden matrix of Spiker+'s SHD scripts.
VARIANTS: dict[str, dict[str, bool]] = {
    "ff": {},
    "scsr": {"skip": True, "self_recurrent": True},
    "rsnn": {"recurrent": True},
}


def make_bundle(variant: str, sizes: tuple[int, ...], fp: FixedPoint, timesteps: int,
                seed: int) -> Bundle:
    """A random bundle of ``sizes`` (input first), calibrated by the project's bisection."""
    spec = RandomSpec(sizes[0], tuple(sizes[1:]), fp, seed=seed, **VARIANTS[variant],
                      timesteps=timesteps,
                      provenance={"benchmark": "spikerplus", "variant": variant})
    return random_bundle(spec)


def shd_like(samples: int, timesteps: int, channels: int, events: float,
             seed: int) -> np.ndarray:
    """``(samples, timesteps, channels)`` spikes, each channel Bernoulli(events/channels)
    per step: ~Poisson(events) events per timestep, spread over all channels."""
    rng = np.random.default_rng(seed)
    return (rng.random((samples, timesteps, channels)) < events / channels).astype(np.uint8)


def fit_table(bundle: Bundle, lanes: range) -> list[dict]:
    """The fit check of the ULX3S-85F at every lane count: estimate and reasons."""
    target = get_target(TARGET)
    rows = []
    for p in lanes:
        net = NetConfig.from_bundle(bundle, p)
        use = estimate(net, target).use
        reasons = check_fits(net, target)
        rows.append({"lanes": p, "fits": not reasons, "estimate": use, "reasons": reasons,
                     "words": {c.name: c.words for c in net.cores}})
    return rows


def formula_cycles(net: NetConfig, spikes: np.ndarray,
                   golden: SimResult | None = None) -> dict[str, np.ndarray]:
    """Busy cycles per layer and timestep ``(B, T)`` by the exact formula of
    ``docs/architecture.md``: ``(E_in + 1)·ceil(N/P) + update_stages + 1`` plus
    ``ADD_STAGES`` after events."""
    if golden is None:
        golden = simulate(net.bundle, spikes, trace=True)
    out = {}
    for core, (name, events) in zip(net.cores, events_in(net, spikes, golden).items(),
                                    strict=True):
        out[name] = (events + 1) * core.words + core.update_stages + 1 + ADD_STAGES * (events > 0)
    return out


def pace(cycles: dict[str, np.ndarray]) -> float:
    """Mean over samples and timesteps of the slowest layer's cycles (layers pipeline
    across timesteps, so the slowest core sets the pace; as ``tools/reference_builds``)."""
    return float(np.stack(list(cycles.values())).max(axis=0).mean())


def validate(bundle: Bundle, lanes: int, spikes: np.ndarray) -> dict:
    """Formula against Amaranth's simulator on ``spikes`` (one sample): exact per layer
    and timestep, or the first difference."""
    from sim.pysim import run_pysim

    net = NetConfig.from_bundle(bundle, lanes)
    start = time.perf_counter()
    board = run_pysim(net, spikes, max_cycles=50_000_000)
    seconds = time.perf_counter() - start
    measured = board.cycles()
    predicted = formula_cycles(net, spikes)
    diffs = {name: int(np.abs(measured[name].astype(np.int64) - predicted[name]).max())
             for name in predicted}
    return {"lanes": lanes, "timesteps": int(spikes.shape[1]), "sim_wall_s": seconds,
            "max_abs_difference": diffs, "exact": all(d == 0 for d in diffs.values()),
            "measured_pace": pace(measured), "formula_pace": pace(predicted)}


def bandwidth(net: NetConfig, cycles: dict[str, np.ndarray], events: dict[str, float],
              clock_mhz: float) -> dict:
    """Per layer: bits of weights one event reads (``N · Bw``), what the design reads per
    clock (``P · Bw``), what the block RAMs holding that layer's weights could deliver per
    clock (blocks × widest port), and the cycles per timestep each bound implies."""
    from rtl.fit import memories

    target = get_target(TARGET)
    port = max(w for _, w in target.bram_shapes)
    fp = net.bundle.fixed_point
    weights = {m.name.split(".")[0]: m for m in memories(net) if m.name.endswith(".weights")}
    out = {}
    for core in net.cores:
        blocks = bram_blocks(weights[core.name], target)
        row = core.size * fp.weight_bits
        e = events[core.name]
        out[core.name] = {
            "events_per_timestep": e, "row_bits": row,
            "design_bits_per_clock": core.lanes * fp.weight_bits,
            "weight_blocks": blocks, "blocks_bits_per_clock": blocks * port,
            "bram_bound_cycles": e * row / max(blocks * port, 1),
            "design_bound_cycles": (e + 1) * core.words,
            "measured_cycles": float(cycles[core.name].mean()),
            "weight_gbit_per_s_at_clock": core.lanes * fp.weight_bits * clock_mhz / 1e3}
    return out


def synthesise(bundle_dir: Path, variant: str, lanes: int, clock: float | None,
               out_root: Path) -> dict:
    """``scsr synth`` for the ULX3S-85F at ``lanes``; its report, or the refusal."""
    out = out_root / f"{variant}-p{lanes}"
    cmd = [sys.executable, "-m", "scsr", "synth", str(bundle_dir), "--target", TARGET,
           "--lanes", str(lanes), "--out", str(out)]
    if clock is not None:
        cmd += ["--clock", f"{clock:g}"]
    print(f"== {' '.join(cmd[2:])}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    row = {"variant": variant, "lanes": lanes, "exit": done.returncode,
           "wall_s": time.perf_counter() - start, "command": " ".join(cmd[2:])}
    report = out / "report.json"
    if report.exists():
        r = json.loads(report.read_text())
        row |= {"utilisation": {k: v["used"] for k, v in r["utilisation"].items()},
                "timing": r["timing"], "estimate": r.get("estimate")}
    else:
        row["error"] = (done.stderr or done.stdout).strip()[-2000:]
    return row


def study(variant: str, args: argparse.Namespace, fp: FixedPoint) -> dict:
    """Bundle, fit table, formula cycles per input rate, bandwidth bound of one variant."""
    sizes = args.sizes
    start = time.perf_counter()
    bundle = make_bundle(variant, sizes, fp, args.timesteps, args.seed)
    calibrate_s = time.perf_counter() - start
    bundle_dir = Path(args.work) / f"bundle-{variant}"
    save_bundle(bundle, bundle_dir)
    fits = fit_table(bundle, range(1, args.max_lanes + 1))
    fitting = [r["lanes"] for r in fits if r["fits"]]
    on_dsp = [p for p in fitting if fits[p - 1]["estimate"]["dsp"] > 0]
    best, best_fit = fewest_words(fits, on_dsp), fewest_words(fits, fitting)
    result = {"bundle": str(bundle_dir), "arrays_sha256": bundle_hash(bundle_dir),
              "calibrate_s": calibrate_s, "fits": fits, "lanes_that_fit": fitting,
              "lanes_that_fit_on_dsps": on_dsp, "best_lanes": best,
              "best_lanes_any_fit": best_fit, "rates": {}}
    for e in args.events:
        spikes = shd_like(args.samples, args.timesteps, sizes[0], e, args.seed + 1)
        golden = simulate(bundle, spikes, trace=True)
        rates = {n: float(s.mean()) for n, s in golden.spikes.items()}
        per_lanes = {}
        for p in sorted({1, best or 1, best_fit or 1} | set(args.lanes)):
            net = NetConfig.from_bundle(bundle, p)
            cycles = formula_cycles(net, spikes, golden)
            ev = {n: float(a.mean()) for n, a in events_in(net, spikes, golden).items()}
            c = pace(cycles)
            per_lanes[str(p)] = {
                "cycles_per_timestep": c, "us_per_sample": c * args.timesteps / args.clock,
                "per_layer": {n: float(a.mean()) for n, a in cycles.items()},
                "firing_rates": rates, "events_in": ev,
                "bandwidth": bandwidth(net, cycles, ev, args.clock)}
        result["rates"][f"{e:g}"] = {"input_events_per_timestep": float(spikes.sum(axis=2).mean()),
                                     "lanes": per_lanes}
    if args.validate:
        spikes = shd_like(1, args.validate_timesteps, sizes[0], args.events[0], args.seed + 2)
        lanes = best if args.validate == -1 else args.validate
        result["validation"] = validate(bundle, lanes or 1, spikes)
    return result


def fewest_words(fits: list[dict], lanes: list[int]) -> int | None:
    """Of ``lanes``, the one with the fewest words in the widest layer (more lanes only pay
    when a word count drops), the fewest lanes among those; None if ``lanes`` is empty."""
    if not lanes:
        return None
    return min(lanes, key=lambda p: (max(fits[p - 1]["words"].values()), p))


def bundle_hash(bundle_dir: Path) -> str:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    return manifest["arrays_sha256"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ints = lambda s: tuple(int(x) for x in s.split(","))  # noqa: E731
    parser.add_argument("--sizes", type=ints, default=(700, 200, 20),
                        help="input channels, then layer sizes (default 700,200,20)")
    parser.add_argument("--bits", type=ints, default=(6, 16, 8), metavar="W,S,F")
    parser.add_argument("--timesteps", type=int, default=100)
    parser.add_argument("--events", type=float, nargs="+", default=[20.0, 50.0, 100.0],
                        metavar="E", help="mean input events per timestep (several: a sweep)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--lanes", type=int, nargs="*", default=[], metavar="P",
                        help="also report cycles at these lane counts")
    parser.add_argument("--max-lanes", type=int, default=MAX_LANES)
    parser.add_argument("--clock", type=float, default=100.0, metavar="MHz")
    parser.add_argument("--validate", type=int, metavar="P",
                        help="check the cycle formula in Amaranth's simulator at P lanes "
                             "(-1: at the best lane count on DSPs)")
    parser.add_argument("--validate-timesteps", type=int, default=10)
    parser.add_argument("--variants", nargs="+", default=["ff", "scsr"], choices=list(VARIANTS))
    parser.add_argument("--synth", nargs="*", default=[], metavar="VARIANT:P",
                        help="scsr synth these builds for the ULX3S-85F, one at a time")
    parser.add_argument("--synth-clock", type=float, metavar="MHz")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", default="build/spikerplus", help="bundles and builds")
    parser.add_argument("--out", required=True, metavar="OUT.json")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    fp = FixedPoint(*args.bits)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    report = {"spikerplus": SPIKERPLUS, "target": TARGET, "sizes": list(args.sizes),
              "bits": list(args.bits), "timesteps": args.timesteps, "clock_mhz": args.clock,
              "samples": args.samples,
              "input": "each of the channels Bernoulli(E/channels) per timestep "
                       "(~Poisson(E) events per timestep)",
              "cycles": "exact formula (E_in + 1)·ceil(N/P) + update_stages + 1 "
                        "(+ ADD_STAGES after events) per layer; pace = mean over timesteps "
                        "of the slowest layer", "variants": {}, "synth": []}
    for variant in args.variants:
        report["variants"][variant] = study(variant, args, fp)
        write_json(args.out, report)
    for item in args.synth:
        variant, lanes = item.split(":")
        bundle_dir = Path(report["variants"][variant]["bundle"])
        report["synth"].append(synthesise(bundle_dir, variant, int(lanes), args.synth_clock,
                                          Path(args.work)))
        write_json(args.out, report)
    print(summary(report, args))
    return 0


def summary(report: dict, args: argparse.Namespace) -> str:
    parts = []
    e = f"{args.events[0]:g}"
    for variant, r in report["variants"].items():
        best = r["best_lanes"]
        if best is None:
            parts.append(f"{variant}: nothing fits")
            continue
        row = r["rates"][e]["lanes"][str(best)]
        fits = r["lanes_that_fit"]
        parts.append(f"{variant}: {len(fits)} of {args.max_lanes} lane counts fit, "
                     f"{len(r['lanes_that_fit_on_dsps'])} with DSP multipliers, "
                     f"best P={best}: {row['cycles_per_timestep']:.0f} cycles/timestep, "
                     f"{row['us_per_sample']:.0f} us/sample at {args.clock:g} MHz")
    for s in report["synth"]:
        t = s.get("timing")
        parts.append(f"synth {s['variant']} P={s['lanes']}: " + (
            f"{s['utilisation']['lut4']} LUT4, {s['utilisation']['bram']} BRAM, "
            f"{t['achieved_mhz']:.1f} MHz {'pass' if t['pass'] else 'FAIL'}" if t else "failed"))
    return (f"spikerplus ({e} input events/timestep): " + "; ".join(parts)
            + f" (Spiker+: {SPIKERPLUS['latency_us_per_sample']} us/sample) -> {args.out}")


if __name__ == "__main__":
    sys.exit(main())
