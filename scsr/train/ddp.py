"""Device choice and torch.distributed set-up for ``torchrun`` (DDP).

Under ``torchrun`` the environment holds ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``; we join the
process group with NCCL on GPUs and gloo on CPU. Without it, training is one process.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from golden_model.errors import ScsrError


@dataclass(frozen=True)
class Context:
    """Where this process trains: its rank among ``world`` processes and its device."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        """Rank 0 writes checkpoints, metrics and progress."""
        return self.rank == 0


def choose_device(preference: str, local_rank: int = 0) -> torch.device:
    """``auto`` → CUDA when present, else CPU; ``cuda`` without a GPU is a user error."""
    if preference not in ("auto", "cpu", "cuda"):
        raise ScsrError("--device", preference, "must be auto, cpu or cuda")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ScsrError("--device", "cuda", "no CUDA device is available on this machine")
    if preference != "cpu" and torch.cuda.is_available():
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def setup(preference: str) -> Context:
    """Join the ``torchrun`` process group if there is one; pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = choose_device(preference, local_rank)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return Context(rank, world, device)


def all_sum(ctx: Context, values: list[float]) -> list[float]:
    """Sum a few numbers over all processes (identity for one process)."""
    if ctx.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return t.tolist()


def barrier(ctx: Context) -> None:
    if ctx.world > 1:
        dist.barrier()


def teardown(ctx: Context) -> None:
    """Leave the process group, after freeing what still uses it.

    A ``DistributedDataParallel`` wrapper sits in a reference cycle (its reducer's hooks point
    back at it), so going out of scope does not free it: the cyclic collector does, at some
    later moment, possibly during interpreter shutdown after the group is gone, where gloo's
    threads abort the process ("terminate called without an active exception"). Collecting
    first makes its end happen here, with the group alive.
    """
    if ctx.world > 1 and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
