"""The paper's ablation: ff, rsnn, sr, scsr, scsr+BIP at equal neuron counts, several seeds.

Each variant is trained with ``scsr train``'s loop (same settings except preset and BIP),
exported at ``--bits`` with ``scsr export``'s code (fixed-point accuracy measured on the
bundle itself, torch integer path), and summarised as mean ± std over seeds. Writes JSON
(every run plus the summary) and a Markdown table, and prints one line.

usage: python benchmarks/ablation.py DATASET.npz --out build/bench/ablation.json
           [--seeds 0,1,2] [--epochs 15] [--hidden 48,48] [--set lr=0.02 ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

VARIANTS = (("ff", False), ("rsnn", False), ("sr", False), ("scsr", False), ("scsr", True))


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", metavar="DATASET.npz")
    parser.add_argument("--out", default="build/bench/ablation.json", metavar="JSON")
    parser.add_argument("--runs", default="build/ablation", metavar="DIR",
                        help="where run directories and bundles go")
    parser.add_argument("--seeds", default="0,1,2", metavar="S,S,...")
    parser.add_argument("--epochs", type=int, default=15, metavar="N")
    parser.add_argument("--hidden", default="48,48", metavar="N,N")
    parser.add_argument("--bits", default="8,16,8", metavar="W,S,F")
    parser.add_argument("--variants", default=None, metavar="NAME,...",
                        help="subset, e.g. ff,scsr+bip (default: all five)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other training setting, e.g. lr=0.01 (repeatable)")
    parser.add_argument("--threads", type=int, default=1, metavar="N")
    args = parser.parse_args()

    import torch

    from golden_model import FixedPoint
    from scsr.export import export_run
    from scsr.train import TrainConfig, train

    torch.set_num_threads(args.threads)
    fp = FixedPoint(*(int(b) for b in args.bits.split(",")))
    extra = {k: _value(v) for k, v in (item.split("=", 1) for item in args.set)}
    chosen = [v for v in VARIANTS
              if args.variants is None
              or f"{v[0]}{'+bip' if v[1] else ''}" in args.variants.split(",")]
    runs: list[dict[str, Any]] = []
    began = time.perf_counter()
    for preset, bip in chosen:
        name = f"{preset}{'+bip' if bip else ''}"
        for seed in (int(s) for s in args.seeds.split(",")):
            run = Path(args.runs) / f"{name}-s{seed}"
            config = TrainConfig(**{
                "dataset": str(Path(args.dataset).resolve()), "preset": preset, "bip": bip,
                "hidden": tuple(int(h) for h in args.hidden.split(",")),
                "epochs": args.epochs, "seed": seed, **extra})
            start = time.perf_counter()
            rows = train(config, run, resume=(run / "checkpoint.pt").exists())
            summary = export_run(run, fp, Path(args.runs) / f"{name}-s{seed}.bundle")
            runs.append({"variant": name, "seed": seed, "epochs": len(rows),
                         "train_accuracy": rows[-1]["train_accuracy"],
                         "float_accuracy": summary["float_accuracy"],
                         "fixed_accuracy": summary["fixed_accuracy"],
                         "seconds": round(time.perf_counter() - start, 1)})
            print(json.dumps(runs[-1]), flush=True)
    table = []
    for preset, bip in chosen:
        name = f"{preset}{'+bip' if bip else ''}"
        mine = [r for r in runs if r["variant"] == name]
        row = {"variant": name, "seeds": len(mine)}
        for key in ("float_accuracy", "fixed_accuracy", "train_accuracy"):
            values = [100 * r[key] for r in mine]
            row[key] = {"mean": statistics.mean(values),
                        "std": statistics.stdev(values) if len(values) > 1 else 0.0}
        table.append(row)
    markdown = ["| variant | float test % | fixed-point test % | train % |",
                "|---|---|---|---|"]
    markdown += [f"| {r['variant']} | {r['float_accuracy']['mean']:.1f} ± "
                 f"{r['float_accuracy']['std']:.1f} | {r['fixed_accuracy']['mean']:.1f} ± "
                 f"{r['fixed_accuracy']['std']:.1f} | {r['train_accuracy']['mean']:.1f} ± "
                 f"{r['train_accuracy']['std']:.1f} |" for r in table]
    record = {"benchmark": "ablation", "dataset": args.dataset, "bits": args.bits,
              "hidden": args.hidden, "epochs": args.epochs, "seeds": args.seeds,
              "settings": extra, "threads": args.threads,
              "seconds": round(time.perf_counter() - began, 1), "runs": runs, "table": table,
              "markdown": "\n".join(markdown)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print("\n".join(markdown))
    best = max(table, key=lambda r: r["float_accuracy"]["mean"])
    print(f"ablation {Path(args.dataset).name}: best {best['variant']} "
          f"{best['float_accuracy']['mean']:.1f}% float, "
          f"{best['fixed_accuracy']['mean']:.1f}% fixed ({args.bits}) -> {args.out}")


if __name__ == "__main__":
    main()
