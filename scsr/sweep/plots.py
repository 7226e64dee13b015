"""PNG plots of a study, drawn from ``results.csv`` alone (so they can be redrawn from the
CSV kept in the repository): accuracy against weight memory and against LUT4 with the
Pareto front labelled by widths, accuracy heat maps per decay width (with and without QAT),
and saturation against state width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

#: One style for every plot: readable when embedded at page width.
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
         "figure.dpi": 110}


def _num(row: dict[str, str], key: str) -> float | None:
    text = row.get(key, "")
    return float(text) if text not in ("", None) else None


def pareto(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: lower cost (x) and higher accuracy (y)
    at once; ordered by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _label(row: dict[str, str]) -> str:
    return f"{row['weight_bits']},{row['state_bits']},{row['decay_bits']}"


def _front_plot(rows: list[dict[str, str]], cost: str, xlabel: str, title: str, out: Path,
                float_accuracy: float | None) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    series = [("accuracy", "fixed point (export)", "tab:blue", "o")]
    if any(r.get("qat_accuracy") for r in rows):
        series.append(("qat_accuracy", "after QAT", "tab:orange", "s"))
    for number, (key, name, colour, marker) in enumerate(series):
        pts = [(_num(r, cost), 100 * _num(r, key), r) for r in rows
               if _num(r, cost) and _num(r, key) is not None]
        if not pts:
            continue
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, alpha=0.45, color=colour,
                   marker=marker, label=f"{name}: all points")
        front = [pts[i] for i in pareto([(p[0], p[1]) for p in pts])]
        ax.plot([p[0] for p in front], [p[1] for p in front], "-", color=colour, lw=1.5,
                marker=marker, ms=6, label=f"{name}: Pareto front")
        # export labels below their points, QAT labels above; the last one to the left,
        # so that nothing runs off the right edge or over the other series
        dy = 6 if number else -13
        for k, (x, y, r) in enumerate(front):
            last = k == len(front) - 1
            text = _label(r) + (f" P{r['lanes']}" if cost == "lut4" and r.get("lanes") else "")
            ax.annotate(text, (x, y), textcoords="offset points", fontsize=8,
                        xytext=(-6 if last else 6, 6 if last and len(series) == 1 else dy),
                        ha="right" if last else "left",
                        color=colour)
    ax.margins(x=0.06, y=0.08)
    if float_accuracy is not None:
        ax.axhline(100 * float_accuracy, color="grey", ls="--", lw=1,
                   label=f"float model {100 * float_accuracy:.1f} %")
    costs = [_num(r, cost) for r in rows if _num(r, cost)]
    wide = bool(costs) and max(costs) / min(costs) >= 10
    if wide:  # a log axis only where it spans a decade: else its minor labels collide
        ax.set_xscale("log")
    ax.set_xlabel(xlabel + (" (log scale)" if wide else ""))
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title + "  (labels: weight,state,decay bits"
                 + (", P lanes)" if cost == "lut4" else ")"))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def _heatmaps(rows: list[dict[str, str]], decay: str, out: Path) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    mine = [r for r in rows if r["decay_bits"] == decay]
    ws = sorted({int(r["weight_bits"]) for r in mine})
    ss = sorted({int(r["state_bits"]) for r in mine})
    panels = [("accuracy", "no QAT")]
    if any(r.get("qat_accuracy") for r in mine):
        panels.append(("qat_accuracy", "with QAT"))
    fig, axes = plt.subplots(1, len(panels), figsize=(0.75 * len(ws) * len(panels) + 2.5,
                                                      0.42 * len(ss) + 1.8), squeeze=False)
    for ax, (key, name) in zip(axes[0], panels, strict=True):
        grid = np.full((len(ss), len(ws)), np.nan)
        for r in mine:
            value = _num(r, key)
            if value is not None:
                grid[ss.index(int(r["state_bits"])), ws.index(int(r["weight_bits"]))] = 100 * value
        image = ax.imshow(grid, origin="lower", cmap="viridis", vmin=0, vmax=100,
                          aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            if not np.isnan(value):
                ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=7,
                        color="white" if value < 60 else "black")
        ax.set_xticks(range(len(ws)), [str(w) for w in ws])
        ax.set_yticks(range(len(ss)), [str(s) for s in ss])
        ax.set_xlabel("weight bits")
        ax.set_ylabel("state bits")
        ax.set_title(f"accuracy (%), decay bits {decay}, {name}")
        fig.colorbar(image, ax=ax, label="test accuracy (%)", shrink=0.9)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def _saturation(rows: list[dict[str, str]], out: Path) -> None:
    import matplotlib.pyplot as plt

    decays = sorted({int(r["decay_bits"]) for r in rows})
    decay = str(decays[len(decays) // 2])
    mine = [r for r in rows if r["decay_bits"] == decay and _num(r, "sat_i_max") is not None]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for ax, (key, name) in zip(axes, [("sat_i_max", "I saturated"),
                                      ("sat_v_max", "V saturated"),
                                      ("silent_max", "silent neurons")], strict=True):
        for w in sorted({int(r["weight_bits"]) for r in mine}):
            line = sorted((int(r["state_bits"]), 100 * _num(r, key)) for r in mine
                          if int(r["weight_bits"]) == w)
            ax.plot([p[0] for p in line], [p[1] for p in line], marker="o", ms=3,
                    label=f"{w}-bit weights")
        values = [100 * (_num(r, key) or 0) for r in mine]
        ax.set_ylim(0, 1.1 * max([*values, 1.0]))  # fractions: never below 0
        ax.set_xlabel("state bits")
        ax.set_ylabel(f"{name} (%, worst layer)")
        ax.set_title(f"{name}, decay bits {decay}")
        ax.grid(alpha=0.3)
    axes[-1].legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def draw(rows: list[dict[str, str]], out: str | Path,
         float_accuracy: float | None = None) -> list[Path]:
    """Every plot the rows allow into ``out``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    written = []
    with plt.rc_context(STYLE):
        evaluated = [r for r in rows if r.get("accuracy")]
        # one row per point for the memory plot (synthesis repeats a point per lane count)
        seen, points = set(), []
        for r in evaluated:
            if _label(r) not in seen:
                seen.add(_label(r))
                points.append(r)
        if points:
            _front_plot(points, "weight_memory_bits", "weight memory (bits)",
                        "Accuracy against weight memory", out / "accuracy_vs_memory.png",
                        float_accuracy)
            written.append(out / "accuracy_vs_memory.png")
            for decay in sorted({r["decay_bits"] for r in points}, key=int):
                path = out / f"heatmap_decay{decay}.png"
                _heatmaps(points, decay, path)
                written.append(path)
            _saturation(points, out / "saturation.png")
            written.append(out / "saturation.png")
        synthesised = [r for r in evaluated if _num(r, "lut4")]
        for target in sorted({r["target"] for r in synthesised}):
            path = out / f"accuracy_vs_lut4_{target}.png"
            _front_plot([r for r in synthesised if r["target"] == target], "lut4",
                        "LUT4 used", f"Accuracy against logic, {target}", path,
                        float_accuracy)
            written.append(path)
    return written
