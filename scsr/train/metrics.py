"""Per-epoch metrics as JSON and CSV, and the training-curve PNG (all written atomically)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from golden_model.atomic import atomic_file

#: The files besides the checkpoint that every epoch rewrites in a run directory.
FILES = ("metrics.json", "metrics.csv", "curve.png")

COLUMNS = ("epoch", "mode", "train_loss", "train_accuracy", "test_accuracy_float",
           "test_accuracy_fixed", "lr", "seconds", "skipped_updates")


def write_metrics(run: Path, rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> None:
    """``metrics.json`` (``meta`` plus the rows) and ``metrics.csv`` (the rows)."""
    with atomic_file(run / "metrics.json") as handle:
        handle.write(json.dumps({**meta, "epochs": list(rows)}, indent=2).encode())
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: row.get(k) for k in COLUMNS} for row in rows)
    with atomic_file(run / "metrics.csv") as handle:
        handle.write(text.getvalue().encode())


def plot_curves(run: Path, rows: Sequence[dict[str, Any]], title: str) -> None:
    """``curve.png``: loss and accuracies (train, test float, test fixed point) per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5), constrained_layout=True)
    ax_loss.plot(epochs, [r["train_loss"] for r in rows], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title=title)
    for key, label in (("train_accuracy", "train"), ("test_accuracy_float", "test, float"),
                       ("test_accuracy_fixed", "test, fixed point")):
        ax_acc.plot(epochs, [100 * r[key] for r in rows], marker="o", label=label)
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(0, 100))
    ax_acc.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    with atomic_file(run / "curve.png") as handle:
        handle.write(buffer.getvalue())
