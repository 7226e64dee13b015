"""Summaries and pictures of a dataset (``scsr dataset show``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from golden_model.atomic import atomic_file

from .store import Dataset


def summary(dataset: Dataset) -> dict[str, Any]:
    """Class counts per split, T, C and firing-rate statistics (spikes per channel and step)."""
    out: dict[str, Any] = {"timesteps": dataset.timesteps, "channels": dataset.channels,
                           "classes": [str(c) for c in dataset.classes]}
    for split in ("train", "test"):
        spikes, labels, _ = dataset.split(split)
        per_sample = spikes.reshape(len(spikes), -1).mean(axis=1, dtype=np.float64)
        per_channel = spikes.mean(axis=(0, 1), dtype=np.float64)
        out[split] = {
            "samples": len(labels),
            "per_class": np.bincount(labels, minlength=len(dataset.classes)).tolist(),
            "rate_mean": float(per_sample.mean()),
            "rate_sample_p5_p50_p95": [float(x) for x in np.percentile(per_sample, [5, 50, 95])],
            "rate_channel_min_max": [float(per_channel.min()), float(per_channel.max())],
            "silent_samples": int(np.sum(per_sample == 0)),
        }
    return out


def format_summary(info: dict[str, Any]) -> str:
    """The summary as a few human-readable lines."""
    lines = [f"T = {info['timesteps']}, C = {info['channels']}, "
             f"K = {len(info['classes'])} classes"]
    for split in ("train", "test"):
        s = info[split]
        counts = ", ".join(f"{c}:{n}" for c, n in zip(info["classes"], s["per_class"],
                                                       strict=True))
        p5, p50, p95 = s["rate_sample_p5_p50_p95"]
        lines.append(f"{split}: {s['samples']} samples ({counts})")
        lines.append(f"  firing rate {s['rate_mean']:.4f} spikes/channel/step "
                     f"(per sample p5 {p5:.4f}, median {p50:.4f}, p95 {p95:.4f}; per channel "
                     f"{s['rate_channel_min_max'][0]:.4f}-{s['rate_channel_min_max'][1]:.4f}); "
                     f"{s['silent_samples']} samples without spikes")
    return "\n".join(lines)


#: Panels side by side before the picture wraps onto a new row.
PANELS_PER_ROW = 4


def pick_samples(labels: np.ndarray, classes: int, count: int) -> list[int]:
    """``count`` training samples (fewer only if the split has fewer), one per class in
    turn: the first of every class, then the second of every class, ..."""
    members = [np.flatnonzero(labels == label) for label in range(classes)]
    picks: list[int] = []
    rank = 0
    while len(picks) < min(count, len(labels)):
        for group in members:
            if rank < group.size and len(picks) < count:
                picks.append(int(group[rank]))
        rank += 1
    return picks


def plot_samples(dataset: Dataset, path: str | os.PathLike[str], count: int = 4) -> None:
    """Write a PNG with ``count`` training samples of different classes: front-end frames
    (when stored) above the spike raster, time on the x axis of both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spikes, labels, feats = dataset.split("train")
    picks = pick_samples(labels, len(dataset.classes), count)
    rows = 2 if feats is not None else 1
    cols = min(PANELS_PER_ROW, len(picks))
    blocks = -(-len(picks) // cols)  # ceil: samples wrap onto new rows of panels
    fig, axes = plt.subplots(rows * blocks, cols, figsize=(3.2 * cols, 2.6 * rows * blocks),
                             squeeze=False)
    step_ms = dataset.config.get("step_ms") or dataset.config.get("dt_ms") or 1.0
    for k, index in enumerate(picks):
        block, col = divmod(k, cols)
        title = f"'{dataset.classes[labels[index]]}' (train #{index})"
        if feats is not None:
            ax = axes[block * rows, col]
            ax.imshow(feats[index].T, origin="lower", aspect="auto", cmap="magma",
                      extent=(0, dataset.timesteps, 0, feats.shape[2]), vmin=0, vmax=1)
            ax.set_title(title, fontsize=9)
            ax.set_ylabel("front-end channel" if col == 0 else "")
        ax = axes[block * rows + rows - 1, col]
        t, c = np.nonzero(spikes[index])
        ax.scatter(t, c, s=2, marker="|", color="black", linewidths=0.6)
        ax.set_xlim(0, dataset.timesteps)
        ax.set_ylim(-0.5, dataset.channels - 0.5)
        ax.set_xlabel(f"timestep ({step_ms:g} ms)")
        ax.set_ylabel("spike channel" if col == 0 else "")
        if feats is None:
            ax.set_title(title, fontsize=9)
    for k in range(len(picks), blocks * cols):  # empty panels of the last row
        block, col = divmod(k, cols)
        for r in range(rows):
            axes[block * rows + r, col].axis("off")
    source = dataset.config.get("source", {})
    encoder = dataset.config.get("encoder") or {}
    front = dataset.config.get("front_end") or {}
    name = " ".join(str(x) for x in (source.get("kind"), source.get("split")) if x)
    fig.suptitle(f"{name or 'dataset'} — front end {front.get('kind', 'none')}, encoder "
                 f"{encoder.get('kind', '?')}", fontsize=10)
    fig.tight_layout()
    with atomic_file(path) as handle:
        fig.savefig(handle, format="png", dpi=110)
    plt.close(fig)
