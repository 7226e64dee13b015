"""Small bundles and inputs shared by the board and synthesis tests."""

from __future__ import annotations

import numpy as np

from golden_model import Bundle, FixedPoint
from golden_model.random_bundle import RandomSpec, random_bundle


def tiny_bundle(inputs: int = 6, layers: tuple[int, ...] = (5, 4, 3), seed: int = 1) -> Bundle:
    """A calibrated ScSr net small enough for a bit-level UART simulation in seconds."""
    return random_bundle(RandomSpec(inputs=inputs, layers=layers, fixed_point=FixedPoint(6, 12, 6),
                                    seed=seed, skip=True, self_recurrent=True, timesteps=8))


def spikes(batch: int, steps: int, channels: int, rate: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, steps, channels)) < rate).astype(np.uint8)
