"""Stage records: what a flow stage was made from, what it wrote, and whether it can be reused.

Each stage ``NAME`` owns the directory ``stages/NAME/`` and the record
``stages/NAME.json``: the hash of its inputs (``key``: its settings and the digests of the
stages it reads), the sha256 of every file it wrote, its figures and its wall time. A stage
is reused only when its record's key equals the key of this run *and* every file still has
its recorded hash; otherwise it runs again. The order of writes makes a kill at any moment
safe: the old record is removed first, the new outputs are built in a temporary directory
that replaces ``stages/NAME/`` when complete, and the record is written last (atomically).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from golden_model.atomic import atomic_directory, write_json

#: Bumped when a stage's outputs change meaning, so that old records are not reused.
RECORD_VERSION = 1


def digest_of(value: Any) -> str:
    """sha256 of ``value`` as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_tree(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by path relative to it."""
    return {p.relative_to(root).as_posix(): file_sha256(p)
            for p in sorted(root.rglob("*")) if p.is_file()}


@dataclass(frozen=True)
class StageRecord:
    """What one stage run produced (``stages/NAME.json``)."""

    name: str
    key: str
    files: dict[str, str]
    figures: dict[str, Any]
    wall_s: float
    version: int = RECORD_VERSION
    reused: bool = field(default=False, compare=False)

    @property
    def digest(self) -> str:
        """Identifies the outputs: what downstream stages hash into their keys."""
        return digest_of({"files": self.files, "figures": self.figures})


class StageStore:
    """The ``stages/`` directory of one flow output."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def directory(self, name: str) -> Path:
        return self.root / name

    def _record_path(self, name: str) -> Path:
        return self.root / f"{name}.json"

    def clean_leftovers(self) -> list[str]:
        """Remove the temporary ``.part``/``.old`` entries a killed run left (only ours:
        they carry the atomic writers' prefix and suffix)."""
        removed = []
        if self.root.is_dir():
            for entry in self.root.iterdir():
                if entry.name.startswith(".") and entry.name.endswith((".part", ".old")):
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
                    removed.append(entry.name)
        return removed

    def load(self, name: str) -> StageRecord | None:
        """The stored record, or None when there is none or it cannot be read."""
        try:
            raw = json.loads(self._record_path(name).read_text())
            record = StageRecord(**{k: raw[k] for k in ("name", "key", "files", "figures",
                                                        "wall_s", "version")})
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return record if record.version == RECORD_VERSION else None

    def reusable(self, name: str, key: str) -> tuple[StageRecord | None, str]:
        """The record if the stage can be skipped, else None and why it must run."""
        record = self.load(name)
        if record is None:
            return None, "not run yet"
        if record.key != key:
            return None, "its inputs changed"
        directory = self.directory(name)
        for rel, sha in record.files.items():
            path = directory / rel
            if not path.is_file():
                return None, f"{rel} is missing"
            if file_sha256(path) != sha:
                return None, f"{rel} does not match its recorded hash"
        return record, "reused"

    def forget(self, name: str) -> None:
        self._record_path(name).unlink(missing_ok=True)

    @contextmanager
    def build(self, name: str) -> Iterator[Path]:
        """A fresh temporary directory that becomes ``stages/NAME/`` when the block ends
        normally; the stage's old record is gone before the block starts."""
        self.forget(name)
        with atomic_directory(self.directory(name)) as tmp:
            yield tmp

    def commit(self, name: str, key: str, figures: dict[str, Any], wall_s: float
               ) -> StageRecord:
        record = StageRecord(name, key, hash_tree(self.directory(name)), figures,
                             round(wall_s, 2))
        data = asdict(record)
        data.pop("reused")
        write_json(self._record_path(name), data)
        return record


#: A stage: reads the records of earlier stages, writes into its directory, returns figures.
StageFunction = Callable[..., dict[str, Any]]

__all__ = ["RECORD_VERSION", "StageFunction", "StageRecord", "StageStore", "digest_of",
           "file_sha256", "hash_tree"]
