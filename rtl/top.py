"""The network top generated from a bundle, and Verilog generation for it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from golden_model.bundle import INPUT

from .config import NetConfig
from .core import LayerCore, load_signature
from .layouts import input_layout, result_layout, trace_layout
from .readout import Readout
from .router import SkipRouter


class NetworkTop(wiring.Component):
    """One :class:`~rtl.core.LayerCore` and :class:`~rtl.router.SkipRouter` per layer, the
    event fan-out between them and a :class:`~rtl.readout.Readout`.

    Members
    -------
    i_events : In(stream(input_layout))
        Input channel events; each timestep closed by ``eot`` (``last`` on a sample's end).
    o_result : Out(stream(result_layout))
        Per sample, ``K`` counts then the prediction.
    trace_<layer> : Out(stream(trace_layout)), per layer (``ready`` ignored)
        Simulation readback of every updated word (see :class:`~rtl.core.LayerCore`).
    load_<layer> : In(load_signature), per layer, only when ``net.loadable``
        Writes that core's weight and parameter memories (:func:`~rtl.core.load_signature`).

    Layers pipeline across timesteps: a core starts timestep ``t + 1`` as soon as its
    sources have delivered it, while later cores still work on ``t``.
    """

    def __init__(self, net: NetConfig) -> None:
        self.net = net
        members = {
            "i_events": In(stream.Signature(input_layout(net))),
            "o_result": Out(stream.Signature(result_layout(net))),
        }
        for core in net.cores:
            members[f"trace_{core.name}"] = Out(stream.Signature(trace_layout(core)))
        if net.loadable:
            members |= {f"load_{core.name}": In(load_signature(core)) for core in net.cores}
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        net = self.net
        cores, routers = {}, {}
        for cfg in net.cores:
            cores[cfg.name] = m.submodules[f"core_{cfg.name}"] = LayerCore(
                cfg, net.bundle, net.loadable, net.preload)
            if net.loadable:
                wiring.connect(m, top=wiring.flipped(getattr(self, f"load_{cfg.name}")),
                               core=cores[cfg.name].load)
            routers[cfg.name] = m.submodules[f"router_{cfg.name}"] = SkipRouter(cfg)
            wiring.connect(m, router=routers[cfg.name].o_rows, core=cores[cfg.name].i_rows)
            m.d.comb += cores[cfg.name].i_starved.eq(routers[cfg.name].o_starved)
            wiring.connect(m, core=cores[cfg.name].trace,
                           top=wiring.flipped(getattr(self, f"trace_{cfg.name}")))
        m.submodules.readout = readout = Readout(net)
        wiring.connect(m, readout=readout.o_result, top=wiring.flipped(self.o_result))

        producers = {INPUT: self.i_events} | {name: c.o_events for name, c in cores.items()}
        for name, producer in producers.items():
            consumers = [getattr(routers[dst], f"i_src{k}") for dst, k in net.consumers(name)]
            if name == net.bundle.output.name:
                consumers.append(readout.i_events)
            broadcast(m, producer, consumers)
        return m


def broadcast(m: Module, producer: stream.Interface, consumers: list) -> None:
    """Fan one event stream out to several consumers: a beat moves when all are ready.

    A consumer's ``valid`` includes everybody's ``ready`` so that no consumer takes a beat
    twice; every consumer here is a FIFO write side whose ``ready`` does not look at
    ``valid``, so this forms no combinational loop.
    """
    all_ready = 1
    for consumer in consumers:
        all_ready = all_ready & consumer.ready
    m.d.comb += producer.ready.eq(all_ready)
    for consumer in consumers:
        m.d.comb += [consumer.payload.eq(producer.payload),
                     consumer.valid.eq(producer.valid & all_ready)]


class Harness(wiring.Component):
    """Several networks side by side in one design (``n0``, ``n1``, …), so that one
    simulator build covers a whole regression."""

    def __init__(self, nets: list[NetConfig]) -> None:
        self.tops = [NetworkTop(net) for net in nets]
        super().__init__({f"n{k}": Out(top.signature) for k, top in enumerate(self.tops)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        for k, top in enumerate(self.tops):
            m.submodules[f"net{k}"] = top
            wiring.connect(m, wiring.flipped(getattr(self, f"n{k}")), top)
        return m


def to_verilog(design: wiring.Component, name: str) -> str:
    """Verilog of a component, reproducible (Amaranth's built-in Yosys)."""
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    return verilog.convert(design, name=name, emit_src=False)


def write_memory_files(net: NetConfig, directory: Path) -> list[str]:
    """Write one ``$readmemh`` file per core memory with contents (weights, per-neuron
    parameters per kind), lane 0 in the low bits; returns the file names."""
    names = []
    for cfg in net.cores:
        fp = cfg.fixed_point
        files = {"weights": (cfg.weight_words(net.bundle), fp.weight_bits)}
        for kind in ("alpha", "beta", "theta", "w_self"):
            files[kind] = (cfg.param_lanes(net.bundle, kind), fp.bits_of(kind))
        for kind, (words, bits) in files.items():
            digits = (bits * cfg.lanes + 3) // 4
            lines = []
            for lanes in words:
                packed = sum((v & ((1 << bits) - 1)) << (p * bits) for p, v in enumerate(lanes))
                lines.append(f"{packed:0{digits}x}")
            name = f"{cfg.name}.{kind}.hex"
            (directory / name).write_text("\n".join(lines) + "\n")
            names.append(name)
    return names


#: ``report.json``'s format tag: how ``scsr rtl`` recognises its own earlier output.
RTL_REPORT = "scsr-rtl-report"


def write_design(net: NetConfig, directory: Path, name: str = "scsr_net") -> dict:
    """Write ``<name>.v``, memory init files and ``report.json`` into ``directory``."""
    (directory / f"{name}.v").write_text(to_verilog(NetworkTop(net), name))
    mem_dir = directory / "mem"
    mem_dir.mkdir(exist_ok=True)
    files = [f"mem/{n}" for n in write_memory_files(net, mem_dir)]
    report = {"format": RTL_REPORT, "version": 1} | net.report() | {
        "toplevel": name, "verilog": f"{name}.v", "memory_files": files}
    (directory / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
