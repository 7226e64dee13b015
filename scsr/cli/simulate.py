"""Run a bundle on a spike file and write spike counts and predictions (design §6).

The input is an .npz with 'spikes' (uint8, batch x T x channels, 0/1) and optionally
'labels' (integers, batch). The output .npz holds 'counts' (int32, batch x classes) and
'pred' (int32, batch); with --trace also 'spikes.<layer>', 'i.<layer>' and 'v.<layer>'
(batch x T x size) for every layer. Every backend writes identical files.

example:
  scsr random-model --inputs 16 --layers 32,10 --skip --self --bits 8,16,8 --seed 1 --out m
  scsr simulate --bundle m --input x.npz --out y.npz --trace
"""

from __future__ import annotations

import argparse

import numpy as np

from golden_model import SimResult, load_bundle, load_spikes, predict, progress, save_npz
from scsr.backends import BACKENDS, WHOLE_BATCH, get_backend
from scsr.cli.argtypes import positive_int

HELP = "run a bundle on a spike file"
CHUNK = 256


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", required=True, metavar="DIR", help="bundle directory")
    parser.add_argument("--input", required=True, metavar="IN.npz", help="spike file")
    parser.add_argument("--out", required=True, metavar="OUT.npz", help="where to write results")
    parser.add_argument("--backend", default="golden", choices=list(BACKENDS),
                        help="simulation engine: numpy reference, torch integer path, or the "
                             "generated RTL under Icarus or Verilator")
    parser.add_argument("--trace", action="store_true",
                        help="also write every layer's spikes, I and V at every timestep")
    parser.add_argument("--chunk", type=positive_int, default=CHUNK, metavar="N",
                        help="samples per simulation call of the golden and torch backends "
                             "(bounds memory; RTL backends take the whole batch in one build)")


def concatenate(parts: list[SimResult]) -> SimResult:
    """Join results of consecutive sample chunks."""
    counts = np.concatenate([p.counts for p in parts])

    def join(field: str) -> dict[str, np.ndarray]:
        return {name: np.concatenate([getattr(p, field)[name] for p in parts])
                for name in getattr(parts[0], field)}

    return SimResult(counts, predict(counts), join("spikes"), join("i"), join("v"))


def run(args: argparse.Namespace) -> int:
    from golden_model.atomic import check_file_target

    check_file_target(args.out)
    bundle = load_bundle(args.bundle)
    spikes, labels = load_spikes(args.input, bundle.channels, bundle.output.size)
    engine = get_backend(args.backend)
    chunk = len(spikes) if args.backend in WHOLE_BATCH else max(1, args.chunk)
    parts = []
    with progress.bar(total=len(spikes), unit="sample",
                      desc=f"simulate ({args.backend})") as bar:
        for start in range(0, len(spikes), chunk):
            parts.append(engine(bundle, spikes[start:start + chunk], args.trace))
            bar.update(len(parts[-1].counts))
    result = concatenate(parts)
    save_npz(args.out, result.arrays())
    summary = f"{len(spikes)} samples x {spikes.shape[1]} timesteps -> {args.out}"
    if labels is not None:
        accuracy = float(np.mean(result.pred == labels))
        summary += f"; accuracy {accuracy:.2%} ({int(np.sum(result.pred == labels))}/{len(labels)})"
    print(summary)
    return 0
