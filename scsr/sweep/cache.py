"""Results keyed by the hash of what produced them, stored so that nothing half-written is
ever read back.

An entry is a directory ``ROOT/<key>/`` holding ``result.json`` (and, for evaluated
bundles, the bundle itself), written through :func:`golden_model.atomic.atomic_directory`:
a sweep killed while writing leaves at most a ``.<key>.*.part`` directory beside it, which
is never read, so the point is simply redone. An entry whose ``result.json`` cannot be read
or lacks the format marker (a damaged disk, a foreign file) counts as missing too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from golden_model.atomic import atomic_directory

FORMAT = "scsr-sweep-result"


def digest(*parts: Any) -> str:
    """sha256 (hex) of ``parts`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def arrays_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, read in 1 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class Cache:
    """The entries under ``root`` (made on first write)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result, or ``None`` if there is none (or none that can be trusted)."""
        try:
            value = json.loads((self.path(key) / "result.json").read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            return None
        return value["result"]

    def put(self, key: str, result: Mapping[str, Any],
            extra: Callable[[Path], None] | None = None) -> None:
        """Store ``result`` (JSON) under ``key``; ``extra(directory)`` may add files first.
        The entry appears whole or not at all."""
        self.root.mkdir(parents=True, exist_ok=True)
        with atomic_directory(self.path(key)) as tmp:
            if extra is not None:
                extra(tmp)
            (tmp / "result.json").write_text(
                json.dumps({"format": FORMAT, "key": key, "result": result}, indent=1,
                           sort_keys=True) + "\n")

    def clear_partial(self) -> int:
        """Remove leftovers of writes that were killed (``.*.part``); returns how many."""
        if not self.root.is_dir():
            return 0
        stale = [p for p in self.root.glob(".*.part") if p.is_dir()]
        for p in stale:
            shutil.rmtree(p, ignore_errors=True)
        return len(stale)
