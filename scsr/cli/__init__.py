"""The ``scsr`` command: one module per subcommand, registered here and nothing else.

Each subcommand module exports ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. User errors raise :class:`~golden_model.errors.ScsrError`, which
:func:`main` prints as one ``<path>: <field>: <problem>`` line with exit code 2. What the
machine or the input's shape causes (a write the operating system refuses, a full disk, memory
that cannot be had, a file nested too deep or not UTF-8) is reported the same way
(:func:`describe_failure`); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from golden_model import __version__
from golden_model.errors import ScsrError

#: Subcommand name → module under ``scsr.cli``; modules are imported only when needed so
#: that e.g. ``scsr simulate --backend golden`` never loads torch or amaranth.
COMMANDS: dict[str, tuple[str, str]] = {
    "dataset": ("dataset", "build, import and show spike datasets (espeak-ng, SHD, WAV, ...)"),
    "train": ("train", "train a model (BIP, QAT, DDP) into a run directory"),
    "export": ("export", "export a trained run as a fixed-point bundle"),
    "predict": ("predict", "classify WAV files with a bundle (accuracy per class folder)"),
    "simulate": ("simulate", "run a bundle on a spike file (golden, torch or RTL backends)"),
    "show": ("show", "draw a --trace output: spike rasters and membrane traces per layer"),
    "inspect": ("inspect", "show a bundle's layers, projections, widths, ranges and memory"),
    "random-model": ("random_model", "write a random, calibrated bundle for tests and benchmarks"),
    "rtl": ("rtl", "generate Verilog, memory images and a resource report for a bundle"),
    "cosim": ("cosim", "co-simulate golden model and RTL bit for bit; cycles vs lower bound"),
    "synth": ("synth", "synthesise a bundle for an FPGA board (ECP5 ULX3S-85F, iCE40 UP5K)"),
    "board": ("board", "run samples on a board over its UART, checked against the golden model"),
    "sweep": ("sweep", "quantisation study: accuracy x bit widths x FPGA cost (local or Dask)"),
    "nir": ("nir", "import a NIR graph (snnTorch, Norse, Rockpool) as a bundle, or export as NIR"),
    "fuzz": ("fuzz", "differential fuzzing of every engine against the golden model"),
    "flow": ("flow", "the whole job, cached and resumable: data to summary and bitstream"),
}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-made line breaks of descriptions; show defaults that say something."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scsr",
        description="Skip-connected self-recurrent spiking neural networks: training, "
                    "bit-exact simulation, RTL generation and FPGA synthesis.",
        epilog="Run 'scsr COMMAND --help' for the options of one command.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"scsr-snn {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show a full traceback instead of a one-line error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, summary) in COMMANDS.items():
        module = importlib.import_module(f"scsr.cli.{module_name}")
        command = sub.add_parser(name, help=summary, description=module.__doc__,
                                 formatter_class=_Formatter)
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show a full traceback instead of a one-line error")
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def describe_failure(exc: BaseException, command: str) -> str | None:
    """The one-line message for a failure the user's input or machine caused, or ``None``
    for one that is a bug (which keeps its traceback)."""
    if isinstance(exc, ScsrError):
        return str(exc)
    if isinstance(exc, OSError):
        where = os.fspath(exc.filename) if exc.filename is not None else f"scsr {command}"
        problem = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, FileExistsError) and os.path.isfile(where):
            problem = "is a file, where a directory is needed"
        if exc.filename2 is not None:
            problem += f" (to {os.fspath(exc.filename2)})"
        return f"{where}: {problem}"
    if isinstance(exc, MemoryError):
        return f"scsr {command}: out of memory (the input asks for more than this machine has)"
    if isinstance(exc, RecursionError):
        return f"scsr {command}: the input is nested too deeply to read"
    if isinstance(exc, UnicodeDecodeError):
        return (f"scsr {command}: a text input is not UTF-8 ({exc.reason} at byte {exc.start}); "
                "run with --debug to see which file")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scsr`` console script; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # The reader went away (``scsr inspect m | head``): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ScsrError, OSError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        message = describe_failure(exc, args.command)
        if args.debug or message is None:
            raise
        print(message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
