"""Building a dataset from its config: parallel workers, a progress bar, and a cache keyed by
the hash of the config (a rebuild of an existing set is a file copy)."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from golden_model import __version__
from golden_model.atomic import atomic_file
from golden_model.errors import ScsrError
from golden_model.progress import bar as bar_of

from . import builtin
from .store import Dataset, load_dataset, save_dataset

FORMAT = {"format": "scsr-dataset", "version": 1}


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/scsr-snn/datasets`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "scsr-snn" / "datasets"


def tool_versions(front_end: str | None, espeak: bool, flite: bool = False) -> dict[str, str]:
    """Versions of everything that shapes the bytes of a dataset (part of the cache key)."""
    import scipy

    versions = {"scsr-snn": __version__, "numpy": np.__version__, "scipy": scipy.__version__}
    if espeak:
        versions["espeak-ng"] = builtin.espeak_version()
    if flite:
        versions["flite"] = builtin.flite_version()
    if front_end == "lyon":
        from importlib.metadata import version

        versions["lyon"] = version("lyon")
    return versions


def builtin_config(source: dict[str, Any], encoding: dict[str, Any],
                   store_features: bool) -> dict[str, Any]:
    """The full build config of a built-in set: source, encoding, tools."""
    return {**FORMAT, "source": source, **encoding, "store_features": store_features,
            "tools": tool_versions(encoding["front_end"]["kind"], espeak=True,
                                   flite=bool(source.get("flite")))}


def config_hash(config: dict[str, Any]) -> str:
    """First 16 hex digits of the SHA-256 of the canonical JSON of ``config``."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _work(job: tuple[dict[str, Any], dict[str, Any]]) -> tuple[Any, ...]:
    """Worker body: one rendition; a user error travels back as a tuple (ScsrError does not
    survive pickling)."""
    item, config = job
    try:
        return ("ok", *builtin.make_item(item, config))
    except ScsrError as exc:
        return ("error", exc.where, exc.field, exc.problem)


def build_builtin(config: dict[str, Any], workers: int = 2, progress: bool = True) -> Dataset:
    """Render and encode every item of ``config``'s plan; ``workers`` processes in parallel."""
    builtin.espeak_version()  # fail early, with install advice, if espeak-ng is missing
    if config["source"].get("flite"):
        builtin.flite_version()
    items = builtin.plan(config["source"])
    jobs = [(item, config) for item in items]
    bar = bar_of(total=len(jobs), unit="utt", desc=f"build {config['source']['kind']}",
                 disable=not progress, leave=False)
    results = []
    if workers <= 1:
        mapped = map(_work, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("fork").Pool(workers)
        mapped = pool.imap(_work, jobs, chunksize=16)
    try:
        for result in mapped:
            if result[0] == "error":
                raise ScsrError(*result[1:])
            results.append(result[1:])
            bar.update()
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    return _assemble(config, items, results)


def _assemble(config: dict[str, Any], items: list[dict[str, Any]],
              results: list[tuple[np.ndarray, np.ndarray]]) -> Dataset:
    arrays: dict[str, Any] = {}
    for split in ("train", "test"):
        index = [i for i, item in enumerate(items) if item["split"] == split]
        arrays[f"{split}_spikes"] = np.stack([results[i][1] for i in index]).astype(np.uint8)
        arrays[f"{split}_labels"] = np.array([items[i]["label"] for i in index], dtype=np.int64)
        arrays[f"{split}_features"] = (np.stack([results[i][0] for i in index])
                                       .astype(np.float32) if config["store_features"] else None)
    classes = np.array(builtin.KINDS[config["source"]["kind"]], dtype=np.str_)
    train, test = builtin.speaker_pools(config["source"])
    record = {**config, "speakers": {"train": train, "test": test}}
    return Dataset(classes=classes, config=record, **arrays)


def cached_build(config: dict[str, Any], out: str | os.PathLike[str],
                 builder: Callable[[dict[str, Any]], Dataset],
                 cache_dir: str | os.PathLike[str] | None) -> tuple[Dataset, bool]:
    """Write the dataset of ``config`` to ``out``, from the cache when it holds it.

    Returns ``(dataset, from_cache)``. The cache entry is ``<hash>.npz``; a damaged entry
    is rebuilt. With ``cache_dir=None`` nothing is cached.
    """
    entry = None if cache_dir is None else Path(cache_dir) / f"{config_hash(config)}.npz"
    if entry is not None and entry.is_file():
        try:
            dataset = load_dataset(entry)
        except ScsrError:
            dataset = None
        if dataset is not None:
            if Path(out).resolve() != entry.resolve():
                with atomic_file(out) as handle, open(entry, "rb") as source:
                    shutil.copyfileobj(source, handle)
            return dataset, True
    dataset = builder(config)
    save_dataset(dataset, out)
    if entry is not None and Path(out).resolve() != entry.resolve():
        with atomic_file(entry) as handle, open(out, "rb") as source:
            shutil.copyfileobj(source, handle)
    return dataset, False
