"""NIR interoperability: ``scsr nir import`` (NIR graph → §5 bundle) and ``scsr nir export``.

Modules: :mod:`.graph` (the HDF5 file: read, flatten, write), :mod:`.discretise` (forward
Euler, both ways), :mod:`.importer` (topology and refusals), :mod:`.exporter`, :mod:`.net`
(the float network between NIR and a bundle, its float simulation and its quantisation).
docs/interop.md has the mapping table, the formulas and the measured agreement.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from golden_model import FixedPoint
from golden_model.errors import ScsrError

from .graph import read_graph, write_graph

#: Random input used to check that imported layers still fire after quantisation.
CHECK_RATE, CHECK_BATCH, CHECK_SEED = 0.1, 32, 0


def import_nir(path: str | os.PathLike[str], fp: FixedPoint, out: str | os.PathLike[str],
               dt: float | None = None, classes: Sequence[str] | None = None,
               equalise: bool = False, timesteps: int | None = None,
               readout_threshold: float | None = None) -> dict[str, Any]:
    """Read a NIR file, quantise it at ``fp`` and write the bundle ``out``; return a summary.

    Refuses (``ScsrError``) what cannot be mapped, and widths under which a layer that fires
    in float on Bernoulli(0.1) input goes silent (the check ``scsr export`` makes).
    """
    from golden_model import save_bundle
    from golden_model.simulate import simulate
    from scsr import export

    from .importer import import_graph
    from .net import float_spikes, to_bundle

    where = os.fspath(path)
    imported = import_graph(read_graph(where), where, dt, classes, timesteps,
                            readout_threshold)
    net = imported.net
    bundle, how = to_bundle(net, fp, equalise, where)
    rng = np.random.default_rng(CHECK_SEED)
    x = (rng.random((CHECK_BATCH, net.timesteps, net.channels)) < CHECK_RATE).astype(np.uint8)
    spikes_float = float_spikes(net, x)
    result = simulate(bundle, x, trace=True)
    float_rates = {n: float(s.mean()) for n, s in spikes_float.items()}
    int_rates = {n: float(s.mean()) for n, s in result.spikes.items()}
    export.check_representable(bundle, float_rates, int_rates, "--bits")
    out_name = bundle.output.name
    float_pred = np.argmax(spikes_float[out_name].sum(axis=1), axis=-1)
    agreement = float(np.mean(float_pred == result.pred))
    provenance = {
        "tool": f"scsr nir import (scsr-snn {export._version()})",
        "nir_file": where,
        "nir_sha256": hashlib.sha256(Path(where).read_bytes()).hexdigest(),
        "dt": imported.dt,
        "dt_source": imported.dt_source,
        "discretisation": "forward Euler: alpha = 1 - dt/tau_syn, beta = 1 - dt/tau_mem, "
                          "inputs x (dt w_in/tau_syn)(dt r/tau_mem); LIF: alpha = 0",
        "layer_nodes": dict(imported.layer_nodes),
        "scale_rule": how,
        "firing_rates_float": float_rates,
        "firing_rates_fixed": int_rates,
        "check_input": f"Bernoulli({CHECK_RATE}), {CHECK_BATCH} x {net.timesteps} steps, "
                       f"seed {CHECK_SEED}",
        "float_fixed_argmax_agreement": agreement,
    }
    import dataclasses

    save_bundle(dataclasses.replace(bundle, provenance=provenance), out)
    return {"bundle": bundle, "dt": imported.dt, "dt_source": imported.dt_source,
            "scale_rule": how, "float_rates": float_rates, "fixed_rates": int_rates,
            "agreement": agreement, "layer_nodes": dict(imported.layer_nodes)}


def export_nir(source: str | os.PathLike[str], out: str | os.PathLike[str],
               dt: float, unit_threshold: bool = False) -> dict[str, Any]:
    """Write a bundle (dequantised, ``σ = 1``) or a run's float model as a NIR file."""
    from .exporter import export_graph
    from .net import from_bundle, from_run

    root = Path(source)
    if (root / "manifest.json").is_file():
        from golden_model import load_bundle

        net = from_bundle(load_bundle(root))
        kind = "bundle"
    elif (root / "checkpoint.pt").is_file():
        net = from_run(root)
        kind = "run"
    else:
        raise ScsrError(root, "", "is neither a bundle (manifest.json) nor a run directory "
                                  "(checkpoint.pt)")
    graph = export_graph(net, dt, unit_threshold)
    write_graph(graph, out)
    return {"kind": kind, "layers": len(net.layers), "projections": len(net.projections),
            "nodes": len(graph.nodes), "edges": len(graph.edges)}


__all__ = ["export_nir", "import_nir", "read_graph", "write_graph"]
