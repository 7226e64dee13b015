"""Write outputs so that a failure never leaves a half-written file or directory behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_file_target(path: str | os.PathLike[str]) -> Path:
    """Refuse a file output that cannot be written where it is asked for: a directory of
    that name, or a plain file where one of its folders should be. Commands call it before
    long work, so the answer comes before the wait; :func:`atomic_file` calls it again."""
    from .errors import ScsrError

    path = Path(path)
    if path.is_dir():
        raise ScsrError(path, "", "is a directory; name a file to write")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ScsrError(parent, "", "is a file, where a directory is needed")
            break
    return path


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = check_file_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_leftovers(path: str | os.PathLike[str]) -> list[Path]:
    """Delete what writes of ``path`` killed half-way left beside it (``.NAME.*.part`` and
    ``.NAME.*.old``); nothing else matches those names, and nothing reads them."""
    path = Path(path)
    gone = []
    for pattern in (f".{path.name}.*.part", f".{path.name}.*.old"):
        for leftover in path.parent.glob(pattern):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
            gone.append(leftover)
    return gone


def write_json(path: str | os.PathLike[str], value: object, indent: int = 2) -> None:
    """``value`` as JSON, with a final newline, written to ``path`` through
    :func:`atomic_file` (its folder is made if need be)."""
    with atomic_file(path) as handle:
        handle.write((json.dumps(value, indent=indent) + "\n").encode())


def check_replaceable(path: str | os.PathLike[str], report_format: str) -> None:
    """Refuse to replace ``path`` unless it is absent, an empty directory, or an earlier
    output of the same command: a directory whose ``report.json`` has ``"format":
    report_format``. A typo in ``--out`` must never wipe someone else's files."""
    from .errors import ScsrError

    root = Path(path)
    if not root.exists():
        return
    if not root.is_dir():
        raise ScsrError(root, "", "exists and is not a directory; choose another --out")
    if not any(root.iterdir()):
        return
    try:
        ours = json.loads((root / "report.json").read_text()).get("format") == report_format
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise ScsrError(root, "", f"exists and holds files that are not a {report_format} "
                                  "output; refusing to replace it (choose another --out)")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory beside ``path`` that replaces ``path`` if the block succeeds.

    An existing ``path`` is swapped out only after the new content is complete, then removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "content")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
