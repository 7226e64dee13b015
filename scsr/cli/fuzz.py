"""Differential fuzzing: random nets and inputs on every engine, compared bit for bit with
the golden model (§4 read literally, timestep-major).

Cases are biased toward the edges: widths at their limits, saturating weights, thresholds
at 1 and at the maximum, decays 0 and 2^F-1, silent and all-firing inputs, lane counts that
do not divide the layer sizes, every projection kind (skips, dense recurrence, feedback
into the first layer, delay-1 input). Each case is named by its seed. A difference is
shrunk (fewer layers, neurons, channels, timesteps, lanes, narrower widths) and written to
OUT/failures/<engine>-<seed>/ with the one-line replay command; OUT/report.json counts
cases, results per engine and the projection kinds covered, and is rewritten after every
round (Ctrl-C keeps what was found). Exit code 1 when any engine differed.

examples:
  scsr fuzz --minutes 30 --backends golden,torch,verilator --out build/fuzz
  scsr fuzz --cases 24 --backends torch --seed 7
  scsr fuzz --replay build/fuzz/failures/verilator-1234
"""

from __future__ import annotations

import argparse
from pathlib import Path

from golden_model.errors import ScsrError
from scsr.cli.argtypes import non_negative_int, positive_float, positive_int

HELP = "differential fuzzing of every engine against the golden model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=positive_float, default=5.0, metavar="N",
                        help="stop starting rounds after this long")
    parser.add_argument("--cases", type=positive_int, default=None, metavar="N",
                        help="stop after this many cases (whichever of the two comes first)")
    parser.add_argument("--backends", default="golden,torch,verilator", metavar="A,B,...",
                        help="engines to check: golden (its default schedule), torch, pysim, "
                             "icarus, verilator")
    parser.add_argument("--seed", type=non_negative_int, default=0, metavar="S",
                        help="seed of the first case; case k has seed S+k")
    parser.add_argument("--round", dest="round_size", type=positive_int, default=12,
                        metavar="N", help="cases per round (one HDL compile per round)")
    parser.add_argument("--shrink-minutes", type=positive_float, default=5.0, metavar="M",
                        help="time allowed to shrink each failure")
    parser.add_argument("--out", default="build/fuzz", metavar="DIR",
                        help="report.json and failures/ go here")
    parser.add_argument("--force", action="store_true",
                        help="replace an --out that holds something other than a fuzz report")
    parser.add_argument("--replay", metavar="DIR", default=None,
                        help="rerun one reproducer folder instead of fuzzing")


def run(args: argparse.Namespace) -> int:
    if args.replay is not None:
        return _replay(Path(args.replay))
    import shutil

    from golden_model.atomic import check_replaceable
    from scsr import fuzz
    from scsr.fuzz.engines import check_engines

    engines = [name.strip() for name in args.backends.split(",") if name.strip()]
    if not engines:
        raise ScsrError("--backends", "", "name at least one engine")
    check_engines(engines)
    out = Path(args.out)
    if not args.force:
        check_replaceable(out, fuzz.REPORT_FORMAT)
    if out.is_dir():
        shutil.rmtree(out)  # an earlier fuzz report (or, with --force, anything): replaced
    plan = fuzz.Campaign(engines, args.seed, args.minutes, args.cases, args.round_size,
                         60 * args.shrink_minutes)
    tally = fuzz.run(plan, out)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(tally.kinds.items()))
    print(f"{tally.cases} cases in {tally.rounds} rounds on {', '.join(engines)}: "
          f"{len(tally.findings)} differences; projections seen: {kinds}; "
          f"report {out / 'report.json'}")
    for error in tally.harness_errors:
        print(f"  harness error (the round was run again): {error}")
    for finding in tally.findings:
        print(f"  {finding.engine} seed {finding.seed}: {finding.problem} -> {finding.folder}")
    return 1 if tally.findings else 0


def _replay(folder: Path) -> int:
    from scsr.fuzz import reproducer
    from scsr.fuzz.campaign import difference
    from scsr.fuzz.engines import ENGINES, check_engines, reference

    case, engine = reproducer.read(folder)
    check_engines([engine])
    outcome = ENGINES[engine]([case], folder.parent)[0]
    problem = difference(reference(case), outcome)
    if problem is None:
        print(f"{folder}: {engine} now equals the golden model ({case.describe()})")
        return 0
    print(f"{folder}: {engine} still differs: {problem}")
    return 1
