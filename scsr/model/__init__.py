"""Torch model of ScSr-SNNs: neurons, projections, network, presets, quantisation (QAT).

Each name is imported from its module when it is first asked for, so that
:class:`ModelConfig` and the presets (plain Python) load without torch: the ``scsr train``
parser is built from them for every ``scsr`` command.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Exported name → the module of this package that defines it.
_HOMES = {
    "ModelConfig": "config", "PRESETS": "presets", "preset": "presets", "NetOutput": "network",
    "ScsrNet": "network", "LIFLayer": "neurons", "LIFState": "scan", "NeuronParams": "scan",
    "ScanMode": "scan", "fused_scan": "scan", "lif_step": "scan", "reference_scan": "scan",
}

__all__ = [
    "PRESETS", "LIFLayer", "LIFState", "ModelConfig", "NetOutput", "NeuronParams", "ScanMode",
    "ScsrNet", "fused_scan", "lif_step", "preset", "reference_scan",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
