"""Training speed of one ScSr layer: our fused scan against snnTorch, SpikingJelly and the floor.

One layer ``N → N``: ``B × T`` input spikes (10 %) → one matmul → the neuron dynamics, timed
as forward + backward of ``sum(spikes · g)`` (median of ``--repeats`` after a warm-up). In the
same run, on the same input and weights:

- ``fused``: ours, matmul + the fused scan (numba on CPU, Triton on CUDA), per-neuron
  trainable α, β (through a sigmoid), θ and ``w_self``;
- ``per_step``: ours, matmul + the plain per-step autograd loop (``reference_scan``);
- ``snntorch``: matmul + snnTorch's ``Leaky`` stepped in a Python loop (per-neuron
  trainable β and threshold, its documented usage);
- ``spikingjelly``: matmul + SpikingJelly's multi-step ``LIFNode`` (``step_mode='m'``; its own
  fused kernel on CUDA, its torch path on CPU);
- ``matmul``: the matmul alone (forward + weight gradient), the floor any layer pays.

On CUDA every contender runs twice, with TF32 matmuls off (fp32) and on. A missing
snnTorch or SpikingJelly is recorded as ``null``, never guessed. Writes JSON with the
issue's targets checked and prints one line.

usage: python benchmarks/train_speed.py [--device cpu|cuda] [--size N] [--out JSON]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from scsr.model import NeuronParams, fused_scan, reference_scan

Step = Callable[[], None]


def _time(step: Step, repeats: int, device: torch.device) -> float:
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


class Layer:
    """Shared input, weights and readout gradient; each contender is one step function."""

    def __init__(self, batch: int, steps: int, size: int, device: torch.device) -> None:
        g = torch.Generator().manual_seed(0)
        self.steps, self.size = steps, size
        self.x = (torch.rand(steps, batch, size, generator=g) < 0.1).float().to(device)
        self.w = (torch.randn(size, size, generator=g) * 3 / size**0.5).to(device)
        self.w.requires_grad_(True)
        self.readout = torch.randn(steps, batch, size, generator=g).to(device)
        raw = [torch.full((size,), 2.0), torch.full((size,), 2.0), torch.ones(size),
               torch.full((size,), 0.2)]
        self.intrinsic = [p.to(device).requires_grad_(True) for p in raw]
        self.device = device

    def _finish(self, spikes: torch.Tensor) -> None:
        (spikes * self.readout).sum().backward()

    def ours(self, scan: Callable[..., torch.Tensor]) -> Step:
        def step() -> None:
            alpha_logit, beta_logit, theta, w_self = self.intrinsic
            p = NeuronParams(torch.sigmoid(alpha_logit), torch.sigmoid(beta_logit), theta,
                             w_self)
            self._finish(scan(self.x @ self.w.T, p))
        return step

    def matmul(self) -> Step:
        return lambda: self._finish(self.x @ self.w.T)

    def snntorch(self) -> Step | None:
        try:
            import snntorch
        except ImportError:
            return None
        leaky = snntorch.Leaky(beta=torch.full((self.size,), 0.88), learn_beta=True,
                               threshold=torch.ones(self.size), learn_threshold=True)
        leaky = leaky.to(self.device)

        def step() -> None:
            current = self.x @ self.w.T
            mem = leaky.init_leaky()
            out = []
            for k in range(self.steps):
                spk, mem = leaky(current[k], mem)
                out.append(spk)
            self._finish(torch.stack(out))
        return step

    def spikingjelly(self) -> Step | None:
        try:
            from spikingjelly.activation_based import neuron
        except ImportError:
            return None
        node = neuron.LIFNode(tau=2.0, step_mode="m").to(self.device)

        def step() -> None:
            node.reset()
            self._finish(node(self.x @ self.w.T))
        return step


def _run_all(layer: Layer, repeats: int, loop_repeats: int) -> dict[str, float | None]:
    contenders: dict[str, tuple[Step | None, int]] = {
        "fused": (layer.ours(fused_scan), repeats),
        "matmul": (layer.matmul(), repeats),
        "spikingjelly": (layer.spikingjelly(), repeats),
        "snntorch": (layer.snntorch(), loop_repeats),
        "per_step": (layer.ours(reference_scan), loop_repeats),
    }
    return {name: None if step is None else _time(step, n, layer.device)
            for name, (step, n) in contenders.items()}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a / b


def _targets(device: torch.device, ms: dict[str, float | None]) -> dict[str, Any]:
    """The issue's targets on these timings (``None`` where a contender is missing)."""
    if device.type == "cpu":
        checks = {"vs_snntorch": (_ratio(ms["snntorch"], ms["fused"]), 5.0),
                  "vs_spikingjelly": (_ratio(ms["spikingjelly"], ms["fused"]), 2.5)}
        return {k: {"speedup": r, "target": f">= {t}x",
                    "pass": None if r is None else r >= t} for k, (r, t) in checks.items()}
    faster = _ratio(ms["spikingjelly"], ms["fused"])
    over_floor = _ratio(ms["fused"], ms["matmul"])
    return {"vs_spikingjelly": {"speedup": faster, "target": "> 1x",
                                "pass": None if faster is None else faster > 1.0},
            "over_matmul": {"ratio": over_floor, "target": "<= 1.25x",
                            "pass": None if over_floor is None else over_floor <= 1.25}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        choices=("cpu", "cuda"), metavar="DEV")
    parser.add_argument("--batch", type=int, default=16, metavar="B")
    parser.add_argument("--steps", type=int, default=500, metavar="T")
    parser.add_argument("--size", type=int, default=None, metavar="N",
                        help="layer width (default: 512 on CPU, 4096 on CUDA, as the issue)")
    parser.add_argument("--repeats", type=int, default=5, metavar="R")
    parser.add_argument("--loop-repeats", type=int, default=2, metavar="R",
                        help="repeats of the slow per-step Python loops")
    parser.add_argument("--out", default="build/bench/train_speed.json", metavar="JSON")
    args = parser.parse_args()
    device = torch.device(args.device)
    size = args.size or (4096 if device.type == "cuda" else 512)
    layer = Layer(args.batch, args.steps, size, device)
    precisions = ("fp32", "tf32") if device.type == "cuda" else ("fp32",)
    runs: dict[str, Any] = {}
    for precision in precisions:
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        ms = _run_all(layer, args.repeats, args.loop_repeats)
        runs[precision] = {"ms": ms, "targets": _targets(device, ms)}
    record = {
        "benchmark": "train_speed", "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "shape": {"batch": args.batch, "steps": args.steps, "size": size},
        "repeats": args.repeats, "loop_repeats": args.loop_repeats, "runs": runs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    parts = []
    for precision, run in runs.items():
        times = ", ".join(f"{k} {'n/a' if v is None else f'{v:.2f}'}"
                          for k, v in run["ms"].items())
        verdict = ", ".join(f"{k} {'n/a' if t['pass'] is None else 'PASS' if t['pass'] else 'FAIL'}"
                            for k, t in run["targets"].items())
        parts.append(f"[{precision}] {times} ms; {verdict}")
    print(f"train_speed {device} B={args.batch} T={args.steps} N={size}: "
          + " | ".join(parts) + f" -> {args.out}")


if __name__ == "__main__":
    main()
