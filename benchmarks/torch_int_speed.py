"""Torch integer path against the numpy golden model, same process, same run (issue 17).

Net: random 64 -> 128,128,128,26 with skip and self-recurrence, bits 8,16,8, T = 200,
10 % input rate, batch ``--batch`` (default 1,024). Both engines see the whole batch at
once (golden with numpy's default BLAS threads; torch with its default threads and with
one); each is timed as the best of ``--repeats`` runs, and their outputs are compared
(counts must be identical). ``--device cuda`` adds the torch path on the GPU.
Writes JSON and prints one summary line::

    .venv/bin/python -m benchmarks.torch_int_speed --out build/bench/torch_int_speed.json
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from golden_model import FixedPoint, simulate
from golden_model.atomic import write_json
from golden_model.random_bundle import RandomSpec, random_bundle
from scsr import torch_int


def best_seconds(run: Callable[[], Any], repeats: int) -> float:
    """Wall seconds of the fastest of ``repeats`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build/bench/torch_int_speed.json", metavar="FILE")
    parser.add_argument("--batch", type=int, default=1024, metavar="N")
    parser.add_argument("--repeats", type=int, default=3, metavar="N")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()
    bundle = random_bundle(RandomSpec(64, (128, 128, 128, 26), FixedPoint(8, 16, 8), seed=1,
                                      skip=True, self_recurrent=True, timesteps=200))
    x = (np.random.default_rng(0).random((args.batch, 200, 64)) < 0.1).astype(np.uint8)
    same = np.array_equal(simulate(bundle, x[:64]).counts,
                          torch_int.simulate(bundle, x[:64]).counts)
    golden = best_seconds(lambda: simulate(bundle, x), args.repeats)
    threads = torch.get_num_threads()
    torch_cpu = best_seconds(lambda: torch_int.simulate(bundle, x), args.repeats)
    torch.set_num_threads(1)  # what a sweep worker uses; on a busy machine often faster
    torch_one = best_seconds(lambda: torch_int.simulate(bundle, x), args.repeats)
    torch.set_num_threads(threads)
    report: dict[str, Any] = {
        "benchmark": "torch_int_speed",
        "net": "64->128,128,128,26 skip+self, bits 8,16,8", "batch": args.batch,
        "timesteps": 200, "input_rate": 0.1, "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "torch": torch.__version__,
                    "numpy": np.__version__, "torch_threads": torch.get_num_threads(),
                    "cpu": platform.processor() or platform.machine()},
        "golden_samples_per_s": args.batch / golden,
        "torch_cpu_samples_per_s": args.batch / torch_cpu,
        "torch_cpu_1thread_samples_per_s": args.batch / torch_one,
        "speedup_cpu": golden / torch_cpu, "speedup_cpu_1thread": golden / torch_one,
        "counts_identical": bool(same),
        "target_speedup": 2.0,
    }
    line = (f"torch integer path {report['torch_cpu_samples_per_s']:.0f} samples/s on CPU "
            f"({threads} threads; {report['torch_cpu_1thread_samples_per_s']:.0f} on 1), golden "
            f"{report['golden_samples_per_s']:.0f}: {report['speedup_cpu']:.2f}x "
            f"({report['speedup_cpu_1thread']:.2f}x)")
    if args.device == "cuda":
        dev_same = np.array_equal(simulate(bundle, x[:64]).counts,
                                  torch_int.simulate(bundle, x[:64], device="cuda").counts)
        cuda = best_seconds(lambda: torch_int.simulate(bundle, x, device="cuda"), args.repeats)
        report |= {"torch_cuda_samples_per_s": args.batch / cuda,
                   "cuda_counts_identical": bool(dev_same),
                   "cuda_device": torch.cuda.get_device_name()}
        line += f"; CUDA {report['torch_cuda_samples_per_s']:.0f} samples/s"
    write_json(args.out, report)
    print(f"{line} -> {args.out}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
