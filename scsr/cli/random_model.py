"""Write a valid random bundle whose layers actually spike (design §6).

Layers are named h1, h2, ... and the last one 'out'. Weights, decays and self-recurrent
weights are drawn from SEED; thresholds are then calibrated layer by layer so that every
layer fires at about 10 % on Bernoulli(0.1) input (every hidden layer lands in 2 %-40 %).

example:
  scsr random-model --inputs 64 --layers 128,128,26 --skip --self --bits 8,16,8 --seed 1 --out m
"""

from __future__ import annotations

import argparse
import sys

from golden_model import __version__, save_bundle
from golden_model.errors import ScsrError
from golden_model.random_bundle import RandomSpec, random_bundle
from scsr.cli.argtypes import fixed_point, int_list, non_negative_int, positive_int

HELP = "write a random, calibrated bundle"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", required=True, type=positive_int, metavar="C",
                        help="input spike channels")
    parser.add_argument("--layers", required=True, type=int_list, metavar="N1,N2,...",
                        help="layer sizes; the last is the output layer (one neuron per class)")
    parser.add_argument("--skip", action="store_true",
                        help="add skip projections l-2 -> l (delay 0; the input is layer 0)")
    parser.add_argument("--self", dest="self_recurrent", action="store_true",
                        help="draw non-zero self-recurrent weights w_self")
    parser.add_argument("--recurrent", action="store_true",
                        help="add a dense recurrent projection l -> l (delay 1) on every layer")
    parser.add_argument("--feedback", action="store_true",
                        help="add feedback projections l -> l-1 (delay 1)")
    parser.add_argument("--bits", required=True, type=fixed_point, metavar="W,S,F",
                        help="weight_bits (2-16), state_bits (8-32), decay_bits (1-16)")
    parser.add_argument("--timesteps", type=positive_int, default=100, metavar="T",
                        help="nominal timesteps recorded in the bundle")
    parser.add_argument("--seed", required=True, type=non_negative_int, metavar="N",
                        help="random seed")
    parser.add_argument("--out", required=True, metavar="DIR", help="bundle directory to write")


def run(args: argparse.Namespace) -> int:
    options = {k: getattr(args, k) for k in ("skip", "self_recurrent", "recurrent", "feedback")}
    spec = RandomSpec(
        inputs=args.inputs, layers=args.layers, fixed_point=args.bits, seed=args.seed,
        timesteps=args.timesteps, **options,
        provenance={"generator": "scsr random-model", "tool_version": __version__,
                    "seed": args.seed, "command": " ".join(sys.argv[1:]) or None},
    )
    try:
        bundle = random_bundle(spec)
    except RuntimeError as exc:
        raise ScsrError("--layers", "", str(exc)) from None
    save_bundle(bundle, args.out)
    shape = " -> ".join([str(args.inputs), *(f"{l.name}[{l.size}]" for l in bundle.layers)])
    print(f"wrote {args.out}: {shape}, {len(bundle.projections)} projections, "
          f"bits {args.bits.weight_bits},{args.bits.state_bits},{args.bits.decay_bits}")
    return 0
