"""Quantisation study: accuracy (and optionally FPGA cost) of a trained run over a grid of
bit widths, with diagnostics, a Pareto front, plots and a report.

Per point (weight_bits, state_bits, decay_bits) the run is exported with 'scsr export''s
rules, its fixed-point test accuracy measured with the torch integer path (plus
saturation, silent neurons, firing rates against float, spike-count divergence, memory
bits); with --qat-epochs it is fine-tuned from the run's checkpoint at those widths and
measured again; with --synth it is synthesised per lane count (fit-check refusals and tool
failures are recorded in the CSV and the sweep goes on). Every result is cached by the hash
of what produced it, so re-runs and killed sweeps resume where they stopped; results.csv is
the same whatever the executor or number of workers.

Widths: A..B, A..B:STEP or a list (A,B,C); the grid is their product, or --points FILE.csv
(columns weight_bits,state_bits,decay_bits).

Writes OUT/results.csv, OUT/study.json, OUT/report.md and OUT/*.png.

examples:
  scsr sweep runs/digits --data digits.npz --weight-bits 2..8 --state-bits 8..24:2 \\
      --decay-bits 4..12:2 --workers 2 --out studies/digits
  scsr sweep runs/digits --data digits.npz --weight-bits 4,8 --state-bits 16 \\
      --decay-bits 8 --synth icebreaker --lanes 1,2 --out studies/digits-ice40
  scsr sweep ... --executor dask --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import argparse
import sys

from scsr.cli.argtypes import non_negative_int, positive_int

HELP = "quantisation study over a grid of bit widths (local or Dask)"
TARGET_NAMES = ("ulx3s-85f", "icebreaker")  # rtl.platforms.TARGETS, without importing rtl


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN", help="run directory of 'scsr train'")
    parser.add_argument("--data", required=True, metavar="DATASET.npz",
                        help="dataset whose test split is measured (and trained on for QAT)")
    grid = parser.add_argument_group("grid")
    grid.add_argument("--weight-bits", default="8", metavar="RANGE",
                      help="weight widths, e.g. 2..8")
    grid.add_argument("--state-bits", default="16", metavar="RANGE",
                      help="state (I, V) widths, e.g. 8..24:2")
    grid.add_argument("--decay-bits", default="8", metavar="RANGE",
                      help="decay (alpha_q, beta_q) widths, e.g. 4..12:2")
    grid.add_argument("--points", default=None, metavar="FILE.csv",
                      help="explicit points instead of the grid")
    work = parser.add_argument_group("per point")
    work.add_argument("--qat-epochs", type=non_negative_int, default=0, metavar="N",
                      help="QAT fine-tuning epochs from the run's checkpoint (0: none)")
    work.add_argument("--seed", type=non_negative_int, default=0, metavar="N",
                      help="seed of the QAT")
    work.add_argument("--synth", default=None, choices=TARGET_NAMES, metavar="TARGET",
                      help=f"synthesise for a board: {', '.join(TARGET_NAMES)}")
    work.add_argument("--lanes", default="1", metavar="P,P",
                      help="lane counts to synthesise (with --synth)")
    where = parser.add_argument_group("execution")
    where.add_argument("--executor", default="local", choices=("local", "dask"),
                       metavar="KIND", help="local (process pool) or dask")
    where.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                       help="existing Dask scheduler (default: a LocalCluster)")
    where.add_argument("--workers", type=positive_int, default=2,
                       metavar="N", help="worker processes (local pool or LocalCluster)")
    where.add_argument("--cache", default=None, metavar="DIR",
                       help="result cache, shareable between studies (default: OUT/cache)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--out", required=True, metavar="STUDY", help="study directory")


def config(args: argparse.Namespace):
    """The :class:`~scsr.sweep.study.SweepConfig` of the parsed arguments (checked)."""
    from pathlib import Path

    from golden_model.errors import ScsrError
    from scsr.sweep.grid import grid, parse_values, parse_width, read_points
    from scsr.sweep.study import SweepConfig

    if not Path(args.run_dir).is_dir():
        raise ScsrError(args.run_dir, "", "is not a directory (a run directory of 'scsr train')")
    if not Path(args.data).is_file():
        raise ScsrError(args.data, "", "does not exist (--data)")
    if args.points:
        points = read_points(args.points)
    else:
        points = grid(parse_width(args.weight_bits, "--weight-bits"),
                      parse_width(args.state_bits, "--state-bits"),
                      parse_width(args.decay_bits, "--decay-bits"))
    lanes = parse_values(args.lanes, "--lanes", 1, 64)
    if args.scheduler and args.executor != "dask":
        raise ScsrError("--scheduler", args.scheduler, "needs --executor dask")
    return SweepConfig(run=args.run_dir, data=args.data, points=tuple(points), lanes=lanes,
                       qat_epochs=args.qat_epochs, seed=args.seed, synth=args.synth,
                       executor=args.executor, scheduler=args.scheduler, workers=args.workers,
                       out=args.out, cache=args.cache, argv=tuple(sys.argv))


def run(args: argparse.Namespace) -> int:
    from scsr.sweep.report import write_report
    from scsr.sweep.study import run_sweep

    record = run_sweep(config(args))
    write_report(args.out, plots=not args.no_plots)
    print(f"{args.out}: {record['points']} points ({record['computed']} computed, "
          f"{record['cached']} cached, {record['failed']} failed) in {record['seconds']:.1f} s;"
          f" float accuracy {record['float_accuracy']:.2%}; see {args.out}/report.md")
    return 1 if record["failed"] else 0
