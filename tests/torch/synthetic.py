"""Small synthetic spike datasets in the dataset-file layout, for training tests.

Class ``k`` fires a block of channels early and another block late (Poisson rates), so a
model must remember what happened earlier in the sample to tell classes apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scsr.data.store import Dataset, save_dataset


def spikes_for(labels: np.ndarray, classes: int, steps: int, channels: int,
               rng: np.random.Generator) -> np.ndarray:
    block = channels // classes
    rate = np.full((len(labels), steps, channels), 0.02)
    half = steps // 2
    for n, k in enumerate(labels):
        rate[n, :half, k * block:(k + 1) * block] = 0.35
        j = (k + 1) % classes
        rate[n, half:, j * block:(j + 1) * block] = 0.35
    return (rng.random(rate.shape) < rate).astype(np.uint8)


def make_dataset(path: Path, classes: int = 3, channels: int = 12, steps: int = 24,
                 train: int = 48, test: int = 24, seed: int = 0) -> Path:
    """Write a dataset file and return its path."""
    rng = np.random.default_rng(seed)
    train_labels = np.arange(train, dtype=np.int64) % classes
    test_labels = np.arange(test, dtype=np.int64) % classes
    dataset = Dataset(
        train_spikes=spikes_for(train_labels, classes, steps, channels, rng),
        train_labels=train_labels,
        test_spikes=spikes_for(test_labels, classes, steps, channels, rng),
        test_labels=test_labels,
        classes=np.array([f"c{k}" for k in range(classes)]),
        config={"source": "synthetic test set", "timesteps": steps, "seed": seed},
    )
    save_dataset(dataset, path)
    return path
