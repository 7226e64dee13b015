"""The flow's summary: ``summary.json`` (every figure, units in the key names), ``summary.md``
and the table printed at the end — all made from the stage records, so a rerun that
reuses every stage gives the same figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from golden_model.atomic import atomic_file, write_json

from .config import FlowConfig
from .runner import StageStatus

FORMAT = "scsr-flow-summary"


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def build_summary(config: FlowConfig, out: Path, statuses: list[StageStatus]) -> dict[str, Any]:
    fig = {s.name: s.record.figures for s in statuses if s.record is not None}
    data, train, export = fig["dataset"], fig["train"], fig["export"]
    evaluate, cosim, synth = fig["evaluate"], fig["cosim"], fig["synth"]
    fsdd = fig.get("fsdd")
    timing = {"requested_mhz": synth["requested_mhz"], "achieved_mhz": synth["achieved_mhz"],
              "pass": synth["timing_pass"]}
    cycles = cosim["cycles_per_sample"]
    latency = {"cycles_per_sample": round(cycles, 1),
               "us_per_sample_at_fmax": round(cycles / synth["achieved_mhz"], 2),
               "samples_per_s_at_fmax": round(synth["achieved_mhz"] * 1e6 / cycles, 1),
               "us_per_sample_at_clock": round(cycles / synth["requested_mhz"], 2),
               "note": "network compute from the first input event to the last count, "
                       "measured in cosimulation (UART transfer not included)"}
    pictures = {"training_curve": train["curve"], "confusion": evaluate["confusion"],
                "raster": evaluate["raster"], "resources": synth["resources"]}
    return {
        "format": FORMAT, "version": 1,
        "config": config.to_dict(),
        "dataset": {"name": config.dataset, "split": config.split,
                    "train_samples": data["train_samples"], "test_samples": data["test_samples"],
                    "classes": len(data["classes"]), "timesteps": data["timesteps"],
                    "channels": data["channels"]},
        "accuracy_pct": {
            "float": _pct(export["float_accuracy"]),
            "fixed_point": _pct(evaluate["fixed_accuracy"]),
            "fixed_point_samples": evaluate["test_samples"],
            "rtl": _pct(cosim["rtl_accuracy"]),
            "rtl_samples": cosim["samples"],
            "fsdd_real_speech": _pct(fsdd["fixed_accuracy"]) if fsdd else None,
            "fsdd_files": fsdd["files"] if fsdd else None,
        },
        "mismatches": {"golden_vs_torch": evaluate["golden_vs_torch_mismatches"],
                       "golden_vs_torch_first": evaluate["first_mismatch"],
                       "golden_vs_rtl": cosim["mismatches"],
                       "golden_vs_rtl_first": cosim["first_mismatch"]},
        "bits": export["bits"],
        "lanes": config.lanes,
        "cycles_per_timestep": {name: {"measured": round(row["cycles_per_timestep"], 1),
                                       "bound": round(row["bound_per_timestep"], 1),
                                       "ratio": round(row["ratio"], 3),
                                       "within_target": row["meets_target"]}
                                for name, row in cosim["layers"].items()},
        "resources": synth["utilisation"],
        "target": {"name": synth["target"], "part": synth["part"]},
        "timing": timing,
        "latency": latency,
        "stages": [{"name": s.name, "status": s.status, "wall_s": s.wall_s,
                    "made_in_s": s.record.wall_s if s.record else 0.0, "reason": s.reason,
                    "key": s.record.key if s.record else None} for s in statuses],
        "paths": {"bundle": export["bundle"], "bitstream": synth["bitstream"],
                  "synth_report": synth["report"], "pictures": pictures},
    }


def _rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    acc, mm, t, lat = (summary["accuracy_pct"], summary["mismatches"], summary["timing"],
                       summary["latency"])
    d = summary["dataset"]
    rows = [("dataset", f"{d['name']}, {d['split']}: {d['train_samples']} train, "
                        f"{d['test_samples']} test, {d['classes']} classes"),
            ("accuracy, float", f"{acc['float']:.2f} %"),
            (f"accuracy, fixed point {summary['bits']}",
             f"{acc['fixed_point']:.2f} % ({acc['fixed_point_samples']} test samples)"),
            ("accuracy, RTL", f"{acc['rtl']:.2f} % ({acc['rtl_samples']} test samples)")]
    if acc["fsdd_real_speech"] is not None:
        rows.append(("accuracy, FSDD real speech", f"{acc['fsdd_real_speech']:.2f} % "
                                                   f"({acc['fsdd_files']} files, evaluation "
                                                   "only)"))
    rows += [("mismatches golden vs torch", str(mm["golden_vs_torch"])),
             ("mismatches golden vs RTL", str(mm["golden_vs_rtl"]))]
    for name, c in summary["cycles_per_timestep"].items():
        rows.append((f"cycles/timestep {name}", f"{c['measured']:.1f} (bound {c['bound']:.1f}, "
                                                f"ratio {c['ratio']:.3f})"))
    for kind, use in summary["resources"].items():
        if use["available"]:
            rows.append((kind, f"{use['used']:,} of {use['available']:,} "
                               f"({100 * use['used'] / use['available']:.1f} %)"))
    verdict = "met" if t["pass"] else "FAILED"
    rows += [("Fmax", f"{t['achieved_mhz']:.2f} MHz for {t['requested_mhz']:.2f} MHz "
                      f"(timing {verdict})"),
             ("latency", f"{lat['us_per_sample_at_fmax']:.2f} us/sample, "
                         f"{lat['samples_per_s_at_fmax']:,.0f} samples/s at Fmax "
                         f"({lat['cycles_per_sample']:,.0f} cycles)")]
    for s in summary["stages"]:
        what = f"{s['status']}, {s['wall_s']:.1f} s" if s["status"] == "ran" else (
            f"reused (made in {s['made_in_s']:.1f} s)" if s["status"] == "reused"
            else f"skipped: {s['reason']}")
        rows.append((f"stage {s['name']}", what))
    paths = summary["paths"]
    rows += [("bundle", paths["bundle"]), ("bitstream", paths["bitstream"] or
                                            "none (timing failed)")]
    rows += [(f"picture {k}", v) for k, v in paths["pictures"].items()]
    return rows


def format_table(summary: dict[str, Any]) -> str:
    rows = _rows(summary)
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def write_summary(summary: dict[str, Any], out: Path) -> None:
    write_json(out / "summary.json", summary)
    lines = ["# scsr flow summary", "",
             f"{summary['target']['part']}, {summary['lanes']} lane(s), "
             f"bits {summary['bits']}. Paths are relative to this directory.", "",
             "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in _rows(summary)]
    lines += [""] + [f"![{k}]({v})" for k, v in summary["paths"]["pictures"].items()] + [""]
    with atomic_file(out / "summary.md") as handle:
        handle.write("\n".join(lines).encode())


__all__ = ["FORMAT", "build_summary", "format_table", "write_summary"]
