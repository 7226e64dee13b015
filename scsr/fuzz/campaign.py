"""A differential fuzz campaign: rounds of random cases on every engine, each result held
against the golden model; a failure is shrunk and written as a reproducer.

Rounds keep the HDL engines affordable (one compile per round). The report is rewritten
after every round, so a campaign stopped at any moment (Ctrl-C, ``kill``) leaves a report
that says how far it got, next to every reproducer written so far. A simulator run that
fails as a whole (no results at all) is run once more; its log is kept under
``harness-errors/`` and the report lists it, so a flaky harness is seen, not hidden.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from golden_model import SimResult, __version__, progress
from golden_model.atomic import write_json
from golden_model.compare import locate

from . import reproducer
from .cases import Case, draw_case, projection_kinds
from .engines import ENGINES, HARNESS_ERROR, BatchRunner, Outcome, reference
from .shrink import shrink

REPORT_FORMAT = "scsr-fuzz"


@dataclass
class Finding:
    engine: str
    seed: int
    problem: str
    folder: str
    shrunk: str


@dataclass
class Campaign:
    """What a campaign asks for; ``minutes`` and ``cases`` both bound it (first one wins)."""

    engines: Sequence[str]
    seed: int = 0
    minutes: float = 5.0
    cases: int | None = None
    round_size: int = 12
    shrink_seconds: float = 300.0
    runners: dict[str, BatchRunner] = field(default_factory=lambda: dict(ENGINES))


@dataclass
class Tally:
    cases: int = 0
    rounds: int = 0
    results: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    widths: set[tuple[int, int, int]] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    harness_errors: list[str] = field(default_factory=list)


def difference(expected: SimResult, outcome: Outcome) -> str | None:
    """What is wrong with an engine's outcome for a case, or ``None`` when it is equal."""
    if isinstance(outcome, str):
        return outcome
    found = locate(expected, outcome)
    return None if found is None else str(found)


def judge_for(runner: BatchRunner, workdir: Path) -> Callable[[Sequence[Case]], int | None]:
    """The shrinker's judge for one engine: the first candidate it still gets wrong."""
    def judge(candidates: Sequence[Case]) -> int | None:
        outcomes = runner(candidates, workdir)
        if _harness_failed(outcomes):
            return None  # says nothing about the candidates
        for k, (case, outcome) in enumerate(zip(candidates, outcomes, strict=True)):
            if difference(reference(case), outcome) is not None:
                return k
        return None
    return judge


def run(plan: Campaign, out: Path, log: Callable[[str], None] = progress.write) -> Tally:
    """Run ``plan``, writing ``report.json`` and ``failures/`` into ``out`` (which the
    caller has checked may be written)."""
    out.mkdir(parents=True, exist_ok=True)
    tally = Tally()
    started = time.monotonic()
    deadline = started + 60 * plan.minutes
    interrupted = False
    next_seed = plan.seed
    with progress.bar(total=plan.cases, unit="case", desc="fuzz") as bar:
        try:
            while time.monotonic() < deadline and (plan.cases is None
                                                   or tally.cases < plan.cases):
                count = plan.round_size if plan.cases is None else min(
                    plan.round_size, plan.cases - tally.cases)
                batch = [draw_case(s) for s in range(next_seed, next_seed + count)]
                next_seed += count
                _round(plan, batch, out, tally, log)
                bar.update(len(batch))
                bar.set_postfix(failures=len(tally.findings))
                _report(plan, tally, out, time.monotonic() - started, finished=False)
        except KeyboardInterrupt:
            interrupted = True
    _report(plan, tally, out, time.monotonic() - started, finished=not interrupted)
    return tally


def _round(plan: Campaign, batch: list[Case], out: Path, tally: Tally,
           log: Callable[[str], None]) -> None:
    expected = [reference(case) for case in batch]
    for case in batch:
        tally.kinds.update(projection_kinds(case.bundle))
        fp = case.bundle.fixed_point
        tally.widths.add((fp.weight_bits, fp.state_bits, fp.decay_bits))
    for engine in plan.engines:
        runner = plan.runners[engine]
        outcomes = runner(batch, out)
        if _harness_failed(outcomes):  # once more: a case's fault fails again, a flake not
            log(f"{engine}: {outcomes[0]}; running the round again")
            tally.harness_errors.append(f"{engine}, seeds {batch[0].seed}-{batch[-1].seed}: "
                                        f"{outcomes[0]}")
            outcomes = runner(batch, out)
        for case, want, outcome in zip(batch, expected, outcomes, strict=True):
            problem = difference(want, outcome)
            if problem is None:
                tally.results[f"{engine}: equal"] += 1
            elif problem.startswith("refused"):
                tally.results[f"{engine}: refused"] += 1
            else:
                tally.results[f"{engine}: differs"] += 1
                tally.findings.append(_report_finding(plan, engine, case, want, outcome,
                                                      problem, out, log))
    tally.cases += len(batch)
    tally.rounds += 1


def _harness_failed(outcomes: Sequence[Outcome]) -> bool:
    return bool(outcomes) and all(isinstance(o, str) and o.startswith(HARNESS_ERROR)
                                  for o in outcomes)


def _report_finding(plan: Campaign, engine: str, case: Case, want: SimResult,
                    outcome: Outcome, problem: str, out: Path,
                    log: Callable[[str], None]) -> Finding:
    log(f"{engine} differs on {case.describe()}: {problem}; shrinking")
    runner = plan.runners[engine]
    mismatch = None if isinstance(outcome, str) else locate(want, outcome)
    small = shrink(case, judge_for(runner, out), mismatch, plan.shrink_seconds)
    small_outcome = runner([small], out)[0]
    small_want = reference(small)
    small_problem = difference(small_want, small_outcome) or problem
    folder = reproducer.write(out / "failures" / f"{engine}-{case.seed}", small, engine,
                              small_problem, case, small_want.arrays())
    log(f"reproducer: {folder} ({small.describe()}); replay: "
        f"{reproducer.replay_command(folder)}")
    return Finding(engine, case.seed, small_problem, str(folder), small.describe())


def _report(plan: Campaign, tally: Tally, out: Path, seconds: float, finished: bool) -> None:
    write_json(out / "report.json", {
        "format": REPORT_FORMAT, "version": __version__, "finished": finished,
        "engines": list(plan.engines), "seed": plan.seed, "minutes": plan.minutes,
        "round_size": plan.round_size, "cases": tally.cases, "rounds": tally.rounds,
        "seconds": round(seconds, 1), "next_seed": plan.seed + tally.cases,
        "results": dict(sorted(tally.results.items())),
        "projection_kinds": dict(sorted(tally.kinds.items())),
        "widths_seen": len(tally.widths),
        "findings": [vars(f) for f in tally.findings],
        "harness_errors": tally.harness_errors})


__all__ = ["REPORT_FORMAT", "Campaign", "Finding", "Tally", "difference", "judge_for", "run"]
