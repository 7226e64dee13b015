"""One torch thread per test process: the models here are tiny, and intra-op threads on a
machine that runs two pytest workers only fight each other (10x slower, measured)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    torch.set_num_threads(1)
