"""Step 1 of ``tools/gpu_letters.sh``: check the machine, time a training step, size the run.

- Imports everything training needs and reports what is missing.
- CUDA: the fused scan (Triton) on the GPU must give the spikes and gradients of the plain
  per-step reference there (float and QAT mode; float tolerance), and one training step
  must run; the GPU then
  takes some workers only if its step is faster than a CPU core's.
- Times one training step (forward + backward + Adam, one thread) of the slowest variant
  (rsnn: its dense recurrence runs step by step) and of scsr+BIP on the CPU, and one
  evaluation batch, then picks the epochs so that the sweep and the whole ablation end
  before the wall budget: ablation time ≈ epochs × max(rsnn epoch, the other variants'
  epochs spread over the remaining workers).

Prints and writes ``PLAN.json``: the timings and the options for ``benchmarks/ablation.py``.

    python -m tools.gpu_letters_plan build/data/letters-sd.npz --seconds 400 --jobs 16 \\
        --out build/gpu/plan.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

NEEDED = ("numpy", "torch", "numba", "tqdm", "matplotlib", "scipy")


def step_ms(preset: str, bip: bool, device: str, data: Any, hidden: tuple[int, ...],
            batch: int, repeats: int = 4) -> tuple[float, float]:
    """Median ms of one training step (batch ``batch``) and of one forward of 128 samples."""
    import torch

    from scsr.model import ScsrNet
    from scsr.train import TrainConfig
    from scsr.train.loop import model_config

    torch.manual_seed(0)
    config = TrainConfig.from_dict({"preset": preset, "bip": bip, "hidden": hidden}, "plan")
    model = ScsrNet(model_config(config, data)).to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.as_tensor(data.train_spikes[:batch], device=device)
    y = torch.as_tensor(data.train_labels[:batch], device=device)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x).counts * 0.2, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        float(loss.detach())  # synchronises CUDA
        times.append(time.perf_counter() - start)
    x = torch.as_tensor(data.test_spikes[:128], device=device)
    start = time.perf_counter()
    with torch.no_grad():
        float(model(x, quant=True).counts.sum())
    sorted_times = sorted(times[1:])
    return 1000 * sorted_times[len(sorted_times) // 2], 1000 * (time.perf_counter() - start)


def cuda_check() -> tuple[bool, str]:
    """The fused scan on CUDA against the per-step reference on the same GPU, in the float
    and the 8,16,8 QAT modes (spikes exact, gradients to float tolerance), as
    ``tests/torch/test_scan.py`` does on the CPU."""
    import torch

    from scsr.model import fused_scan, reference_scan
    from tools.scan_check import GRADIENTS, mode_for, random_case, run_scan

    if not torch.cuda.is_available():
        return False, "torch.cuda.is_available() is False"
    for mode_name in ("float", "qat-8-16-8", "qat-8-16-8-stretched"):
        mode = mode_for(mode_name, 64)
        if isinstance(mode.unit, torch.Tensor):  # one unit per neuron, on the GPU
            mode = mode._replace(unit=mode.unit.cuda())
        cpu, weights = random_case(0, 50, 8, 64, mode)
        results = [run_scan(scan, [t.detach().cuda().requires_grad_(True) for t in cpu],
                            weights.cuda(), mode) for scan in (reference_scan, fused_scan)]
        (s_ref, g_ref), (s_fused, g_fused) = results
        if not torch.equal(s_ref, s_fused):
            return False, f"fused CUDA scan ({mode_name}): spikes differ from the reference"
        for name, a, b in zip(GRADIENTS, g_ref, g_fused, strict=True):
            if not torch.allclose(b, a, rtol=1e-4, atol=1e-4):
                return False, (f"fused CUDA scan ({mode_name}): gradient of {name} differs "
                               f"(max |diff| {float((a - b).abs().max()):.3g})")
    return True, (f"{torch.cuda.get_device_name()}: fused scan matches the reference "
                  "(float, QAT, QAT with per-neuron units)")


#: Seconds for a worker to start (imports, numba cache) before its first batch.
STARTUP = 20.0


def size_run(rsnn: float, other: float, seconds: float, jobs: int, runs_per_variant: int,
             max_epochs: int, others: int = 4) -> dict[str, int]:
    """Epochs and time limits for a sweep plus an ablation within ``seconds``.

    ``rsnn`` and ``other`` are the seconds of one epoch (train + evaluation) of rsnn and of
    the ``others`` other variants (``rsnn=0``: no rsnn runs). The rsnn runs start first, one
    worker each, and bound the ablation unless the other variants' runs, spread over the
    remaining workers, take longer; the sweep is one wave of candidates with half the
    epochs on 85 % of the training split.
    """
    spread = max(1, jobs - (runs_per_variant if rsnn else 0))
    waves = math.ceil(others * runs_per_variant / spread)
    ablation_epoch = max(rsnn, waves * other)
    sweep_epoch = 0.5 * 0.85 * other * 1.2
    epochs = max(2, min(max_epochs, int((seconds - 2 * STARTUP)
                                        / (ablation_epoch + sweep_epoch))))
    sweep_epochs = max(1, epochs // 2)
    # On a machine too slow for even 2 epochs the run still starts (cut runs are reported
    # as partial): the sweep never takes more than a quarter, new runs start until half.
    sweep_until = min(STARTUP + sweep_epochs * 0.85 * other * 1.2, seconds / 4)
    return {"epochs": epochs, "sweep_epochs": sweep_epochs, "sweep_until": round(sweep_until),
            "deadline": round(max(seconds / 2, seconds - epochs * other)),
            "kill_at": round(seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a spikes file of the run (sizes the timing)")
    parser.add_argument("--seconds", type=float, required=True,
                        help="wall seconds left for benchmarks/ablation.py")
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--hidden", default="128,128")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", type=int, default=2, help="datasets in the ablation")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--variants", default="ff,rsnn,sr,scsr,scsr+bip",
                        help="the variants the ablation will train")
    parser.add_argument("--contention", type=float, default=1.2,
                        help="slow-down of one worker when all workers run")
    parser.add_argument("--out", required=True, help="PLAN.json")
    args = parser.parse_args()
    plan: dict[str, Any] = {"missing": []}
    for name in NEEDED:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            plan["missing"].append(f"{name} ({exc})")
    if plan["missing"]:
        print(f"gpu_letters_plan: missing Python packages: {plan['missing']}", flush=True)
    import torch

    from scsr.data.store import load_dataset
    from scsr.model.presets import variant_name

    torch.set_num_threads(1)
    data = load_dataset(args.dataset)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    plan.update(torch=torch.__version__, cuda_available=torch.cuda.is_available())
    try:
        ok, why = cuda_check()
    except Exception as exc:  # a broken Triton path must not stop the CPU run
        ok, why = False, f"fused CUDA scan raised {type(exc).__name__}: {exc}"
    plan.update(cuda_ok=ok, cuda_check=why)
    print(f"gpu_letters_plan: CUDA {'OK' if ok else 'NOT USED'}: {why}", flush=True)
    times = {}
    for preset, bip in (("rsnn", False), ("scsr", True)):
        times[f"cpu_{variant_name(preset, bip)}"] = step_ms(preset, bip, "cpu", data, hidden,
                                                            args.batch)
    if ok:
        try:
            times["cuda_scsr+bip"] = step_ms("scsr", True, "cuda", data, hidden, args.batch)
        except Exception as exc:
            ok, plan["cuda_ok"] = False, False
            plan["cuda_check"] = f"a CUDA training step raised {type(exc).__name__}: {exc}"
    plan["step_ms"] = {k: [round(v, 1) for v in t] for k, t in times.items()}
    n_train, n_test = len(data.train_labels), len(data.test_labels)

    def epoch_s(step: float, forward: float) -> float:
        return (math.ceil(n_train / args.batch) * step + 2 * math.ceil(n_test / 128) * forward
                ) / 1000

    # Timed alone; with every core busy (and cores that may be hyper-threads) each worker is
    # slower: a margin for that.
    rsnn = epoch_s(*times["cpu_rsnn"]) * args.contention
    other = epoch_s(*times["cpu_scsr+bip"]) * args.contention
    cuda_faster = ok and times["cuda_scsr+bip"][0] < times["cpu_scsr+bip"][0]
    cuda_jobs = min(4, args.jobs // 4) if cuda_faster else 0
    names = args.variants.split(",")
    sized = size_run(rsnn if "rsnn" in names else 0.0, other, args.seconds, args.jobs,
                     args.seeds * args.datasets, args.max_epochs,
                     len([n for n in names if n != "rsnn"]))
    plan.update(
        epoch_seconds={"rsnn": round(rsnn, 1), "scsr+bip": round(other, 1)}, **sized,
        device="cuda" if cuda_jobs else "cpu",
        cuda_jobs=cuda_jobs, jobs=args.jobs, batch=args.batch, hidden=args.hidden)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(plan, indent=1) + "\n")
    print(f"gpu_letters_plan: {json.dumps(plan)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
