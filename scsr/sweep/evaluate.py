"""One point of a sweep: export, fixed-point accuracy and diagnostics, QAT, synthesis.

Everything here runs in a worker process (local pool or Dask worker) and returns plain
JSON-able dicts; the parent stores them (:mod:`.cache`). The model, dataset and float
reference of a run are loaded once per process (:func:`context`).

Definitions of the diagnostics (per layer, over the test split, every sample and timestep):

- ``sat_i``/``sat_v``: fraction of neuron-timesteps where ``I`` (``V``) sits at a
  saturation bound ``s_min`` or ``s_max`` of §4 after the update;
- ``silent``: fraction of neurons that never fire on any test sample;
- ``rate``/``rate_float``: mean firing rate (spikes per neuron-timestep) of the bundle
  and of the float model;
- ``divergence``: ``Σ_b |n_b - m_b| / Σ_b m_b`` with ``n_b``/``m_b`` the layer's spike
  count on sample ``b`` in fixed point / float (0 when the float layer is silent too).

Cycles per timestep are design §7's lower bound ``max_l (E_in,l + 1) · ceil(N_l / P)`` with
``E_in,l`` the mean events per timestep into layer ``l`` measured on the test split (layers
pipeline across timesteps, so the slowest core sets the pace); µs per sample is that times
the mean sample length over Fmax.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from golden_model import Bundle
from golden_model.bundle import INPUT, LAYER_PARAMS
from golden_model.errors import ScsrError

from .grid import Point

#: Samples per torch integer call (traces of a chunk stay small).
CHUNK = 256


class Context(NamedTuple):
    """What every point of one (run, dataset) needs, loaded once per process."""

    model: Any  # ScsrNet, eval mode
    state: dict[str, Any]  # the checkpoint
    dataset: Any  # scsr.data.store.Dataset
    float_accuracy: float
    rate_float: dict[str, float]
    counts_float: dict[str, np.ndarray]  # per layer: spikes per test sample (B,)


@functools.lru_cache(maxsize=2)
def context(run: str, data: str) -> Context:
    """Load the run's model and the dataset and run the float model on the test split."""
    import torch

    from scsr.data.store import load_dataset
    from scsr.export import load_run
    from scsr.train.loop import check_matches

    model, state = load_run(run)
    dataset = load_dataset(data)
    check_matches(state, dataset, str(Path(run) / "checkpoint.pt"))
    x = dataset.test_spikes
    counts = {name: [] for name in model.names}
    preds = []
    with torch.no_grad():
        for start in range(0, len(x), CHUNK):
            out = model(torch.as_tensor(x[start:start + CHUNK]))
            preds.append(out.counts.argmax(1).numpy())
            for name in model.names:
                counts[name].append(out.spikes[name].sum(dim=(0, 2)).numpy().astype(np.int64))
    per_sample = {n: np.concatenate(c) for n, c in counts.items()}
    rate = {n: float(per_sample[n].sum()) / (len(x) * x.shape[1] * model.sizes[n])
            for n in model.names}
    accuracy = float(np.mean(np.concatenate(preds) == dataset.test_labels))
    return Context(model, state, dataset, accuracy, rate, per_sample)


def export_point(ctx: Context, point: Point, model: Any = None) -> Bundle:
    """The run (or ``model``) quantised at ``point`` by ``scsr export``'s own code."""
    from scsr.export import to_bundle

    return to_bundle(model if model is not None else ctx.model, point.fixed_point,
                     ctx.state["classes"], ctx.dataset.timesteps)


def memory_bits(bundle: Bundle) -> tuple[int, int]:
    """``(weight memory bits, total memory bits)`` as ``scsr inspect`` counts them:
    elements × bits per element, projections at ``weight_bits``, per-neuron parameters at
    their own widths."""
    fp = bundle.fixed_point
    weights = sum(bundle.weights(p).size * fp.weight_bits for p in bundle.projections)
    params = sum(layer.size * fp.bits_of(kind) for layer in bundle.layers
                 for kind in LAYER_PARAMS)
    return weights, weights + params


def accuracy(bundle: Bundle, ctx: Context) -> float:
    """Fixed-point test accuracy with the batched torch integer path."""
    from scsr.torch_int import simulate

    x = ctx.dataset.test_spikes
    pred = np.concatenate([simulate(bundle, x[s:s + CHUNK]).pred
                           for s in range(0, len(x), CHUNK)])
    return float(np.mean(pred == ctx.dataset.test_labels))


def diagnostics(bundle: Bundle, ctx: Context) -> dict[str, Any]:
    """Accuracy and the per-layer figures of the module docstring, from traced runs."""
    from scsr.torch_int import simulate

    fp = bundle.fixed_point
    x, labels = ctx.dataset.test_spikes, ctx.dataset.test_labels
    names = [layer.name for layer in bundle.layers]
    sat_i = dict.fromkeys(names, 0)
    sat_v = dict.fromkeys(names, 0)
    fired = {layer.name: np.zeros(layer.size, bool) for layer in bundle.layers}
    counts = {n: [] for n in names}
    preds = []
    for start in range(0, len(x), CHUNK):
        result = simulate(bundle, x[start:start + CHUNK], trace=True)
        preds.append(result.pred)
        for n in names:
            sat_i[n] += int(np.count_nonzero((result.i[n] == fp.s_min) | (result.i[n] == fp.s_max)))
            sat_v[n] += int(np.count_nonzero((result.v[n] == fp.s_min) | (result.v[n] == fp.s_max)))
            fired[n] |= result.spikes[n].any(axis=(0, 1))
            counts[n].append(result.spikes[n].sum(axis=(1, 2), dtype=np.int64))
    steps = len(x) * x.shape[1]
    per_sample = {n: np.concatenate(c) for n, c in counts.items()}
    layers = {}
    for layer in bundle.layers:
        n, cells = layer.name, steps * layer.size
        ref = ctx.counts_float[n]
        layers[n] = {
            "sat_i": sat_i[n] / cells, "sat_v": sat_v[n] / cells,
            "silent": float(np.mean(~fired[n])),
            "rate": float(per_sample[n].sum()) / cells, "rate_float": ctx.rate_float[n],
            "divergence": float(np.abs(per_sample[n] - ref).sum() / max(int(ref.sum()), 1)),
        }
    weight_bits, total_bits = memory_bits(bundle)
    events = {INPUT: float(x.sum()) / steps,
              **{n: float(per_sample[n].sum()) / steps for n in names}}
    return {"accuracy": float(np.mean(np.concatenate(preds) == labels)),
            "float_accuracy": ctx.float_accuracy, "layers": layers,
            "weight_memory_bits": weight_bits, "total_memory_bits": total_bits,
            "events_per_step": events, "mean_timesteps": float(x.shape[1])}


def qat_bundle(ctx: Context, run: str, data: str, point: Point, epochs: int,
               seed: int) -> Bundle:
    """Fine-tune the run's checkpoint for ``epochs`` QAT epochs at ``point`` with ``scsr
    train``'s own loop (resumed from a copy of the checkpoint, so the run's optimiser and
    schedule continue; deterministic for ``seed``), and export the result at ``point``."""
    from scsr.export import load_run
    from scsr.train import TrainConfig, train

    saved = TrainConfig.from_checkpoint(ctx.state["train_config"], run)
    done = int(ctx.state["epoch"])
    config = TrainConfig.from_dict({**saved.to_dict(), "dataset": data, "device": "cpu",
                                    "bits": list(point), "epochs": done + epochs,
                                    "qat_epochs": epochs, "seed": seed}, "--qat-epochs")
    with tempfile.TemporaryDirectory(prefix="scsr-qat-") as tmp, \
            open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
        # the loop's per-epoch bars would interleave with the sweep's own
        shutil.copy(Path(run) / "checkpoint.pt", Path(tmp) / "checkpoint.pt")
        train(config, Path(tmp), resume=True)
        model, _ = load_run(tmp)
    return export_point(ctx, point, model)


def cycles_per_step(bundle: Bundle, events: dict[str, float], lanes: int) -> float:
    """Design §7's lower bound, slowest core: ``max_l (E_in + 1) · ceil(N / P)``."""
    return max((sum(events[p.src] for p in bundle.incoming(layer.name)) + 1)
               * math.ceil(layer.size / lanes) for layer in bundle.layers)


def synthesis(bundle: Bundle, target_name: str, lanes: int, events: dict[str, float],
              mean_steps: float, work: Path) -> dict[str, Any]:
    """Fit check, then Yosys + nextpnr through :func:`rtl.synth.synthesize`; a refusal or a
    tool failure is a result (``error``), not an exception."""
    from rtl.config import NetConfig
    from rtl.fit import check_fits
    from rtl.platforms import get_target
    from rtl.synth import SynthRequest, synthesize

    target = get_target(target_name)
    cycles = cycles_per_step(bundle, events, lanes)
    out: dict[str, Any] = {"target": target_name, "lanes": lanes,
                           "cycles_per_step": round(cycles, 3)}
    reasons = check_fits(NetConfig.from_bundle(bundle, lanes), target)
    if reasons:
        return out | {"error": "fit check: " + "; ".join(reasons)}
    request = SynthRequest(target, lanes, target.default_clock_mhz, seed=1, baud=1_000_000)
    try:
        report = synthesize(bundle, "<sweep>", request, work / f"{target_name}-p{lanes}")
    except ScsrError as exc:
        return out | {"error": "synthesis: " + str(exc).splitlines()[0]}
    use = report["utilisation"]
    fmax = report["timing"]["achieved_mhz"]
    return out | {kind: use[kind]["used"] for kind in ("lut4", "ff", "bram", "spram", "dsp")} | {
        "fmax_mhz": fmax, "timing_pass": bool(report["timing"]["pass"]),
        "us_per_sample": round(cycles * mean_steps / fmax, 3)}


def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """Worker entry: compute the pieces of one point the parent's cache lacks.

    ``task`` holds ``run``, ``data``, ``point`` (W, S, F), ``need`` (any of ``eval``,
    ``qat``), ``lanes`` to synthesise (empty for none), ``target``, ``qat_epochs``,
    ``seed`` and, when the evaluation is already cached, its ``events_per_step`` and
    ``mean_timesteps``. Returns ``{"eval": {...}, "bundle": Bundle, "qat": {...},
    "qat_bundle": Bundle, "synth": {lanes: {...}}}`` with only the pieces asked for; a
    user-level error of one piece (:class:`ScsrError`) is that piece's ``error``.
    """
    import torch

    torch.set_num_threads(1)
    ctx = context(task["run"], task["data"])
    point = Point(*task["point"])
    bundle = export_point(ctx, point)
    out: dict[str, Any] = {}
    events, steps = task.get("events_per_step"), task.get("mean_timesteps")
    if "eval" in task["need"]:
        out["eval"], out["bundle"] = diagnostics(bundle, ctx), bundle
        events, steps = out["eval"]["events_per_step"], out["eval"]["mean_timesteps"]
    if "qat" in task["need"]:
        try:
            tuned = qat_bundle(ctx, task["run"], task["data"], point, task["qat_epochs"],
                               task["seed"])
            out["qat"], out["qat_bundle"] = {"accuracy": accuracy(tuned, ctx)}, tuned
        except ScsrError as exc:
            out["qat"] = {"error": f"QAT: {exc}"}
    if task["lanes"]:
        if events is None:  # the evaluation runs in another task: measure the rates here
            found = diagnostics(bundle, ctx)
            events, steps = found["events_per_step"], found["mean_timesteps"]
        with tempfile.TemporaryDirectory(prefix="scsr-sweep-synth-") as tmp:
            out["synth"] = {lanes: synthesis(bundle, task["target"], lanes, events, steps,
                                             Path(tmp)) for lanes in task["lanes"]}
    return out
