"""The training loop of ``scsr train``: BIP + QAT, deterministic, resumable, DDP-ready.

- Loss: cross-entropy on the output spike counts times ``logit_scale`` (the readout of §3;
  targets smoothed by ``label_smoothing``); prediction is ``argmax(counts)`` with ties to
  the lowest index, as in §4. ``hidden_drop`` (locked dropout) and ``weight_decay`` (AdamW)
  regularise; both are training-only, the exported network does not know them.
- The first ``epochs - qat_epochs`` epochs train the float model; the rest train through the
  QAT forward at ``bits``, so the fixed-point model is what was trained last.
- Determinism: initialisation, shuffling and augmentation draw from generators seeded by
  ``seed`` and the epoch/batch index, so a run resumed from a checkpoint continues exactly
  as an uninterrupted one, and DDP with ``P`` processes sees the same batches as one process.
- With ``ema`` > 0 an exponential moving average of the parameters is kept beside them;
  it is what gets evaluated, checkpointed as ``model`` and exported (the trained
  parameters travel as ``trained_model``, for ``--resume``).
- After every epoch rank 0 evaluates the test split (float and fixed point) and replaces
  ``checkpoint.pt``, ``metrics.json``/``.csv`` and ``curve.png`` atomically. A non-finite
  loss or gradient stops the run with a clear error; the last good checkpoint stays.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.functional import cross_entropy

from golden_model import progress
from golden_model.atomic import remove_leftovers
from golden_model.errors import ScsrError
from scsr.data.store import Dataset, load_dataset
from scsr.model import ModelConfig, NetOutput, ScsrNet

from . import ddp
from .checkpoint import NAME, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .metrics import FILES as RUN_FILES
from .metrics import plot_curves, write_metrics

EVAL_BATCH = 128
#: Samples the initial weights are calibrated on (:meth:`ScsrNet.calibrate`).
CALIBRATION_BATCH = 32


def model_config(config: TrainConfig, dataset: Dataset) -> ModelConfig:
    """The model a training config asks for, sized for ``dataset``."""
    return config.sized(dataset.channels, len(dataset.classes))


def _random_shift(x: torch.Tensor, axis: int, reach: int, block: int,
                  g: torch.Generator) -> torch.Tensor:
    """Shift each sample along ``axis`` by a random ``k ∈ [-reach, reach]``, zero-filled, within
    consecutive blocks of ``block`` positions (nothing crosses a block edge)."""
    shifts = torch.randint(-reach, reach + 1, (x.shape[0],), generator=g)
    position = torch.arange(x.shape[axis])
    source = position[None, :] - shifts[:, None]
    valid = (source >= 0) & (source < x.shape[axis]) & (
        source.div(block, rounding_mode="floor") == (position // block)[None, :])
    shape = [x.shape[0], 1, 1]
    shape[axis] = x.shape[axis]
    index = source.clamp(0, x.shape[axis] - 1).reshape(shape).expand_as(x)
    return torch.gather(x, axis, index) * valid.reshape(shape).to(x.dtype)


def augment(x: torch.Tensor, config: TrainConfig, g: torch.Generator,
            bands: int | None = None) -> torch.Tensor:
    """Random time shift, band shift, spike deletion and spurious spikes of ``(B, T, C)``.

    The band shift moves every channel of a sample up or down by the same number of bands
    (zero-filled, within each block of ``bands`` channels, e.g. the ON and OFF halves of a
    delta code): on mel-ordered channels that is a vocal-tract-length perturbation, the main
    difference between an unseen speaker and the training ones."""
    if config.shift > 0:
        x = _random_shift(x, 1, config.shift, x.shape[1], g)
    if config.band_shift > 0:
        x = _random_shift(x, 2, config.band_shift, bands or x.shape[2], g)
    if config.drop > 0:
        x = x * (torch.rand(x.shape, generator=g) >= config.drop).to(x.dtype)
    if config.noise > 0:
        x = torch.maximum(x, (torch.rand(x.shape, generator=g) < config.noise).to(x.dtype))
    return x


def hidden_keep(model: ScsrNet, batch: int, p: float,
                g: torch.Generator) -> dict[str, torch.Tensor]:
    """Locked-dropout factors for :meth:`ScsrNet.forward`'s ``keep``: per sample and hidden
    neuron, 0 with probability ``p`` and ``1/(1-p)`` otherwise, for every timestep."""
    if p <= 0:
        return {}
    return {name: (torch.rand((batch, model.sizes[name]), generator=g) >= p).float() / (1 - p)
            for name in model.names[:-1]}


def frequency_bands(dataset: Dataset) -> int:
    """Channels per block of frequency-ordered bands (the front end's channel count when the
    encoder repeats it, as ``delta``'s ON/OFF halves do; else every channel is one band)."""
    front = (dataset.config.get("front_end") or {}).get("channels")
    if isinstance(front, int) and front > 0 and dataset.channels % front == 0:
        return front
    return dataset.channels


def rate_penalty(out: NetOutput, config: TrainConfig) -> torch.Tensor | float:
    """``rate_reg ·`` the squared distance of each hidden layer's mean firing rate from the
    band ``[rate_low, rate_high]``: a silent layer passes no gradient to the ones below it,
    a saturated one carries no information."""
    if config.rate_reg <= 0:
        return 0.0
    hidden = list(out.spikes.values())[:-1]
    rates = torch.stack([s.mean() for s in hidden]) if hidden else torch.zeros(0)
    below = (config.rate_low - rates).clamp(min=0)
    above = (rates - config.rate_high).clamp(min=0)
    return config.rate_reg * ((below / config.rate_low) ** 2 + (above / config.rate_high) ** 2
                              ).sum()


def evaluate(model: ScsrNet, spikes: np.ndarray, labels: np.ndarray, quant: bool,
             device: torch.device) -> float:
    """Accuracy of ``argmax(counts)`` on a split (float or fixed-point forward)."""
    correct = 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(spikes), EVAL_BATCH):
            x = torch.as_tensor(spikes[start:start + EVAL_BATCH], device=device)
            counts = model(x, quant=quant).counts
            pred = counts.argmax(dim=1).cpu().numpy()
            correct += int(np.sum(pred == labels[start:start + EVAL_BATCH]))
    model.train()
    return correct / len(spikes)


def check_matches(state: dict[str, Any], dataset: Dataset, where: str) -> None:
    """Refuse a dataset whose channels or classes differ from a checkpoint's."""
    saved = ModelConfig.from_dict(state["model_config"])
    if saved.channels != dataset.channels:
        raise ScsrError(where, "model_config.channels", f"the run was trained on "
                        f"{saved.channels} input channels but the dataset has "
                        f"{dataset.channels}")
    if list(state["classes"]) != [str(c) for c in dataset.classes]:
        ours, theirs = [str(c) for c in dataset.classes], list(state["classes"])
        if len(ours) != len(theirs):
            detail = f"{len(ours)} classes, the run has {len(theirs)}"
        else:
            k = next(k for k, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b)
            detail = f"class {k} is {ours[k]!r}, the run's is {theirs[k]!r}"
        raise ScsrError(where, "classes", f"the dataset's classes differ from the run's "
                                          f"({detail})")


def _finite_everywhere(ctx: ddp.Context, finite: bool) -> bool:
    """Whether no process saw a non-finite value (every process gets the same answer)."""
    return ddp.all_sum(ctx, [0.0 if finite else 1.0])[0] == 0


def _nonfinite(config: TrainConfig, epoch: int, batch: int, what: str) -> ScsrError:
    """The one clear error that stops every process on a non-finite value; the checkpoint
    on disk (end of the previous epoch) is the last good one and stays."""
    last = f"epoch {epoch}" if epoch else "none yet"
    return ScsrError(config.dataset, f"epoch {epoch + 1}, batch {batch + 1}",
                     f"{what} became NaN/infinite; training stopped (last good "
                     f"checkpoint: {last}); try a smaller --lr, or --set "
                     f"skip_nonfinite=N to skip up to N such batches (now "
                     f"{config.skip_nonfinite})")


def make_optimizer(model: ScsrNet, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam over two groups: the synaptic weights at ``lr``, the intrinsic parameters (α, β,
    θ, ``w_self``) at ``lr · intrinsic_lr``. With ``weight_decay`` it is AdamW, decaying the
    weights only: shrinking θ or the time constants towards 0 is not a prior anyone wants."""
    intrinsic = [p for p in model.neurons.parameters() if p.requires_grad]
    weights = [p for p in model.weights if p.requires_grad]
    groups: list[dict[str, Any]] = [{"params": weights, "weight_decay": config.weight_decay}]
    if intrinsic:
        groups.append({"params": intrinsic, "lr": config.lr * config.intrinsic_lr,
                       "weight_decay": 0.0})
    betas = (0.9, config.adam_beta2)
    if config.weight_decay > 0:
        return torch.optim.AdamW(groups, lr=config.lr, betas=betas)
    return torch.optim.Adam(groups, lr=config.lr, betas=betas)  # as every run before AdamW


def train(config: TrainConfig, run: Path, resume: bool = False,
          stop_after: int | None = None) -> list[dict[str, Any]]:
    """Train (or continue training) into the run directory ``run``; returns the metrics.

    ``stop_after`` ends the process after that many epochs in all (a time-boxed job); the
    run continues with ``resume`` exactly as if it had not stopped.
    """
    ctx = ddp.setup(config.device)
    try:
        return _train(config, run, resume, ctx, stop_after or config.epochs)
    finally:
        ddp.teardown(ctx)


def is_qat(config: TrainConfig, epoch: int) -> bool:
    """Whether ``epoch`` (from 0) trains through the QAT forward: the last ``qat_epochs``."""
    return epoch >= config.epochs - config.qat_epochs


@dataclass
class _Run:
    """What one training run works on: settings, data, the model and its optimiser state.

    ``rows`` (the metrics so far) and ``skipped`` (updates skipped on non-finite values)
    grow as it trains; everything else is fixed once it is built.
    """

    config: TrainConfig
    ctx: ddp.Context
    dataset: Dataset
    path: Path
    cfg: ModelConfig
    model: ScsrNet
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    average: torch.optim.swa_utils.AveragedModel | None
    net: torch.nn.Module  # the model, or the model wrapped for DDP
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for p in self.model.parameters() if p.requires_grad]

    @property
    def judged(self) -> ScsrNet:
        """What is evaluated, checkpointed as ``model`` and exported (the average with ema)."""
        return self.model if self.average is None else self.average.module


def _train(config: TrainConfig, run: Path, resume: bool, ctx: ddp.Context,
           stop_after: int) -> list[dict[str, Any]]:
    dataset = load_dataset(config.dataset)
    _claim(run, resume, ctx)
    if config.batch % ctx.world:
        raise ScsrError("--batch", str(config.batch), f"must be a multiple of the {ctx.world} "
                                                       "processes")
    state = _build(config, dataset, run, ctx, calibrate=not resume)
    start = _restore(state) if resume else 0
    if ctx.world > 1:
        state.net = torch.nn.parallel.DistributedDataParallel(
            state.model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    for epoch in range(start, min(config.epochs, stop_after)):
        began = time.perf_counter()
        totals = ddp.all_sum(ctx, _epoch(state, epoch))
        if ctx.main:
            _record(state, epoch, totals, time.perf_counter() - began)
        ddp.barrier(ctx)
    return state.rows


def _claim(run: Path, resume: bool, ctx: ddp.Context) -> None:
    """Refuse to start over a run (``--resume`` continues one), and clear what a kill cut
    short left behind, so that the files in ``run`` are always one epoch's."""
    if not resume and (run / NAME).exists():
        raise ScsrError(run, "", "already holds a training run; pass --resume to continue it "
                                 "or choose another --out")
    if ctx.main:
        for name in (NAME, *RUN_FILES):
            remove_leftovers(run / name)


def _build(config: TrainConfig, dataset: Dataset, run: Path, ctx: ddp.Context,
           calibrate: bool) -> _Run:
    """The seeded model (calibrated on a first batch for a new run), its optimiser, the
    cosine schedule and the parameter average, in the order that fixes the random draws."""
    torch.manual_seed(config.seed)
    cfg = model_config(config, dataset)
    model = ScsrNet(cfg).to(ctx.device)
    if config.init_rate > 0 and calibrate:
        first = torch.randperm(len(dataset.train_spikes), generator=torch.Generator()
                               .manual_seed(config.seed))[:CALIBRATION_BATCH].sort().values
        model.calibrate(torch.as_tensor(dataset.train_spikes[first.numpy()],
                                        device=ctx.device), config.init_rate)
    optimizer = make_optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(config.epochs, 1), eta_min=0.05 * config.lr)
    average = (torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema))
        if config.ema > 0 else None)
    return _Run(config, ctx, dataset, run, cfg, model, optimizer, scheduler, average, model)


def _restore(state: _Run) -> int:
    """Load the checkpoint of ``state.path`` into the run; returns the epochs it holds."""
    where = state.path / NAME
    saved = load_checkpoint(where)
    check_matches(saved, state.dataset, str(where))
    state.model.load_state_dict(saved["model" if state.average is None else "trained_model"])
    if state.average is not None:
        state.average.module.load_state_dict(saved["model"])
        state.average.n_averaged.fill_(int(saved["ema_steps"]))
    state.optimizer.load_state_dict(saved["optimizer"])
    state.scheduler.load_state_dict(saved["scheduler"])
    state.rows = list(saved["metrics"])
    state.skipped = int(state.rows[-1].get("skipped_updates", 0)) if state.rows else 0
    return int(saved["epoch"])


def _epoch(state: _Run, epoch: int) -> list[float]:
    """Train one epoch (float or QAT) on this process's share of every batch; returns its
    loss sum, correct count and samples. Order and augmentation are drawn from generators
    seeded by (seed, epoch, batch), so a resumed run sees the same batches."""
    config, ctx, dataset = state.config, state.ctx, state.dataset
    quant = is_qat(config, epoch)
    spikes, labels = torch.as_tensor(dataset.train_spikes), torch.as_tensor(dataset.train_labels)
    bands = frequency_bands(dataset)
    order = torch.randperm(len(spikes), generator=torch.Generator().manual_seed(
        config.seed * 1_000_003 + epoch))
    totals = [0.0, 0.0, 0.0]  # loss sum, correct, samples
    bar = progress.bar(range(math.ceil(len(spikes) / config.batch)),
                       desc=f"epoch {epoch + 1}/{config.epochs}" + (" (QAT)" if quant else ""),
                       unit="batch", disable=not ctx.main, leave=False)
    for b in bar:
        index = order[b * config.batch:(b + 1) * config.batch]
        g = torch.Generator().manual_seed((config.seed * 1_000_003 + epoch) * 65_537 + b)
        x = augment(spikes[index], config, g, bands)
        keep = hidden_keep(state.model, len(index), config.hidden_drop, g)
        shard = torch.tensor_split(torch.arange(len(index)), ctx.world)[ctx.rank]
        x, y = x[shard].to(ctx.device), labels[index][shard].to(ctx.device)
        keep = {name: k[shard].to(ctx.device) for name, k in keep.items()}
        done = _step(state, x, y, keep, quant, (epoch, b))
        if done is None:
            continue
        totals = [totals[0] + done[0] * len(y), totals[1] + done[1], totals[2] + len(y)]
        bar.set_postfix(loss=f"{totals[0] / totals[2]:.3f}", acc=f"{totals[1] / totals[2]:.1%}")
    bar.close()
    state.scheduler.step()
    return totals


def _step(state: _Run, x: torch.Tensor, y: torch.Tensor, keep: dict[str, torch.Tensor],
          quant: bool, at: tuple[int, int]) -> tuple[float, int] | None:
    """One update on a batch; returns its mean loss and correct count, or ``None`` when
    its loss or gradients were not finite on some process and ``skip_nonfinite`` still
    allows skipping it (every process skips alike, so DDP stays in step)."""
    config, ctx, params = state.config, state.ctx, state.params
    out = state.net(x, quant=quant, keep=keep)
    loss = (cross_entropy(out.counts * config.logit_scale, y,
                          label_smoothing=config.label_smoothing) + rate_penalty(out, config))
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if not _finite_everywhere(ctx, bool(torch.isfinite(loss)) and all(
            bool(torch.isfinite(p.grad).all()) for p in params if p.grad is not None)):
        if state.skipped >= config.skip_nonfinite:
            raise _nonfinite(config, *at, "loss or gradients")
        state.skipped += 1
        if ctx.main:
            progress.write(f"epoch {at[0] + 1}, batch {at[1] + 1}: loss or gradients "
                           f"NaN/infinite; update skipped ({state.skipped} of "
                           f"{config.skip_nonfinite} allowed)")
        return None
    if config.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
    state.optimizer.step()
    if not _finite_everywhere(ctx, all(bool(torch.isfinite(p).all()) for p in params)):
        raise _nonfinite(config, *at, "parameters")
    if state.average is not None:
        state.average.update_parameters(state.model)
    return loss.item(), int((out.counts.argmax(1) == y).sum())


def _record(state: _Run, epoch: int, totals: list[float], seconds: float) -> None:
    """Rank 0 after an epoch: evaluate the test split (float and fixed point), then replace
    the checkpoint, the metrics and the curve, and print one line."""
    dataset, judged = state.dataset, state.judged
    row = {
        "epoch": epoch + 1, "mode": "qat" if is_qat(state.config, epoch) else "float",
        "train_loss": totals[0] / totals[2], "train_accuracy": totals[1] / totals[2],
        "test_accuracy_float": evaluate(judged, dataset.test_spikes, dataset.test_labels,
                                        False, state.ctx.device),
        "test_accuracy_fixed": evaluate(judged, dataset.test_spikes, dataset.test_labels,
                                        True, state.ctx.device),
        "lr": state.optimizer.param_groups[0]["lr"],
        "seconds": round(seconds, 3),
        "skipped_updates": state.skipped,
    }
    state.rows.append(row)
    _save(state, epoch + 1)
    progress.write(f"epoch {epoch + 1}: loss {row['train_loss']:.4f}, train "
                   f"{row['train_accuracy']:.1%}, test float "
                   f"{row['test_accuracy_float']:.1%}, fixed "
                   f"{row['test_accuracy_fixed']:.1%} ({row['seconds']:.1f} s)")


def _save(state: _Run, epochs: int) -> None:
    """Replace the checkpoint (enough to resume bit-exactly), metrics and curve of the run."""
    config, cfg, dataset = state.config, state.cfg, state.dataset
    averaged = {} if state.average is None else {
        "trained_model": state.model.state_dict(), "ema_steps": int(state.average.n_averaged)}
    save_checkpoint(state.path / NAME, {
        "epoch": epochs, "model": state.judged.state_dict(), **averaged,
        "optimizer": state.optimizer.state_dict(), "scheduler": state.scheduler.state_dict(),
        "model_config": cfg.to_dict(), "train_config": config.to_dict(),
        "classes": [str(c) for c in dataset.classes],
        "dataset_config": json.dumps(dataset.config, sort_keys=True),
        "metrics": state.rows,
    })
    write_metrics(state.path, state.rows, {"train_config": config.to_dict(),
                                           "model_config": cfg.to_dict(),
                                           "processes": state.ctx.world,
                                           "device": str(state.ctx.device)})
    plot_curves(state.path, state.rows, f"{cfg.preset}, {dataset.channels} ch")
