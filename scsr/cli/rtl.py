"""Generate the hardware of a bundle: Verilog, memory init files and a JSON report.

The output directory gets <name>.v (one module, memories initialised from the bundle),
mem/<layer>.<kind>.hex ($readmemh images of the weight and parameter memories, lane 0 in
the low bits) and report.json (memory bits per kind, lanes per layer, accumulator widths,
FIFO depths and the cycle lower bound formula). Nothing is written if generation fails.

With --loadable the top gets one load_<layer> port per core that writes its weight and
parameter memories at run time (docs/hardware.md); --empty starts them zeroed.

example:
  scsr random-model --inputs 16 --layers 32,10 --skip --self --bits 8,16,8 --seed 1 --out m
  scsr rtl m --lanes 4 --out build/rtl
"""

from __future__ import annotations

import argparse

from scsr.cli.argtypes import add_pipeline_option, positive_int

HELP = "generate Verilog and memory images of a bundle"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", metavar="BUNDLE", help="bundle directory")
    parser.add_argument("--lanes", type=positive_int, default=4, metavar="P",
                        help="neurons each layer core updates per clock")
    add_pipeline_option(parser, "deep")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--name", default="scsr_net", metavar="NAME",
                        help="Verilog module name of the top")
    parser.add_argument("--loadable", action="store_true",
                        help="weight and parameter memories writable at run time")
    parser.add_argument("--empty", action="store_true",
                        help="with --loadable: memories start zeroed, not with BUNDLE's contents")


def run(args: argparse.Namespace) -> int:
    from golden_model import load_bundle
    from golden_model.atomic import atomic_directory, check_replaceable
    from golden_model.errors import ScsrError
    from rtl.config import NetConfig
    from rtl.top import RTL_REPORT, write_design

    if args.empty and not args.loadable:
        raise ScsrError("--empty", "", "needs --loadable (a fixed design holds its bundle)")
    check_replaceable(args.out, RTL_REPORT)
    bundle = load_bundle(args.bundle)
    net = NetConfig.from_bundle(bundle, args.lanes, args.bundle, args.loadable, not args.empty,
                                pipeline=args.pipeline)
    with atomic_directory(args.out) as tmp:
        report = write_design(net, tmp, args.name)
    total = report["memory_bits_total"]
    print(f"{args.out}: {len(net.cores)} layer cores, {args.lanes} lanes, "
          f"{total} memory bits ({total / 8192:.1f} KiB); see report.json")
    return 0
