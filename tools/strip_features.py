"""Write a spikes-only copy of a dataset file, small enough to travel to a GPU machine.

A letters set built with ``--features`` is ~107 MB (float32 frames hardly compress); the
training code needs only the spikes, labels, classes and config, which compress ~7× (a few
MB). The copy is validated and written atomically by :func:`scsr.data.save_dataset`, so it
loads exactly like the original, and its spikes are byte-identical to it.

``--encoder rate|bsa|delta`` instead re-encodes the stored front-end frames with that
encoder's defaults, and ``--set NAME=VALUE`` with a changed parameter (``max_rate=1.0``),
and records the encoder in the config: a build spikes exactly these frames, so the
result equals a fresh build with ``--encoder`` (tested), without an hour of espeak-ng. The
letters sets in ``build/data`` were built with BSA before ``rate`` became the default.

    .venv/bin/python -m tools.strip_features build/data/letters-sd-features.npz \
        build/data/letters-sd.npz --encoder rate
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys


def strip(source: str | os.PathLike[str], target: str | os.PathLike[str],
          encoder: str | None = None, params: dict | None = None) -> int:
    """Copy ``source`` to ``target`` without its features, re-encoded when ``encoder`` or
    encoder ``params`` are given (``encoder``'s defaults, else the file's own encoder, with
    ``params`` replacing values by name); returns the new file's size."""
    from golden_model.errors import ScsrError
    from scsr.data import encoders
    from scsr.data.store import load_dataset, save_dataset

    data = load_dataset(source)
    changes: dict = {"train_features": None, "test_features": None}
    if encoder is not None or params:
        if data.train_features is None or data.test_features is None:
            raise ScsrError(source, "train_features", "is missing: re-encoding needs the "
                                                      "stored frames (build with --features)")
        chosen = (encoders.encoder_defaults(encoder) if encoder is not None
                  else dict(data.config["encoder"]))
        for key, value in (params or {}).items():
            if key not in chosen or key == "kind":
                raise ScsrError("--set", key, f"is not a parameter of encoder "
                                              f"{chosen['kind']!r} ({', '.join(chosen)})")
            chosen[key] = value
        changes.update(train_spikes=encoders.encode(data.train_features, chosen),
                       test_spikes=encoders.encode(data.test_features, chosen),
                       config={**data.config, "encoder": chosen})
    save_dataset(dataclasses.replace(data, **changes), target)
    return os.path.getsize(target)


def main() -> int:
    from golden_model.errors import ScsrError
    from scsr.cli.dataset import key_value

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", metavar="IN.npz", help="dataset file (with or without "
                                                          "features)")
    parser.add_argument("target", metavar="OUT.npz", help="the spikes-only copy")
    parser.add_argument("--encoder", choices=("rate", "bsa", "delta"), default=None,
                        help="re-encode the stored frames with this encoder's defaults")
    parser.add_argument("--set", dest="params", type=key_value, action="append", default=[],
                        metavar="NAME=VALUE",
                        help="re-encode with this encoder parameter changed, e.g. "
                             "max_rate=1.0 (repeatable)")
    args = parser.parse_args()
    try:
        size = strip(args.source, args.target, args.encoder, dict(args.params))
    except ScsrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"strip_features: {args.source} ({os.path.getsize(args.source) / 1e6:.1f} MB) -> "
          f"{args.target} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
