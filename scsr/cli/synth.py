"""Synthesise a bundle for an FPGA board: the UART board top, Yosys, nextpnr and the packer.

Checks first that the network fits the part (and says what to change if not), then runs
the open toolchain (the YoWASP packages by default) and writes OUT/report.json (LUT4, FF,
block RAM, SPRAM, DSP, Fmax against the requested clock, timing pass/fail, tool versions,
bitstream sha256), the bitstream (only when timing passes) and the tool logs. A design
that fails timing exits with 1; its report is still written and says by how much.

With --loadable the weight and parameter memories can be rewritten over the UART at run
time ('scsr board load'), so one bitstream serves every bundle of the same shape
(channels, layer sizes, projections, widths, lanes); they start with BUNDLE's contents,
or zeroed with --empty (the board then holds no model until its first load).

example:
  scsr synth model/ --target ulx3s-85f --lanes 4 --out bitstreams/ulx3s-85f-p4/
  scsr synth model/ --target icebreaker --loadable --out bitstreams/icebreaker-loadable/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scsr.cli.argtypes import add_pipeline_option, non_negative_int, positive_float, positive_int

HELP = "synthesise a bundle for an FPGA board (ECP5 ULX3S-85F, iCE40 UP5K iCEBreaker)"
TARGET_NAMES = ("ulx3s-85f", "icebreaker")  # rtl.platforms.TARGETS, without importing rtl


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", metavar="BUNDLE", help="bundle directory")
    parser.add_argument("--target", required=True, choices=TARGET_NAMES, metavar="TARGET",
                        help=f"board: {', '.join(TARGET_NAMES)}")
    parser.add_argument("--lanes", type=positive_int, default=1, metavar="P",
                        help="neurons updated per clock in each layer core")
    add_pipeline_option(parser, None)
    parser.add_argument("--clock", type=positive_float, default=None, metavar="MHZ",
                        help="board top clock (default: 100 on ulx3s-85f, 30 on icebreaker)")
    parser.add_argument("--seed", type=non_negative_int, default=1, metavar="N",
                        help="nextpnr placer seed")
    parser.add_argument("--baud", type=positive_int, default=1_000_000, metavar="BAUD",
                        help="UART bit rate of the board top")
    parser.add_argument("--toolchain", choices=("yowasp", "system"), default="yowasp",
                        metavar="KIND", help="yowasp (pip packages) or system (binaries on PATH)")
    parser.add_argument("--force", action="store_true",
                        help="synthesise even when the fit check's estimate says it does not "
                             "fit (nextpnr decides)")
    parser.add_argument("--loadable", action="store_true",
                        help="weights and parameters loadable at run time ('scsr board load')")
    parser.add_argument("--empty", action="store_true",
                        help="with --loadable: memories start zeroed, not with BUNDLE's contents")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory (replaced atomically)")


def run(args: argparse.Namespace) -> int:
    from golden_model import load_bundle
    from golden_model.errors import ScsrError
    from rtl.platforms import get_target
    from rtl.synth import SynthRequest, summary_table, synthesize

    if args.empty and not args.loadable:
        raise ScsrError("--empty", "", "needs --loadable (a fixed design holds its bundle)")
    target = get_target(args.target)
    bundle = load_bundle(args.bundle)
    manifest = json.loads((Path(args.bundle) / "manifest.json").read_text())
    clock = args.clock or target.default_clock_mhz
    try:
        request = SynthRequest(target, args.lanes, clock, args.seed, args.baud, args.toolchain,
                               args.force, args.pipeline, args.loadable, not args.empty)
        report = synthesize(bundle, str(args.bundle), request, Path(args.out),
                            manifest["arrays_sha256"])
    except ValueError as exc:  # a clock/baud combination the UART cannot do
        raise ScsrError("--baud", str(args.baud), str(exc)) from None
    print(summary_table(report))
    print(f"report: {Path(args.out) / 'report.json'}")
    if not report["timing"]["pass"]:
        t = report["timing"]
        print(f"timing FAILED: {t['achieved_mhz']:.2f} MHz achieved, {t['requested_mhz']:.2f} "
              f"MHz requested ({-t['slack_ns']:.2f} ns short); no bitstream written. Try a "
              "lower --clock or another --seed.")
        return 1
    return 0
