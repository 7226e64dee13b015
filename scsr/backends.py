"""Simulation backends of ``scsr simulate``: one contract, several engines.

Every backend takes a bundle and input spikes and returns a
:class:`~golden_model.simulate.SimResult` with identical arrays (design §6). Engines that
need heavy packages (torch, cocotb) are imported only when chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from golden_model import Bundle, SimResult, simulate
from golden_model.errors import ScsrError

Runner = Callable[[Bundle, np.ndarray, bool], SimResult]

#: Backend name → "module:function" of its runner, or None for the built-in golden model.
BACKENDS: dict[str, str | None] = {
    "golden": None,
    "torch": "scsr.torch_int:simulate",
    "icarus": "sim.backend:simulate_icarus",
    "verilator": "sim.backend:simulate_verilator",
}


#: Backends that build a simulator for every call: they take the whole batch at once
#: instead of ``scsr simulate --chunk`` pieces (a rebuild per chunk costs tens of seconds).
WHOLE_BATCH = frozenset({"icarus", "verilator"})


def get_backend(name: str) -> Runner:
    """The runner of backend ``name``; a clear error if it is unknown or not installed."""
    if name not in BACKENDS:
        raise ScsrError("--backend", name, f"unknown backend (choose from {', '.join(BACKENDS)})")
    target = BACKENDS[name]
    if target is None:
        return lambda bundle, spikes, trace: simulate(bundle, spikes, trace=trace)
    module_name, function = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ScsrError("--backend", name, "is not part of this installation yet") from None
        raise ScsrError("--backend", name, f"needs the Python package {exc.name!r}; "
                                           "install it with 'pip install -e .[dev]'") from None
    return getattr(module, function)
