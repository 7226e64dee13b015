"""Checkpoints: one file per run, replaced atomically at the end of every epoch.

Loaded with ``torch.load(weights_only=True)``: a checkpoint holds only tensors and plain
data (dicts, lists, strings, numbers), never pickled code. A file that cannot be read or
lacks a field is refused with its name.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from golden_model.atomic import atomic_file
from golden_model.errors import ScsrError

FORMAT = "scsr-checkpoint"
VERSION = 1
NAME = "checkpoint.pt"
REQUIRED = ("format", "version", "epoch", "model", "optimizer", "scheduler", "model_config",
            "train_config", "classes", "dataset_config", "metrics")


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` (plus format and version) atomically to ``path``."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **state}, buffer)
    with atomic_file(path) as handle:
        handle.write(buffer.getvalue())


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a checkpoint; an :class:`ScsrError` names a bad or foreign file."""
    where = os.fspath(path)
    if not Path(where).is_file():
        raise ScsrError(where, "", "does not exist (is this a run directory of 'scsr train'?)")
    try:
        state = torch.load(where, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, OSError,
            ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScsrError(where, "", f"is not a readable checkpoint ({first})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ScsrError(where, "format", f"is not an {FORMAT} file")
    if state.get("version") != VERSION:
        raise ScsrError(where, "version", f"{state.get('version')!r} is not supported")
    for key in REQUIRED:
        if key not in state:
            raise ScsrError(where, key, "is missing")
    return state
