"""Draw what a traced simulation did: for one sample of a --trace output of 'scsr simulate'
(any backend), a spike raster per layer and its membrane potential V over time (the input
too, when --input gives the spike file that was simulated).

example:
  scsr simulate --bundle m --input x.npz --out y.npz --trace
  scsr show y.npz --input x.npz --sample 3 --png sample3.png
"""

from __future__ import annotations

import argparse

from scsr.cli.argtypes import non_negative_int

HELP = "draw a --trace output: spike rasters and membrane traces per layer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", metavar="TRACE.npz", help="output of 'scsr simulate --trace'")
    parser.add_argument("--input", metavar="IN.npz", default=None,
                        help="the spike file that was simulated (adds the input raster)")
    parser.add_argument("--sample", type=non_negative_int, default=0, metavar="K",
                        help="which sample of the batch")
    parser.add_argument("--png", metavar="FILE", default=None,
                        help="picture to write (default: TRACE with .png)")


def run(args: argparse.Namespace) -> int:
    import os

    from golden_model.errors import ScsrError
    from golden_model.npzio import read_npz_file
    from scsr import pictures

    arrays = read_npz_file(args.trace)
    layers = [key.split(".", 1)[1] for key in arrays if key.startswith("spikes.")]
    if not layers:
        raise ScsrError(args.trace, "spikes.<layer>", "is missing: simulate with --trace")
    batch = arrays[f"spikes.{layers[0]}"].shape[0]
    if args.sample >= batch:
        raise ScsrError("--sample", str(args.sample), f"is outside [0, {batch - 1}] "
                                                      f"({args.trace} holds {batch} samples)")
    for name in layers:
        for kind in ("spikes", "v"):
            key = f"{kind}.{name}"
            if key not in arrays or arrays[key].ndim != 3 or len(arrays[key]) != batch:
                raise ScsrError(args.trace, key, "is missing or not (batch, T, size)")
    raster = {}
    if args.input:
        spikes = read_npz_file(args.input).get("spikes")
        if spikes is None or spikes.ndim != 3 or len(spikes) != batch:
            raise ScsrError(args.input, "spikes", f"is missing or does not hold the {batch} "
                                                  "simulated samples")
        raster["input"] = spikes[args.sample]
    raster |= {name: arrays[f"spikes.{name}"][args.sample] for name in layers}
    membrane = {name: arrays[f"v.{name}"][args.sample] for name in layers}
    png = args.png or os.path.splitext(args.trace)[0] + ".png"
    title = f"{os.path.basename(args.trace)}, sample {args.sample}"
    if "pred" in arrays:
        title += f": predicted class {int(arrays['pred'][args.sample])}"
    pictures.raster(raster, png, title, membrane)
    print(f"wrote {png}")
    return 0
