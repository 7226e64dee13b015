"""Show what a bundle holds: widths, layers, projections, parameter ranges and the memory
each array needs (elements x bits per element), so you can size hardware before building it.
"""

from __future__ import annotations

import argparse

import numpy as np

from golden_model import Bundle, load_bundle
from golden_model.bundle import LAYER_PARAMS

HELP = "describe a bundle"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", metavar="BUNDLE", help="bundle directory")


def _row(cells: list[str], widths: list[int]) -> str:
    pairs = enumerate(zip(cells, widths, strict=True))
    return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in pairs)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain aligned text table."""
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    lines = [_row(header, widths), _row(["-" * w for w in widths], widths)]
    return "\n".join(lines + [_row(r, widths) for r in rows])


def describe(bundle: Bundle, path: str) -> str:
    """The text ``scsr inspect`` prints."""
    fp = bundle.fixed_point
    out = [
        f"bundle     {path}",
        f"widths     weight_bits={fp.weight_bits} state_bits={fp.state_bits} "
        f"decay_bits={fp.decay_bits}  (weights [{fp.w_min}, {fp.w_max}], I/V "
        f"[{fp.s_min}, {fp.s_max}], theta [{fp.theta_min}, {fp.theta_max}], "
        f"alpha/beta [0, {fp.decay_max}])",
        f"input      {bundle.channels} channels, {bundle.timesteps} timesteps (nominal)",
        f"classes    {len(bundle.classes)}: {', '.join(bundle.classes[:12])}"
        + (" ..." if len(bundle.classes) > 12 else ""),
        "",
    ]
    out.append(table(["layer", "size", "fan-in", "alpha_q", "beta_q", "theta_q", "w_self"], [
        [layer.name, str(layer.size),
         str(sum(bundle.size_of(p.src) for p in bundle.incoming(layer.name))),
         *(_span(bundle.param(layer.name, kind)) for kind in LAYER_PARAMS)]
        for layer in bundle.layers]))
    out.append("")
    out.append(table(["projection", "delay", "shape", "weights", "min..max", "nonzero"], [
        [f"{p.src} -> {p.dst}", str(p.delay), "x".join(map(str, bundle.weights(p).shape)),
         p.weights, _span(bundle.weights(p)),
         f"{np.count_nonzero(bundle.weights(p)) / max(bundle.weights(p).size, 1):.0%}"]
        for p in bundle.projections]))
    out.append("")
    rows, total = [], 0
    for layer in bundle.layers:
        for kind in LAYER_PARAMS:
            rows.append(_memory_row(f"{layer.name}.{kind}", layer.size, fp.bits_of(kind)))
            total += layer.size * fp.bits_of(kind)
    for p in bundle.projections:
        count = bundle.weights(p).size
        rows.append(_memory_row(p.weights, count, fp.weight_bits))
        total += count * fp.weight_bits
    rows.append(["total", "", "", f"{total:,}"])
    out.append(table(["array", "elements", "bits each", "memory bits"], rows))
    return "\n".join(out)


def _span(array: np.ndarray) -> str:
    return f"{int(array.min())}..{int(array.max())}" if array.size else "-"


def _memory_row(name: str, count: int, bits: int) -> list[str]:
    return [name, f"{count:,}", str(bits), f"{count * bits:,}"]


def run(args: argparse.Namespace) -> int:
    print(describe(load_bundle(args.bundle), args.bundle))
    return 0
