"""Training of ScSr-SNNs: config, loop (BIP + QAT), DDP, checkpoints, metrics and plots.

Each name is imported from its module when it is first asked for, so that the settings
(:mod:`scsr.train.config`, plain Python) load without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Exported name → the module of this package that defines it.
_HOMES = {"TrainConfig": "config", "load_toml": "config", "evaluate": "loop",
          "model_config": "loop", "train": "loop", "load_checkpoint": "checkpoint",
          "save_checkpoint": "checkpoint"}

__all__ = ["TrainConfig", "evaluate", "load_checkpoint", "load_toml", "model_config",
           "save_checkpoint", "train"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
