"""How much accuracy a trained run keeps in fixed point under each quantiser, without QAT.

For one run directory and a dataset file, the test accuracy of the float forward, of the
fixed-point forward with one scale per layer (``equalise`` off), and with the per-neuron
stretch (``equalise`` on, :func:`scsr.model.quant.neuron_stretch`). Both fixed-point numbers
are what an exported bundle computes (the QAT forward is the bundle, bit for bit). Also the
per-layer resolution each quantiser leaves: the median over neurons of the largest integer
weight of a row, and the fraction of weights rounded to 0.

The figures in ``docs/history.md`` (84.4 % fixed point with one scale per layer, 92.8 % with
the stretch) came from a digits run trained 12 epochs in float (``--set qat_epochs=0 --set
intrinsic_lr=1.0``):

    .venv/bin/python -m benchmarks.quantiser RUN DATA.npz --out build/bench/quantiser.json
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from golden_model.atomic import write_json


def resolution(model: Any) -> dict[str, dict[str, float]]:
    """Per layer: median row peak of ``|W_q|`` and the fraction of zero weights."""
    import torch

    from scsr.model.quant import quantise_layer

    out = {}
    with torch.no_grad():
        for index, name in enumerate(model.names):
            weights, p = model.effective(index)
            q = quantise_layer(weights, p.alpha, p.beta, p.theta, p.w_self,
                               model.config.fixed_point, model.config.equalise)
            rows = torch.cat(q.weights, dim=1).abs()
            out[name] = {"median_row_peak": float(rows.amax(dim=1).median()),
                         "zero_fraction": float((rows == 0).float().mean())}
    return out


def measure(run: str, data_path: str) -> dict[str, Any]:
    import torch

    from scsr.data.store import load_dataset
    from scsr.export import load_run
    from scsr.train.loop import evaluate

    model, _ = load_run(run)
    data = load_dataset(data_path)
    cpu = torch.device("cpu")
    x, y = data.test_spikes, data.test_labels
    result: dict[str, Any] = {"run": run, "dataset": data_path, "test_samples": len(y),
                              "bits": list(model.config.to_dict()["bits"]),
                              "float": evaluate(model, x, y, False, cpu)}
    for equalise in (False, True):
        model.config = dataclasses.replace(model.config, equalise=equalise)
        key = "stretch" if equalise else "one_scale"
        result[key] = {"fixed": evaluate(model, x, y, True, cpu), "layers": resolution(model)}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory (scsr train --out)")
    parser.add_argument("data", help="dataset file whose test split is scored")
    parser.add_argument("--out", default="build/bench/quantiser.json", help="JSON to write")
    args = parser.parse_args()
    result = measure(args.run, args.data)
    write_json(args.out, result)
    print(f"quantiser: float {result['float']:.2%}, fixed one scale per layer "
          f"{result['one_scale']['fixed']:.2%}, with the per-neuron stretch "
          f"{result['stretch']['fixed']:.2%} (bits {result['bits']}) -> {args.out}")
    for name in result["stretch"]["layers"]:
        a, b = result["one_scale"]["layers"][name], result["stretch"]["layers"][name]
        print(f"  {name}: median row peak {a['median_row_peak']:.0f} -> "
              f"{b['median_row_peak']:.0f}, zero weights {a['zero_fraction']:.1%} -> "
              f"{b['zero_fraction']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
