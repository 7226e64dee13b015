"""Training augmentations (``scsr.train.loop.augment``): what each one may and may not do."""

from __future__ import annotations

import dataclasses

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scsr.train import TrainConfig
from scsr.train.loop import augment


def _spikes(seed: int, batch: int, steps: int, channels: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand((batch, steps, channels), generator=g) < 0.3).float()


def _recover_shift(x: torch.Tensor, y: torch.Tensor, axis: int, reach: int,
                   block: int) -> int | None:
    """The ``k`` with ``y = x`` shifted by ``k`` along ``axis`` within blocks, if one exists."""
    for k in range(-reach, reach + 1):
        expected = torch.zeros_like(x)
        size = x.shape[axis - 1]
        for target in range(size):
            source = target - k
            if 0 <= source < size and source // block == target // block:
                expected.select(axis - 1, target).copy_(x.select(axis - 1, source))
        if torch.equal(expected, y):
            return k
    return None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), reach=st.integers(0, 3), blocks=st.integers(1, 3),
       bands=st.integers(1, 6))
def test_band_shift_moves_each_sample_by_one_offset_within_its_blocks(seed, reach, blocks,
                                                                       bands) -> None:
    x = _spikes(seed, 4, 5, blocks * bands)
    config = dataclasses.replace(TrainConfig(), band_shift=reach)
    y = augment(x, config, torch.Generator().manual_seed(seed), bands)
    offsets = [_recover_shift(x[b], y[b], 2, reach, bands) for b in range(len(x))]
    assert None not in offsets, "an output is not a band-shifted copy of its input"
    if reach == 0:
        assert torch.equal(x, y)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), reach=st.integers(1, 4))
def test_time_shift_moves_whole_samples_and_zero_fills(seed, reach) -> None:
    x = _spikes(seed, 3, 9, 4)
    y = augment(x, dataclasses.replace(TrainConfig(), shift=reach),
                torch.Generator().manual_seed(seed))
    for b in range(len(x)):
        assert _recover_shift(x[b], y[b], 1, reach, x.shape[1]) is not None


def test_augmentations_are_reproducible_and_drop_only_deletes() -> None:
    x = _spikes(1, 8, 20, 12)
    config = dataclasses.replace(TrainConfig(), shift=2, band_shift=1, drop=0.2)
    first = augment(x, config, torch.Generator().manual_seed(7), 6)
    assert torch.equal(first, augment(x, config, torch.Generator().manual_seed(7), 6))
    dropped = augment(x, dataclasses.replace(TrainConfig(), drop=0.5),
                      torch.Generator().manual_seed(3))
    assert torch.all(dropped <= x) and 0 < dropped.sum() < x.sum()
