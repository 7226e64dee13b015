"""Build small bundles by hand for the golden-model tests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from golden_model import Bundle, FixedPoint, Layer, Projection
from golden_model.bundle import check_arrays
from golden_model.npzio import npz_bytes


def make_bundle(
    channels: int,
    layers: Sequence[tuple[str, int]],
    projections: Sequence[tuple[str, str, int, Sequence[Sequence[int]]]],
    params: dict[str, dict[str, Sequence[int]]] | None = None,
    bits: tuple[int, int, int] = (8, 16, 8),
) -> Bundle:
    """A validated bundle; per-layer ``params`` default to alpha = beta = 0, theta = 1000
    (clipped to the range), w_self = 0."""
    fp = FixedPoint(*bits)
    arrays: dict[str, np.ndarray] = {}
    for name, size in layers:
        given = (params or {}).get(name, {})
        defaults = {"alpha": 0, "beta": 0, "theta": min(1000, fp.theta_max), "w_self": 0}
        for kind, default in defaults.items():
            arrays[f"{name}.{kind}"] = np.broadcast_to(
                np.asarray(given.get(kind, default), np.int64), (size,)).copy()
    projs = []
    for src, dst, delay, weights in projections:
        key = f"{src}->{dst}@{delay}"
        arrays[key] = np.asarray(weights, np.int64)
        projs.append(Projection(src, dst, delay, key))
    bundle = Bundle(fp, channels, 10, tuple(Layer(n, s) for n, s in layers), tuple(projs),
                    tuple(str(k) for k in range(layers[-1][1])), {}, {})
    return Bundle(**{**bundle.__dict__, "arrays": check_arrays(bundle, arrays, "<test>")})


def spikes(*rows: Sequence[Sequence[int]]) -> np.ndarray:
    """A batch of one sample: rows are timesteps, columns channels."""
    return np.asarray([rows], dtype=np.uint8)


def edit_manifest(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a saved bundle's manifest.json in place."""
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))


def edit_arrays(root: Path, change: Callable[[dict[str, np.ndarray]], None],
                raw: bytes | None = None) -> None:
    """Change a saved bundle's arrays.npz (or replace it by ``raw``) and re-hash it, so only
    the array problem is left."""
    with np.load(root / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    data = raw if raw is not None else npz_bytes(arrays)
    (root / "arrays.npz").write_bytes(data)
    edit_manifest(root, lambda m: m.update(arrays_sha256=hashlib.sha256(data).hexdigest()))
