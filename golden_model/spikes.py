"""Spike files and simulation outputs of design §6."""

from __future__ import annotations

import os

import numpy as np

from .errors import ScsrError
from .npzio import read_npz_file

SPIKE_KEYS = ("spikes", "labels")
__all__ = ["SPIKE_KEYS", "load_spikes"]


def load_spikes(
    path: str | os.PathLike[str], channels: int, classes: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read and validate an input file: ``spikes`` ``(batch, T, channels)`` uint8 0/1 and
    optional integer ``labels`` ``(batch,)`` in ``[0, classes)``.

    Anything else (other keys, dtypes, shapes or values) is an :class:`ScsrError`.
    """
    where = os.fspath(path)
    content = read_npz_file(where)
    for key in content:
        if key not in SPIKE_KEYS:
            raise ScsrError(where, key, "is not allowed (a spike file holds 'spikes' and "
                                        "optionally 'labels')")
    if "spikes" not in content:
        raise ScsrError(where, "spikes", "is missing")
    spikes = content["spikes"]
    if spikes.dtype != np.uint8:
        raise ScsrError(where, "spikes", f"dtype {spikes.dtype} should be uint8")
    if spikes.ndim != 3:
        raise ScsrError(where, "spikes", f"shape {spikes.shape} should be (batch, T, channels)")
    batch, steps, width = spikes.shape
    if batch < 1:
        raise ScsrError(where, "spikes", "holds no samples (batch is 0)")
    if steps < 1:
        raise ScsrError(where, "spikes", "holds no timesteps (T is 0)")
    if width != channels:
        raise ScsrError(where, "spikes", f"has {width} channels but the bundle expects {channels}")
    bad = np.flatnonzero(spikes > 1)
    if bad.size:
        index = np.unravel_index(bad[0], spikes.shape)
        raise ScsrError(where, f"spikes[{', '.join(str(int(i)) for i in index)}]",
                        f"{int(spikes[index])} is not 0 or 1")
    labels = content.get("labels")
    if labels is not None:
        if labels.dtype == np.bool_ or labels.dtype.kind not in "iu":
            raise ScsrError(where, "labels", f"dtype {labels.dtype} is not an integer type")
        if labels.shape != (batch,):
            raise ScsrError(where, "labels", f"shape {labels.shape} should be ({batch},)")
        bad = np.flatnonzero((labels < 0) | (labels >= classes))
        if bad.size:
            raise ScsrError(where, f"labels[{bad[0]}]",
                            f"{int(labels[bad[0]])} is outside [0, {classes - 1}]")
        labels = labels.astype(np.int64)
    return spikes, labels
