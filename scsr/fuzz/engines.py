"""The engines a fuzz campaign holds against §4, each run on a list of cases at once.

The reference is the golden model in its literal timestep-major schedule. ``golden`` is
the same model in its default schedule (layer-major wherever there is no feedback, a
different code path), ``torch`` the integer torch path, ``pysim`` the generated RTL in
Amaranth's simulator, ``icarus`` and ``verilator`` the generated Verilog under cocotb.
The HDL simulators build every case of a round into one harness (one compile per round,
not per case) and run it with random input gaps and output back-pressure, which must
change timing only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from golden_model import ScsrError, SimResult, simulate

from .cases import Case

#: Outcome of one case on one engine: its result, or the message of what went wrong.
Outcome = SimResult | str
BatchRunner = Callable[[Sequence[Case], Path], list[Outcome]]


def reference(case: Case) -> SimResult:
    """§4 read literally: the golden model, timestep-major."""
    return simulate(case.bundle, case.spikes, trace=True, schedule="timestep")


def _each(run: Callable[[Case], SimResult]) -> BatchRunner:
    def batch(cases: Sequence[Case], _workdir: Path) -> list[Outcome]:
        return [_guarded(run, case) for case in cases]
    return batch


def _guarded(run: Callable[[Case], SimResult], case: Case) -> Outcome:
    try:
        return run(case)
    except ScsrError as exc:
        return f"refused: {exc}"
    except Exception as exc:  # an engine that crashes on a valid case is a finding
        return f"crashed: {type(exc).__name__}: {exc}"


def _backend(name: str) -> Callable[[Case], SimResult]:
    """One of ``scsr simulate``'s backends (``scsr.backends``), on a case."""
    def run(case: Case) -> SimResult:
        from scsr.backends import get_backend

        return get_backend(name)(case.bundle, case.spikes, True)
    return run


def _pysim(case: Case) -> SimResult:
    """The hardware's own streamed prediction stands in ``pred``, as the HDL runs report it."""
    import dataclasses

    from rtl.config import NetConfig
    from sim.pysim import run_pysim

    board = run_pysim(NetConfig.from_bundle(case.bundle, case.lanes), case.spikes,
                      stall_seed=case.seed)
    result, hw_pred = board.sim_result(trace=True)
    return dataclasses.replace(result, pred=hw_pred)


def _hdl(simulator: str) -> BatchRunner:
    def batch(cases: Sequence[Case], workdir: Path) -> list[Outcome]:
        from rtl.config import NetConfig
        from sim import runner

        runner.simulator_environment(simulator)
        outcomes: list[Outcome | None] = [None] * len(cases)
        nets, chosen = [], []
        for k, case in enumerate(cases):
            try:
                nets.append(NetConfig.from_bundle(case.bundle, case.lanes))
                chosen.append(k)
            except ScsrError as exc:
                outcomes[k] = f"refused: {exc}"
        if nets:
            with tempfile.TemporaryDirectory(prefix=f"fuzz-{simulator}-", dir=workdir) as tmp:
                built = runner.build(nets, simulator, Path(tmp) / "build")
                try:
                    raw = runner.run(built, [cases[k].spikes for k in chosen],
                                     Path(tmp) / "run", stall_seed=cases[chosen[0]].seed)
                except RuntimeError as exc:  # the harness itself failed: keep its log
                    kept = _keep_log(Path(tmp) / "run", workdir, f"{simulator}-{cases[0].seed}")
                    return [f"{HARNESS_ERROR}: {exc} (log: {kept})"] * len(cases)
            for k, out in zip(chosen, raw, strict=True):
                error = runner.status(out)["error"]
                outcomes[k] = (f"crashed: {error}" if error is not None
                               else runner.to_result(cases[k].bundle, out, trace=True))
        return [o if o is not None else "crashed: no result" for o in outcomes]
    return batch


#: How an outcome starts when the simulator run failed as a whole (no case's fault yet).
HARNESS_ERROR = "harness error"


def _keep_log(run_dir: Path, workdir: Path, name: str) -> Path:
    """Copy a failed run's log (and job file) out of its temporary folder."""
    import shutil

    kept = workdir / "harness-errors" / name
    kept.mkdir(parents=True, exist_ok=True)
    for file in ("run.log", "job.json", "results.xml"):
        if (run_dir / file).exists():
            shutil.copy2(run_dir / file, kept / file)
    return kept


#: Engine name → how to run a round of cases on it.
ENGINES: dict[str, BatchRunner] = {
    "golden": _each(_backend("golden")),
    "torch": _each(_backend("torch")),
    "pysim": _each(_pysim),
    "icarus": _hdl("icarus"),
    "verilator": _hdl("verilator"),
}

#: Engines that compile once per round; the others run case by case.
COMPILED = frozenset({"icarus", "verilator"})


def check_engines(names: Sequence[str]) -> None:
    """Refuse unknown engines and HDL simulators that are not installed, before any work."""
    for name in names:
        if name not in ENGINES:
            raise ScsrError("--backends", name,
                            f"unknown engine (choose from {', '.join(ENGINES)})")
        if name in COMPILED:
            from sim import runner

            runner.simulator_environment(name)


__all__ = ["COMPILED", "ENGINES", "HARNESS_ERROR", "BatchRunner", "Outcome", "check_engines",
           "reference"]
