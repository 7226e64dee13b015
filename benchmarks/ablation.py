"""The paper's ablation: ff, rsnn, sr, scsr, scsr+BIP at equal neuron counts, several seeds.

Each variant is trained with ``scsr train``'s loop (same settings except preset and BIP),
exported at ``--bits`` with ``scsr export``'s code (fixed-point accuracy measured on the
bundle itself, torch integer path), and summarised per dataset as mean ± std over seeds.

Built for one time-boxed run on a big machine:

- ``--jobs N``: independent runs in N worker processes (``--threads`` torch/numba threads
  each); with ``--device cuda`` the first ``--cuda-jobs`` workers share the GPU and the rest
  train on the CPU. A run that fails on CUDA with anything but a user error is rerun on the
  CPU and every later run goes to the CPU (the CUDA path is then reported broken).
- ``--deadline S``: no run starts after S seconds, nor one that the durations of finished
  runs of the same kind say would end after ``--kill-at`` (default: the deadline + 25 %); at
  ``--kill-at`` (or on SIGTERM) running workers are stopped and their last finished epoch is
  recorded as ``partial`` (never averaged). The JSON and Markdown are rewritten after EVERY
  run, so a killed command still leaves its results.
- ``--candidate "lr=0.02 shift=4"`` (repeatable): recipe selection first. Each candidate
  trains scsr+BIP (seed 0, ``--sweep-epochs``) on a validation split carved from TRAIN
  (``--val-fraction`` per class, seeded; the test split is never looked at) and the best
  fixed-point validation accuracy picks the settings the whole ablation of that dataset then
  uses. The sweep may run until ``--sweep-until`` seconds.
- Several datasets (e.g. both letters splits) in one invocation. The rsnn runs (the slowest,
  the critical path) start first, then the others seed by seed (all variants and datasets
  of seed 0 first), so a cut-short run still covers every variant. Run directories are
  resumed when they hold a checkpoint.

``--merge A/ablation.json B/ablation.json --out DIR`` tables runs of the same recipe made by
several invocations (CPU streams, GPU calls) together, each (dataset, variant, seed) once.

Writes ``OUT/ablation.json`` (every run, sweep, picks, summary) and ``OUT/ablation.md``;
run directories, bundles, job files and one log per run go to ``WORK/runs``, ``WORK/jobs``
and ``WORK/logs`` (``--work``, default OUT); prints one line per run and a summary.

    python -m benchmarks.ablation build/data/letters-sd.npz build/data/letters-si.npz \\
        --out build/ablation --seeds 0,1,2 --epochs 8 --hidden 128,128 --jobs 16 \\
        --deadline 400 --candidate "lr=0.02" --candidate "lr=0.05 shift=4"
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from scsr.cli.argtypes import setting
from scsr.jobs import Finished, Handle, JobQueue, Skipped
from scsr.model.presets import PRESETS, variant_name

ROOT = Path(__file__).resolve().parents[1]

#: The paper's five variants, run by default; ``--variants`` may name any preset with or
#: without BIP (e.g. ``rsnn+bip``, the dense RSNN with trained intrinsic parameters).
VARIANTS = (("ff", False), ("rsnn", False), ("sr", False), ("scsr", False), ("scsr", True))
KNOWN_VARIANTS = {variant_name(preset, bip): (preset, bip)
                  for preset in PRESETS for bip in (False, True)}
#: Relative cost of a training step per preset on one CPU thread (measured at 128,128,
#: batch 16: ff ≈ 17 ms, scsr+bip ≈ 25 ms, rsnn ≈ 130 ms: its dense recurrence cannot use the
#: fused scan); starts the slowest runs first and scales time estimates between variants.
COST = {"ff": 1.0, "rsnn": 6.0, "sr": 1.3, "scsr": 1.4}
#: Training α, β and θ too costs about this much more per step (scsr+bip against scsr).
BIP_COST = 1.07


def cost(variant: str) -> float:
    """The :data:`COST` of a variant name such as ``scsr+bip``."""
    preset, bip = KNOWN_VARIANTS[variant]
    return COST[preset] * (BIP_COST if bip else 1.0)


def chosen_variants(names: str | None) -> list[tuple[str, bool]]:
    """``(preset, bip)`` for each name of ``--variants`` (all of :data:`VARIANTS` without it);
    an unknown name is an error that lists the known ones."""
    if names is None:
        return list(VARIANTS)
    unknown = [name for name in names.split(",") if name not in KNOWN_VARIANTS]
    if unknown:
        raise SystemExit(f"ablation: --variants: unknown {', '.join(unknown)} "
                         f"(known: {', '.join(KNOWN_VARIANTS)})")
    return [KNOWN_VARIANTS[name] for name in names.split(",")]


def parse_settings(text: str) -> dict[str, Any]:
    """``"lr=0.02 shift=4 hidden=[64,64]"`` → a settings dict (values parsed as JSON)."""
    try:
        return dict(setting(item) for item in shlex.split(text))
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"ablation: setting {exc}") from None


def _write_json(path: Path, value: Any) -> None:
    from golden_model.atomic import atomic_file

    with atomic_file(path) as handle:
        handle.write((json.dumps(value, indent=1) + "\n").encode())


# --------------------------------------------------------------------------- worker side

def worker(job_file: str) -> int:
    """Train (and for the ablation export) one run described by a job file; write its
    result file. Errors are results too, so the parent can decide what to do."""
    job = json.loads(Path(job_file).read_text())
    import torch

    from golden_model.errors import ScsrError
    from scsr.train import TrainConfig, train

    torch.set_num_threads(job["threads"])
    result: dict[str, Any] = {"device": job["config"]["device"]}
    start = time.perf_counter()
    try:
        config = TrainConfig.from_dict(job["config"], job_file)
        run = Path(job["run"])
        rows = train(config, run, resume=(run / "checkpoint.pt").exists())
        result.update(epochs=len(rows), train_accuracy=rows[-1]["train_accuracy"],
                      float_accuracy=rows[-1]["test_accuracy_float"],
                      fixed_accuracy=rows[-1]["test_accuracy_fixed"],
                      epoch_seconds=[r["seconds"] for r in rows])
        before_qat = [r for r in rows if r["mode"] == "float"]
        if before_qat:  # QAT moves α, β, θ towards the quantised dynamics: keep both floats
            result["float_before_qat"] = before_qat[-1]["test_accuracy_float"]
        if job["bundle"]:
            from scsr.export import export_run

            result.update(export_run(run, config.model.fixed_point, job["bundle"]))
    except ScsrError as exc:
        result.update(error=str(exc), device_error=False)
    except Exception as exc:  # reported to the parent, which may retry on the CPU
        result.update(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(),
                      device_error=job["config"]["device"] == "cuda")
    result["seconds"] = round(time.perf_counter() - start, 1)
    _write_json(Path(job["result"]), result)
    return 0


# --------------------------------------------------------------------------- parent side

class Stop(Exception):
    """SIGTERM/SIGINT: stop the workers, keep what is finished."""


def _stop(signum: int, frame: Any) -> None:
    raise Stop(signal.Signals(signum).name)


def partial_result(run: Path) -> dict[str, Any] | None:
    """The last finished epoch of an unfinished run (from its ``metrics.csv``)."""
    import csv

    try:
        with open(run / "metrics.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError:
        return None
    if not rows:
        return None
    last = rows[-1]
    return {"epochs": int(last["epoch"]), "train_accuracy": float(last["train_accuracy"]),
            "float_accuracy": float(last["test_accuracy_float"]),
            "fixed_accuracy": float(last["test_accuracy_fixed"]), "partial": True}


class _Worker(Handle):
    """One ``--worker`` process on ``device``; its outcome is the result file it wrote."""

    def __init__(self, job: dict[str, Any], device: str, proc: subprocess.Popen) -> None:
        self.job, self.device, self.proc = job, device, proc

    def done(self) -> bool:
        return self.proc.poll() is not None

    def outcome(self) -> dict[str, Any]:
        try:
            return json.loads(Path(self.job["result"]).read_text())
        except (OSError, json.JSONDecodeError):
            return {"error": f"worker exited with {self.proc.returncode} and no "
                             f"result (see logs/{self.job['name']}.log)",
                    "device_error": self.device == "cuda"}

    def stop(self) -> None:
        self.proc.terminate()

    def join(self) -> None:
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Scheduler:
    """Runs jobs in worker processes on device slots, within a deadline.

    The slots and the order are :class:`scsr.jobs.JobQueue`'s (the sweep's local executor
    runs on it too); this class adds what is the ablation's own: one ``--worker`` process
    per run, the deadline, the CUDA-to-CPU fallback and the cut at ``kill_at``.
    """

    def __init__(self, out: Path, slots: list[str], threads: int, began: float,
                 on_result: Any) -> None:
        self.out, self.slots, self.threads, self.began = out, slots, threads, began
        self.on_result = on_result
        self.durations: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
        (out / "logs").mkdir(parents=True, exist_ok=True)
        (out / "jobs").mkdir(parents=True, exist_ok=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def _expected(self, job: dict[str, Any]) -> float | None:
        """Seconds ``job`` should take: from finished runs, per epoch and unit of
        :data:`COST` (so a sweep's timing also predicts the first ablation runs)."""
        units = self.durations.get((job["kind"], job["variant"])) or [
            u for values in self.durations.values() for u in values]
        if not units:
            return None
        return statistics.median(units) * job["config"]["epochs"] * cost(job["variant"])

    def _launch(self, job: dict[str, Any], slot: int) -> _Worker:
        device = self.slots[slot]
        job = {**job, "config": {**job["config"], "device": device}, "threads": self.threads}
        job_file = self.out / "jobs" / f"{job['name']}.json"
        Path(job["result"]).unlink(missing_ok=True)
        job_file.write_text(json.dumps(job))
        env = {**os.environ, **{k: str(self.threads) for k in (
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}}
        log = open(self.out / "logs" / f"{job['name']}.log", "ab")  # noqa: SIM115
        return _Worker(job, device, subprocess.Popen(
            [sys.executable, "-m", "benchmarks.ablation", "--worker", str(job_file)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT))

    def _admit(self, job: dict[str, Any], deadline: float, kill_at: float) -> str | None:
        """Why ``job`` must not start now, or ``None``."""
        expected = self._expected(job)
        now = self.elapsed()
        if now >= deadline or (expected and now + expected > kill_at):
            return "deadline" if now >= deadline else "would not finish in time"
        return None

    def run(self, jobs: list[dict[str, Any]], deadline: float, kill_at: float) -> None:
        """Run ``jobs`` in order; report each finished, failed, skipped or cut-off job."""
        from tqdm import tqdm

        queue = JobQueue(jobs, len(self.slots), self._launch,
                         admit=lambda job: self._admit(job, deadline, kill_at))
        bar = tqdm(total=len(jobs), desc="runs", unit="run", file=sys.stderr)
        try:
            for event in queue.run(stop_when=lambda: self.elapsed() >= kill_at):
                if isinstance(event, Skipped):
                    self.on_result(event.job, {"skipped": event.reason})
                    bar.update()
                elif self._finished(queue, event):
                    bar.update()
            if queue.running:
                self._cut(queue, "kill-at")
        except Stop as why:
            self._cut(queue, str(why))
            raise
        finally:
            bar.close()

    def _finished(self, queue: JobQueue, event: Finished) -> bool:
        """Report a run that ended; a CUDA failure instead moves every slot to the CPU and
        queues the run again. Whether the run is done with."""
        from tqdm import tqdm

        job, result = event.job, event.outcome
        if result.get("device_error"):
            self.slots = ["cpu"] * len(self.slots)
            shutil.rmtree(job["run"], ignore_errors=True)
            tqdm.write(f"ablation: {job['name']} failed on CUDA "
                       f"({result['error'].splitlines()[0]}); rerunning it and "
                       f"all later runs on the CPU", file=sys.stderr)
            self.on_result(job, {**result, "retried_on": "cpu"}, final=False)
            queue.retry(event)
            return False
        if "error" not in result:
            self.durations[(job["kind"], job["variant"])].append(
                event.seconds / (job["config"]["epochs"] * cost(job["variant"])))
        self.on_result(job, result)
        return True

    def _cut(self, queue: JobQueue, why: str) -> None:
        """Stop the running workers; record their last finished epoch as partial."""
        running, pending = queue.stop()
        for job in running:
            self.on_result(job, partial_result(Path(job["run"]))
                           or {"skipped": f"stopped ({why}) before its first epoch"})
        for job in pending:
            self.on_result(job, {"skipped": f"stopped ({why})"})


def held_out(data: Any, fraction: float, seed: int) -> tuple[Any, str]:
    """A boolean mask over TRAIN of the validation samples, and how they were chosen.

    On a built-in speaker-independent set, whole voice variants are held out (the split's own
    rule, recovered from the build plan), so validation is speaker-independent too; anywhere
    else a stratified ``fraction`` of each class."""
    import numpy as np

    from scsr.data import builtin

    rng = np.random.default_rng(seed)
    source = data.config.get("source") or {}
    if source.get("split") == "speaker-independent" and source.get("kind") in builtin.KINDS:
        train = [item for item in builtin.plan(source) if item["split"] == "train"]
        if [item["label"] for item in train] == data.train_labels.tolist():
            variant = np.array([item["speaker"].split("+", 1)[1] for item in train])
            # Flite voices never speak in a test split, so they never validate either
            espeak = np.array([not item["speaker"].startswith("flite+") for item in train])
            names = np.unique(variant[espeak])
            held = rng.choice(names, max(1, round(fraction * len(names))), replace=False)
            return np.isin(variant, held) & espeak, f"voice variants {', '.join(sorted(held))}"
    val = np.zeros(len(data.train_labels), dtype=bool)
    for label in range(len(data.classes)):
        index = rng.permutation(np.flatnonzero(data.train_labels == label))
        val[index[:max(1, round(fraction * len(index)))]] = True
    return val, f"{fraction:.0%} of each class"


def carve_validation(path: str, fraction: float, seed: int, out: Path) -> Path:
    """A dataset whose train split is TRAIN minus the :func:`held_out` samples and whose test
    split is those samples: recipe selection never sees the test split."""
    import dataclasses

    from scsr.data.store import load_dataset, save_dataset

    data = load_dataset(path)
    val, how = held_out(data, fraction, seed)
    carved = dataclasses.replace(
        data, train_spikes=data.train_spikes[~val], train_labels=data.train_labels[~val],
        test_spikes=data.train_spikes[val], test_labels=data.train_labels[val],
        train_features=None, test_features=None,
        config={**data.config, "validation": {"from": os.fspath(path), "held_out": how,
                                              "samples": int(val.sum()), "seed": seed}})
    save_dataset(carved, out)
    return out


def summarise(runs: list[dict[str, Any]], labels: list[str]) -> list[dict[str, Any]]:
    """Mean ± sample std over seeds of every (dataset, variant) with finished runs."""
    table = []
    # the paper's five in their order, then any other variant that was run
    names = dict.fromkeys([*(variant_name(*v) for v in VARIANTS), *KNOWN_VARIANTS])
    for label in labels:
        for name in names:
            mine = [r for r in runs if r["dataset"] == label and r["variant"] == name
                    and "float_accuracy" in r and not r.get("partial")]
            if not mine:
                continue
            row: dict[str, Any] = {"dataset": label, "variant": name, "seeds": len(mine),
                                   "per_seed_float": [round(100 * r["float_accuracy"], 1)
                                                      for r in mine]}
            for key in ("float_accuracy", "fixed_accuracy", "train_accuracy",
                        "float_before_qat"):
                values = [100 * r[key] for r in mine if key in r]
                if len(values) < len(mine):
                    continue
                row[key] = {"mean": statistics.mean(values),
                            "std": statistics.stdev(values) if len(values) > 1 else 0.0}
            table.append(row)
    return table


def markdown(record: dict[str, Any]) -> str:
    """The Markdown report: sweep, picks and the ablation table."""
    lines = [f"Ablation ({record['seconds']:.0f} s, {record['jobs']} workers × "
             f"{record['threads']} threads, devices {record['devices']}; epochs "
             f"{record['epochs']}, hidden {record['hidden']}, bits {record['bits']})", ""]
    if record["sweep"]:
        lines += ["| dataset | candidate | val float % | val fixed % | epochs | s |",
                  "|---|---|---|---|---|---|"]
        for s in record["sweep"]:
            if "fixed_accuracy" in s:
                lines.append(f"| {s['dataset']} | `{s['candidate']}` | "
                             f"{100 * s['float_accuracy']:.1f} | "
                             f"{100 * s['fixed_accuracy']:.1f} | {s['epochs']}"
                             f"{' (partial)' if s.get('partial') else ''} | "
                             f"{s.get('seconds', '')} |")
            else:
                lines.append(f"| {s['dataset']} | `{s['candidate']}` | "
                             f"{s.get('error') or s.get('skipped')} | | | |")
        lines += [""] + [f"- pick for {k}: `{v}`" for k, v in record["picks"].items()] + [""]
    lines += ["| dataset | variant | seeds | float test % | fixed-point test % | train % | "
              "float % before QAT | per-seed float % |", "|---|---|---|---|---|---|---|---|"]
    for r in record["table"]:
        lines.append(f"| {r['dataset']} | {r['variant']} | {r['seeds']} | "
                     + " | ".join(f"{r[k]['mean']:.1f} ± {r[k]['std']:.1f}" if k in r else "–"
                                  for k in ("float_accuracy", "fixed_accuracy",
                                            "train_accuracy", "float_before_qat"))
                     + f" | {', '.join(str(v) for v in r['per_seed_float'])} |")
    other = [r for r in record["runs"] if r.get("partial") or "float_accuracy" not in r]
    if other:
        lines += ["", "Not in the table: " + "; ".join(
            f"{r['dataset']} {r['variant']} s{r['seed']}: "
            + (f"partial, {r['epochs']} epochs, {100 * r['float_accuracy']:.1f} % float"
               if r.get("partial") else str(r.get("error") or r.get("skipped")))
            for r in other)]
    return "\n".join(lines) + "\n"


#: What must agree between ablation records before their runs may share one table.
MERGE_KEYS = ("settings", "epochs", "hidden", "bits", "picks")


def merge(paths: list[str], out: Path) -> dict[str, Any]:
    """One record (and ``ablation.json``/``.md`` in ``out``) from several runs of this
    script with the same recipe, e.g. CPU streams or GPU calls that each ran some seeds.

    A finished run replaces a partial or failed one of the same (dataset, variant, seed);
    two finished ones, or records whose recipe differs, are refused by file and field."""
    records = [(path, json.loads(Path(path).read_text())) for path in paths]
    first_path, first = records[0]
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    labels: list[str] = []
    for path, record in records:
        for key in MERGE_KEYS:
            if record.get(key) != first.get(key):
                raise SystemExit(f"{path}: {key}: {record.get(key)!r} differs from "
                                 f"{first_path}'s {first.get(key)!r}; cannot merge")
        labels += [label for label in record["datasets"].values() if label not in labels]
        for run in record["runs"]:
            key = (run["dataset"], run["variant"], run["seed"])
            finished = "float_accuracy" in run and not run.get("partial")
            if key in runs and finished and "float_accuracy" in runs[key] and not \
                    runs[key].get("partial"):
                raise SystemExit(f"{path}: runs: {'/'.join(map(str, key))} is finished in "
                                 "two records; merge each run once")
            if key not in runs or finished:
                runs[key] = run
    merged = {**first, "merged_from": paths, "runs": list(runs.values()),
              "seconds": sum(record["seconds"] for _, record in records),
              "jobs": "+".join(str(record["jobs"]) for _, record in records),
              "sweep": [s for _, record in records for s in record["sweep"]]}
    merged["table"] = summarise(merged["runs"], labels)
    merged["markdown"] = markdown(merged)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "ablation.json", merged)
    (out / "ablation.md").write_text(merged["markdown"])
    return merged


def dataset_label(path: str) -> str:
    """``sd``/``si`` for built-in splits, else the file name."""
    from scsr.data.store import load_dataset

    source = load_dataset(path).config.get("source") or {}
    split = {"speaker-dependent": "sd", "speaker-independent": "si"}.get(source.get("split"))
    return f"{source.get('kind')}-{split}" if split else Path(path).stem


def parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="*", metavar="DATASET.npz")
    parser.add_argument("--out", default="build/ablation", metavar="DIR",
                        help="ablation.json and ablation.md")
    parser.add_argument("--work", default=None, metavar="DIR",
                        help="runs, bundles, job files and logs (default: --out)")
    parser.add_argument("--seeds", default="0,1,2", metavar="S,S,...")
    parser.add_argument("--epochs", type=int, default=15, metavar="N")
    parser.add_argument("--hidden", default="48,48", metavar="N,N")
    parser.add_argument("--bits", default="8,16,8", metavar="W,S,F")
    parser.add_argument("--variants", default=None, metavar="NAME,...",
                        help="subset, e.g. ff,scsr+bip, or other BIP switches such as "
                             "rsnn+bip (default: the paper's five)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other training setting, e.g. lr=0.01 (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="torch/numba threads per worker")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--cuda-jobs", type=int, default=None, metavar="K",
                        help="with --device cuda: workers on the GPU (default: all)")
    parser.add_argument("--deadline", type=float, default=float("inf"), metavar="S",
                        help="start no run after S seconds")
    parser.add_argument("--kill-at", type=float, default=None, metavar="S",
                        help="stop running workers at S seconds (default: deadline × 1.25)")
    parser.add_argument("--candidate", action="append", default=[], metavar="SETTINGS",
                        help='recipe candidate, e.g. "lr=0.02 shift=4" (repeatable)')
    parser.add_argument("--sweep-epochs", type=int, default=None, metavar="N",
                        help="epochs of a candidate (default: --epochs)")
    parser.add_argument("--sweep-until", type=float, default=None, metavar="S",
                        help="end of the sweep phase in seconds (default: deadline / 3)")
    parser.add_argument("--val-fraction", type=float, default=0.15, metavar="F")
    parser.add_argument("--merge", nargs="+", default=None, metavar="ABLATION.json",
                        help="instead of training: one table from several records of the "
                             "same recipe (written to --out)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser


class Ablation:
    """One invocation's record (rewritten after every run), its jobs and its two phases."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.began = args, time.perf_counter()
        self.out, self.work = Path(args.out), Path(args.work or args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.kill_at = args.kill_at if args.kill_at is not None else args.deadline * 1.25
        cuda_jobs = 0 if args.device == "cpu" else min(
            args.jobs, args.jobs if args.cuda_jobs is None else args.cuda_jobs)
        self.slots = ["cuda"] * cuda_jobs + ["cpu"] * (args.jobs - cuda_jobs)
        self.base = {"hidden": [int(h) for h in args.hidden.split(",")], "epochs": args.epochs,
                     "bits": [int(b) for b in args.bits.split(",")],
                     **parse_settings(" ".join(shlex.quote(s) for s in args.set))}
        self.labels = {path: dataset_label(path) for path in args.datasets}
        self.chosen = chosen_variants(args.variants)
        self.record: dict[str, Any] = {
            "benchmark": "ablation", "datasets": self.labels, "bits": args.bits,
            "hidden": args.hidden, "epochs": args.epochs, "seeds": args.seeds,
            "settings": self.base, "jobs": args.jobs, "threads": args.threads,
            "devices": self.slots and dict(collections.Counter(self.slots)),
            "deadline": args.deadline, "kill_at": self.kill_at, "candidates": args.candidate,
            "sweep": [], "picks": {}, "runs": [], "table": [], "seconds": 0.0}

    def save(self) -> None:
        """Rewrite ``ablation.json`` and ``ablation.md`` from the record."""
        record = self.record
        record["seconds"] = round(time.perf_counter() - self.began, 1)
        record["table"] = summarise(record["runs"], list(self.labels.values()))
        record["markdown"] = markdown(record)
        _write_json(self.out / "ablation.json", record)
        (self.out / "ablation.md").write_text(record["markdown"])

    def on_result(self, job: dict[str, Any], result: dict[str, Any], final: bool = True) -> None:
        """Record (and print, once final) what a job ended with; save."""
        entry = {"dataset": job["dataset"], "variant": job["variant"], "seed": job["seed"],
                 **({"candidate": job["candidate"]} if job["kind"] == "sweep" else {}),
                 **{k: v for k, v in result.items() if k != "traceback"}}
        (self.record["sweep"] if job["kind"] == "sweep" else self.record["runs"]).append(entry)
        if final and "float_accuracy" in result:
            print(f"ablation: {job['name']}: float {100 * result['float_accuracy']:.1f} %, "
                  f"fixed {100 * result['fixed_accuracy']:.1f} %"
                  f"{' (partial)' if result.get('partial') else ''}", flush=True)
        self.save()

    def make_job(self, kind: str, label: str, path: str, preset: str, bip: bool, seed: int,
                 settings: dict[str, Any], tag: str) -> dict[str, Any]:
        """The job of one run: names, paths and the training config."""
        name = f"{kind}-{label}-{variant_name(preset, bip)}-s{seed}{tag}"
        runs = self.work / "runs"
        return {"kind": kind, "name": name, "dataset": label, "variant": variant_name(preset, bip),
                "seed": seed, "run": str(runs / name),
                "bundle": str(runs / f"{name}.bundle") if kind == "ablation" else "",
                "result": str(self.work / "jobs" / f"{name}.result.json"),
                "config": {**settings, "dataset": str(Path(path).resolve()), "preset": preset,
                           "bip": bip, "seed": seed}}

    def sweep(self, scheduler: Scheduler) -> None:
        """Recipe selection: every candidate on a validation split; pick the best per
        dataset."""
        args = self.args
        sweep_until = args.sweep_until if args.sweep_until is not None else args.deadline / 3
        jobs = []
        for path, label in self.labels.items():
            val = carve_validation(path, args.val_fraction, 0, self.work / f"val-{label}.npz")
            for k, text in enumerate(args.candidate):
                settings = {**self.base, **parse_settings(text)}
                if args.sweep_epochs:
                    settings["epochs"] = args.sweep_epochs
                job = self.make_job("sweep", label, str(val), "scsr", True, 0, settings, f"-c{k}")
                jobs.append({**job, "candidate": text})
        scheduler.run(jobs, sweep_until, sweep_until)
        for label in self.labels.values():
            tried = [s for s in self.record["sweep"] if s["dataset"] == label
                     and "fixed_accuracy" in s]
            done = [s for s in tried if not s.get("partial")] or tried
            if done:
                best = max(done, key=lambda s: (s["fixed_accuracy"], s["float_accuracy"]))
                self.record["picks"][label] = best["candidate"]
        self.save()

    def ablation_jobs(self) -> list[dict[str, Any]]:
        """Every (seed, dataset, variant) run with its dataset's picked settings, rsnn first."""
        jobs = []
        for seed in (int(s) for s in self.args.seeds.split(",")):
            for path, label in self.labels.items():
                settings = {**self.base, **parse_settings(self.record["picks"].get(label, ""))}
                for preset, bip in sorted(self.chosen, key=lambda v: -cost(variant_name(*v))):
                    jobs.append(self.make_job("ablation", label, path, preset, bip, seed,
                                              settings, ""))
        # The slowest variant (rsnn, ~4× the others) of every seed starts first: it is the
        # critical path; the rest follow seed by seed, so a cut still covers every variant.
        jobs.sort(key=lambda job: job["config"]["preset"] != "rsnn")
        return jobs

    def run(self) -> None:
        """Both phases (the sweep only with candidates); a SIGTERM/SIGINT keeps what is done."""
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        scheduler = Scheduler(self.work, self.slots, self.args.threads, self.began,
                              self.on_result)
        self.save()
        try:
            if self.args.candidate:
                self.sweep(scheduler)
            scheduler.run(self.ablation_jobs(), self.args.deadline, self.kill_at)
        except Stop as why:
            print(f"ablation: stopped ({why}); finished runs are kept", file=sys.stderr)
        self.save()

    def report(self) -> None:
        """Print the Markdown and the best variant of each dataset."""
        print(self.record["markdown"])
        for label in self.labels.values():
            rows = [r for r in self.record["table"] if r["dataset"] == label]
            if rows:
                best = max(rows, key=lambda r: r["float_accuracy"]["mean"])
                print(f"ablation {label}: best {best['variant']} "
                      f"{best['float_accuracy']['mean']:.1f}% float, "
                      f"{best['fixed_accuracy']['mean']:.1f}% fixed ({self.args.bits}) -> "
                      f"{self.out / 'ablation.json'}")


def main() -> int:
    cli = parser()
    args = cli.parse_args()
    if args.worker:
        return worker(args.worker)
    if args.merge:
        print(merge(args.merge, Path(args.out))["markdown"])
        return 0
    if not args.datasets:
        cli.error("give at least one DATASET.npz")
    ablation = Ablation(args)
    ablation.run()
    ablation.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
