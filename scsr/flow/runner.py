"""Run the flow's stages in order, reusing each one whose inputs and outputs are unchanged.

A stage's key hashes its settings (:attr:`Stage.settings`) and the digests of the stages it
reads, so changing a setting reruns that stage and every stage downstream of it, and
``force`` reruns from the named stage on. The output directory is claimed with
``flow.json``: a directory that holds anything else is refused, never emptied.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from golden_model import progress
from golden_model.atomic import write_json
from golden_model.errors import ScsrError

from .config import FlowConfig
from .stages import StageRecord, StageStore, digest_of
from .steps import STAGE_NAMES, STAGES, Context, finish_train

MARKER = "flow.json"
FORMAT = "scsr-flow"


def claim(out: Path, config: FlowConfig) -> None:
    """Make ``out`` this flow's directory, or refuse: it must be absent, empty, or an
    earlier flow's output (its ``flow.json`` says so)."""
    if out.exists() and not out.is_dir():
        raise ScsrError(out, "", "is a file, not a directory; choose another --out")
    marker = out / MARKER
    if out.is_dir() and any(out.iterdir()):
        try:
            ours = json.loads(marker.read_text()).get("format") == FORMAT
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise ScsrError(out, "", "holds files that are not the output of 'scsr flow'; "
                                     "choose another --out (nothing was changed)")
    write_json(marker, {"format": FORMAT, "version": 1, "config": config.to_dict()})


@dataclasses.dataclass(frozen=True)
class StageStatus:
    """How one stage went in this run: ``ran``, ``reused`` or ``skipped``."""

    name: str
    status: str
    wall_s: float
    reason: str
    record: StageRecord | None


def _key(stage_name: str, settings: Any, reads: dict[str, str]) -> str:
    return digest_of({"stage": stage_name, "settings": settings, "reads": reads})


def run_stages(config: FlowConfig, out: Path, force: str | None = None
               ) -> list[StageStatus]:
    """Run or reuse every stage; returns what happened to each, in order."""
    if force is not None and force not in STAGE_NAMES:
        raise ScsrError("--force", force, f"is not a stage ({', '.join(STAGE_NAMES)})")
    claim(out, config)
    store = StageStore(out / "stages")
    store.clean_leftovers()
    records: dict[str, StageRecord] = {}
    statuses: list[StageStatus] = []
    forced = False
    for number, stage in enumerate(STAGES, 1):
        tag = f"[{number}/{len(STAGES)}] {stage.name}"
        forced = forced or stage.name == force
        why_not = stage.enabled(config)
        if why_not:
            store.forget(stage.name)
            progress.write(f"{tag}: skipped ({why_not})")
            statuses.append(StageStatus(stage.name, "skipped", 0.0, why_not, None))
            continue
        key = _key(stage.name, stage.settings(config),
                   {name: records[name].digest for name in stage.reads})
        record, why = (None, "forced") if forced else store.reusable(stage.name, key)
        if record is not None:
            progress.write(f"{tag}: reused (inputs unchanged; it took {record.wall_s:.1f} s)")
            records[stage.name] = record
            statuses.append(StageStatus(stage.name, "reused", 0.0, why, record))
            continue
        progress.write(f"{tag}: running ({why})")
        start = time.perf_counter()
        ctx = Context(config, store, records, key)
        try:
            with store.build(stage.name) as tmp:
                figures = stage.run(ctx, tmp)
        except ScsrError as exc:
            raise ScsrError(f"scsr flow: stage {stage.name}", "",
                            f"{exc}" + (f" (what to try: {stage.hint})" if stage.hint else "")
                            ) from exc
        wall = time.perf_counter() - start
        record = store.commit(stage.name, key, figures, wall)
        if stage.name == "train":
            finish_train(store)
        progress.write(f"{tag}: done in {wall:.1f} s")
        records[stage.name] = record
        statuses.append(StageStatus(stage.name, "ran", round(wall, 2), why, record))
    return statuses


__all__ = ["FORMAT", "MARKER", "StageStatus", "claim", "run_stages"]
