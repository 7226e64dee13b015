"""Forward + backward time of one ScSr layer: fused scan vs the per-step autograd loop.

One layer ``size → size`` (B × T input spikes → one matmul → the neuron scan with per-neuron
trainable α, β, θ, w_self), timed as forward + backward of ``sum(spikes · g)``. Compared in
the same run: our fused scan, our plain per-step autograd loop (:func:`reference_scan`),
and the bare matmul alone (the floor). snnTorch's ``Leaky`` loop is added when snnTorch is
installed. Writes JSON and prints one line.

usage: python benchmarks/scan_speed.py [--out build/bench/scan_speed.json] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from scsr.model import NeuronParams, fused_scan, reference_scan


def _time(step: Callable[[], None], repeats: int, device: torch.device) -> float:
    """Median wall time (ms) of ``step`` after one warm-up call."""
    step()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16, metavar="B")
    parser.add_argument("--steps", type=int, default=500, metavar="T")
    parser.add_argument("--size", type=int, default=512, metavar="N")
    parser.add_argument("--repeats", type=int, default=5, metavar="R")
    parser.add_argument("--loop-repeats", type=int, default=2, metavar="R",
                        help="repeats of the slow per-step loops")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        choices=("cpu", "cuda"), metavar="DEV")
    parser.add_argument("--out", default="build/bench/scan_speed.json", metavar="JSON")
    args = parser.parse_args()
    dev = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    b, t, n = args.batch, args.steps, args.size
    x = (torch.rand(t, b, n, generator=g) < 0.1).float().to(dev)
    w = (torch.randn(n, n, generator=g) * 3 / n**0.5).to(dev).requires_grad_(True)
    raw = [torch.full((n,), 2.0), torch.full((n,), 2.0), torch.ones(n), torch.full((n,), 0.2)]
    alpha_logit, beta_logit, theta, w_self = (p.to(dev).requires_grad_(True) for p in raw)
    weights = torch.randn(t, b, n, generator=g).to(dev)

    def layer(scan) -> Callable[[], None]:
        def step() -> None:
            p = NeuronParams(torch.sigmoid(alpha_logit), torch.sigmoid(beta_logit), theta,
                             w_self)
            s = scan(x @ w.T, p)
            (s * weights).sum().backward()
        return step

    def matmul_only() -> None:
        ((x @ w.T) * weights).sum().backward()

    results = {"fused_ms": _time(layer(fused_scan), args.repeats, dev),
               "matmul_ms": _time(matmul_only, args.repeats, dev),
               "per_step_loop_ms": _time(layer(reference_scan), args.loop_repeats, dev)}
    try:
        import snntorch

        leaky = snntorch.Leaky(beta=torch.full((n,), 0.88), learn_beta=True,
                               learn_threshold=True, threshold=torch.ones(n)).to(dev)

        def snntorch_loop() -> None:
            current = x @ w.T
            mem = leaky.init_leaky()
            out = []
            for k in range(t):
                spk, mem = leaky(current[k], mem)
                out.append(spk)
            (torch.stack(out) * weights).sum().backward()

        results["snntorch_ms"] = _time(snntorch_loop, args.loop_repeats, dev)
    except ImportError:
        results["snntorch_ms"] = None
    record = {
        "benchmark": "scan_speed", "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda"
        else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "shape": {"batch": b, "steps": t, "size": n}, "repeats": args.repeats, **results,
        "speedup_vs_per_step_loop": results["per_step_loop_ms"] / results["fused_ms"],
        "fused_over_matmul": results["fused_ms"] / results["matmul_ms"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"scan_speed {dev} B={b} T={t} N={n}: fused {results['fused_ms']:.1f} ms, per-step "
          f"loop {results['per_step_loop_ms']:.1f} ms "
          f"({record['speedup_vs_per_step_loop']:.1f}x), matmul alone "
          f"{results['matmul_ms']:.1f} ms -> {args.out}")


if __name__ == "__main__":
    main()
