"""Training speed of one ScSr layer: our fused scan against snnTorch, SpikingJelly and the floor.

One layer ``N → N``: ``B × T`` input spikes (10 %) → one matmul → the neuron dynamics, timed
as forward + backward of ``sum(spikes · g)`` (median of ``--repeats`` after a warm-up, the
contenders taking turns call by call: the fast ones among themselves, then the slow Python
loops among themselves). In the same run, on the same input and weights:

- ``fused``: ours, as the network runs it: the input matmul (spike-sparse on CPU, see
  :mod:`scsr.model.spike_matmul`; dense on CUDA) + the fused scan (numba on CPU, Triton on
  CUDA), per-neuron trainable α, β (through a sigmoid), θ and ``w_self``;
- ``fused_dense`` (CPU only): the same with the dense matmul, to show what sparsity buys;
- ``per_step``: ours, matmul + the plain per-step autograd loop (``reference_scan``);
- ``snntorch``: matmul + snnTorch's ``Leaky`` stepped in a Python loop (per-neuron
  trainable β and threshold, its documented usage);
- ``spikingjelly``: matmul + SpikingJelly's multi-step ``LIFNode`` (``step_mode='m'``; its own
  fused kernel on CUDA, its torch path on CPU);
- ``matmul``: the dense matmul alone (forward + weight gradient), the floor any layer
  with a dense matmul pays;
- ``matmul_sparse`` (CPU only): the spike-sparse matmul alone, forced on whatever the
  density.

On CUDA every contender runs twice, with TF32 matmuls off (fp32) and on. A missing
snnTorch or SpikingJelly is recorded as ``null``, never guessed. Writes JSON with the
issue's targets checked and each contender's minor page faults per call, and prints one line.
The process keeps freed memory (:mod:`scsr.model.cpu_heap`; ``SCSR_KEEP_FREED_MEMORY=0``
for the A/B: then ``fused`` took 4,000–12,000 faults per call, changing from run to run).

``--sweep 0.05,0.1,...`` times only ``matmul`` and ``matmul_sparse`` at each input density:
the crossover that :data:`scsr.model.spike_matmul.DENSE_ABOVE` is set from. ``--breakdown``
adds where the time of ``fused`` goes (torch profiler, self time per op and step).
``--kernels`` adds the scan kernels alone (forward, backward) against a plain copy of one
``T × B × N`` array, the memory-bandwidth floor of kernels that stream such arrays.

usage: python -m benchmarks.train_speed [--device cpu|cuda] [--size N] [--threads N]
       [--density D] [--sweep D,...] [--breakdown] [--kernels] [--out JSON]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from golden_model.atomic import write_json
from scsr.model import NeuronParams, fused_scan, reference_scan
from scsr.model.cpu_heap import keep_freed_memory
from scsr.model.scan import FLOAT, kernel_module
from scsr.model.spike_matmul import DENSE_ABOVE, MIN_WORK, sparse_enabled, spike_matmul

Step = Callable[[], None]


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _once(step: Step, device: torch.device) -> tuple[float, int]:
    """Wall time (ms) of one call of ``step``, and the minor page faults it took (pages the
    process got afresh from the system: ≈ 4 µs each on the 2-core machine, see
    :mod:`scsr.model.cpu_heap`)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    faults = _minor_faults()
    start = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3, _minor_faults() - faults


def _time_interleaved(steps: dict[str, tuple[Step | None, int]], device: torch.device,
                      faults: dict[str, int | None] | None = None) -> dict[str, float | None]:
    """Median wall time (ms) of each ``(step, repeats)`` after one warm-up call each; the
    median minor page faults per call go into ``faults`` when given.

    The contenders take turns, one call each per round, so that a change in the machine's
    load (other jobs on a shared machine) hits all of them alike instead of whichever
    happened to be timed then; a missing contender (``None``) stays ``None``.
    """
    live = {name: step for name, (step, _) in steps.items() if step is not None}
    for step in live.values():
        step()
    calls: dict[str, list[tuple[float, int]]] = {name: [] for name in live}
    for round_ in range(max((n for _, n in steps.values()), default=0)):
        for name, step in live.items():
            if round_ < steps[name][1]:
                calls[name].append(_once(step, device))
    if faults is not None:
        faults.update({name: int(statistics.median(f for _, f in calls[name]))
                       if name in live else None for name in steps})
    return {name: statistics.median(t for t, _ in calls[name]) if name in live else None
            for name in steps}


class Layer:
    """Shared input, weights and readout gradient; each contender is one step function."""

    def __init__(self, batch: int, steps: int, size: int, device: torch.device,
                 density: float = 0.1) -> None:
        g = torch.Generator().manual_seed(0)
        self.steps, self.size = steps, size
        self.x = (torch.rand(steps, batch, size, generator=g) < density).float().to(device)
        self.w = (torch.randn(size, size, generator=g) * 3 / size**0.5).to(device)
        self.w.requires_grad_(True)
        self.readout = torch.randn(steps, batch, size, generator=g).to(device)
        raw = [torch.full((size,), 2.0), torch.full((size,), 2.0), torch.ones(size),
               torch.full((size,), 0.2)]
        self.intrinsic = [p.to(device).requires_grad_(True) for p in raw]
        self.device = device

    def _finish(self, spikes: torch.Tensor) -> None:
        (spikes * self.readout).sum().backward()

    def ours(self, scan: Callable[..., torch.Tensor], sparse: bool = True) -> Step:
        def step() -> None:
            alpha_logit, beta_logit, theta, w_self = self.intrinsic
            p = NeuronParams(torch.sigmoid(alpha_logit), torch.sigmoid(beta_logit), theta,
                             w_self)
            current = spike_matmul(self.x, self.w) if sparse else self.x @ self.w.T
            self._finish(scan(current, p))
        return step

    def matmul(self, sparse: bool = False) -> Step:
        if sparse:
            return lambda: self._finish(spike_matmul(self.x, self.w, dense_above=1.0,
                                                     min_work=0))
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


def _run_all(layer: Layer, repeats: int, loop_repeats: int,
             faults: dict[str, int | None] | None = None) -> dict[str, float | None]:
    """Each contender's median (its page faults per call into ``faults``); the fast ones take
    turns among themselves and the slow Python loops among themselves. Interleaved with a
    loop, a fast call started after a couple of hundred milliseconds in which the loop kept
    the GPU nearly idle; on an H100 that alone made a TF32 call 0.6–0.8 ms slower for
    ``fused`` and 0.3 ms for ``matmul`` (``docs/results.md``, "How the figures are measured")."""
    cpu = layer.device.type == "cpu"
    fast: dict[str, tuple[Step | None, int]] = {
        "fused": (layer.ours(fused_scan), repeats),
        **({"fused_dense": (layer.ours(fused_scan, sparse=False), repeats)} if cpu else {}),
        "matmul": (layer.matmul(), repeats),
        **({"matmul_sparse": (layer.matmul(sparse=True), repeats)} if cpu else {}),
        "spikingjelly": (layer.spikingjelly(), repeats),
    }
    loops: dict[str, tuple[Step | None, int]] = {
        "snntorch": (layer.snntorch(), loop_repeats),
        "per_step": (layer.ours(reference_scan), loop_repeats),
    }
    return {**_time_interleaved(fast, layer.device, faults),
            **_time_interleaved(loops, layer.device, faults)}


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
    parser.add_argument("--repeats", type=int, default=None, metavar="R",
                        help="repeats of the fast contenders (default 5 on CPU, 20 on CUDA)")
    parser.add_argument("--loop-repeats", type=int, default=2, metavar="R",
                        help="repeats of the slow per-step Python loops")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="torch (and spike-matmul) threads (default: torch's choice)")
    parser.add_argument("--density", type=float, default=0.1, metavar="D",
                        help="fraction of active input spikes (default 0.1, as the issue)")
    parser.add_argument("--sweep", default=None, metavar="D,...",
                        help="time only matmul and matmul_sparse at these densities")
    parser.add_argument("--breakdown", action="store_true",
                        help="also profile where the time of 'fused' goes")
    parser.add_argument("--kernels", action="store_true",
                        help="also time the scan kernels alone against a same-size copy")
    parser.add_argument("--out", default="build/bench/train_speed.json", metavar="JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.repeats is None:
        args.repeats = 20 if device.type == "cuda" else 5
    size = args.size or (4096 if device.type == "cuda" else 512)
    record: dict[str, Any] = {
        "benchmark": "train_speed", "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "shape": {"batch": args.batch, "steps": args.steps, "size": size},
        "repeats": args.repeats, "loop_repeats": args.loop_repeats,
        "load_average_before": os.getloadavg(),
        "keep_freed_memory": keep_freed_memory(),
        "sparse_matmul": {"enabled": sparse_enabled(), "dense_above": DENSE_ABOVE,
                          "min_work": MIN_WORK},
    }
    if args.sweep:
        record["sweep"] = _sweep(args, size, device)
        line = "; ".join(f"{r['density']:.2f}: dense {r['matmul']:.1f} sparse "
                         f"{r['matmul_sparse']:.1f}" for r in record["sweep"])
    else:
        layer = Layer(args.batch, args.steps, size, device, args.density)
        record["input_density"] = float(layer.x.mean())
        precisions = ("fp32", "tf32") if device.type == "cuda" else ("fp32",)
        runs: dict[str, Any] = {}
        for precision in precisions:
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            faults: dict[str, int | None] = {}
            ms = _run_all(layer, args.repeats, args.loop_repeats, faults)
            runs[precision] = {"ms": ms, "faults": faults, "targets": _targets(device, ms)}
        record["runs"] = runs
        line = _summary(runs)
        if args.breakdown:
            record["breakdown_ms"] = _breakdown(layer, args.repeats)
            line += " | fused: " + ", ".join(f"{k} {v:.1f}"
                                              for k, v in record["breakdown_ms"].items())
    if args.kernels:
        record["kernels"] = _kernels_alone(args.batch, args.steps, size, device, args.repeats)
        line += " | kernels: " + ", ".join(f"{k} {v['ms'] * 1e3:.0f} us ({v['gb_s']:.0f} GB/s)"
                                            for k, v in record["kernels"].items())
    record["load_average_after"] = os.getloadavg()
    record["threads_after"] = torch.get_num_threads()  # numba must not have changed it
    write_json(args.out, record)
    print(f"train_speed {device} B={args.batch} T={args.steps} N={size} "
          f"threads={record['threads']}: {line} -> {args.out}")


def _sweep(args: argparse.Namespace, size: int, device: torch.device) -> list[dict[str, float]]:
    """Dense and sparse matmul (forward + weight gradient) at each input density, ms."""
    rows = []
    for density in (float(d) for d in args.sweep.split(",")):
        layer = Layer(args.batch, args.steps, size, device, density)
        ms = _time_interleaved({"matmul": (layer.matmul(), args.repeats),
                                "matmul_sparse": (layer.matmul(sparse=True), args.repeats)},
                               device)
        rows.append({"density": float(layer.x.mean()), **ms})
    return rows


def _breakdown(layer: Layer, repeats: int) -> dict[str, float]:
    """Self CPU time per step (ms) of the ops that take ≥ 1 % of ``fused``, by the torch
    profiler: the matmul and scan autograd functions by name, the rest as aten ops."""
    from torch.profiler import ProfilerActivity, profile

    step = layer.ours(fused_scan)
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    return {e.key: e.self_cpu_time_total / 1e3 / repeats
            for e in sorted(events, key=lambda e: -e.self_cpu_time_total)
            if e.self_cpu_time_total >= 0.01 * total}


def _kernels_alone(batch: int, steps: int, size: int, device: torch.device,
                   repeats: int) -> dict[str, dict[str, float]]:
    """Median wall time per call (ms, launch and synchronisation included) and effective
    bandwidth of the scan kernels alone, and of a copy of one ``(T, B, N)`` float32 array.

    Bytes counted: the forward reads ``x`` and writes ``s``, ``I``, ``v``; the backward reads
    the spike gradient, ``I`` and ``v`` and writes ``dL/dx``; the copy reads one and writes
    one. Per-neuron vectors are negligible.
    """
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(steps, batch, size, generator=g) * 0.6).to(device)
    grad = torch.randn(steps, batch, size, generator=g).to(device)
    params = [(torch.rand(size, generator=g) * 0.9).to(device),
              (torch.rand(size, generator=g) * 0.9).to(device),
              (torch.rand(size, generator=g) + 0.5).to(device),
              (torch.randn(size, generator=g) * 0.2).to(device)]
    kernels = kernel_module(device)
    _, current, v_pre = kernels.forward(x, *params, False, 0.0, 0.0)
    unit = FLOAT.units(params[0])
    ms = _time_interleaved({
        "scan_forward": (lambda: kernels.forward(x, *params, False, 0.0, 0.0), repeats),
        "scan_backward": (lambda: kernels.backward(grad, current, v_pre, *params, unit,
                                                   FLOAT.slope), repeats),
        "copy": (lambda: x.clone(), repeats)}, device)
    array_bytes = x.numel() * 4
    moved = {"scan_forward": 4 * array_bytes, "scan_backward": 4 * array_bytes,
             "copy": 2 * array_bytes}
    return {k: {"ms": t, "gb_s": moved[k] / (t * 1e-3) / 1e9} for k, t in ms.items()
            if t is not None}


def _summary(runs: dict[str, Any]) -> str:
    parts = []
    for precision, run in runs.items():
        times = ", ".join(f"{k} {'n/a' if v is None else f'{v:.2f}'}"
                          for k, v in run["ms"].items())
        verdict = ", ".join(f"{k} {'n/a' if t['pass'] is None else 'PASS' if t['pass'] else 'FAIL'}"
                            for k, t in run["targets"].items())
        faults = ", ".join(f"{k} {v}" for k, v in run.get("faults", {}).items()
                           if v is not None and k.startswith("fused"))
        parts.append(f"[{precision}] {times} ms; page faults/call {faults}; {verdict}")
    return " | ".join(parts)

if __name__ == "__main__":
    main()
