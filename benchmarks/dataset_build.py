"""Benchmark: wall time of the default ``letters`` build (2 workers, fresh cache) and of a
cached rebuild. Writes JSON and prints one line.

    .venv/bin/python -m benchmarks.dataset_build --out build/bench/dataset_build.json
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from golden_model.atomic import write_json

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="build/bench/dataset_build.json", metavar="FILE",
                        help="JSON result")
    parser.add_argument("--kind", default="letters", choices=("letters", "digits"),
                        metavar="KIND", help="built-in set to build")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="worker processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, "-m", "scsr", "dataset", "build", args.kind,
                "--workers", str(args.workers), "--cache", os.path.join(tmp, "cache")]
        fresh = timed([*base, "--out", os.path.join(tmp, "a.npz")])
        cached = timed([*base, "--out", os.path.join(tmp, "b.npz")])
        same = Path(tmp, "a.npz").read_bytes() == Path(tmp, "b.npz").read_bytes()
        size = Path(tmp, "a.npz").stat().st_size
        from scsr.data import load_dataset

        dataset = load_dataset(Path(tmp, "a.npz"))
        samples = len(dataset.train_labels) + len(dataset.test_labels)
    result = {
        "benchmark": "dataset_build", "kind": args.kind, "workers": args.workers,
        "samples": samples, "timesteps": dataset.timesteps, "channels": dataset.channels,
        "build_s": round(fresh, 2), "cached_rebuild_s": round(cached, 2),
        "utterances_per_s": round(samples / fresh, 1), "file_bytes": size,
        "cached_identical": same, "cpus": os.cpu_count(), "machine": platform.machine(),
        "python": platform.python_version(), "config": dataset.config,
    }
    write_json(args.out, result, indent=1)
    print(f"dataset_build: {args.kind} {samples} utterances, T={dataset.timesteps} "
          f"C={dataset.channels}: build {fresh:.1f} s ({samples / fresh:.0f} utt/s, "
          f"{args.workers} workers), cached rebuild {cached:.2f} s, identical={same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
