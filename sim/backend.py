"""``scsr simulate --backend icarus|verilator``: the generated RTL as a simulation backend.

Each call generates the network for the bundle, builds it for the simulator in a
temporary directory, streams the batch through the cocotb testbench and returns what the
hardware produced as a :class:`~golden_model.SimResult` (design §6): counts and ``pred``
from the result stream, traces from the per-layer readback ports.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from golden_model import Bundle, ScsrError, SimResult
from rtl.config import NetConfig

from . import runner

#: Lanes of the generated cores when a backend call does not say (any value gives the
#: same results; it changes only the cycle count).
DEFAULT_LANES = 4


def simulate_rtl(bundle: Bundle, spikes: np.ndarray, trace: bool, simulator: str,
                 lanes: int = DEFAULT_LANES, stall_seed: int | None = None,
                 workdir: Path | None = None, optimize: bool = False,
                 pipeline: str = "deep") -> tuple[SimResult, dict[str, np.ndarray]]:
    """Run ``spikes`` ``(B, T, C)`` on the RTL of ``bundle``; return the result and the
    raw outputs (``cycles.<layer>``, ``status``) of the run."""
    runner.simulator_environment(simulator)
    net = NetConfig.from_bundle(bundle, lanes, pipeline=pipeline)
    with tempfile.TemporaryDirectory(prefix=f"scsr-{simulator}-", dir=workdir) as tmp:
        built = runner.build([net], simulator, Path(tmp) / "build", optimize=optimize)
        (out,) = runner.run(built, [spikes], Path(tmp) / "run", trace=True,
                            stall_seed=stall_seed)
    record = runner.status(out)
    if record["error"] is not None:
        raise ScsrError(f"--backend {simulator}", "", record["error"])
    result = runner.to_result(bundle, out, trace)
    return result, out


def simulate_icarus(bundle: Bundle, spikes: np.ndarray, trace: bool) -> SimResult:
    """The RTL under Icarus Verilog (cocotb); arrays identical to ``golden_model.simulate``."""
    return simulate_rtl(bundle, spikes, trace, "icarus")[0]


def simulate_verilator(bundle: Bundle, spikes: np.ndarray, trace: bool) -> SimResult:
    """The RTL under Verilator (cocotb); arrays identical to ``golden_model.simulate``."""
    return simulate_rtl(bundle, spikes, trace, "verilator")[0]
