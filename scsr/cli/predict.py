"""Classify audio files with a bundle: each WAV is encoded exactly like the bundle's training
data (the dataset config stored in its provenance) and simulated bit-exactly.

Arguments are WAV files or folders. A folder laid out one sub-folder per class (sub-folder
names = the bundle's class names) is scored: accuracy and a confusion matrix are printed
after the per-file lines. Other folders are searched for *.wav files.

examples:
  scsr predict bundles/digits one.wav two.wav
  scsr predict bundles/digits ../shared/data/fsdd --backend torch
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from golden_model import progress
from scsr.backends import BACKENDS

HELP = "classify WAV files with a bundle"
CHUNK = 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", metavar="BUNDLE", help="bundle directory")
    parser.add_argument("paths", nargs="+", metavar="WAV_OR_DIR",
                        help="WAV files, or folders (one sub-folder per class is scored)")
    parser.add_argument("--backend", choices=[b for b in BACKENDS if b in ("golden", "torch")],
                        default="golden", help="simulation engine")
    parser.add_argument("--folder-names", metavar="NAME,...", default=None,
                        help="the class sub-folder names in the bundle's class order, when "
                             "they differ from the class names (e.g. 0,1,...,9 for digits)")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the summary, not one line per file")


def _is_wav(path: Path) -> bool:
    """``.wav`` in any case (``dataset import wav`` reads ``.WAV`` too)."""
    return path.is_file() and path.suffix.lower() == ".wav"


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def collect(paths: list[str], classes: tuple[str, ...]) -> list[tuple[Path, int | None]]:
    """``(wav, label or None)`` for every file; sub-folders named like ``classes`` give
    labels (their index in ``classes``)."""
    from golden_model.errors import ScsrError

    items: list[tuple[Path, int | None]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            items.append((path, None))
        elif path.is_dir():
            subdirs = sorted(p for p in path.iterdir() if p.is_dir())
            labelled = [d for d in subdirs if d.name in classes]
            if labelled:
                unknown = [d.name for d in subdirs if d.name not in classes]
                if unknown:
                    raise ScsrError(path / unknown[0], "", f"is not one of the class "
                                                           f"folders ({', '.join(classes)})")
                for d in labelled:
                    items += [(f, classes.index(d.name)) for f in sorted(d.iterdir())
                              if _is_wav(f)]
            else:
                if subdirs:
                    _warn(f"{path}: no sub-folder is named like the bundle's classes "
                          f"({', '.join(classes[:4])}{', ...' if len(classes) > 4 else ''}), "
                          "so no accuracy can be given; --folder-names maps folder names "
                          "to classes")
                items += [(f, None) for f in sorted(path.rglob("*")) if _is_wav(f)]
        else:
            raise ScsrError(path, "", "does not exist")
    if not items:
        raise ScsrError(" ".join(paths), "", "holds no .wav files")
    return items


def confusion(labels: np.ndarray, pred: np.ndarray, classes: tuple[str, ...]) -> str:
    """A text confusion matrix: rows are true classes, columns predictions."""
    k = len(classes)
    matrix = np.zeros((k, k), np.int64)
    np.add.at(matrix, (labels, pred), 1)
    width = max(4, *(len(c) for c in classes), len(str(matrix.max())))
    corner = "true\\pred"
    first = max(len(corner), *(len(c) for c in classes))
    lines = [f"{corner:>{first}} " + " ".join(f"{c:>{width}}" for c in classes)]
    lines += [f"{c:>{first}} " + " ".join(f"{v:>{width}}" for v in row)
              for c, row in zip(classes, matrix, strict=True)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from golden_model import load_bundle
    from golden_model.errors import ScsrError
    from scsr.backends import get_backend
    from scsr.data import encode_wav

    bundle = load_bundle(args.bundle)
    config = bundle.provenance.get("dataset")
    if not isinstance(config, dict):
        raise ScsrError(Path(args.bundle) / "manifest.json", "provenance.dataset",
                        "is missing: this bundle does not say how its inputs were encoded")
    names = bundle.classes
    if args.folder_names is not None:
        names = tuple(n.strip() for n in args.folder_names.split(","))
        if len(names) != len(bundle.classes):
            raise ScsrError("--folder-names", args.folder_names, f"gives {len(names)} names "
                            f"for the bundle's {len(bundle.classes)} classes")
    items = collect(args.paths, names)
    engine = get_backend(args.backend)
    encoded = []
    for path, _ in progress.bar(items, desc="encode", unit="file"):
        x = encode_wav(path, config)
        if x.shape[1] != bundle.channels:
            raise ScsrError(path, "", f"encodes to {x.shape[1]} channels but the bundle "
                                      f"expects {bundle.channels}")
        encoded.append(x)
    spikes = np.stack(encoded)
    pred = np.concatenate([engine(bundle, spikes[s:s + CHUNK], False).pred
                           for s in range(0, len(spikes), CHUNK)])
    if not args.quiet:
        for (path, _), p in zip(items, pred, strict=True):
            print(f"{path}: {bundle.classes[p]}")
    labelled = [(k, label) for k, (_, label) in enumerate(items) if label is not None]
    if labelled:
        index = np.array([k for k, _ in labelled])
        labels = np.array([label for _, label in labelled])
        hits = int(np.sum(pred[index] == labels))
        print(f"accuracy {hits / len(labels):.2%} ({hits}/{len(labels)})")
        print(confusion(labels, pred[index], bundle.classes))
    return 0
