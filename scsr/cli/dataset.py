"""Make, import and inspect spike datasets (one .npz per dataset; see docs/datasets.md).

  build letters|digits   synthesise TI46-like spoken letters A-Z or digits 0-9 with espeak-ng,
                         run a front end (log-mel or Lyon) and a spike encoder (BSA, ON/OFF
                         delta or rate); cached by a hash of the build config
  import KIND PATH       shd (directory with shd_train.h5 and shd_test.h5), ntidigits
                         (n-tidigits.hdf5), ti46 (TI46 tree, .sph or .wav) or wav (a folder
                         with one sub-folder of audio files per class)
  show FILE              class counts, T, C, firing rates, and a PNG of a few samples
  spikes FILE            one split (or its first N samples) as the spike file (design §6)
                         that simulate, cosim and board run take

examples:
  scsr dataset build letters --out build/data/letters.npz
  scsr dataset build digits --split speaker-independent --front-end lyon --out d.npz
  scsr dataset import wav ../shared/data/fsdd --out fsdd.npz
  scsr dataset show build/data/letters.npz
  scsr dataset spikes build/data/letters.npz --split test --samples 16 --out x.npz
"""

from __future__ import annotations

import argparse
import json
import os
import time

from golden_model.errors import ScsrError
from scsr.cli.argtypes import non_negative_int, positive_float, positive_int

HELP = "build, import and show spike datasets"
FRONT_ENDS = ("logmel", "lyon")
ENCODERS = ("rate", "bsa", "delta")
IMPORT_KINDS = ("shd", "ntidigits", "ti46", "wav")


def snr_range(text: str) -> tuple[float, float] | None:
    """``LOW,HIGH`` in dB, or ``none`` for clean audio."""
    if text.strip().lower() == "none":
        return None
    parts = text.split(",")
    try:
        low, high = (float(parts[0]), float(parts[-1])) if len(parts) <= 2 else (None, None)
    except ValueError:
        low = high = None
    if low is None or high is None or low > high:
        raise argparse.ArgumentTypeError(f"{text!r} should be LOW,HIGH in dB (LOW <= HIGH), "
                                         "a single value, or 'none'")
    return low, high


def fraction(text: str) -> float:
    """A number in (0, 1)."""
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{value} must be below 1")
    return value


def key_value(text: str) -> tuple[str, float]:
    """``NAME=NUMBER``: a front-end or encoder parameter, e.g. ``delta=0.1``."""
    name, sep, value = text.partition("=")
    try:
        number = float(value) if sep else None
    except ValueError:
        number = None
    if number is None or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} should be NAME=NUMBER")
    return name.strip(), int(number) if number.is_integer() and "." not in value else number


def _add_encoding(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("encoding (audio sources)")
    group.add_argument("--front-end", choices=FRONT_ENDS, default="logmel", metavar="NAME",
                       help=f"front end: {', '.join(FRONT_ENDS)}")
    group.add_argument("--channels", type=positive_int, default=None, metavar="F",
                       help="front-end channels (default: 32 for logmel, 78 for lyon)")
    group.add_argument("--encoder", choices=ENCODERS, default="rate", metavar="NAME",
                       help=f"spike encoder: {', '.join(ENCODERS)} (delta gives 2F channels)")
    group.add_argument("--timesteps", type=positive_int, default=100, metavar="T",
                       help="timesteps per sample")
    group.add_argument("--step-ms", type=positive_float, default=10.0, metavar="MS",
                       help="frame step = one timestep, in ms")
    group.add_argument("--rate", type=positive_int, default=None, metavar="HZ",
                       help="audio is resampled to this rate (default: 8000 for built-in "
                            "digits, like FSDD and telephone speech; 16000 otherwise)")
    group.add_argument("--set", dest="params", type=key_value, action="append", default=None,
                       metavar="NAME=VALUE",
                       help="front-end or encoder parameter, e.g. delta=0.1, gain=1.8, "
                            "dynamic_range_db=50 (repeatable)")
    group.add_argument("--features", action="store_true",
                       help="also store the front-end frames (float32) for reference models")


def _encoding(args: argparse.Namespace, default_rate: int = 16000) -> dict:
    from scsr.data.pipeline import encoding_config

    return encoding_config(args.front_end, args.encoder, timesteps=args.timesteps,
                           step_ms=args.step_ms, rate=args.rate or default_rate,
                           channels=args.channels,
                           **dict(args.params or []))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="synthesise a built-in TI46-like set with espeak-ng",
                           formatter_class=parser.formatter_class)
    build.add_argument("kind", choices=("letters", "digits"), metavar="KIND",
                       help="letters (A-Z, TI46-Alpha-like) or digits (0-9, TI46-Digits-like)")
    build.add_argument("--out", default=None, metavar="FILE",
                       help="dataset file (default: build/data/KIND-sd.npz or KIND-si.npz)")
    build.add_argument("--split", choices=("speaker-dependent", "speaker-independent"),
                       default="speaker-dependent", metavar="SPLIT",
                       help="speaker-dependent (TI46 protocol) or speaker-independent")
    build.add_argument("--train-per-class", type=positive_int, default=300, metavar="N",
                       help="training utterances per class")
    build.add_argument("--test-per-class", type=positive_int, default=60, metavar="N",
                       help="test utterances per class")
    build.add_argument("--seed", type=non_negative_int, default=0, metavar="N",
                       help="build seed (default: 0)")
    build.add_argument("--snr", type=snr_range, default="20,40", metavar="LOW,HIGH",
                       help="white-noise SNR range in dB, or 'none'")
    build.add_argument("--speakers", type=positive_int, default=16, metavar="N",
                       help="speakers of a speaker-dependent set")
    build.add_argument("--test-variants", type=positive_int, default=12, metavar="N",
                       help="voice variants held out for test in a speaker-independent set")
    build.add_argument("--train-draws", type=positive_int, default=1, metavar="K",
                       help="K times the training renditions: draws 2..K are fresh "
                            "renditions of the same training speakers; the test split stays "
                            "that of the one-draw build, bit for bit")
    build.add_argument("--flite-per-class", type=non_negative_int, default=0, metavar="N",
                       help="N more training renditions per class by Flite's voices (kal16, "
                            "awb, rms, slt; three are modelled on real speakers); never in "
                            "the test split (default: 0, espeak-ng only)")
    build.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                       help="noise over the speech only and speed/tilt/noise-colour "
                            "perturbation of the training split (default: on for digits, "
                            "off for letters)")
    build.add_argument("--workers", type=positive_int, default=2, metavar="N",
                       help="parallel worker processes")
    build.add_argument("--cache", default=None, metavar="DIR",
                       help="cache directory (default: ~/.cache/scsr-snn/datasets)")
    build.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    _add_encoding(build)

    imp = sub.add_parser("import", help="import SHD, N-TIDIGITS, TI46 or a WAV folder",
                         formatter_class=parser.formatter_class)
    imp.add_argument("kind", choices=IMPORT_KINDS, metavar="KIND",
                     help=f"one of {', '.join(IMPORT_KINDS)}")
    imp.add_argument("path", metavar="PATH", help="file or directory to import")
    imp.add_argument("--out", required=True, metavar="FILE", help="dataset file to write")
    imp.add_argument("--dt-ms", type=positive_float, default=10.0, metavar="MS",
                     help="bin width for event data (shd, ntidigits)")
    imp.add_argument("--pool", type=positive_int, default=1, metavar="K",
                     help="shd: merge K neighbouring channels (700/K channels)")
    imp.add_argument("--all-sequences", action="store_true",
                     help="ntidigits: keep digit sequences, not only single digits")
    imp.add_argument("--test-fraction", type=fraction, default=0.2, metavar="F",
                     help="wav: fraction of each class held out for test")
    imp.add_argument("--seed", type=non_negative_int, default=0, metavar="N",
                     help="wav: split seed (default: 0)")
    _add_encoding(imp)

    show = sub.add_parser("show", help="class counts, T, C, firing rates and a PNG",
                          formatter_class=parser.formatter_class)
    show.add_argument("file", metavar="FILE", help="dataset file")
    show.add_argument("--png", default=None, metavar="FILE",
                      help="picture to write (default: FILE with .png)")
    show.add_argument("--samples", type=positive_int, default=4, metavar="N",
                      help="samples in the picture")
    show.add_argument("--json", action="store_true", help="print the summary as JSON")

    spikes = sub.add_parser("spikes", help="one split as a spike file for simulate/cosim/board",
                            formatter_class=parser.formatter_class)
    spikes.add_argument("file", metavar="FILE", help="dataset file")
    spikes.add_argument("--split", choices=("train", "test"), default="test", metavar="SPLIT",
                        help="train or test")
    spikes.add_argument("--samples", type=positive_int, default=None, metavar="N",
                        help="only the first N samples of the split (default: all)")
    spikes.add_argument("--out", required=True, metavar="OUT.npz",
                        help="spike file to write (spikes and labels)")


def _run_build(args: argparse.Namespace) -> int:
    from scsr.data import build, builtin

    source = builtin.source_config(
        args.kind, split=args.split, train_per_class=args.train_per_class,
        test_per_class=args.test_per_class, seed=args.seed, snr_db=args.snr,
        speakers=args.speakers, test_variants=args.test_variants, augment=args.augment,
        train_draws=args.train_draws, flite_per_class=args.flite_per_class)
    config = build.builtin_config(source, _encoding(args, builtin.DEFAULT_RATE[args.kind]),
                                  args.features)
    short = {"speaker-dependent": "sd", "speaker-independent": "si"}[args.split]
    out = args.out or os.path.join("build", "data", f"{args.kind}-{short}.npz")
    cache = None if args.no_cache else (args.cache or build.default_cache_dir())
    start = time.perf_counter()
    dataset, cached = build.cached_build(
        config, out, lambda c: build.build_builtin(c, workers=args.workers), cache)
    print(f"wrote {out}: {len(dataset.train_labels)} train + {len(dataset.test_labels)} test, "
          f"T = {dataset.timesteps}, C = {dataset.channels}, {len(dataset.classes)} classes "
          f"({'from cache' if cached else 'built'} in {time.perf_counter() - start:.1f} s)")
    return 0


def _run_import(args: argparse.Namespace) -> int:
    from scsr.data import importers, save_dataset

    if args.kind == "shd":
        dataset = importers.import_shd(args.path, timesteps=args.timesteps, dt_ms=args.dt_ms,
                                       pool=args.pool)
    elif args.kind == "ntidigits":
        dataset = importers.import_ntidigits(args.path, timesteps=args.timesteps,
                                             dt_ms=args.dt_ms,
                                             single_digits=not args.all_sequences)
    elif args.kind == "ti46":
        dataset = importers.import_ti46(args.path, _encoding(args),
                                        store_features=args.features)
    else:
        dataset = importers.import_wav_folder(args.path, _encoding(args),
                                              test_fraction=args.test_fraction, seed=args.seed,
                                              store_features=args.features)
    save_dataset(dataset, args.out)
    print(f"wrote {args.out}: {len(dataset.train_labels)} train + {len(dataset.test_labels)} "
          f"test, T = {dataset.timesteps}, C = {dataset.channels}, "
          f"{len(dataset.classes)} classes")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    from scsr.data import load_dataset
    from scsr.data.show import format_summary, plot_samples, summary

    dataset = load_dataset(args.file)
    info = summary(dataset)
    print(json.dumps(info, indent=1) if args.json else format_summary(info))
    png = args.png or os.path.splitext(args.file)[0] + ".png"
    plot_samples(dataset, png, args.samples)
    if not args.json:
        print(f"wrote {png}")
    return 0


def _run_spikes(args: argparse.Namespace) -> int:
    import numpy as np

    from golden_model import save_npz
    from scsr.data import load_dataset

    dataset = load_dataset(args.file)
    spikes, labels, _ = dataset.split(args.split)
    if args.samples is not None:
        spikes, labels = spikes[:args.samples], labels[:args.samples]
    if not len(spikes):
        raise ScsrError(args.file, args.split, "holds no samples")
    save_npz(args.out, {"spikes": spikes, "labels": labels.astype(np.int64)})
    print(f"wrote {args.out}: {len(spikes)} {args.split} samples x {spikes.shape[1]} timesteps "
          f"x {spikes.shape[2]} channels, with labels ({len(dataset.classes)} classes)")
    return 0


def run(args: argparse.Namespace) -> int:
    match args.action:
        case "build":
            return _run_build(args)
        case "import":
            return _run_import(args)
        case "show":
            return _run_show(args)
        case "spikes":
            return _run_spikes(args)
    raise ScsrError("dataset", "", f"unknown action {args.action!r}")
