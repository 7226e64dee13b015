"""Talk to a board running the UART board top (see 'scsr synth' and docs/hardware.md).

'scsr board run' streams every sample of a spike file to the board, reads its counts and
prediction, and checks them against the golden model bit for bit. It exits 0 when every
sample agrees, 1 when some differ (the first ones are listed), and 2 with one line naming
the port, sample and byte when the port cannot be opened or the board answers garbage or
nothing at all.

'scsr board load' writes a bundle's weights and parameters into a board built with
'scsr synth --loadable': it asks the board for its shape first and refuses a bundle of
another shape (exit 2, one line naming the field) before sending any weight, then sends
the memory images and checks the checksum the board computes by reading them back.

example:
  scsr board run --port /dev/ttyUSB0 --bundle model/ --input x.npz --out board.npz
  scsr board load --port /dev/ttyUSB0 --bundle other-model/
"""

from __future__ import annotations

import argparse
import sys

from scsr.cli.argtypes import positive_float, positive_int

HELP = "run samples on a board over its UART, checked against the golden model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run_p = sub.add_parser("run", help="stream samples and check the answers",
                           description=__doc__, formatter_class=parser.formatter_class)
    run_p.add_argument("--port", required=True, metavar="DEV",
                       help="serial device (e.g. /dev/ttyUSB0) or a pyserial URL")
    run_p.add_argument("--bundle", required=True, metavar="DIR", help="bundle on the board")
    run_p.add_argument("--input", required=True, metavar="IN.npz", help="spike file (§6)")
    run_p.add_argument("--baud", type=positive_int, default=1_000_000, metavar="BAUD",
                       help="UART bit rate the bitstream was built for")
    run_p.add_argument("--timeout", type=positive_float, default=5.0, metavar="S",
                       help="seconds to wait for one sample's answer")
    run_p.add_argument("--out", metavar="OUT.npz", default=None,
                       help="also write the board's counts and pred (as 'scsr simulate')")
    load_p = sub.add_parser("load", help="load a bundle into a loadable board's memories",
                            description=__doc__, formatter_class=parser.formatter_class)
    load_p.add_argument("--port", required=True, metavar="DEV",
                        help="serial device (e.g. /dev/ttyUSB0) or a pyserial URL")
    load_p.add_argument("--bundle", required=True, metavar="DIR", help="bundle to load")
    load_p.add_argument("--baud", type=positive_int, default=1_000_000, metavar="BAUD",
                        help="UART bit rate the bitstream was built for")
    load_p.add_argument("--timeout", type=positive_float, default=5.0, metavar="S",
                        help="seconds to wait for an answer (plus the image's time on the line)")


def run(args: argparse.Namespace) -> int:
    return load(args) if args.action == "load" else run_samples(args)


def load(args: argparse.Namespace) -> int:
    """``scsr board load``: IDENTIFY, compare the shapes, LOAD, check the read-back."""
    import time

    from golden_model import load_bundle
    from golden_model.errors import ScsrError
    from rtl.board import framing_for
    from rtl.config import NetConfig
    from rtl.host import BoardLink

    bundle = load_bundle(args.bundle)
    net = NetConfig.from_bundle(bundle, 1, args.bundle)
    with BoardLink.open(args.port, framing_for(net), args.baud, args.timeout) as link:
        board, _ = link.identify()
        net = NetConfig.from_bundle(bundle, board.lanes, args.bundle, loadable=True)
        differs = net.shape().first_difference(board)
        if differs:
            field, ours, theirs = differs
            raise ScsrError(args.bundle, field, f"{ours}, the board's design has {theirs} "
                                                "(build a bitstream for this shape with "
                                                "'scsr synth --loadable')")
        image = net.load_image()
        start = time.perf_counter()
        checksum = link.load(image)
    print(f"{args.bundle}: loaded {len(image)} bytes into {args.port} in "
          f"{time.perf_counter() - start:.2f} s; read-back checksum 0x{checksum:08X} matches")
    return 0


def run_samples(args: argparse.Namespace) -> int:
    """``scsr board run``: stream the samples, compare with the golden model."""
    import numpy as np

    from golden_model import load_bundle, load_spikes, progress, save_npz, simulate
    from rtl.board import framing_for
    from rtl.config import NetConfig
    from rtl.host import BoardLink

    bundle = load_bundle(args.bundle)
    spikes, labels = load_spikes(args.input, bundle.channels, bundle.output.size)
    net = NetConfig.from_bundle(bundle, 1, args.bundle)
    expected = simulate(bundle, spikes)
    with BoardLink.open(args.port, framing_for(net), args.baud, args.timeout,
                        net.max_steps) as link, \
            progress.bar(total=len(spikes), unit="sample", desc="board") as bar:
        counts, pred = link.run(spikes, progress=bar.update)
    if args.out:
        save_npz(args.out, {"counts": counts, "pred": pred})
    differ = np.flatnonzero((counts != expected.counts).any(axis=1) | (pred != expected.pred))
    summary = f"{len(spikes)} samples on {args.port}"
    if labels is not None:
        summary += f"; board accuracy {float(np.mean(pred == labels)):.2%}"
    if differ.size:
        print(f"{summary}: {differ.size} differ from the golden model", file=sys.stderr)
        for b in differ[:5]:
            print(f"  sample {b}: board counts {counts[b].tolist()} pred {pred[b]}, golden "
                  f"{expected.counts[b].tolist()} pred {expected.pred[b]}", file=sys.stderr)
        return 1
    print(f"{summary}: counts and predictions identical to the golden model")
    return 0
