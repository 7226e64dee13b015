"""``report.md`` of a study: what was run, the smallest widths within one point of float,
the Pareto fronts, failures, and the plots (:mod:`.plots`)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from golden_model.atomic import atomic_file

from .plots import _label, _num, draw, pareto
from .study import load_record, read_csv

#: "Within a point of float": accuracy at least float − this (fraction).
TOLERANCE = 0.01


def smallest_within(rows: list[dict[str, str]], key: str, float_accuracy: float
                    ) -> dict[str, str] | None:
    """The row with the least weight memory whose ``key`` accuracy is within
    :data:`TOLERANCE` of float (ties: fewer total memory bits, then the label)."""
    good = [r for r in rows if _num(r, key) is not None
            and _num(r, key) >= float_accuracy - TOLERANCE]
    if not good:
        return None
    return min(good, key=lambda r: (int(r["weight_bits"]), _num(r, "total_memory_bits") or 0,
                                    _label(r)))


def _table(rows: list[dict[str, str]], columns: list[tuple[str, str]]) -> list[str]:
    lines = ["| " + " | ".join(name for name, _ in columns) + " |",
             "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r, key) for _, key in columns) + " |")
    return lines


#: Decimals shown per CSV column in the tables (the CSV itself keeps full precision).
DECIMALS = {"fmax_mhz": 1, "cycles_per_step": 1, "us_per_sample": 0}


def _fmt(row: dict[str, str], key: str) -> str:
    if key == "widths":
        return _label(row)
    value = row.get(key, "")
    if not value:
        return "–"
    if key.endswith("accuracy"):
        return f"{100 * float(value):.2f}"
    if key == "timing_pass":
        return "pass" if int(value) else "fail"
    if key in DECIMALS:
        return f"{float(value):,.{DECIMALS[key]}f}"
    return value


def markdown(record: dict[str, Any], rows: list[dict[str, str]], plots: list[Path]) -> str:
    cfg = record["config"]
    fa = record["float_accuracy"]
    points = {}
    for r in rows:
        points.setdefault(_label(r), r)
    unique = list(points.values())
    lines = [f"# Quantisation study of `{cfg['run']}`", "",
             f"Command: `{shlex.join(cfg['argv']) if cfg['argv'] else 'scsr sweep'}`", "",
             f"- dataset `{cfg['data']}` (test split); float accuracy {100 * fa:.2f} %",
             f"- {record['points']} points: {record['computed']} computed, {record['cached']} "
             f"from the cache, {record['failed']} failed; {record['seconds']:.0f} s wall "
             f"({cfg['executor']} executor, {cfg['workers']} "
             f"worker{'s' if cfg['workers'] != 1 else ''})",
             f"- QAT: {cfg['qat_epochs']} epochs per point" if cfg["qat_epochs"] else "- no QAT",
             f"- synthesis: {cfg['synth']} at lanes {', '.join(map(str, cfg['lanes']))}"
             if cfg["synth"] else "- no synthesis",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in record["versions"].items()), ""]
    lines += ["## Smallest weight width within 1 point of float", ""]
    for key, name in (("accuracy", "without QAT"), ("qat_accuracy", "with QAT")):
        if key == "qat_accuracy" and not cfg["qat_epochs"]:
            continue
        best = smallest_within(unique, key, fa)
        lines.append(f"- {name}: " + (f"`{_label(best)}` (weight,state,decay bits): "
                                      f"{100 * float(best[key]):.2f} %, "
                                      f"{best['weight_memory_bits']} weight bits"
                                      if best else "none of the points"))
    lines += ["", "## Pareto front: accuracy against weight memory", ""]
    evaluated = [r for r in unique if _num(r, "accuracy") is not None]
    front = [evaluated[i] for i in pareto([(_num(r, "weight_memory_bits"),
                                            _num(r, "accuracy")) for r in evaluated])]
    lines += _table(front, [("widths W,S,F", "widths"), ("accuracy %", "accuracy"),
                            ("QAT %", "qat_accuracy"), ("weight bits", "weight_memory_bits"),
                            ("total bits", "total_memory_bits"), ("I sat", "sat_i_max"),
                            ("V sat", "sat_v_max"), ("silent", "silent_max"),
                            ("divergence", "divergence_max")])
    if cfg["synth"]:
        lines += ["", f"## Synthesis ({cfg['synth']})", ""]
        lines += _table([r for r in rows if r.get("target") or r.get("error")],
                        [("widths", "widths"), ("lanes", "lanes"), ("accuracy %", "accuracy"),
                         ("LUT4", "lut4"), ("FF", "ff"), ("BRAM", "bram"), ("DSP", "dsp"),
                         ("Fmax MHz", "fmax_mhz"), ("timing", "timing_pass"),
                         ("cycles/step", "cycles_per_step"), ("µs/sample", "us_per_sample"),
                         ("status", "status")])
    failed = [r for r in rows if r.get("error")]
    if failed:
        lines += ["", "## Failures and refusals", ""]
        lines += [f"- `{_label(r)}`" + (f" P{r['lanes']}" if r.get("lanes") else "")
                  + f": {r['error']}" for r in failed]
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"


def write_report(out: str | os.PathLike[str], plots: bool = True) -> Path:
    """(Re)draw the plots and write ``report.md`` from ``results.csv`` and ``study.json``."""
    out = Path(out)
    record = load_record(out)
    rows = read_csv(out / "results.csv")
    written = draw(rows, out, record["float_accuracy"]) if plots else []
    path = out / "report.md"
    with atomic_file(path) as handle:
        handle.write(markdown(record, rows, written).encode())
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m scsr.sweep.report STUDY...``: redraw plots and ``report.md`` from each
    study's ``results.csv`` and ``study.json`` (no evaluation)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("studies", nargs="+", metavar="STUDY")
    for study in parser.parse_args(argv).studies:
        print(write_report(study))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
