"""Export a trained run as a fixed-point bundle (design §5) at the given bit widths.

Weights and intrinsic parameters are quantised with design §4's rules and one scale per
layer (the largest weight magnitude maps onto the largest weight; see docs/training.md).
The bundle's provenance records the dataset's front-end and encoder config (so 'scsr
predict' encodes audio the same way), the training and model config, and the float and
fixed-point test accuracies, the latter measured on the written bundle itself.
Widths under which a layer goes silent or cannot fire are refused, naming the layer.

example:
  scsr export runs/scsr --bits 8,16,8 --out bundles/scsr8
"""

from __future__ import annotations

import argparse

from scsr.cli.argtypes import fixed_point

HELP = "export a trained run as a fixed-point bundle"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN", help="run directory of 'scsr train'")
    parser.add_argument("--bits", type=fixed_point, required=True, metavar="W,S,F",
                        help="weight_bits,state_bits,decay_bits, e.g. 8,16,8")
    parser.add_argument("--out", required=True, metavar="BUNDLE", help="bundle directory")
    parser.add_argument("--dataset", metavar="DATASET.npz",
                        help="dataset to measure accuracy on (default: the run's own)")


def run(args: argparse.Namespace) -> int:
    from scsr.export import export_run

    summary = export_run(args.run_dir, args.bits, args.out, args.dataset)
    print(f"{args.out}: float accuracy {summary['float_accuracy']:.2%}, fixed point "
          f"{summary['fixed_accuracy']:.2%} at bits {summary['bits']}")
    return 0
