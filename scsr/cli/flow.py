"""Run the whole job: built-in speech → fit check → trained ScSr + BIP model → 8/16/8 bundle →
fixed-point evaluation (golden model and torch integer path, which must agree) → RTL
cosimulation on Verilator (0 mismatches, cycles against the bound) → synthesis for a board →
summary.

Every stage is cached by a hash of its inputs in OUT/stages/: a second run with nothing
changed reuses every stage, a changed setting reruns that stage and the ones after it, and
--force STAGE reruns from STAGE on. A run stopped at any point (Ctrl-C, kill -9) continues
from the last finished stage (training from its last epoch checkpoint) and ends with the same
figures. OUT/summary.json, OUT/summary.md and the table printed at the end hold accuracy,
mismatches, cycles, resources, Fmax, latency, stage times and the paths of the bundle, the
bitstream and every picture. When the FSDD recordings are present (../shared/data/fsdd),
the digits bundle is also scored on them (real speech, evaluation only).

Exit code 0 when everything agrees and timing is met; 1 when timing failed or a backend
disagreed (the summary says which); 2 for bad input or a failed stage.

examples:
  scsr flow                                   # digits, speaker-independent, iCEBreaker
  scsr flow --quick --out build/flow-quick    # tiny data and model: a look in about a minute
  scsr flow --dataset letters --target ulx3s-85f --lanes 4 --out build/flow-letters
  scsr flow --force synth                     # redo synthesis (and what follows)
"""

from __future__ import annotations

import argparse

from scsr.cli.argtypes import fixed_point, positive_int

HELP = "the whole job: dataset, training, export, evaluation, cosimulation, synthesis, summary"
_DATASETS = ("digits", "letters")  # scsr.flow.config, without importing it
_SPLITS = ("speaker-independent", "speaker-dependent")
_TARGETS = ("icebreaker", "ulx3s-85f")
_STAGES = ("dataset", "fit", "train", "export", "evaluate", "cosim", "synth", "fsdd")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=_DATASETS, default="digits", metavar="NAME",
                        help=f"built-in dataset: {', '.join(_DATASETS)}")
    parser.add_argument("--split", choices=_SPLITS, default="speaker-independent",
                        metavar="SPLIT", help=f"test split: {', '.join(_SPLITS)}")
    parser.add_argument("--target", choices=_TARGETS, default="icebreaker", metavar="BOARD",
                        help=f"FPGA board: {', '.join(_TARGETS)}")
    parser.add_argument("--lanes", type=positive_int, default=None, metavar="P",
                        help="neurons each layer core updates per clock (default: 1 on "
                             "icebreaker, 4 on ulx3s-85f)")
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                        help="training epochs (default: the recipe's, models/*.toml)")
    parser.add_argument("--bits", type=fixed_point, default="8,16,8", metavar="W,S,F",
                        help="widths of the exported bundle")
    parser.add_argument("--cosim-samples", type=positive_int, default=None, metavar="N",
                        help="test samples run on the RTL (default: 8, 2 with --quick)")
    parser.add_argument("--fsdd", default=None, metavar="DIR",
                        help="folder of real recorded digits (one sub-folder per digit) to "
                             "score a digits bundle on, evaluation only; 'none' to skip "
                             "(default: ../shared/data/fsdd when present)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny data, a 16,16 network, one epoch, 2 cosim samples")
    parser.add_argument("--out", default="build/flow", metavar="DIR",
                        help="output directory (refused if it holds anything but a flow)")
    parser.add_argument("--force", choices=_STAGES, default=None, metavar="STAGE",
                        help=f"rerun from this stage on ({', '.join(_STAGES)})")


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from scsr.flow import FlowConfig, build_summary, format_table, run_stages, write_summary
    from scsr.flow.config import DEFAULT_LANES

    bits = args.bits
    config = FlowConfig(
        dataset=args.dataset, split=args.split, target=args.target,
        lanes=args.lanes or DEFAULT_LANES[args.target], epochs=args.epochs, quick=args.quick,
        bits=(bits.weight_bits, bits.state_bits, bits.decay_bits),
        cosim_samples=args.cosim_samples or (2 if args.quick else 8),
        **({} if args.fsdd is None else {"fsdd": "" if args.fsdd == "none" else args.fsdd}))
    out = Path(args.out)
    statuses = run_stages(config, out, args.force)
    summary = build_summary(config, out, statuses)
    write_summary(summary, out)
    print(format_table(summary))
    print(f"summary: {out / 'summary.md'} and {out / 'summary.json'}")
    problems = []
    if not summary["timing"]["pass"]:
        problems.append("timing failed (see the Fmax line; try fewer --lanes)")
    for pair in ("golden_vs_torch", "golden_vs_rtl"):
        if summary["mismatches"][pair]:
            problems.append(f"{pair.replace('_', ' ')}: {summary['mismatches'][pair]} "
                            f"mismatches, first {summary['mismatches'][pair + '_first']}")
    for problem in problems:
        print(f"scsr flow: {problem}", file=sys.stderr)
    return 1 if problems else 0
