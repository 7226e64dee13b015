"""A failing case as a self-contained folder, and its replay.

The folder holds everything needed without this fuzzer's random draw: ``bundle/`` (a §5
bundle), ``input.npz`` (§6 spikes), ``expected.npz`` (the golden model's ``--trace``
arrays), ``case.json`` (engine, lanes, seed, the first difference and the replay command)
and a README. ``scsr fuzz --replay DIR`` reruns it; ``scsr simulate --bundle DIR/bundle
--input DIR/input.npz --trace`` with the engine as ``--backend`` gives the same arrays
wherever the engine is a backend of ``scsr simulate`` (it runs 4 lanes, not the case's).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from golden_model import ScsrError, load_bundle, load_spikes, save_bundle, save_npz
from golden_model.atomic import atomic_directory, write_json

from .cases import Case

CASE_FORMAT = "scsr-fuzz-case"


def replay_command(folder: Path) -> str:
    return f"scsr fuzz --replay {folder}"


def write(folder: Path, case: Case, engine: str, mismatch: str, original: Case,
          expected: dict[str, np.ndarray]) -> Path:
    """Write the reproducer of ``case`` (shrunk from ``original``) into ``folder``."""
    with atomic_directory(folder) as tmp:
        save_bundle(case.bundle, tmp / "bundle")
        save_npz(tmp / "input.npz", {"spikes": case.spikes})
        save_npz(tmp / "expected.npz", expected)
        write_json(tmp / "case.json", {
            "format": CASE_FORMAT, "engine": engine, "lanes": case.lanes, "seed": case.seed,
            "first_difference": mismatch, "case": case.describe(),
            "shrunk_from": original.describe(), "replay": replay_command(folder)})
        (tmp / "README.md").write_text(
            f"# {engine} differs from the golden model\n\n{case.describe()}\n\n"
            f"First difference: `{mismatch}`\n\nReplay: `{replay_command(folder)}`\n")
    return folder


def read(folder: str | Path) -> tuple[Case, str]:
    """The case and engine of a reproducer folder; :class:`ScsrError` naming what is wrong."""
    root = Path(folder)
    where = root / "case.json"
    try:
        record = json.loads(where.read_text())
    except FileNotFoundError:
        raise ScsrError(root, "", "is not a fuzz reproducer (no case.json)") from None
    except (ValueError, RecursionError) as exc:
        raise ScsrError(where, "", f"is not valid JSON ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != CASE_FORMAT:
        raise ScsrError(where, "format", f"is not {CASE_FORMAT!r}")
    for key, kind in (("engine", str), ("lanes", int), ("seed", int)):
        if not isinstance(record.get(key), kind) or isinstance(record.get(key), bool):
            raise ScsrError(where, key, f"must be a JSON {kind.__name__}")
    bundle = load_bundle(root / "bundle")
    spikes, _ = load_spikes(root / "input.npz", bundle.channels, bundle.output.size)
    return Case(bundle, spikes, record["lanes"], record["seed"]), record["engine"]


__all__ = ["CASE_FORMAT", "read", "replay_command", "write"]
