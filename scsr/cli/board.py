"""Talk to a board running the UART board top (see 'scsr synth' and docs/hardware.md).

'scsr board run' streams every sample of a spike file to the board, reads its counts and
prediction, and checks them against the golden model bit for bit. It exits 0 when every
sample agrees, 1 when some differ (the first ones are listed), and 2 with one line naming
the port, sample and byte when the port cannot be opened or the board answers garbage or
nothing at all.

example:
  scsr board run --port /dev/ttyUSB0 --bundle model/ --input x.npz --out board.npz
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


def run(args: argparse.Namespace) -> int:
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
