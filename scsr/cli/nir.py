"""Move models between scsr and the Neuromorphic Intermediate Representation (NIR).

'scsr nir import' maps a NIR graph of CubaLIF / LIF neurons joined by Linear (or zero-bias
Affine) edges onto a bundle: cycles and one-step Delay nodes become delay-1 projections, a
diagonal loop of a layer onto itself becomes w_self. NIR is continuous-time: the import
discretises with forward Euler at step dt (from --dt, else the graph's metadata, else 1e-4 s,
what snnTorch's exporter assumes) and quantises with the exporter's scale rule.
'scsr nir export' writes a bundle (dequantised) or a run's float model as a NIR graph that
snnTorch and nir.read load. See docs/interop.md.

examples:
  scsr nir import model.nir --bits 16,32,16 --out bundles/imported
  scsr nir export bundles/scsr8 --out scsr8.nir
"""

from __future__ import annotations

import argparse

from scsr.cli.argtypes import fixed_point, positive_float, positive_int

HELP = "import a NIR graph as a bundle, or export a bundle or run as NIR"


def _classes(text: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r}: class names must not be empty")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="nir_command", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="NIR graph -> bundle", description=__doc__,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    imp.add_argument("model", metavar="MODEL.nir", help="NIR graph (HDF5, as nir.write writes)")
    imp.add_argument("--bits", type=fixed_point, required=True, metavar="W,S,F",
                     help="weight_bits,state_bits,decay_bits, e.g. 16,32,16")
    imp.add_argument("--dt", type=positive_float, metavar="SECONDS",
                     help="Euler step (default: the graph's metadata, else 1e-4)")
    imp.add_argument("--classes", type=_classes, metavar="a,b,...",
                     help="class names, one per output neuron (default: the graph's "
                          "metadata, else 0,1,...)")
    imp.add_argument("--timesteps", type=positive_int, metavar="T",
                     help="nominal timesteps recorded in the bundle (default: the graph's "
                          "metadata, else 100)")
    imp.add_argument("--equalise", action="store_true",
                     help="stretch each neuron's row to the full weight range (per-neuron "
                          "scale) instead of one scale per layer")
    imp.add_argument("--readout-threshold", type=positive_float, metavar="V",
                     help="threshold that turns a non-spiking CubaLI/LI output into a "
                          "spiking layer (needed only for such graphs)")
    imp.add_argument("--out", required=True, metavar="BUNDLE", help="bundle directory")
    exp = sub.add_parser("export", help="bundle or run -> NIR graph", description=__doc__,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    exp.add_argument("source", metavar="BUNDLE|RUN", help="bundle or 'scsr train' run directory")
    exp.add_argument("--dt", type=positive_float, default=1e-4, metavar="SECONDS",
                     help="Euler step the time constants are written for (default: 1e-4, "
                          "what snnTorch's importer assumes)")
    exp.add_argument("--unit-threshold", action="store_true",
                     help="divide each neuron's inputs by its threshold and write threshold "
                          "1 (snnTorch's importer needs one threshold per layer)")
    exp.add_argument("--out", required=True, metavar="MODEL.nir", help="NIR file to write")


def run(args: argparse.Namespace) -> int:
    from scsr.nir import export_nir, import_nir

    if args.nir_command == "export":
        s = export_nir(args.source, args.out, args.dt, args.unit_threshold)
        print(f"wrote {args.out}: {s['kind']} with {s['layers']} layers and "
              f"{s['projections']} projections as {s['nodes']} NIR nodes, {s['edges']} edges, "
              f"dt {args.dt:g} s")
        return 0
    s = import_nir(args.model, args.bits, args.out, args.dt, args.classes, args.equalise,
                   args.timesteps, args.readout_threshold)
    bundle = s["bundle"]
    print(f"dt = {s['dt']:g} s ({s['dt_source']}); forward Euler: alpha = 1 - dt/tau_syn, "
          "beta = 1 - dt/tau_mem")
    for layer in bundle.layers:
        print(f"  {layer.name} [{layer.size}] <- NIR node {s['layer_nodes'][layer.name]!r}: "
              f"scale {s['scale_rule'][layer.name]}, fires {s['float_rates'][layer.name]:.2%} "
              f"float / {s['fixed_rates'][layer.name]:.2%} fixed on Bernoulli(0.1)")
    silent = [name for name, rate in s["float_rates"].items() if rate == 0]
    if silent:
        print(f"warning: {', '.join(silent)} never fire(s) on the check input, in float too: "
              "check the weights' scale and dt (docs/interop.md, Rockpool)")
    fp = bundle.fixed_point
    print(f"wrote {args.out}: {len(bundle.layers)} layers, {len(bundle.projections)} "
          f"projections, bits {fp.weight_bits},{fp.state_bits},{fp.decay_bits}; float and "
          f"fixed point agree on {s['agreement']:.0%} of the check inputs' argmax")
    return 0
