"""The PNG pictures a person looks at: spike rasters (with membrane traces), confusion
matrices and resource bars. Written atomically; matplotlib's Agg backend (no screen)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from golden_model.atomic import atomic_file


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path, dpi: int = 110) -> None:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    with atomic_file(path) as handle:
        handle.write(buffer.getvalue())


def raster(layers: Mapping[str, np.ndarray], path: Path, title: str,
           membrane: Mapping[str, np.ndarray] | None = None) -> None:
    """One panel per layer (input first): a dot per spike over (timestep, neuron), the panel
    height in proportion to the layer's size; with ``membrane``, a second column of the
    layer's ``V`` as an image (timestep × neuron)."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    names = list(layers)
    heights = [max(1.0, np.sqrt(layers[n].shape[1])) for n in names]
    cols = 2 if membrane else 1
    fig, axes = plt.subplots(len(names), cols, figsize=(9 if cols == 2 else 7,
                                                        1.2 + 0.45 * sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False,
                             constrained_layout=True)
    for row, name in enumerate(names):
        s = np.asarray(layers[name])
        t, n = np.nonzero(s)
        ax = axes[row][0]
        ax.scatter(t, n, s=4, marker="|", color="black", linewidths=0.8)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(-0.5, s.shape[0] - 0.5)
        ax.set_ylim(-0.5, s.shape[1] - 0.5)
        rate = s.mean() if s.size else 0.0
        ax.set_ylabel(f"{name}\nneuron")
        ax.set_title(f"{name}: {s.shape[1]} neurons, {int(s.sum())} spikes "
                     f"({rate:.1%} of neuron-steps)", fontsize=9, loc="left")
        if row == len(names) - 1:
            ax.set_xlabel("timestep")
        if cols == 2:
            mem = axes[row][1]
            if membrane and name in membrane:
                v = np.asarray(membrane[name])
                bound = max(1, int(np.abs(v).max()))
                image = mem.imshow(v.T, aspect="auto", origin="lower", cmap="coolwarm",
                                   vmin=-bound, vmax=bound, interpolation="nearest")
                fig.colorbar(image, ax=mem, label="V (integer)")
                mem.set_title(f"{name}: membrane V after reset", fontsize=9, loc="left")
                if row == len(names) - 1:
                    mem.set_xlabel("timestep")
            else:
                mem.axis("off")
    fig.suptitle(title)
    _save(fig, path)


def confusion(labels: np.ndarray, pred: np.ndarray, classes: Sequence[str], path: Path,
              title: str) -> None:
    """The confusion matrix (rows: true class, columns: predicted), counts in the cells."""
    plt = _pyplot()
    k = len(classes)
    matrix = np.zeros((k, k), np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(pred)), 1)
    size = max(4.5, 0.32 * k + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size), constrained_layout=True)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, label="test samples")
    ax.set_xticks(range(k), classes, fontsize=8 if k > 12 else 10)
    ax.set_yticks(range(k), classes, fontsize=8 if k > 12 else 10)
    ax.set(xlabel="predicted class", ylabel="true class")
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    ax.set_title(f"{title}\naccuracy {accuracy:.2%} of {matrix.sum()}", fontsize=10)
    if k <= 26:
        top = matrix.max() or 1
        for i in range(k):
            for j in range(k):
                if matrix[i, j]:
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                            fontsize=6 if k > 12 else 8,
                            color="white" if matrix[i, j] > top / 2 else "black")
    _save(fig, path)


def resources(report: Mapping[str, Any], path: Path) -> None:
    """Used against available for each resource kind of a synthesis report, in percent,
    with the counts written beside each bar."""
    plt = _pyplot()
    use = {k: v for k, v in report["utilisation"].items() if v["available"]}
    names = list(use)
    pct = [100 * use[k]["used"] / use[k]["available"] for k in names]
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(names) + 1.4), constrained_layout=True)
    colours = ["tab:red" if p > 90 else "tab:blue" for p in pct]
    ax.barh(names, pct, color=colours)
    ax.barh(names, [100] * len(names), fill=False, edgecolor="grey")
    for y, k in enumerate(names):
        ax.text(min(pct[y], 100) + 1.5, y, f"{use[k]['used']:,} / {use[k]['available']:,}",
                va="center", fontsize=9)
    ax.set_xlim(0, 135)
    ax.set_xticks(range(0, 101, 20))
    ax.invert_yaxis()
    timing = report["timing"]
    verdict = "met" if timing["pass"] else "FAILED"
    ax.set_xlabel("used (% of the device)")
    ax.set_title(f"{report['target']}, {report['lanes']} lane(s): Fmax "
                 f"{timing['achieved_mhz']:.1f} MHz for {timing['requested_mhz']:.0f} MHz "
                 f"(timing {verdict})", fontsize=10)
    _save(fig, path)


__all__ = ["confusion", "raster", "resources"]
