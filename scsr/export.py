"""Export a trained :class:`~scsr.model.ScsrNet` as a §5 bundle, and check that it works.

Quantisation follows design §4 ("Relation to the float model") through
:func:`scsr.model.quant.quantise_layer`, the very function the QAT forward uses, so the
exported bundle computes exactly what the QAT forward computed (tests hold them equal).
The per-layer scale ``σ_l`` is chosen by :func:`scsr.model.quant.layer_scale`: the largest
weight magnitude of the layer maps to ``w_max``, unless the largest threshold would then
come within a factor 4 of ``theta_max``, in which case ``σ_l`` grows until it does not.
A model trained with ``equalise`` first stretches each neuron's row to the full weight range
(:func:`scsr.model.quant.neuron_stretch`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from golden_model import Bundle, FixedPoint, Layer
from golden_model.bundle import check_arrays
from golden_model.errors import ScsrError

from .model import ScsrNet
from .model.quant import quantise_layer


def to_bundle(model: ScsrNet, fp: FixedPoint, classes: Sequence[str], timesteps: int,
              provenance: Mapping[str, Any] | None = None) -> Bundle:
    """The model's §4 integers at widths ``fp`` as a validated :class:`Bundle`."""
    arrays: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for index, name in enumerate(model.names):
            incoming = model.incoming(name)
            weights, p = model.effective(index)
            q = quantise_layer(weights, p.alpha, p.beta, p.theta, p.w_self, fp,
                               model.config.equalise)
            for (proj, _), w in zip(incoming, q.weights, strict=True):
                arrays[proj.weights] = _ints(w)
            arrays[f"{name}.alpha"] = _ints(q.alpha_q)
            arrays[f"{name}.beta"] = _ints(q.beta_q)
            arrays[f"{name}.theta"] = _ints(q.theta_q)
            arrays[f"{name}.w_self"] = _ints(q.w_self)
    bundle = Bundle(fp, model.config.channels, timesteps,
                    tuple(Layer(n, model.sizes[n]) for n in model.names), model.projections,
                    tuple(classes), {}, dict(provenance or {}))
    return dataclasses.replace(bundle, arrays=check_arrays(bundle, arrays, "<export>"))


def _ints(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy().astype(np.int64)


def check_representable(bundle: Bundle, float_rates: Mapping[str, float],
                        int_rates: Mapping[str, float], where: str) -> None:
    """Refuse widths under which a layer that fires in float goes silent in fixed point,
    or whose thresholds all sit at ``theta_max`` (such neurons can never fire)."""
    fp = bundle.fixed_point
    bits = f"{fp.weight_bits},{fp.state_bits},{fp.decay_bits}"
    for layer in bundle.layers:
        theta = bundle.param(layer.name, "theta")
        if np.all(theta >= fp.theta_max):
            raise ScsrError(where, layer.name, f"every threshold saturates at theta_max = "
                                               f"{fp.theta_max} with bits {bits}: the layer "
                                               "can never fire; use more state_bits")
        if float_rates.get(layer.name, 0.0) > 0 and int_rates.get(layer.name, 0.0) == 0:
            raise ScsrError(where, layer.name, f"goes silent with bits {bits} (it fires at "
                                               f"{float_rates[layer.name]:.2%} in float); use "
                                               "more weight_bits or state_bits")


def load_run(run: str | os.PathLike[str]) -> tuple[ScsrNet, dict[str, Any]]:
    """The model of a run directory's checkpoint (in eval mode) and the checkpoint itself."""
    from .model import ModelConfig
    from .train.checkpoint import NAME, load_checkpoint

    where = Path(run) / NAME
    state = load_checkpoint(where)
    try:
        model = ScsrNet(ModelConfig.from_dict(state["model_config"]))
        model.load_state_dict(state["model"])
    except (ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise ScsrError(where, "model", f"does not fit its model config ({exc})") from None
    return model.eval(), state


def layer_rates(model: ScsrNet, spikes: np.ndarray, bundle: Bundle,
                chunk: int = 128) -> tuple[float, dict[str, float], dict[str, float], np.ndarray]:
    """Run a split through the float model and through the bundle (torch integer path).

    Returns ``(samples, float firing rate per layer, fixed-point firing rate per layer,
    predictions (2, samples): float row then fixed-point row)``.
    """
    from .torch_int import simulate as simulate_int

    float_sum = dict.fromkeys(model.names, 0.0)
    int_sum = dict.fromkeys(model.names, 0.0)
    preds = []
    with torch.no_grad():
        for start in range(0, len(spikes), chunk):
            x = spikes[start:start + chunk]
            out = model(torch.as_tensor(x))
            result = simulate_int(bundle, x, trace=True)
            for name in model.names:
                float_sum[name] += float(out.spikes[name].sum())
                int_sum[name] += float(result.spikes[name].sum())
            preds.append(np.stack([out.counts.argmax(1).numpy(), result.pred]))
    total = {name: len(spikes) * spikes.shape[1] * model.sizes[name] for name in model.names}
    return (len(spikes), {n: float_sum[n] / total[n] for n in model.names},
            {n: int_sum[n] / total[n] for n in model.names}, np.concatenate(preds, axis=1))


def export_run(run: str | os.PathLike[str], fp: FixedPoint, out: str | os.PathLike[str],
               dataset_path: str | None = None) -> dict[str, Any]:
    """``scsr export``: quantise a run, check it on the test split, write the bundle."""
    from golden_model import save_bundle
    from scsr.data.store import load_dataset

    from .train.loop import check_matches

    model, state = load_run(run)
    where = str(Path(run) / "checkpoint.pt")
    dataset_path = dataset_path or state["train_config"]["dataset"]
    dataset = load_dataset(dataset_path)
    check_matches(state, dataset, where)
    bundle = to_bundle(model, fp, state["classes"], dataset.timesteps)
    _, float_rates, int_rates, preds = layer_rates(model, dataset.test_spikes, bundle)
    check_representable(bundle, float_rates, int_rates, "--bits")
    labels = dataset.test_labels
    summary = {
        "bits": f"{fp.weight_bits},{fp.state_bits},{fp.decay_bits}",
        "float_accuracy": float(np.mean(preds[0] == labels)),
        "fixed_accuracy": float(np.mean(preds[1] == labels)),
    }
    provenance = {
        "tool": f"scsr export (scsr-snn {_version()})",
        "dataset": json.loads(state["dataset_config"]),
        "dataset_file": os.fspath(dataset_path),
        "train_config": state["train_config"],
        "model_config": state["model_config"],
        "epochs_trained": int(state["epoch"]),
        "scale_rule": "sigma_l = max(max|W|, max|w_self|) / w_max, raised so that "
                      "max theta <= theta_max / 4",
        "test_samples": len(labels),
        "float_accuracy": summary["float_accuracy"],
        "fixed_accuracy": summary["fixed_accuracy"],
        "firing_rates_float": float_rates,
        "firing_rates_fixed": int_rates,
    }
    save_bundle(dataclasses.replace(bundle, provenance=provenance), out)
    return summary


def _version() -> str:
    from golden_model import __version__

    return __version__
